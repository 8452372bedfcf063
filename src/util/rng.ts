/**
 * A small seeded pseudo-random number generator: mulberry32 (Tommy Ettinger, 2017), a
 * 32-bit-state generator with period 2^32 that passes gjrand and PractRand up to its period.
 * It is enough for shuffles, splits and synthetic images; it is not cryptographic.
 *
 * Seeding: a seed is an integer in [0, 2^32 - 1]; the state starts as the seed itself, so
 * `new Rng(s)` gives the same sequence on every platform. `deriveSeed(seed, ...parts)` mixes
 * further integers (an item index, a fold number) into a new independent seed, so one user
 * seed drives many streams without them overlapping in an obvious way.
 *
 * Pure JavaScript: no Node-only API, runs in a browser.
 */
import { UserError } from '../errors.js';

/** The largest seed accepted (2^32 - 1). */
export const MAX_SEED = 0xffffffff;

/** The seed of a run that names none. */
export const DEFAULT_SEED = 0;

const TWO_POW_32 = 4294967296;

/** A mulberry32 generator. Its whole state is one 32-bit integer (`state`). */
export class Rng {
  private s: number;

  /** @param seed an integer in [0, 2^32 - 1] (checked). */
  constructor(seed: number) {
    checkSeed(seed);
    this.s = seed >>> 0;
  }

  /** The current state, to save in a checkpoint; `Rng.fromState(state)` resumes the stream. */
  get state(): number {
    return this.s;
  }

  /** A generator that continues from a saved `state`. */
  static fromState(state: number): Rng {
    return new Rng(state);
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A uniform number in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** A uniform number in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** A uniform integer in [0, n), for 1 <= n <= 2^32 (no modulo bias worth noting below 2^20). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /**
   * A standard normal number (Box-Muller; one of the pair is used so that the state stays
   * one integer).
   */
  normal(): number {
    // 1 - next() lies in (0, 1], so the logarithm is finite.
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }
}

/** Throws a `UserError` unless `seed` is an integer in [0, 2^32 - 1]. */
export function checkSeed(seed: number, name = 'seed'): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new UserError(`${name} must be an integer from 0 to ${MAX_SEED}, got ${seed}`);
  }
}

/** Parses a seed flag ("42"), naming the flag in the error. */
export function parseSeed(text: string, flag = '--seed'): number {
  const trimmed = text.trim();
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isInteger(value) || value > MAX_SEED) {
    throw new UserError(`${flag}: expected an integer from 0 to ${MAX_SEED}, got '${text}'`);
  }
  return value;
}

/** murmur3's 32-bit finaliser: a bijective mix of all bits. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A seed derived from `seed` and further integers (e.g. an item index): the same inputs give
 * the same seed; different inputs give unrelated seeds.
 */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  for (const p of parts) h = fmix32((h ^ fmix32((p >>> 0) + 0x7f4a7c15)) >>> 0);
  return h;
}
