/**
 * A memory budget for concurrent work, beside `mapLimit`'s bound on the count. Pure JavaScript.
 */
import { UserError } from '../errors.js';

/**
 * Runs jobs that each say how many bytes they will hold, so that the jobs running at once
 * hold at most `budget` bytes together: many small jobs run side by side, two large ones one
 * after the other. A job larger than the whole budget still runs, alone. Jobs start in the
 * order they asked (first in, first out), so a large job is not starved by a stream of small
 * ones behind it.
 */
export class MemoryLimiter {
  /** The bytes that the jobs running at once may hold together. */
  readonly budget: number;
  private held = 0;
  private running = 0;
  private readonly waiting: Array<{ bytes: number; start: () => void }> = [];

  constructor(budget: number) {
    if (!(Number.isFinite(budget) && budget > 0)) {
      throw new UserError(`a memory budget must be a number of bytes > 0, got ${budget}`);
    }
    this.budget = budget;
  }

  /** The bytes held by the jobs running now. */
  get inUse(): number {
    return this.held;
  }

  /**
   * Runs `fn` once `bytes` fit beside the jobs running (or nothing else runs) and releases them
   * when it settles; resolves or rejects as `fn` does.
   */
  async run<T>(bytes: number, fn: () => Promise<T>): Promise<T> {
    if (!(Number.isFinite(bytes) && bytes >= 0)) {
      throw new UserError(`a memory request must be a number of bytes >= 0, got ${bytes}`);
    }
    if (this.waiting.length === 0 && this.fits(bytes)) this.take(bytes);
    else await new Promise<void>((start) => this.waiting.push({ bytes, start }));
    try {
      return await fn();
    } finally {
      this.held -= bytes;
      this.running--;
      this.startWaiting();
    }
  }

  private fits(bytes: number): boolean {
    return this.running === 0 || this.held + bytes <= this.budget;
  }

  private take(bytes: number): void {
    this.held += bytes;
    this.running++;
  }

  private startWaiting(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0].bytes)) {
      const job = this.waiting.shift()!;
      this.take(job.bytes);
      job.start();
    }
  }
}
