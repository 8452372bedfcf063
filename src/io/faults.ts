/**
 * Named fault points for fault-injection tests: with `FTUNET_KILL_AT=<name>:<n>` in the
 * environment, the process kills itself with SIGKILL the n-th time (1-based) it reaches the
 * point `<name>`, as a power cut or `kill -9` would at that moment. Without the variable a fault
 * point costs one string comparison. The points sit between the steps of the writes that must
 * survive a kill (checkpoints, the best model, logs), so the tests can place a kill exactly
 * where timing alone would rarely land. Node-only.
 */

const counts = new Map<string, number>();

/** Marks the fault point `name` (see the file's doc comment). */
export function faultPoint(name: string): void {
  const spec = process.env.FTUNET_KILL_AT;
  if (spec === undefined || spec === '') return;
  const colon = spec.lastIndexOf(':');
  const target = colon < 0 ? spec : spec.slice(0, colon);
  if (target !== name) return;
  const n = (counts.get(name) ?? 0) + 1;
  counts.set(name, n);
  if (n === (colon < 0 ? 1 : Number(spec.slice(colon + 1)))) process.kill(process.pid, 'SIGKILL');
}
