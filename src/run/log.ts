/**
 * A run's epoch log: `log.jsonl`, one JSON line per finished epoch (`EpochLog`), and `log.csv`,
 * the same as a table. Both are rewritten whole and atomically after each epoch, before the
 * checkpoint, so a run killed between the two has a line past its checkpoint, which resume
 * drops. Node-only.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { EpochLog } from '../train/trainer.js';
import { csvDocument } from '../util/csv.js';

/** The log's file names inside a run folder. */
export const EPOCH_LOG_FILE = 'log.jsonl';
export const EPOCH_CSV_FILE = 'log.csv';

/** The text of a log file, '' when there is none. */
async function readLogText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** The valid lines by epoch and the 1-based numbers of the lines that are not. */
function parseLogLines(text: string): { byEpoch: Map<number, EpochLog>; damaged: number[] } {
  const byEpoch = new Map<number, EpochLog>();
  const damaged: number[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      const value: unknown = JSON.parse(line);
      if (isEpochLog(value)) byEpoch.set(value.epoch, value);
      else damaged.push(i + 1);
    } catch {
      damaged.push(i + 1);
    }
  });
  return { byEpoch, damaged };
}

/**
 * Every line of a run's `log.jsonl` in file order, for reading a run (the report); a run
 * without one has no logs. Throws a `UserError` naming the first damaged line.
 */
export async function readEpochLogs(runDir: string): Promise<EpochLog[]> {
  const file = path.join(runDir, EPOCH_LOG_FILE);
  const { byEpoch, damaged } = parseLogLines(await readLogText(file));
  if (damaged.length > 0) {
    throw new UserError(`${file}: line ${damaged[0]} is not an epoch log (damaged)`);
  }
  return [...byEpoch.values()];
}

/** The epoch of the best checkpoint: the last one flagged `best` (0 when none is). */
export function bestEpoch(logs: readonly EpochLog[]): number {
  let epoch = 0;
  for (const l of logs) if (l.best) epoch = l.epoch;
  return epoch;
}

/** Writes `log.jsonl` and `log.csv` of `logs` into `runDir`, each atomically. */
export async function writeEpochLogs(runDir: string, logs: readonly EpochLog[]): Promise<void> {
  await writeFileAtomic(
    path.join(runDir, EPOCH_LOG_FILE),
    logs.map((l) => JSON.stringify(l)).join('\n') + '\n',
  );
  await writeFileAtomic(path.join(runDir, EPOCH_CSV_FILE), logsToCsv(logs));
}

/** Whether a parsed log line looks like an `EpochLog`. */
function isEpochLog(v: unknown): v is EpochLog {
  const l = v as Partial<EpochLog> | null;
  return (
    typeof l === 'object' &&
    l !== null &&
    Number.isInteger(l.epoch) &&
    (l.epoch as number) >= 1 &&
    typeof l.train === 'object' &&
    l.train !== null &&
    typeof l.score === 'number'
  );
}

/**
 * The log lines of epochs 1 to `epochs` (the checkpoint's); lines past it belong to an epoch
 * whose checkpoint was never written and are dropped. A damaged line is never skipped
 * silently: when an epoch's line is missing and a line is damaged, resume refuses and says
 * how to go on.
 */
export async function readResumeLogs(
  runDir: string,
  epochs: number,
  onWarning: (line: string) => void = () => undefined,
): Promise<EpochLog[]> {
  const file = path.join(runDir, EPOCH_LOG_FILE);
  const { byEpoch, damaged } = parseLogLines(await readLogText(file));
  const missing: number[] = [];
  for (let e = 1; e <= epochs; e++) if (!byEpoch.has(e)) missing.push(e);
  if (missing.length > 0 && damaged.length > 0) {
    throw new UserError(
      `${file}: line ${damaged[0]} is damaged (${damaged.length} damaged line(s); epoch(s) ` +
        `${missing.join(', ')} have no valid line): repair it, or move log.jsonl and log.csv ` +
        `away to resume without the history of epochs 1 to ${epochs}`,
    );
  }
  if (missing.length > 0) {
    onWarning(
      `${file} has no line for epoch(s) ${missing.join(', ')}: the run's history starts ` +
        'after them',
    );
  }
  if (damaged.length > 0) {
    onWarning(
      `${file}: ignoring ${damaged.length} damaged line(s); epochs 1 to ${epochs} are all there`,
    );
  }
  return [...byEpoch.values()].filter((l) => l.epoch <= epochs).sort((a, b) => a.epoch - b.epoch);
}

/** The log as CSV: one row per epoch, a column per output, phase and quantity. */
export function logsToCsv(logs: readonly EpochLog[]): string {
  if (logs.length === 0) return '';
  const outputs = Object.keys(logs[0].train.outputs);
  const phases = ['train', 'val'] as const;
  const header = ['epoch', 'learning_rate', 'seconds'];
  for (const phase of phases) {
    header.push(`${phase}_loss`);
    for (const o of outputs) header.push(`${phase}_${o}_loss`, `${phase}_${o}_dsc`);
  }
  const rows = logs.map((l) => {
    const cells: Array<number | undefined> = [l.epoch, l.learningRate, l.seconds];
    for (const phase of phases) {
      const m = l[phase];
      cells.push(m?.loss);
      for (const o of outputs) cells.push(m?.outputs[o]?.loss, m?.outputs[o]?.dsc);
    }
    return cells;
  });
  return csvDocument(header, rows);
}
