/**
 * The lanes of a step in worker threads share rows of numbers through one SharedArrayBuffer
 * (see `LaneExchange` in train/batch_norm.ts): a barrier of Atomics, and two tables used in
 * turn, so a lane that has read one table can write the next while a slower lane still reads.
 *
 * Layout: Int32 [arrived, generation, abort, unused], then two tables of `capacity` float64.
 * A lane that fails sets `abort` so that the others stop waiting and fail too
 * (`LaneAbortError`); the pool does the same when a worker stops.
 */
import type { LaneExchange } from '../train/batch_norm.js';

const ARRIVED = 0;
const GENERATION = 1;
const ABORT = 2;
const HEADER_BYTES = 16;

/** A lane stopped waiting because another lane failed. */
export class LaneAbortError extends Error {
  override name = 'LaneAbortError';
  constructor() {
    super('another worker of the step failed');
  }
}

/** A buffer for lanes exchanging tables of at most `capacity` numbers. */
export function laneBuffer(capacity: number): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + 2 * 8 * capacity);
}

/** Makes the next step start from a clean barrier (call while no lane runs). */
export function resetLanes(buffer: SharedArrayBuffer): void {
  const control = new Int32Array(buffer, 0, 4);
  Atomics.store(control, ARRIVED, 0);
  Atomics.store(control, ABORT, 0);
}

/** Tells every waiting lane to stop (a lane failed or a worker stopped). */
export function abortLanes(buffer: SharedArrayBuffer): void {
  const control = new Int32Array(buffer, 0, 4);
  Atomics.store(control, ABORT, 1);
  Atomics.notify(control, GENERATION);
}

/** One lane's side of the buffer. */
export class SharedLanes implements LaneExchange {
  private readonly control: Int32Array;
  private readonly tables: [Float64Array, Float64Array];
  private round = 0;
  lane = 0;
  lanes = 1;

  constructor(private readonly buffer: SharedArrayBuffer) {
    this.control = new Int32Array(buffer, 0, 4);
    const capacity = (buffer.byteLength - HEADER_BYTES) / 16;
    this.tables = [
      new Float64Array(buffer, HEADER_BYTES, capacity),
      new Float64Array(buffer, HEADER_BYTES + 8 * capacity, capacity),
    ];
  }

  /** This lane is `lane` of `lanes` in the step about to run (tables from the first). */
  beginStep(lane: number, lanes: number): void {
    this.lane = lane;
    this.lanes = lanes;
    this.round = 0;
  }

  /** Stops the other lanes (this one failed). */
  abort(): void {
    abortLanes(this.buffer);
  }

  gather(rows: Float64Array, at: number, total: number, width: number): Float64Array {
    const table = this.tables[this.round % 2];
    this.round++;
    if (total * width > table.length) {
      throw new Error(`lane table of ${total * width} numbers exceeds its ${table.length}`);
    }
    table.set(rows, at * width);
    this.arrive();
    return table.slice(0, total * width);
  }

  /** Waits until every lane has arrived (the last to arrive opens the next generation). */
  private arrive(): void {
    const control = this.control;
    const generation = Atomics.load(control, GENERATION);
    if (Atomics.add(control, ARRIVED, 1) === this.lanes - 1) {
      Atomics.store(control, ARRIVED, 0);
      Atomics.add(control, GENERATION, 1);
      Atomics.notify(control, GENERATION);
      return;
    }
    while (Atomics.load(control, GENERATION) === generation) {
      if (Atomics.load(control, ABORT) !== 0) throw new LaneAbortError();
      Atomics.wait(control, GENERATION, generation, 1000);
    }
  }
}
