/**
 * The app's service worker (`sw.js` at the app's root, built by scripts/build_app.ts, which
 * writes in the list of files to keep and the build's version): after one visit the page loads
 * and predicts with the network off.
 *
 * - Install: the page, its hashed assets (the page's and the worker's scripts and the chunks of
 *   the default engine, onnxruntime-web on wasm), the style, the manifest and its icons, the
 *   default engine's wasm binary, and the built-in model (`model/model.json` and the weights
 *   files it names) go into this version's cache. The browser's HTTP cache answers most of
 *   these requests, as the page has just loaded them (the page registers the worker once its
 *   engine runs).
 * - Requests of this app (same origin, under the worker's scope), GET only: hashed assets
 *   (`assets/`: their names change with their content) from the cache first; everything else
 *   (`index.html`, `model/`, `wasm/`, the manifest) from the network first, so that a new app or
 *   model written in the folder is seen at once, and from the cache when the network fails.
 *   What is fetched is kept (another engine's files, once used).
 * - Activate: the caches of other versions are removed; open pages are taken over.
 *
 * Browser-only (a classic worker script, no imports).
 */

/** Written in by the build: the files to keep, relative to the worker's scope. */
declare const FTUNET_PRECACHE: string[];
/** Written in by the build: changes with every file of the build. */
declare const FTUNET_VERSION: string;

/** The cache names of this app begin with this. */
const PREFIX = 'ftunet-app-';
const CACHE = `${PREFIX}${FTUNET_VERSION}`;
/** The built-in model, relative to the scope. */
const MODEL_JSON = 'model/model.json';

interface FetchEventLike extends Event {
  request: Request;
  respondWith(response: Promise<Response>): void;
}
interface ExtendableEventLike extends Event {
  waitUntil(work: Promise<unknown>): void;
}
const sw = globalThis as unknown as {
  registration: { scope: string };
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  addEventListener(type: 'install' | 'activate', listener: (e: ExtendableEventLike) => void): void;
  addEventListener(type: 'fetch', listener: (e: FetchEventLike) => void): void;
};

const scope = (): string => sw.registration.scope;

/** The weights files a model.json names, relative to the scope. */
function weightsOf(json: unknown): string[] {
  const manifest = (json as { weightsManifest?: { paths?: unknown }[] })?.weightsManifest;
  if (!Array.isArray(manifest)) return [];
  return manifest
    .flatMap((group) => (Array.isArray(group?.paths) ? group.paths : []))
    .filter((p): p is string => typeof p === 'string')
    .map((p) => new URL(p, new URL(MODEL_JSON, scope())).href);
}

async function precache(): Promise<void> {
  const cache = await caches.open(CACHE);
  await cache.addAll(FTUNET_PRECACHE.map((f) => new URL(f, scope()).href));
  // The built-in model: its model.json, then the weights it names. An app without one (its
  // model failed to export) still works offline for models opened from files.
  const modelUrl = new URL(MODEL_JSON, scope()).href;
  const response = await fetch(modelUrl).catch(() => undefined);
  if (response?.ok) {
    const json = (await response
      .clone()
      .json()
      .catch(() => undefined)) as unknown;
    await cache.put(modelUrl, response);
    await cache.addAll(weightsOf(json));
  }
}

sw.addEventListener('install', (e) => {
  e.waitUntil(precache().then(() => sw.skipWaiting()));
});

sw.addEventListener('activate', (e) => {
  e.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
      }
      await sw.clients.claim();
    })(),
  );
});

/** Keeps a good, whole answer to a request of this app. */
async function keep(request: Request, response: Response): Promise<void> {
  if (!response.ok || response.status !== 200 || response.type === 'opaque') return;
  const cache = await caches.open(CACHE);
  await cache.put(request, response);
}

async function cacheFirst(request: Request): Promise<Response> {
  const cached = await caches.match(request, { cacheName: CACHE, ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  keep(request, response.clone()).catch(() => undefined);
  return response;
}

async function networkFirst(request: Request): Promise<Response> {
  try {
    const response = await fetch(request);
    // Kept while the page reads it (not awaited: the answer streams meanwhile).
    keep(request, response.clone()).catch(() => undefined);
    return response;
  } catch (err) {
    const cached =
      (await caches.match(request, { cacheName: CACHE, ignoreSearch: true, ignoreVary: true })) ??
      (request.mode === 'navigate'
        ? await caches.match(scope(), { cacheName: CACHE, ignoreVary: true })
        : undefined);
    if (cached) return cached;
    throw err;
  }
}

sw.addEventListener('fetch', (e) => {
  const { request } = e;
  if (request.method !== 'GET' || !request.url.startsWith(scope())) return;
  if (request.headers.has('range')) return;
  const rest = request.url.slice(scope().length);
  e.respondWith(rest.startsWith('assets/') ? cacheFirst(request) : networkFirst(request));
});
