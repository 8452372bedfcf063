/**
 * The workbench kept in the browser (IndexedDB), so that a reload, a crash or closing the tab
 * loses nothing: every `WorkImage` (its file and masks as `Blob`s, its probabilities as
 * `Float32Array`s, all stored as they are, not copied into strings) and the session (which
 * image is open, the settings: any structured-cloneable value under a key).
 *
 * One database, `ftunet-workbench` (version 1), with two object stores: `images` (key `id`,
 * an index on `added` for the list's order) and `session` (key/value). Every write resolves
 * only when its transaction has completed with `durability: 'strict'` (the browser has put it
 * on disk), so "saved" means saved. A failure becomes a `StoreError` whose message is one
 * sentence saying what happened and what to do (storage full, storage turned off as in some
 * private windows, another tab holding an older version open, ...), for the page to show as a
 * notice; `memoryStore()` then keeps the work for the page's life, so the page goes on.
 * Browser-only (IndexedDB).
 */
import { UserError } from '../errors.js';
import type { WorkImage } from './work.js';

/** The database's name unless another is given (tests use their own). */
export const WORKBENCH_DB = 'ftunet-workbench';

/** The database's version: the object stores below; an upgrade adds a step in `upgrade`. */
const DB_VERSION = 1;
const IMAGES = 'images';
const SESSION = 'session';
const BY_ADDED = 'added';

/** What the page keeps of its work; every method's promise resolves once the work is saved. */
export interface WorkStore {
  /** Adds an image, or replaces the one with its `id`. */
  put(image: WorkImage): Promise<void>;
  /** Removes the image with this id (nothing when there is none). */
  delete(id: string): Promise<void>;
  /** Every image, in the order added (`added`, then `id`). */
  all(): Promise<WorkImage[]>;
  /** A session value (the image open, the settings, ...), or undefined. */
  getSession<T>(key: string): Promise<T | undefined>;
  /** Sets a session value (any structured-cloneable value). */
  putSession(key: string, value: unknown): Promise<void>;
  /** Removes every image and session value, giving the space back. */
  clear(): Promise<void>;
  /** Closes the store; later calls fail. */
  close(): void;
  /** Whether the work outlives the page (false for `memoryStore`). */
  readonly persistent: boolean;
}

/** Why the store cannot keep the work. */
export type StoreProblem = 'unavailable' | 'quota' | 'blocked' | 'newer' | 'closed' | 'failed';

/** The store failed; `message` is one sentence for the person, saying what to do. */
export class StoreError extends UserError {
  override name = 'StoreError';
  constructor(
    readonly problem: StoreProblem,
    message: string,
  ) {
    super(message);
  }
}

/** The sentence of each problem (`detail`: the browser's own words, for `failed`). */
function storeError(problem: StoreProblem, detail = ''): StoreError {
  switch (problem) {
    case 'unavailable':
      return new StoreError(
        problem,
        'This browser does not let the page keep data (a private window, or site data turned ' +
          'off), so your work is not saved: export it as a zip before you close the page.',
      );
    case 'quota':
      return new StoreError(
        problem,
        "The browser's storage for this page is full, so the last change was not saved: " +
          'export your work as a zip, then remove some images or clear the workbench.',
      );
    case 'blocked':
      return new StoreError(
        problem,
        'The workbench is open in another tab with an older version of this page: close that ' +
          'tab, then reload this one.',
      );
    case 'newer':
      return new StoreError(
        problem,
        'The workbench was saved by a newer version of this page: reload the page to get it.',
      );
    case 'closed':
      return new StoreError(
        problem,
        'The workbench was opened by a newer version of this page in another tab, so this tab ' +
          'no longer saves: reload it.',
      );
    case 'failed':
      return new StoreError(
        problem,
        `The browser could not save the workbench (${detail || 'no reason given'}): export ` +
          'your work as a zip to keep it, then reload the page.',
      );
    default:
      throw new RangeError(
        `unknown store problem '${String(problem)}'; expected unavailable, quota, blocked, ` +
          'newer, closed or failed',
      );
  }
}

/** A `DOMException` (or anything thrown) as a `StoreError`. */
export function toStoreError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const name = (err as { name?: unknown } | null)?.name;
  const message = (err as { message?: unknown } | null)?.message;
  switch (name) {
    case 'QuotaExceededError':
      return storeError('quota');
    case 'VersionError':
      return storeError('newer');
    case 'InvalidStateError':
      return storeError('closed');
    case 'SecurityError':
    case 'UnknownError':
      return storeError('unavailable');
    default:
      return storeError('failed', typeof message === 'string' ? message : String(err));
  }
}

/** A request's result, or a `StoreError`. */
export function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(toStoreError(req.error));
  });
}

/** Resolves when the transaction has completed (is durable); rejects when it aborts. */
export function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(toStoreError(tx.error ?? new DOMException('aborted', 'AbortError')));
    tx.onerror = (event) => {
      // The abort that follows rejects with the same error; keep the event from bubbling.
      event.preventDefault();
      tx.abort();
    };
  });
}

/** Creates the object stores of each version from `from` up to `DB_VERSION`. */
function upgrade(db: IDBDatabase, from: number): void {
  if (from < 1) {
    const images = db.createObjectStore(IMAGES, { keyPath: 'id' });
    images.createIndex(BY_ADDED, 'added');
    db.createObjectStore(SESSION);
  }
}

