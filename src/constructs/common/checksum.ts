import { createHash } from 'node:crypto';

/** A short digest of configuration text, put on a pod template so that a change rolls the pods. */
export function checksum(...parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}
