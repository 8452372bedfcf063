/** Help texts that several commands share, so that they say the same thing. */
import { CACHE_FOLDER_NAME } from '../data/cache.js';

/** The default preprocessing cache folder, as `defaultCacheDir` (src/data/cache.ts) picks it. */
export const DEFAULT_CACHE_HELP = `$XDG_CACHE_HOME/${CACHE_FOLDER_NAME}, else ~/.cache/${CACHE_FOLDER_NAME}`;
