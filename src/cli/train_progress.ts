/**
 * Progress of training on stderr: a progress bar per epoch on a terminal (epoch, step, loss,
 * soft DSC of `final`, images/s, time left in the epoch and the run), one line per epoch, and
 * `--json` lines on stdout. The pace comes from `TrainingPace` (src/train/pace.ts).
 */
import cliProgress from 'cli-progress';
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

/** What the console's `dsc` is: the soft DSC (on probabilities) of the output `final`. */
const DSC_LABEL = 'soft dsc (final)';

export function formatEpoch(log: EpochLog): string {
  const v = log.val
    ? `  val loss ${log.val.loss.toFixed(4)} ${DSC_LABEL} ${log.val.outputs.final.dsc.toFixed(4)}`
    : '';
  return (
    `epoch ${log.epoch}/${log.epochs}  loss ${log.train.loss.toFixed(4)} ` +
    `${DSC_LABEL} ${log.train.outputs.final.dsc.toFixed(4)}${v}  ${log.seconds.toFixed(1)}s` +
    (log.best ? '  (best)' : '')
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

const BAR_FORMAT =
  'epoch {epoch}/{epochs} [{bar}] {value}/{total} | loss {loss} | ' +
  `${DSC_LABEL} {dsc} | {rate} img/s | left {left}`;

/** Every field of `BAR_FORMAT`, so that the bar never shows a `{placeholder}`. */
function barPayload(p: StepProgress, pace: PaceEstimate): Record<string, string | number> {
  const { imagesPerSecond, epochSecondsLeft, runSecondsLeft } = pace;
  return {
    epoch: p.epoch,
    epochs: p.epochs,
    loss: p.loss.toFixed(4),
    dsc: p.dsc.toFixed(4),
    rate: imagesPerSecond === undefined ? '-' : imagesPerSecond.toFixed(2),
    left:
      epochSecondsLeft === undefined || runSecondsLeft === undefined
        ? '-'
        : `${formatDuration(epochSecondsLeft)} epoch, ${formatDuration(runSecondsLeft)} run`,
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
  const close = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    onInfo: info,
    onWarning: (line) => stderr.write(`${prefix}: warning: ${line}\n`),
    onDataProgress: (done, total, phase) => {
      if (tty) stderr.write(`\r${prefix}: ${phase} ${done}/${total}${done === total ? '\n' : ''}`);
    },
    onStep: (p) => {
      const payload = barPayload(p, pace.step(p));
      if (!tty) return;
      if (bar === undefined) {
        bar = new cliProgress.SingleBar(
          {
            format: BAR_FORMAT,
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
      else if (!flags.quiet) stderr.write(`${formatEpoch(log)}\n`);
    },
    close,
  };
}
