import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { AuditEntry } from './audit.js';
import { ApiKeysSchema, type ApiKey } from './config.js';
import type { ApiKeyStore, KeyChanges } from './http/auth.js';

/** A key file's keys, or every problem with it, each naming the entry and field (never a key's value). */
export function parseKeyFile(text: string): { keys: ApiKey[] } | { problems: string[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problems: ['not valid JSON'] };
  }
  const result = ApiKeysSchema.safeParse(value);
  if (result.success) return { keys: result.data };
  return { problems: result.error.issues.map((i) => `${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`) };
}

export interface KeyFileWatcherOptions {
  /** The key file; its folder is watched, since a Kubernetes Secret volume swaps a `..data` symlink rather than writing the file. */
  readonly file: string;
  readonly store: ApiKeyStore;
  readonly log: FastifyBaseLogger;
  /** Writes audit entries (rows and lines). */
  readonly audit: (entries: AuditEntry[]) => void;
  /** Counts a read of a changed file. */
  readonly onReload: (outcome: 'success' | 'failure') => void;
  /** The file is also read this often, in case a change notification is missed. @default 5000 */
  readonly pollMs?: number;
  readonly now?: () => number;
}

const ACTIONS: Record<keyof KeyChanges, string> = {
  added: 'api_key.added',
  removed: 'api_key.removed',
  revoked: 'api_key.revoked',
  changed: 'api_key.changed',
};

/**
 * Keeps an `ApiKeyStore` in step with its key file: re-reads the file when
 * its folder changes (and every `pollMs`), swaps the keys when the text
 * changed and is valid, and audits each key added, removed, revoked, changed
 * or expired, by name. An invalid file keeps the keys in use, is logged at
 * `error` and counted, and audited once per distinct text.
 */
export class KeyFileWatcher {
  private lastText: string | undefined;
  private lastFailed: string | undefined;
  private lastExpiryCheck = Number.NEGATIVE_INFINITY;
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly opts: KeyFileWatcherOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Reads the file once (auditing any change since boot), then watches it. */
  async start(): Promise<void> {
    await this.reload();
    try {
      this.watcher = watch(dirname(this.opts.file), { persistent: false }, () => this.schedule());
      this.watcher.on('error', (err) => {
        this.opts.log.warn({ error: err, 'file.path': this.opts.file }, 'cannot watch the API key folder; polling it');
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      this.opts.log.warn({ error: err, 'file.path': this.opts.file }, 'cannot watch the API key folder; polling it');
    }
    this.poller = setInterval(() => this.schedule(0), this.opts.pollMs ?? 5_000);
    this.poller.unref();
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    if (this.poller) clearInterval(this.poller);
    if (this.debounce) clearTimeout(this.debounce);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
  }

  /** Re-reads the file soon; several notifications of one change make one read. */
  private schedule(delayMs = 50): void {
    if (this.closed) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.reload();
    }, delayMs);
    this.debounce.unref();
  }

  /** Reads the file and applies it when it changed; one read at a time. Resolves when done. */
  reload(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.readAndApply()
      .catch((err: unknown) => this.opts.log.error({ error: err }, 'API key reload failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.closed) {
          this.again = false;
          void this.reload();
        }
      });
    return this.running;
  }

  private async readAndApply(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.opts.file, 'utf8');
    } catch (err) {
      // Between two steps of a Secret update the file may be missing for a moment: keep the keys, try again at the next poll.
      this.fail(`cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, [`cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
      this.checkExpiry();
      return;
    }
    if (text !== this.lastText) {
      const parsed = parseKeyFile(text);
      if ('problems' in parsed) {
        this.fail(text, parsed.problems);
      } else {
        this.lastText = text;
        this.lastFailed = undefined;
        const { changes, projects } = this.opts.store.replace(parsed.keys);
        const entries = (Object.keys(ACTIONS) as (keyof KeyChanges)[]).flatMap((kind) =>
          changes[kind].map((name) => keyEntry(ACTIONS[kind], name, this.opts.file, projects.get(name))),
        );
        this.opts.onReload('success');
        if (entries.length > 0) {
          this.opts.log.info({ 'event.action': 'api_keys.reload', 'file.path': this.opts.file, changes }, 'API keys reloaded');
          this.opts.audit(entries);
        }
      }
    }
    this.checkExpiry();
  }

  /** Audits, once each, the keys whose expiry passed since the last check. */
  checkExpiry(): void {
    const t = this.now();
    const expired = this.opts.store.expiredBetween(this.lastExpiryCheck, t);
    this.lastExpiryCheck = t;
    if (expired.length > 0) this.opts.audit(expired.map((k) => keyEntry('api_key.expired', k.name, this.opts.file, { project: k.project })));
    // The next expiry is audited when it happens, not at the next poll; requests are refused from that instant in any case.
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    const next = this.opts.store.nextExpiry(t);
    if (next !== undefined && !this.closed) {
      this.expiryTimer = setTimeout(() => this.checkExpiry(), Math.min(next - t + 1, 2 ** 31 - 1));
      this.expiryTimer.unref();
    }
  }

  private fail(text: string, problems: string[]): void {
    // Logged and counted on every failed read, audited once per distinct bad text.
    this.opts.onReload('failure');
    this.opts.log.error({ 'event.action': 'api_keys.reload', 'file.path': this.opts.file, problems }, 'API key file is invalid; the keys in use are kept');
    if (text === this.lastFailed) return;
    this.lastFailed = text;
    this.opts.audit([
      {
        actor: null,
        action: 'api_keys.reload',
        resourceType: 'api_key_file',
        resourceId: this.opts.file,
        outcome: 'failure',
        reason: 'invalid_key_file',
        metadata: { problems: problems.slice(0, 20) },
      },
    ]);
  }
}

/** A key's audit entry, in the key's project; a key moved from another project names that one too. */
function keyEntry(action: string, name: string, file: string, project: { project: string; previous?: string } | undefined): AuditEntry {
  const metadata = project?.previous === undefined ? { file } : { file, previous_project: project.previous };
  return { actor: null, action, resourceType: 'api_key', resourceId: name, outcome: 'success', project: project?.project ?? null, metadata };
}
