/**
 * Progress of training on stderr: a progress bar per epoch on a terminal (epoch, step, loss,
 * DSC, images/s, time left), one line per epoch, and `--json` lines on stdout.
 */
import cliProgress from 'cli-progress';
import type { TrainRunCallbacks } from '../train/run.js';
import type { EpochLog } from '../train/trainer.js';

export interface ProgressFlags {
  quiet?: boolean;
  json?: boolean;
}

export function formatEpoch(log: EpochLog): string {
  const v = log.val
    ? `  val loss ${log.val.loss.toFixed(4)} dsc ${log.val.outputs.final.dsc.toFixed(4)}`
    : '';
  return (
    `epoch ${log.epoch}/${log.epochs}  loss ${log.train.loss.toFixed(4)} ` +
    `dsc ${log.train.outputs.final.dsc.toFixed(4)}${v}  ${log.seconds.toFixed(1)}s${log.best ? '  (best)' : ''}`
  );
}

export function trainProgress(flags: ProgressFlags, prefix = 'ftunet train'): TrainRunCallbacks {
  const info = (line: string) => {
    if (!flags.quiet) process.stderr.write(`${prefix}: ${line}\n`);
  };
  const tty = Boolean(process.stderr.isTTY) && !flags.quiet;
  let bar: cliProgress.SingleBar | undefined;
  let epochStart = Date.now();
  let runStart = Date.now();
  let doneSteps = 0;
  return {
    onInfo: info,
    onWarning: (line) => process.stderr.write(`${prefix}: warning: ${line}\n`),
    onDataProgress: (done, total, phase) => {
      if (tty)
        process.stderr.write(
          `\rftunet train: ${phase} ${done}/${total}${done === total ? '\n' : ''}`,
        );
    },
    onStep: (p) => {
      if (!tty) return;
      if (p.step === 1) {
        epochStart = Date.now();
        if (doneSteps === 0) runStart = Date.now();
        bar?.stop();
        bar = new cliProgress.SingleBar(
          {
            format:
              'epoch {epoch} [{bar}] {value}/{total} | loss {loss} | dsc {dsc} | {rate} img/s | left {left}',
            stream: process.stderr,
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.steps, 0);
      }
      doneSteps += 1;
      const elapsed = (Date.now() - epochStart) / 1000;
      const perStep = (Date.now() - runStart) / 1000 / doneSteps;
      bar?.update(p.step, {
        epoch: p.epoch,
        loss: p.loss.toFixed(4),
        dsc: p.dsc.toFixed(4),
        rate: (p.images / Math.max(elapsed, 1e-3)).toFixed(2),
        left: `${Math.round(perStep * (p.steps - p.step))}s in epoch`,
      });
    },
    onEpoch: (log) => {
      bar?.stop();
      bar = undefined;
      if (flags.json) process.stdout.write(`${JSON.stringify(log)}\n`);
      else if (!flags.quiet) process.stderr.write(`${formatEpoch(log)}\n`);
    },
  };
}
