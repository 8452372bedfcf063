/**
 * The pace of a training run, for progress displays: images per second over the steps
 * completed, and the time left in the epoch and in the run.
 *
 * Only completed work over its measured time counts. The first step of the first epoch a
 * process sees has no known start (it follows loading, model building and worker start-up,
 * and includes the backend's warm-up), so that epoch is measured from the end of its first
 * step on; a later epoch is measured from the end of the one before (`epochEnd`). Until two
 * points are known there is no estimate.
 *
 * The run's time left is this epoch's remaining steps plus each remaining epoch at the mean
 * duration of the epochs measured whole (steps, validation and saving: from one `epochEnd` to
 * the next), or, before one is, at this epoch's pace per step.
 *
 * Browser-safe; the clock is injectable.
 */
import type { EpochLog, StepProgress } from './trainer.js';

export interface PaceEstimate {
  /** Images per second over this epoch's measured steps; undefined until known. */
  imagesPerSecond?: number;
  /** Seconds left for this epoch's remaining steps; undefined until known. */
  epochSecondsLeft?: number;
  /** Seconds left for the run (this epoch's steps and the remaining epochs); undefined until known. */
  runSecondsLeft?: number;
}

/** A measurement origin: a time, with the steps and images done by then. */
interface Origin {
  epoch: number;
  ms: number;
  steps: number;
  images: number;
}

export class TrainingPace {
  private origin: Origin | undefined;
  private lastEpochEnd: { epoch: number; ms: number } | undefined;
  private readonly epochMs: number[] = [];

  /** @param now Milliseconds of a monotonic clock. Default `performance.now`. */
  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Records a finished step; returns the estimates after it. */
  step(p: StepProgress): PaceEstimate {
    const ms = this.now();
    if (this.origin?.epoch !== p.epoch) {
      const end = this.lastEpochEnd;
      this.origin =
        end !== undefined && end.epoch === p.epoch - 1
          ? { epoch: p.epoch, ms: end.ms, steps: 0, images: 0 }
          : { epoch: p.epoch, ms, steps: p.step, images: p.images };
    }
    const steps = p.step - this.origin.steps;
    const seconds = (ms - this.origin.ms) / 1000;
    if (steps <= 0 || !(seconds > 0)) return {};
    const perStep = seconds / steps;
    const epochSecondsLeft = perStep * (p.steps - p.step);
    const perEpoch =
      this.epochMs.length > 0
        ? this.epochMs.reduce((a, b) => a + b, 0) / this.epochMs.length / 1000
        : perStep * p.steps;
    return {
      imagesPerSecond: (p.images - this.origin.images) / seconds,
      epochSecondsLeft,
      runSecondsLeft: epochSecondsLeft + perEpoch * Math.max(0, p.epochs - p.epoch),
    };
  }

  /** Records the end of an epoch (after its validation and files). */
  epochEnd(log: Pick<EpochLog, 'epoch'>): void {
    const ms = this.now();
    const last = this.lastEpochEnd;
    if (last !== undefined && last.epoch === log.epoch - 1) this.epochMs.push(ms - last.ms);
    this.lastEpochEnd = { epoch: log.epoch, ms };
  }
}
