/**
 * The error classes of the library, one per kind of condition. The CLI prints the message of a
 * `UserError` as one line with exit code 2; anything else is a bug and shows its stack.
 */

/** Something the user gave (a flag, a shape, a file) is not acceptable. */
export class UserError extends Error {
  override name = 'UserError';
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
