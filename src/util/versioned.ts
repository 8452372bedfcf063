/**
 * Versioned JSON files. Each file the project writes for later reading (a run's config.json,
 * summary.json, a study's study.json, an export's metadata) records `format` and `version`.
 * A reader takes any earlier version through one `migrate` step per version, up to today's,
 * then checks the result with today's schema. This module is the one home of that rule; each
 * file defines its `FileFormat` beside its schema. Pure: no Node APIs (the web app reads
 * export metadata with it).
 */
import { RefusedValueError } from '../errors.js';

/** One step: a version-v object (already checked to be an object) to version v + 1. */
export type Migration = (value: Readonly<Record<string, unknown>>) => Record<string, unknown>;

/** A versioned file format: its name, today's version, the steps from each earlier version. */
export interface FileFormat<T> {
  /** The value of the file's `format` field. */
  readonly format: string;
  /** The version written today. */
  readonly version: number;
  /**
   * `migrate[v]` takes version v to version v + 1; one entry for each v from 1 to
   * `version - 1`. A step sets no `format` or `version`: the reader does.
   */
  readonly migrate: Readonly<Record<number, Migration>>;
  /** Checks an object of today's version; throws a `UserError` naming `source`. */
  readonly parse: (value: Record<string, unknown>, source: string) => T;
}

/** Checks that `spec` has one migration step for every earlier version, then returns it. */
export function defineFileFormat<T>(spec: FileFormat<T>): FileFormat<T> {
  if (!Number.isInteger(spec.version) || spec.version < 1) {
    throw new RangeError(`${spec.format}: version must be an integer >= 1`);
  }
  for (let v = 1; v < spec.version; v++) {
    if (typeof spec.migrate[v] !== 'function') {
      throw new RangeError(`${spec.format}: no migration from version ${v} to ${v + 1}`);
    }
  }
  return spec;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const got = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

/**
 * Reads a parsed JSON value of `fmt`, of any version from 1 to today's: checks `format`,
 * migrates step by step, then parses with today's schema. `source` names the file in
 * messages. Throws a `RefusedValueError` (a `UserError`) for another format, a version newer than this program's
 * (saying to upgrade), or a field the schema refuses.
 */
export function readVersioned<T>(fmt: FileFormat<T>, value: unknown, source: string): T {
  const fail = (why: string): never => {
    throw new RefusedValueError(source, why);
  };
  if (!isObject(value)) return fail('expected a JSON object');
  if (value.format !== fmt.format) {
    return fail(`expected "format": "${fmt.format}", got ${got(value.format)}`);
  }
  const version = value.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    return fail(`"version" must be an integer >= 1, got ${got(version)}`);
  }
  if (version > fmt.version) {
    return fail(
      `unsupported version ${version} (this program reads versions up to ${fmt.version}): ` +
        `it was written by a newer focal-tversky-unet; upgrade to read it`,
    );
  }
  let current: Record<string, unknown> = value;
  for (let v = version; v < fmt.version; v++) {
    const step = fmt.migrate[v];
    if (step === undefined) throw new RangeError(`${fmt.format}: no migration from version ${v}`);
    current = { ...step(current), format: fmt.format, version: v + 1 };
  }
  return fmt.parse(current, source);
}
