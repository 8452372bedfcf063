/**
 * How often quality control (src/eval/quality.ts) flags the masks of a trained quick start:
 * on the run's own held-out fold (at most 5% wanted), on fresh synthetic BUS-like images of the
 * standard look (a control: images like the training ones, never seen) and on the same number
 * drawn in another look (`dim`: darker, lower contrast, coarser speckle; most wanted). For each:
 * the DSC, the flag rate, the count per reason and the spread of each signal (its minimum, 5%,
 * 50% and 95% quantiles and maximum), and the flagged images when there are few; from which the limits of `QC_LIMITS` were chosen.
 *
 * Run: `npm run build && node dist/bench/quality_rates.js RUN_DIR [--count N] [--seed S]`, where
 * RUN_DIR is a quick start (`ftunet quickstart --out RUN_DIR`); N synthetic images per look
 * (default 60) from seed S (default 7, not the quick start's 0: other anatomy than training).
 */
import { initBackend } from '../src/backend/select.js';
import type { SegmentationDataset } from '../src/data/dataset.js';
import { quantileOfSorted } from '../src/data/input_statistics.js';
import { synthesizeDataset, type SyntheticLook } from '../src/data/synthetic/generate.js';
import { evaluateModel, type ImageEvaluation } from '../src/eval/evaluate.js';
import { openModel } from '../src/eval/model_source.js';
import { QC_LIMITS, QC_REASONS, type QualitySignals } from '../src/eval/quality.js';
import { readRunConfig, runPaths } from '../src/run/config.js';
import { loadRunDataset, loadRunFold } from '../src/run/data.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

function describe(what: string, rows: readonly ImageEvaluation[]): void {
  const flagged = rows.filter((r) => r.qc!.verdict === 'check').length;
  const dsc = rows.reduce((s, r) => s + r.metrics.dsc, 0) / rows.length;
  const reasons = QC_REASONS.map(
    (reason) => `${reason} ${rows.filter((r) => r.qc!.reasons.includes(reason)).length}`,
  ).join(', ');
  console.log(
    `${what}: ${rows.length} images, DSC ${dsc.toFixed(4)}, flagged ${flagged} ` +
      `(${((100 * flagged) / rows.length).toFixed(1)}%): ${reasons}`,
  );
  if (flagged <= 5) {
    for (const r of rows.filter((r) => r.qc!.verdict === 'check')) {
      console.log(
        `  flagged ${r.name}: DSC ${r.metrics.dsc.toFixed(3)}, score ${r.qc!.score.toFixed(2)}, ` +
          `${r.qc!.reasons.join(' ')}, ${JSON.stringify(r.qc!.signals)}`,
      );
    }
  }
  for (const signal of ['inputDistance', 'areaExcess', 'entropy', 'flipDsc'] as const) {
    const values = rows
      .map((r) => r.qc!.signals[signal as keyof QualitySignals])
      .filter((v): v is number => v !== null)
      .sort((a, b) => a - b);
    if (values.length === 0) continue;
    const q = [0, 0.05, 0.5, 0.95, 1]
      .map((p) => quantileOfSorted(values, p).toFixed(3))
      .join(' / ');
    console.log(
      `  ${signal.padEnd(14)} min / 5% / 50% / 95% / max: ${q} (${values.length} measured)`,
    );
  }
}

async function main(): Promise<void> {
  const run = process.argv[2];
  if (run === undefined || run.startsWith('--')) {
    throw new Error('usage: node dist/bench/quality_rates.js RUN_DIR [--count N] [--seed S]');
  }
  const count = flag('--count', 60);
  const seed = flag('--seed', 7);
  await initBackend({});
  const config = await readRunConfig(run);
  const paths = runPaths(run, config);
  const dataset = await loadRunDataset(config.dataset);
  const test = (await loadRunFold(paths.split, dataset.names, config.split.fold, paths.config))
    .test;
  const opened = await openModel(run);
  try {
    console.log(`limits: ${JSON.stringify(QC_LIMITS)}`);
    describe('held-out fold', await evaluateModel(opened.model, dataset, test));
    const synthetic = (look: SyntheticLook): SegmentationDataset =>
      synthesizeDataset({
        kind: 'bus',
        look,
        count,
        seed,
        inputSize: dataset.inputSize,
        channels: dataset.channels === 3 ? 3 : 1,
        interpolation: dataset.interpolation,
      });
    const all = Array.from({ length: count }, (_, i) => i);
    for (const look of ['standard', 'dim'] as const) {
      describe(
        `synthetic ${look}, seed ${seed}`,
        await evaluateModel(opened.model, synthetic(look), all),
      );
    }
  } finally {
    opened.model.dispose();
  }
}

await main();
