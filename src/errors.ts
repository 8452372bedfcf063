/**
 * The error classes of the library, one per kind of condition. The CLI prints the message of a
 * `UserError` as one line with exit code 2; anything else is a bug and shows its stack.
 */

/** Something the user gave (a flag, a shape, a file) is not acceptable. */
export class UserError extends Error {
  override name = 'UserError';
}

/**
 * A file's or an option's value does not fit its schema or format: `SOURCE: why`. Keeps the
 * two parts, so a reader that tells such a refusal as another kind (a damaged checkpoint)
 * words it without taking the message apart.
 */
export class RefusedValueError extends UserError {
  // Named as a UserError: what prints is the same as for any other refusal.
  constructor(
    readonly source: string,
    readonly why: string,
  ) {
    super(`${source}: ${why}`);
  }
}

/** A tensor argument has the wrong shape, rank or value range. */
export class ShapeError extends UserError {
  override name = 'ShapeError';
}

/** A TensorFlow.js backend cannot be started or is not installed. */
export class BackendError extends UserError {
  override name = 'BackendError';
}

/**
 * A data set on disk is not usable as it is: a missing folder, an image without a mask, an
 * unreadable file, a split that does not match. The message names the files (the first few
 * and a count).
 */
export class DataError extends UserError {
  override name = 'DataError';
}

/**
 * Training stopped on request (Ctrl-C or SIGTERM in the CLI; a `shouldStop` callback in the
 * library) at a step boundary. Every finished epoch is saved; the epoch in progress is lost.
 * Not a `UserError`: code that records a user error and carries on (an ablation unit that
 * failed) must not carry on after a request to stop.
 */
export class InterruptedError extends Error {
  override name = 'InterruptedError';

  /**
   * @param epoch The epoch in progress (1-based).
   * @param epochsFinished Epochs finished and saved; the run continues after the last of them.
   */
  constructor(
    readonly epoch: number,
    readonly epochsFinished: number,
  ) {
    super(`interrupted at epoch ${epoch}`);
  }
}

/**
 * A file that this program wrote is not as it was written: its content does not match the hash
 * recorded with it, it is cut short, or a field is missing or of the wrong type. `file` names it.
 */
export class DamagedFileError extends UserError {
  override name = 'DamagedFileError';

  constructor(
    readonly file: string,
    why: string,
  ) {
    super(`${file} is damaged: ${why}`);
  }
}

/**
 * The disk (or the user's quota) is full: ENOSPC or EDQUOT while writing `path`. The message is
 * one line, "no space left on device writing PATH", so that a caller can add what is kept.
 */
export class DiskFullError extends UserError {
  override name = 'DiskFullError';

  /** `options.message` replaces the message (a caller adding what is kept). */
  constructor(
    readonly path: string,
    options: { cause?: unknown; message?: string } = {},
  ) {
    super(options.message ?? `no space left on device writing ${path}`, { cause: options.cause });
  }
}

/**
 * A model holds a layer (or a layer setting) that an export format cannot express. `layer`
 * names it; nothing is written.
 */
export class UnsupportedLayerError extends UserError {
  override name = 'UnsupportedLayerError';
  constructor(
    readonly layer: string,
    why: string,
  ) {
    super(`layer '${layer}' cannot be exported: ${why}`);
  }
}
