/**
 * Offline use: registers the app's service worker (`sw.js`, src/webapp/sw.ts) once the page's
 * engine runs, so that what the worker keeps (the page, its scripts, the default engine's wasm,
 * the built-in model) comes from the browser's HTTP cache the page has just filled rather than
 * from the network a second time. A browser without service workers, or a page not served over
 * http(s) or localhost, works as before, online only. Browser-only.
 */

/** The service worker's script, beside the page (its scope is the page's folder). */
export const SERVICE_WORKER = 'sw.js';

/** Registers the service worker; never throws (the page works without it). */
export async function registerOffline(): Promise<boolean> {
  if (!('serviceWorker' in navigator) || !isSecureContext) return false;
  try {
    await navigator.serviceWorker.register(SERVICE_WORKER, { scope: './' });
    return true;
  } catch {
    return false;
  }
}
