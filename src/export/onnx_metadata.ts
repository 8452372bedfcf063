/**
 * The export metadata in model.onnx's metadata_props: the same JSON as a tfjs export's
 * `userDefinedMetadata.ftunetExport` (export/metadata.ts), as text under the one key
 * `ftunetExport`. Models exported before it (export metadata version 1) hold flat `ftunet.*`
 * keys instead; `onnxMetadataV1` turns those into version 1's JSON, which `readVersioned`
 * migrates like any other. No Node-only API.
 */
import type { Mirrors } from '../eval/ensemble.js';
import { UserError } from '../errors.js';
import { MODEL_NAMES } from '../models/options.js';
import { INTERPOLATIONS, type Interpolation } from '../util/raster.js';
import { readVersioned } from '../util/versioned.js';
import {
  EXPORT_METADATA_FILE,
  EXPORT_METADATA_KEY,
  producerOf,
  type ExportMetadata,
} from './metadata.js';

/** Version 1's metadata_props key of the mirrors that suit the model (`TrainingSummary.mirrors`). */
export const ONNX_MIRRORS_KEY = 'ftunet.tta_mirrors';

/**
 * The mirrors of version 1's `ftunet.tta_mirrors` text ('none', 'horizontal', 'vertical' or
 * 'horizontal,vertical'); undefined for any other text.
 */
export function parseMirrors(text: string): Mirrors | undefined {
  const known: Record<string, Mirrors> = {
    none: { horizontal: false, vertical: false },
    horizontal: { horizontal: true, vertical: false },
    vertical: { horizontal: false, vertical: true },
    'horizontal,vertical': { horizontal: true, vertical: true },
  };
  return Object.hasOwn(known, text) ? known[text] : undefined;
}

/** The metadata_props of `metadata`: its JSON under `EXPORT_METADATA_KEY`. */
export function onnxMetadataProps(metadata: ExportMetadata): Record<string, string> {
  return { [EXPORT_METADATA_KEY]: JSON.stringify(metadata) };
}

/** What the graph itself says, for version 1's flat keys. */
export interface OnnxGraphFacts {
  /** The input [rows, cols, channels]. */
  inputShape: [number, number, number];
  /** The graph's output names, in order. */
  outputs: string[];
  /** The model's producer_version ('' when none). */
  producerVersion: string;
}

/**
 * Version 1's flat `ftunet.*` metadata_props as version 1's export metadata JSON (the recipe
 * under `predict`), for `parseExportMetadata` to check and migrate. Undefined when the props
 * do not hold version 1's recipe (a model that another tool wrote).
 */
export function onnxMetadataV1(
  props: ReadonlyMap<string, string>,
  graph: OnnxGraphFacts,
): Record<string, unknown> | undefined {
  const model = props.get('ftunet.model');
  const threshold = Number(props.get('ftunet.threshold') ?? Number.NaN);
  const interpolation = props.get('ftunet.interpolation');
  if (
    !(MODEL_NAMES as readonly unknown[]).includes(model) ||
    !(threshold >= 0 && threshold <= 1) ||
    !(INTERPOLATIONS as readonly unknown[]).includes(interpolation)
  ) {
    return undefined;
  }
  const mirrors = parseMirrors(props.get(ONNX_MIRRORS_KEY) ?? '');
  return {
    format: 'ftunet-export',
    version: 1,
    model,
    predict: {
      inputShape: graph.inputShape,
      scaling: 'divide-by-255',
      interpolation: interpolation as Interpolation,
      threshold,
      maskResize: 'nearest',
      output: 'final',
    },
    outputs: graph.outputs,
    quantization: 'none',
    ...(mirrors !== undefined ? { training: { mirrors } } : {}),
    producer: producerOf(graph.producerVersion),
  };
}

/**
 * The export metadata of model.onnx's metadata_props, of any version, checked and migrated to
 * today's; undefined when it has none (a model another tool wrote). `source` names the file.
 * Throws a `UserError` for damaged metadata or a recipe whose input is not the graph's.
 */
export function onnxExportMetadata(
  props: ReadonlyMap<string, string>,
  graph: OnnxGraphFacts,
  source: string,
): ExportMetadata | undefined {
  const text = props.get(EXPORT_METADATA_KEY);
  let value: unknown;
  if (text !== undefined) {
    try {
      value = JSON.parse(text);
    } catch {
      throw new UserError(
        `${source}: metadata_props.${EXPORT_METADATA_KEY} is not valid JSON: export the model again`,
      );
    }
  } else {
    value = onnxMetadataV1(props, graph);
    if (value === undefined) return undefined;
  }
  const metadata = readVersioned(
    EXPORT_METADATA_FILE,
    value,
    `${source}: metadata_props.${EXPORT_METADATA_KEY}`,
  );
  const [h, w, c] = metadata.predict.inputShape;
  const [gh, gw, gc] = graph.inputShape;
  if (h !== gh || w !== gw || c !== gc) {
    throw new UserError(
      `${source}: the metadata records input ${h}x${w}x${c}, the graph takes ${gh}x${gw}x${gc}`,
    );
  }
  return metadata;
}
