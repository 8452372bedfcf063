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
import { DamagedFileError } from '../errors.js';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isIndex = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/** One input of a layer call: [layer name, node index, tensor index, kwargs?]. */
type Inbound = [string, number, number];

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
  const config = model.config;
  if (!isObject(config)) return fail('"modelTopology.config" must be an object');
  const layers = config.layers;
  if (!Array.isArray(layers)) return fail('"modelTopology.config.layers" must be a list');

  /** Nodes each layer will have once every call is made; an InputLayer makes its own. */
  const nodes = new Map<string, number>();
  const calls: Array<{ layer: string; inputs: Inbound[] }> = [];
  layers.forEach((layer: unknown, i) => {
    const where = `"modelTopology.config.layers[${i}]"`;
    if (!isObject(layer) || typeof layer.name !== 'string' || layer.name === '') {
      return fail(`${where} must be a layer with a "name"`);
    }
    const name = layer.name;
    if (typeof layer.class_name !== 'string') fail(`layer '${name}' has no "class_name"`);
    if (nodes.has(name)) fail(`two layers are named '${name}'`);
    nodes.set(name, layer.class_name === 'InputLayer' ? 1 : 0);
    if (!Array.isArray(layer.inbound_nodes)) fail(`layer '${name}' has no "inbound_nodes" list`);
    for (const node of layer.inbound_nodes as unknown[]) {
      if (!Array.isArray(node)) return fail(`layer '${name}': an inbound node is not a list`);
      const inputs = node.map((input: unknown): Inbound => {
        if (
          !Array.isArray(input) ||
          typeof input[0] !== 'string' ||
          !isIndex(input[1]) ||
          !isIndex(input[2])
        ) {
          return fail(
            `layer '${name}': an input is not [layer, node, tensor]: ${JSON.stringify(input)}`,
          );
        }
        return [input[0], input[1], input[2]];
      });
      calls.push({ layer: name, inputs });
    }
  });

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

  for (const field of ['input_layers', 'output_layers'] as const) {
    const list = config[field];
    if (!Array.isArray(list) || list.length === 0) {
      fail(`"modelTopology.config.${field}" must be a non-empty list`);
    }
    for (const entry of list as unknown[]) {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !isIndex(entry[1])) {
        return fail(`"${field}" holds ${JSON.stringify(entry)}, not [layer, node, tensor]`);
      }
      if (!nodes.has(entry[0])) {
        fail(`"${field}" names layer '${entry[0]}', which is not in the model`);
      }
      if (entry[1] >= made.get(entry[0])!) {
        fail(`"${field}" names node ${entry[1]} of layer '${entry[0]}', which is never made`);
      }
    }
  }
}
