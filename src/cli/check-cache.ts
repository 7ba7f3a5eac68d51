import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { codeIdentity } from './up-to-date.js';

/**
 * Results of the in-process checks of synthesized output, by a sha256 of
 * exactly what each check reads (an object's JSON, the rule files' text, the
 * dashboards and the metric catalog) and the obstack that checked it. After a
 * change to one environment field most objects, every rule file and every
 * dashboard are what they were, and their checks need not run again. A
 * changed input hashes to another key and runs; a new obstack (another bundle
 * or version) starts an empty cache, since its checks may find other things.
 *
 * Kept in one file under the project's node_modules/.cache/obstack/, beside
 * synth's up-to-date record; without node_modules nothing is cached. Findings
 * are cached as they are, so a cached failure fails again: only what a check
 * computes is stored, never a verdict of its own.
 */

const FORMAT = 1;
/** Enough for the objects, rules and dashboards of several environments; the least recently used go first. */
const MAX_ENTRIES = 4000;

interface CacheFile {
  readonly format: number;
  readonly code: string;
  /** Oldest first; a hit moves an entry to the end. */
  readonly entries: Readonly<Record<string, unknown>>;
}

/** A content-addressed store of check results, loaded once, written back when something was added. */
export class CheckCache {
  private readonly entries = new Map<string, unknown>();
  private changed = false;
  hits = 0;
  misses = 0;

  constructor(
    readonly file: string,
    private readonly code: string = codeIdentity(),
  ) {
    let stored: CacheFile | undefined;
    try {
      stored = JSON.parse(readFileSync(file, 'utf8')) as CacheFile;
    } catch {
      stored = undefined;
    }
    if (stored?.format === FORMAT && stored.code === this.code && typeof stored.entries === 'object' && stored.entries !== null) {
      for (const [k, v] of Object.entries(stored.entries)) this.entries.set(k, v);
    }
  }

  /** The result of `compute` for `input` (everything it reads, as text), from the cache when this obstack computed it before. */
  get<T>(check: string, input: string, compute: () => T): T {
    const key = `${check}:${createHash('sha256').update(input).digest('base64url')}`;
    if (this.entries.has(key)) {
      const value = this.entries.get(key) as T;
      this.entries.delete(key);
      this.entries.set(key, value);
      this.hits++;
      return structuredClone(value);
    }
    this.misses++;
    const value = compute();
    this.entries.set(key, structuredClone(value));
    this.changed = true;
    return value;
  }

  /** Writes the cache when it changed (atomically: a concurrent run reads the old or the new file); a read-only folder only costs the next run its checks. */
  save(): void {
    if (!this.changed) return;
    const kept = [...this.entries].slice(-MAX_ENTRIES);
    const data: CacheFile = { format: FORMAT, code: this.code, entries: Object.fromEntries(kept) };
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const temp = `${this.file}.${process.pid}`;
      writeFileSync(temp, JSON.stringify(data));
      renameSync(temp, this.file);
      this.changed = false;
    } catch {
      // nothing to do: the cache is an optimisation
    }
  }
}

let active: CheckCache | undefined;

/** Turns the cache on for the checks of this process (the command line does, for the project at `root`); undefined turns it off. */
export function useCheckCache(root: string | undefined): CheckCache | undefined {
  active = undefined;
  if (root === undefined) return undefined;
  const modules = join(resolve(root), 'node_modules');
  if (!existsSync(modules)) return undefined;
  active = new CheckCache(join(modules, '.cache', 'obstack', 'checks.json'));
  return active;
}

/** The result of `compute`, from the active cache when there is one and it holds `input`; computed otherwise. */
export function cachedCheck<T>(check: string, input: string, compute: () => T): T {
  return active === undefined ? compute() : active.get(check, input, compute);
}

/** Writes the active cache back, if any. */
export function saveCheckCache(): void {
  active?.save();
}
