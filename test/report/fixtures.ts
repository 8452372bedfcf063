/**
 * Fixtures of the report tests: an evaluated run folder made by hand, with the tiny BUS-layout
 * data set of the evaluation tests (test/eval/fixtures.ts: 3 test items with odd original
 * sizes, input 32x32), a hand-written log.jsonl and one of two models:
 *
 * - 'threshold': the threshold network (one 1x1 convolution: white pixels p = sigmoid(2),
 *   black p = sigmoid(-2)), whose precision-recall curve is worked by hand in the tests;
 * - 'attention': an untrained `attn_reg` at width 0.125 (three attention gates).
 *
 * The evaluation is the real one (`evaluateRun`), so the report reads what `ftunet evaluate`
 * writes.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { evaluateRun } from '../../src/eval/run.js';
import { buildModel } from '../../src/models/build.js';
import type { EpochLog, PhaseMetrics } from '../../src/train/trainer.js';
import { thresholdModel, writeBusItems, writeRunFolder } from '../eval/fixtures.js';

export type FixtureModel = 'threshold' | 'attention';

/** The outputs of attn_reg, in the model's order. */
export const ATTN_OUTPUTS = ['pred1', 'pred2', 'pred3', 'final'] as const;

/**
 * `epochs` epoch logs for `outputs`: loss 1/(e+1) + k/10 and DSC e/(epochs+1) + k/100 for
 * output k at epoch e (validation 0.05 worse), learning rate 0.01/(1 + e/1000); the best
 * epoch is the last but one.
 */
export function handLogs(outputs: readonly string[], epochs: number): EpochLog[] {
  const phase = (e: number, worse: number): PhaseMetrics => {
    const per = Object.fromEntries(
      outputs.map((o, k) => [
        o,
        { loss: 1 / (e + 1) + k / 10 + worse, dsc: e / (epochs + 1) + k / 100 - worse },
      ]),
    );
    return { loss: Object.values(per).reduce((a, b) => a + b.loss, 0), outputs: per };
  };
  return Array.from({ length: epochs }, (_, i) => {
    const e = i + 1;
    const val = phase(e, 0.05);
    return {
      epoch: e,
      epochs,
      learningRate: 0.01 / (1 + e / 1000),
      train: phase(e, 0),
      val,
      score: val.outputs.final.dsc,
      best: e <= Math.max(1, epochs - 1),
      seconds: 1,
    };
  });
}

/**
 * Writes the data set into `root/bus` (once per root is enough; writing again is harmless) and
 * an evaluated run into `root/<name>`; returns the run folder.
 */
export async function makeEvaluatedRun(
  root: string,
  name: string,
  model: FixtureModel,
  epochs = 3,
): Promise<string> {
  const data = path.join(root, 'bus');
  const run = path.join(root, name);
  await writeBusItems(data);
  const net =
    model === 'threshold'
      ? thresholdModel()
      : buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 1 });
  try {
    await writeRunFolder(run, data, net);
  } finally {
    net.dispose();
  }
  const outputs = model === 'threshold' ? ['final'] : [...ATTN_OUTPUTS];
  const logs = handLogs(outputs, epochs);
  await writeFile(
    path.join(run, 'log.jsonl'),
    logs.map((l) => JSON.stringify(l)).join('\n') + '\n',
  );
  await evaluateRun({ run });
  return run;
}

/**
 * HTML with its layout whitespace taken out, for comparing markup: runs of whitespace become
 * one space, and spaces next to a tag's brackets go (the sources' templates are laid out by
 * the formatter, which adds line breaks and indentation that a browser ignores here).
 */
export function squash(markup: string): string {
  return markup
    .replace(/\s+/g, ' ')
    .replace(/> /g, '>')
    .replace(/ </g, '<')
    .replace(/ (\/?)>/g, '$1>');
}
