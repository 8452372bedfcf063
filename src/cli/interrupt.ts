/**
 * Ctrl-C (SIGINT) and SIGTERM in the `ftunet` command.
 *
 * Once a training command has made its callbacks `stoppable`, the first signal asks the
 * trainer to stop: `shouldStop` turns true, the trainer throws an `InterruptedError` before its
 * next step (a file being written between epochs is finished first), the `finally` blocks of
 * the training stop the workers, `main` stops the progress bar (restoring the terminal: the
 * bar hides the cursor and turns off line wrap) and prints
 * "interrupted at epoch E; ...; continue with: COMMAND" with exit code 130 (143 for SIGTERM).
 * A second signal, or any signal before `stoppable`, quits at once: the terminal is restored
 * and the exit code is 128 plus the signal's number.
 *
 * A training step in the main thread runs without yielding to the event loop, so there a
 * signal is seen at the next step boundary (with data-parallel workers, at once).
 */
import type { InterruptedError } from '../errors.js';

export type StopSignal = 'SIGINT' | 'SIGTERM';

const SIGNAL_NUMBERS: Readonly<Record<StopSignal, number>> = { SIGINT: 2, SIGTERM: 15 };

/** Shows the cursor and turns line wrap back on. */
export const RESTORE_TERMINAL = '\x1b[?25h\x1b[?7h';

export interface InterruptsOptions {
  /** Where the signals come from. Default `process`. */
  source?: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
  /** Where notices go. Default `process.stderr`. */
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Ends the process at once. Default `process.exit`. */
  exit?: (code: number) => void;
}

/** The signal handling of one process (`interrupts` below); see the file's doc comment. */
export class Interrupts {
  private received: StopSignal | undefined;
  private readonly controller = new AbortController();
  private graceful = false;
  private continueWith: string | undefined;
  private readonly cleanups: Array<() => void> = [];

  constructor(private readonly options: InterruptsOptions = {}) {}

  /** Installs the handlers; returns a function that removes them. */
  install(): () => void {
    const source = this.options.source ?? process;
    const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
      const handler = () => this.onSignal(signal);
      source.on(signal, handler);
      return () => source.off(signal, handler);
    });
    return () => handlers.forEach((remove) => remove());
  }

  /** Whether a signal asked to stop. */
  readonly shouldStop = (): boolean => this.received !== undefined;

  /** Aborted by the first signal (its reason is the signal's name). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** 128 plus the number of the signal received: 130 for SIGINT (also when none), 143 for SIGTERM. */
  exitCode(): number {
    return 128 + SIGNAL_NUMBERS[this.received ?? 'SIGINT'];
  }

  /**
   * From now on the first signal asks to stop, through the returned callbacks' `shouldStop`,
   * instead of quitting. `continueWith` is the command that continues the work afterwards (see
   * `describe`); `callbacks.close` (a progress bar's) runs at `cleanup`, however the command ends.
   */
  stoppable<C extends object>(
    callbacks: C,
    continueWith: string,
  ): C & { shouldStop: () => boolean } {
    this.graceful = true;
    this.continueWith = continueWith;
    const { close } = callbacks as { close?: unknown };
    if (typeof close === 'function') this.cleanups.push(() => void close.call(callbacks));
    return { ...callbacks, shouldStop: this.shouldStop };
  }

  /**
   * Runs the cleanups that `stoppable` registered (each may run more than once): at a signal,
   * and when `main` ends.
   */
  cleanup(): void {
    for (const fn of this.cleanups) fn();
  }

  /** The line that reports an interrupted training (without the `ftunet: ` prefix). */
  describe(err: InterruptedError): string {
    const kept =
      err.epochsFinished > 0
        ? `the checkpoint of epoch ${err.epochsFinished} is kept`
        : 'no epoch had finished';
    return `interrupted at epoch ${err.epoch}; ${kept}${this.next()}`;
  }

  private next(): string {
    return this.continueWith !== undefined ? `; continue with: ${this.continueWith}` : '';
  }

  private onSignal(signal: StopSignal): void {
    const stderr = this.options.stderr ?? process.stderr;
    const again = signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM';
    // Stops a progress bar; on a terminal, the line (a bar, an echoed ^C) is cleared.
    this.cleanup();
    const clear = stderr.isTTY ? '\r\x1b[K' : '';
    if (this.received === undefined && this.graceful) {
      this.received = signal;
      this.controller.abort(signal);
      stderr.write(
        `${clear}ftunet: ${signal}: stopping before the next step (${again} again to quit at once)\n`,
      );
      return;
    }
    this.received ??= signal;
    const lost = this.graceful ? `; the epoch in progress is lost${this.next()}` : '';
    stderr.write(
      `${stderr.isTTY ? RESTORE_TERMINAL : ''}${clear}ftunet: ${signal}: quit at once${lost}\n`,
    );
    const exit = this.options.exit ?? ((code: number) => process.exit(code));
    exit(128 + SIGNAL_NUMBERS[signal]);
  }
}

/** The process's signal handling (installed by main.ts). */
export const interrupts = new Interrupts();
