/** The candidate closest to `input` by edit distance, when close enough to be a plausible typo (one implementation, in src/config). */
export { suggestName as closestName } from '../authoring/overrides.js';
