/**
 * Progress of training on stderr: a progress bar per epoch on a terminal (epoch, step, loss,
 * soft DSC of `final`, images/s, time left in the run), one line per epoch, and `--json` lines
 * on stdout. The bar and the epoch lines fit 80 columns (up to 999 epochs and 999 steps);
 * a line before the first says what their `dsc` is. The pace comes from `TrainingPace`
 * (src/train/pace.ts).
 */
import cliProgress from 'cli-progress';
import { writeProgressLine } from './progress_line.js';
import type { TrainRunCallbacks } from '../run/train.js';
import type { EpochLog, StepProgress } from '../train/trainer.js';
import { TrainingPace, type PaceEstimate } from '../train/pace.js';

export interface ProgressFlags {
  quiet?: boolean;
  json?: boolean;
}

/** Where progress goes; defaults are the process's streams and clock (tests inject their own). */
export interface ProgressIo {
  /** Default `process.stderr`; the bar is drawn only when it is a terminal (`isTTY`). */
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Default `process.stdout` (`--json` lines). */
  stdout?: NodeJS.WritableStream;
  /** Milliseconds of a monotonic clock. Default `performance.now`. */
  now?: () => number;
}

/** The training callbacks, and `close` to stop the bar (and restore the terminal) early. */
export interface TrainProgress extends TrainRunCallbacks {
  close(): void;
}

/** What the bar's and the epoch lines' `dsc` is, said once before them. */
export const DSC_LEGEND =
  'dsc: the soft DSC of the output final (on probabilities, not thresholded)';

/**
 * One line per epoch, at most 80 columns up to epoch 999/999 and 9999.9 s:
 * `epoch 12/100  loss 0.4821 dsc 0.7312  val loss 0.5120 dsc 0.7011  84.2s  best`.
 */
export function formatEpoch(log: EpochLog): string {
  const v = log.val
    ? `  val loss ${log.val.loss.toFixed(4)} dsc ${log.val.outputs.final.dsc.toFixed(4)}`
    : '';
  return (
    `epoch ${log.epoch}/${log.epochs}  loss ${log.train.loss.toFixed(4)} ` +
    `dsc ${log.train.outputs.final.dsc.toFixed(4)}${v}  ${log.seconds.toFixed(1)}s` +
    (log.best ? '  best' : '')
  );
}

/** Seconds as `42s`, `3m 05s` or `2h 03m`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
}

/** The bar's width in characters. */
const BAR_SIZE = 10;

/**
 * At most 80 columns up to epoch 999/999, step 999/999 and 999.99 img/s:
 * `epoch 12/100 ██████░░░░ 130/207 loss 0.4821 dsc 0.7312 12.34 img/s 2h 03m left`
 * (the time left in the run; the epoch's shows in its steps and rate).
 */
const BAR_FORMAT =
  'epoch {epoch}/{epochs} {bar} {value}/{total} loss {loss} dsc {dsc} {rate} img/s {left} left';

/** Every field of `BAR_FORMAT`, so that the bar never shows a `{placeholder}`. */
function barPayload(p: StepProgress, pace: PaceEstimate): Record<string, string | number> {
  const { imagesPerSecond, runSecondsLeft } = pace;
  return {
    epoch: p.epoch,
    epochs: p.epochs,
    loss: p.loss.toFixed(4),
    dsc: p.dsc.toFixed(4),
    rate: imagesPerSecond === undefined ? '-' : imagesPerSecond.toFixed(2),
    left: runSecondsLeft === undefined ? '-' : formatDuration(runSecondsLeft),
  };
}

export function trainProgress(
  flags: ProgressFlags,
  prefix = 'ftunet train',
  io: ProgressIo = {},
): TrainProgress {
  const stderr = io.stderr ?? process.stderr;
  const stdout = io.stdout ?? process.stdout;
  const info = (line: string) => {
    if (!flags.quiet) stderr.write(`${prefix}: ${line}\n`);
  };
  const tty = Boolean(stderr.isTTY) && !flags.quiet;
  const pace = new TrainingPace(io.now);
  let bar: cliProgress.SingleBar | undefined;
  let legend = !flags.quiet && !flags.json;
  const sayLegend = () => {
    if (legend) info(DSC_LEGEND);
    legend = false;
  };
  const close = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    onInfo: info,
    onWarning: (line) => stderr.write(`${prefix}: warning: ${line}\n`),
    onDataProgress: (done, total, phase) => {
      if (tty) writeProgressLine(stderr, `${prefix}: ${phase} ${done}/${total}`, done === total);
    },
    onStep: (p) => {
      const payload = barPayload(p, pace.step(p));
      if (!tty) return;
      if (bar === undefined) {
        sayLegend();
        bar = new cliProgress.SingleBar(
          {
            format: BAR_FORMAT,
            barsize: BAR_SIZE,
            stream: stderr,
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.steps, p.step, payload);
      } else {
        bar.update(p.step, payload);
      }
    },
    onEpoch: (log) => {
      close();
      pace.epochEnd(log);
      if (flags.json) stdout.write(`${JSON.stringify(log)}\n`);
      else if (!flags.quiet) {
        sayLegend();
        stderr.write(`${formatEpoch(log)}\n`);
      }
    },
    close,
  };
}
