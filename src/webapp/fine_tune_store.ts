/**
 * A fine-tuning kept in the browser (IndexedDB) while it runs, so that a reload, a crash or a
 * closed tab loses no more than the epoch under way: after each epoch the worker saves, in one
 * transaction, what a resumed run needs (`SavedRun`: the settings, the trainer's state, the
 * current model as a model folder, the best weights so far, the logs, the scores before, the
 * parent model's digest) and, with the first epoch, the images and their masks as `Blob`s, so
 * that the saved run stands on its own (the workbench may change meanwhile). A finished or
 * discarded run is deleted.
 *
 * Its own database, `ftunet-fine-tune`, rather than a new store in the workbench's
 * (`store.ts`): the worker writes it while the page holds the workbench's database open, and a
 * version upgrade of that one would wait for every tab to close it; the workbench's `clear`
 * and its zip stay about the work, and the two can be deleted apart. Browser-only (IndexedDB;
 * in a page or a worker).
 */
import type {
  FineTuneCheckpoint,
  FineTuneObjective,
  FineTuneSettings,
} from '../browser/fine_tune.js';
import type { AugmentTransform } from '../data/augment.js';
import type { BatchSizing } from '../train/memory.js';
import { done, openDatabase, request, StoreError } from './store.js';

/**
 * What the person is told when a fine-tuning cannot be saved (it goes on, but a reload stops
 * it): one sentence for each of `StoreError`'s problems.
 */
export function unsavedNotice(err: unknown): string {
  const problem = err instanceof StoreError ? err.problem : 'failed';
  switch (problem) {
    case 'unavailable':
      return (
        'This browser keeps no data for this page (a private window, or site data turned off), ' +
        'so the fine-tuning is not saved as it goes: a reload stops it.'
      );
    case 'quota':
      return (
        "The browser's storage for this page is full, so the fine-tuning is not saved as it " +
        'goes: a reload stops it. Remove some images or clear the workbench to make room.'
      );
    case 'blocked':
    case 'newer':
    case 'closed':
      return (
        'The fine-tuning cannot be saved while this page is open in another tab with another ' +
        'version: a reload stops it. Close the other tab.'
      );
    case 'failed':
      return (
        `The browser could not save the fine-tuning (${err instanceof Error ? err.message : String(err)}): ` +
        'it goes on, but a reload stops it.'
      );
    default:
      throw new RangeError(
        `unknown store problem '${String(problem)}'; expected unavailable, quota, blocked, ` +
          'newer, closed or failed',
      );
  }
}

/** The database's name unless another is given (tests use their own). */
export const FINE_TUNE_DB = 'ftunet-fine-tune';

/** The database's version: the object stores below. */
const DB_VERSION = 1;
const RUN = 'run';
const IMAGES = 'images';
/** The one run's key in `RUN`. */
const CURRENT = 'current';

/** The version of `SavedRun`'s layout; another is refused (discarded, not misread). */
export const SAVED_RUN_VERSION = 1;

/** An image of the run with the mask it trains on (file bytes and PNG). */
export interface SavedImage {
  id: string;
  name: string;
  file: Blob;
  mask: Blob;
}

/** What a fine-tuning keeps after each epoch (see the module comment). */
export interface SavedRun {
  version: typeof SAVED_RUN_VERSION;
  /** When it started (ISO 8601). */
  started: string;
  /** The settings over the defaults, with the batch the device holds. */
  settings: FineTuneSettings;
  batch: BatchSizing;
  objective: FineTuneObjective;
  augmentExclude: AugmentTransform[];
  /** The parent model's `weightsDigest`. */
  parentWeightsSha256: string;
  /** The images' ids, in the run's order (their records are in `images`). */
  imageIds: string[];
  checkpoint: FineTuneCheckpoint;
  /** The model after the last epoch saved: model.json and its weights file, by file name. */
  model: Record<string, Uint8Array>;
}

function upgrade(db: IDBDatabase, from: number): void {
  if (from < 1) {
    db.createObjectStore(RUN);
    db.createObjectStore(IMAGES, { keyPath: 'id' });
  }
}

/** The fine-tuning's database; every write resolves once it is on disk. */
export class FineTuneStore {
  private constructor(private readonly db: IDBDatabase) {}

  /** Opens (creating) the database; rejects with a `StoreError` where the browser keeps none. */
  static async open(name: string = FINE_TUNE_DB): Promise<FineTuneStore> {
    return new FineTuneStore(await openDatabase(name, DB_VERSION, upgrade));
  }

  /**
   * Saves `run` in one transaction, with `images` (the first epoch's save) replacing the
   * images kept before.
   */
  async save(run: SavedRun, images?: readonly SavedImage[]): Promise<void> {
    const tx = this.db.transaction([RUN, IMAGES], 'readwrite', { durability: 'strict' });
    const finished = done(tx);
    try {
      if (images !== undefined) {
        const store = tx.objectStore(IMAGES);
        store.clear();
        for (const image of images) store.put(image);
      }
      tx.objectStore(RUN).put(run, CURRENT);
    } catch (err) {
      tx.abort();
      await finished.catch(() => undefined);
      throw err;
    }
    await finished;
  }

  /** The run saved, or undefined; a `StoreError` for one of another version. */
  async run(): Promise<SavedRun | undefined> {
    const tx = this.db.transaction([RUN], 'readonly');
    const run = await request(tx.objectStore(RUN).get(CURRENT) as IDBRequest<SavedRun | undefined>);
    if (run !== undefined && run.version !== SAVED_RUN_VERSION) {
      throw new StoreError(
        'newer',
        'The fine-tuning saved in this browser was made by another version of this page: ' +
          'discard it and fine-tune again.',
      );
    }
    return run;
  }

  /** The saved run's images, in its order; a `StoreError` when one is missing. */
  async images(run: SavedRun): Promise<SavedImage[]> {
    const tx = this.db.transaction([IMAGES], 'readonly');
    const all = await request(tx.objectStore(IMAGES).getAll() as IDBRequest<SavedImage[]>);
    const byId = new Map(all.map((i) => [i.id, i]));
    return run.imageIds.map((id) => {
      const image = byId.get(id);
      if (image === undefined) {
        throw new StoreError(
          'failed',
          'The fine-tuning saved in this browser has lost an image: discard it and fine-tune again.',
        );
      }
      return image;
    });
  }

  /** Deletes the saved run and its images. */
  async clear(): Promise<void> {
    const tx = this.db.transaction([RUN, IMAGES], 'readwrite', { durability: 'strict' });
    const finished = done(tx);
    tx.objectStore(RUN).clear();
    tx.objectStore(IMAGES).clear();
    await finished;
  }

  close(): void {
    this.db.close();
  }
}