/**
 * Opens (creating or upgrading) the database `name` at `version`, `upgrade` creating the
 * object stores of each version after `from`. Rejects with a `StoreError` when the browser
 * keeps no data for the page, when another tab blocks the upgrade, or when the database was
 * made by a newer version of the page. A newer version opened in another tab closes it.
 */
export function openDatabase(
  name: string,
  version: number,
  upgrade: (db: IDBDatabase, from: number) => void,
): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    let req: IDBOpenDBRequest;
    try {
      if (typeof indexedDB === 'undefined' || indexedDB === null) {
        throw storeError('unavailable');
      }
      req = indexedDB.open(name, version);
    } catch (err) {
      reject(err instanceof StoreError ? err : storeError('unavailable'));
      return;
    }
    let settled = false;
    req.onupgradeneeded = (event) => upgrade(req.result, event.oldVersion);
    req.onblocked = () => {
      settled = true;
      reject(storeError('blocked'));
    };
    req.onerror = (event) => {
      event.preventDefault();
      if (settled) return;
      settled = true;
      const err = req.error;
      reject(err?.name === 'VersionError' ? storeError('newer') : toStoreError(err ?? undefined));
    };
    req.onsuccess = () => {
      const db = req.result;
      if (settled) {
        db.close(); // a blocked open that went through once the other tab closed
        return;
      }
      settled = true;
      // Let a newer version of the page (another tab) upgrade: this tab's writes then fail
      // with 'closed', which tells the person to reload.
      db.onversionchange = () => db.close();
      resolve(db);
    };
  });
}

/** Opens (creating or upgrading) the workbench's database (see `openDatabase`). */
export async function openStore(name: string = WORKBENCH_DB): Promise<WorkStore> {
  return new IndexedDbStore(await openDatabase(name, DB_VERSION, upgrade));
}

class IndexedDbStore implements WorkStore {
  readonly persistent = true;
  private closed = false;

  constructor(private readonly db: IDBDatabase) {}

  /** Runs `work` in a transaction over `stores`; resolves when it has completed. */
  private async write(stores: string[], work: (tx: IDBTransaction) => void): Promise<void> {
    const tx = this.transaction(stores, 'readwrite');
    const finished = done(tx);
    try {
      work(tx);
    } catch (err) {
      tx.abort();
      await finished.catch(() => undefined);
      throw toStoreError(err);
    }
    await finished;
  }

  private transaction(stores: string[], mode: IDBTransactionMode): IDBTransaction {
    if (this.closed) throw storeError('closed');
    try {
      return this.db.transaction(stores, mode, { durability: 'strict' });
    } catch (err) {
      throw toStoreError(err);
    }
  }

  async put(image: WorkImage): Promise<void> {
    await this.write([IMAGES], (tx) => tx.objectStore(IMAGES).put(image));
  }

  async delete(id: string): Promise<void> {
    await this.write([IMAGES], (tx) => tx.objectStore(IMAGES).delete(id));
  }

  async all(): Promise<WorkImage[]> {
    const tx = this.transaction([IMAGES], 'readonly');
    return request(tx.objectStore(IMAGES).index(BY_ADDED).getAll() as IDBRequest<WorkImage[]>);
  }

  async getSession<T>(key: string): Promise<T | undefined> {
    const tx = this.transaction([SESSION], 'readonly');
    return request(tx.objectStore(SESSION).get(key) as IDBRequest<T | undefined>);
  }

  async putSession(key: string, value: unknown): Promise<void> {
    await this.write([SESSION], (tx) => tx.objectStore(SESSION).put(value, key));
  }

  async clear(): Promise<void> {
    await this.write([IMAGES, SESSION], (tx) => {
      tx.objectStore(IMAGES).clear();
      tx.objectStore(SESSION).clear();
    });
  }

  close(): void {
    this.closed = true;
    this.db.close();
  }
}

/**
 * Asks the browser to keep the page's data under storage pressure (`navigator.storage.persist`:
 * without it, a browser low on disk may evict a site's data, workbench included). Resolves to
 * whether the data is persistent now; false where the browser declines or cannot say. Browsers
 * decide by their own rules (an installed app, bookmarks, engagement; Firefox asks the person),
 * so the page asks once there is work to lose.
 */
export async function persistStorage(): Promise<boolean> {
  const storage = typeof navigator === 'undefined' ? undefined : navigator.storage;
  if (storage?.persist === undefined) return false;
  try {
    return (await storage.persisted()) || (await storage.persist());
  } catch {
    return false;
  }
}

/**
 * A store that keeps the work in memory for the page's life only: what the page uses when
 * `openStore` fails, so that it goes on (after telling the person that nothing outlives it).
 */
export function memoryStore(): WorkStore {
  const images = new Map<string, WorkImage>();
  const session = new Map<string, unknown>();
  let closed = false;
  const open = (): void => {
    if (closed) throw storeError('closed');
  };
  return {
    persistent: false,
    put: async (image) => {
      open();
      images.set(image.id, image);
    },
    delete: async (id) => {
      open();
      images.delete(id);
    },
    all: async () => {
      open();
      return [...images.values()].sort(
        (a, b) => a.added - b.added || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
      );
    },
    getSession: async <T>(key: string) => {
      open();
      return session.get(key) as T | undefined;
    },
    putSession: async (key, value) => {
      open();
      session.set(key, value);
    },
    clear: async () => {
      open();
      images.clear();
      session.clear();
    },
    close: () => {
      closed = true;
    },
  };
}
