/**
 * A check of a functional model's graph in `model.json` before tfjs-layers builds it.
 *
 * tfjs-layers' `Container.fromConfig` creates every layer, then calls each layer on its inputs
 * in passes, re-queueing a call whose input layer (or that layer's node) does not exist yet,
 * until the queue is empty. A call whose input never comes to exist (a layer removed from the
 * file, a misspelt name, a node index past the end, a cycle) is re-queued forever: loading spins
 * at 100% CPU. Its input and output lists are checked by assertions that end in "Assertion
 * failed". This check replays those passes on the JSON alone (no tensors), so such a file is a
 * `DamagedFileError` naming the file, the layer and its missing input.
 *
 * Only functional models (`class_name` 'Model' or 'Functional') are checked; other topologies
 * (Sequential) are left to tfjs-layers, which builds them without such a queue. Pure (no I/O).
 */
import * as v from 'valibot';
import { DamagedFileError } from '../errors.js';
import { describeIssue } from '../util/schema.js';

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

const isIndex = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0;

/** One input of a layer call: [layer name, node index, tensor index, kwargs?]. */
type Inbound = [string, number, number];

const INBOUND = v.custom<Inbound>(
  (x) => Array.isArray(x) && typeof x[0] === 'string' && isIndex(x[1]) && isIndex(x[2]),
  'must be [layer, node, tensor]',
);

const LAYER_MESSAGE = 'must be a layer with a "name"';
const LAYER = v.object(
  {
    name: v.pipe(v.string(LAYER_MESSAGE), v.minLength(1, LAYER_MESSAGE)),
    class_name: v.string('must be a string'),
    inbound_nodes: v.array(v.array(INBOUND, 'must be a list of inputs'), 'must be a list'),
  },
  LAYER_MESSAGE,
);

/** An entry of `input_layers` or `output_layers`: [layer, node, tensor]. */
const ENDPOINTS = v.pipe(
  v.array(
    v.custom<[string, number]>(
      (x) => Array.isArray(x) && typeof x[0] === 'string' && isIndex(x[1]),
      'must be [layer, node, tensor]',
    ),
    'must be a non-empty list',
  ),
  v.minLength(1, 'must be a non-empty list'),
);

/** The fields of a functional model that tfjs-layers' graph building relies on. */
const FUNCTIONAL_SCHEMA = v.object({
  modelTopology: v.object({
    config: v.object(
      {
        layers: v.array(LAYER, 'must be a list'),
        input_layers: ENDPOINTS,
        output_layers: ENDPOINTS,
      },
      'must be an object',
    ),
  }),
});

/**
 * Checks the graph of a `model.json` topology (its `modelTopology` field); `file` names the file
 * in messages. Throws a `DamagedFileError` naming the first layer, field or input that is
 * missing or wrong.
 */
export function checkModelTopology(topology: unknown, file: string): void {
  const fail = (why: string): never => {
    throw new DamagedFileError(file, why);
  };
  if (!isObject(topology)) return fail('"modelTopology" must be an object');
  // Keras 2.1-era files wrap the model in "model_config" (tfjs-layers reads both).
  const model = isObject(topology.model_config) ? topology.model_config : topology;
  if (model.class_name !== 'Model' && model.class_name !== 'Functional') return;
  const checked = v.safeParse(FUNCTIONAL_SCHEMA, { modelTopology: model }, { abortEarly: true });
  if (!checked.success) return fail(describeIssue(checked.issues[0]));
  const { layers, input_layers, output_layers } = checked.output.modelTopology.config;

  /** Nodes each layer will have once every call is made; an InputLayer makes its own. */
  const nodes = new Map<string, number>();
  const calls: Array<{ layer: string; inputs: Inbound[] }> = [];
  for (const layer of layers) {
    if (nodes.has(layer.name)) fail(`two layers are named '${layer.name}'`);
    nodes.set(layer.name, layer.class_name === 'InputLayer' ? 1 : 0);
    for (const inputs of layer.inbound_nodes) calls.push({ layer: layer.name, inputs });
  }

  for (const { layer, inputs } of calls) {
    for (const [source] of inputs) {
      if (!nodes.has(source)) {
        fail(`layer '${layer}' takes its input from layer '${source}', which is not in the model`);
      }
    }
  }
  // Replay tfjs-layers' passes: a call can be made once each input's node exists.
  const made = new Map(nodes);
  let pending = calls;
  while (pending.length > 0) {
    const waiting = pending.filter(
      ({ inputs }) => !inputs.every(([source, node]) => node < made.get(source)!),
    );
    if (waiting.length === pending.length) {
      const { layer, inputs } = waiting[0];
      const [source, node] = inputs.find(([s, n]) => n >= made.get(s)!)!;
      fail(
        `layer '${layer}' takes its input from node ${node} of layer '${source}', which is ` +
          'never made (a cycle or a missing call)',
      );
    }
    for (const call of pending) {
      if (!waiting.includes(call)) made.set(call.layer, made.get(call.layer)! + 1);
    }
    pending = waiting;
  }

  for (const [field, list] of [
    ['input_layers', input_layers],
    ['output_layers', output_layers],
  ] as const) {
    for (const [name, node] of list) {
      if (!nodes.has(name)) fail(`"${field}" names layer '${name}', which is not in the model`);
      if (node >= made.get(name)!) {
        fail(`"${field}" names node ${node} of layer '${name}', which is never made`);
      }
    }
  }
}
