import { createHash } from 'node:crypto';

/** How many frames from the top of the stack identify an error. */
export const TOP_FRAMES = 5;

/** A dependency's path from `node_modules/` on, our own code's last two segments. */
function shortPath(path: string): string {
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) return path.slice(nm);
  return path.split('/').filter(Boolean).slice(-2).join('/');
}

/**
 * The frames of a V8 or Python-style stack trace, normalised so that the
 * same code path gives the same frame across releases and hosts: line and
 * column numbers, absolute path prefixes, query strings and hex addresses
 * are dropped, and so is V8's `async` mark, which Sentry's stack parser drops
 * too (an error reported through both APIs keeps one fingerprint).
 */
export function topFrames(stack: string | undefined, n = TOP_FRAMES): string[] {
  if (!stack) return [];
  const frames: string[] = [];
  for (const raw of stack.split('\n')) {
    const line = raw.trim();
    if (!/^at\s|^File\s"/.test(line)) continue;
    const normalised = line
      .replace(/^at\s+/, '')
      .replace(/^async\s+/, '')
      .replace(/:\d+(:\d+)?\)?$/, ')')
      .replace(/, line \d+/, '')
      .replace(/\?[^)\s]*/g, '')
      .replace(/0x[0-9a-f]+/gi, '0x')
      .replace(/(?:file:\/\/)?\/[^()\s"]+/, shortPath);
    frames.push(normalised);
    if (frames.length >= n) break;
  }
  return frames;
}

/**
 * Groups error reports: the error type and its top frames; when there is no
 * stack, the type and the message with numbers and ids blanked out.
 */
export function fingerprint(type: string, message: string, stack?: string): string {
  const frames = topFrames(stack);
  const basis =
    frames.length > 0
      ? [type, ...frames]
      : [type, message.replace(/[0-9a-f]{8}-[0-9a-f-]{27,}/gi, '<id>').replace(/\d+(\.\d+)?/g, '<n>')];
  return hash(basis);
}

const DEFAULT_PART = /^\{\{\s*default\s*\}\}$/i;

/**
 * The fingerprint a client chose (Sentry's `event.fingerprint`): its parts,
 * where `{{ default }}` stands for the fingerprint the report would have had.
 */
export function customFingerprint(parts: readonly string[], defaultFingerprint: string): string {
  if (parts.every((p) => DEFAULT_PART.test(p))) return defaultFingerprint;
  return hash(['custom', ...parts.map((p) => (DEFAULT_PART.test(p) ? defaultFingerprint : p))]);
}

function hash(basis: readonly string[]): string {
  return createHash('sha256').update(basis.join('\n')).digest('hex').slice(0, 32);
}
