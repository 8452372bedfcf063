/**
 * Requests to a worker and their answers, as the page's workers speak (`worker.ts` through
 * `pipeline.ts`, `fine_tune_worker.ts` through `fine_tuner.ts`): each request carries an id;
 * the worker answers it with `{ type: 'done', id, result }` or `{ type: 'error', id, ... }`,
 * and may send other messages for it meanwhile (stages, progress), or messages for no request.
 * A worker that fails or whose message cannot be read stops the channel: every request
 * waiting, and every later one, fails with the reason. Browser-only.
 */

/** What every answer of a worker holds. */
export interface WorkerReplyBase {
  type: string;
  id?: number;
}

/** What the channel needs to know of a request's other messages and of errors. */
export interface ChannelOptions<Reply extends WorkerReplyBase> {
  /** The worker in words, for the reasons it stopped ('the worker'). */
  what: string;
  /** The error of an `error` answer. */
  toError(reply: Reply): Error;
  /** Told of a message for no request waiting (e.g. an engine's fallback). */
  onUnaddressed?(reply: Reply): void;
}

interface Pending<Reply> {
  resolve(value: unknown): void;
  reject(err: unknown): void;
  onReply?: (reply: Reply) => void;
}

export class WorkerChannel<
  Request extends { id: number; type: string },
  Reply extends WorkerReplyBase,
> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending<Reply>>();
  private stopped: string | undefined;

  constructor(
    readonly worker: Worker,
    private readonly options: ChannelOptions<Reply>,
  ) {
    worker.addEventListener('message', (e: MessageEvent<Reply>) => this.receive(e.data));
    worker.addEventListener('error', (e) => {
      e.preventDefault();
      this.stop(`${options.what} stopped: ${e.message || 'it could not run'}`);
    });
    worker.addEventListener('messageerror', () =>
      this.stop(`a message from ${options.what} was lost`),
    );
  }

  /**
   * Sends a request; its promise settles with the worker's answer, and `onReply` hears the
   * other messages for it. Returns the request's id too (to cancel it by).
   */
  request(
    message: Omit<Request, 'id'>,
    onReply?: (reply: Reply) => void,
  ): { id: number; result: Promise<unknown> } {
    const id = this.nextId++;
    if (this.stopped !== undefined) return { id, result: Promise.reject(new Error(this.stopped)) };
    const result = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...(onReply ? { onReply } : {}) });
    });
    this.worker.postMessage({ ...message, id } as Request);
    return { id, result };
  }

  /** Sends a message that expects no answer (a cancel). */
  post(message: Omit<Request, 'id'>): void {
    if (this.stopped === undefined) this.worker.postMessage({ ...message, id: this.nextId++ });
  }

  /** Fails the request `id` with `err` at once, if it still waits; says whether it did. */
  drop(id: number, err: unknown): boolean {
    const pending = this.pending.get(id);
    if (pending === undefined) return false;
    this.pending.delete(id);
    pending.reject(err);
    return true;
  }

  /** Whether the channel has stopped (why, or undefined). */
  get stoppedBecause(): string | undefined {
    return this.stopped;
  }

  /** Every request still waiting fails with `reason`; later ones too. */
  stop(reason: string): void {
    this.stopped ??= reason;
    for (const id of [...this.pending.keys()]) this.drop(id, new Error(reason));
  }

  /** Stops the channel and ends the worker. */
  close(reason: string): void {
    this.stop(reason);
    this.worker.terminate();
  }

  private receive(reply: Reply): void {
    const pending = reply.id === undefined ? undefined : this.pending.get(reply.id);
    if (pending === undefined) {
      this.options.onUnaddressed?.(reply);
      return;
    }
    switch (reply.type) {
      case 'done':
        this.pending.delete(reply.id!);
        pending.resolve((reply as WorkerReplyBase & { result?: unknown }).result);
        return;
      case 'error':
        this.pending.delete(reply.id!);
        pending.reject(this.options.toError(reply));
        return;
      default:
        pending.onReply?.(reply);
    }
  }
}
