import { hash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_PROJECT, type ApiKey, type Scope } from '../config.js';
import type { ServiceMetrics } from '../telemetry/service-metrics.js';
import { HttpError } from './errors.js';

/** The caller, once its key is recognised. */
export interface Principal {
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
  /** The project whose rows the key writes and reads; no other. */
  readonly project: string;
  /** The DSN project id a Sentry SDK sends with this key, when it has one. */
  readonly sentryProjectId: string | undefined;
  /** The services whose Prometheus metrics and Jaeger traces the key may read: `all`, or these. */
  readonly components: 'all' | ReadonlySet<string>;
}

/** The services a key may read: its `components` (`*` is all); without them, all for the default project and none for others. */
export function keyComponents(k: Pick<ApiKey, 'components' | 'project'>): 'all' | ReadonlySet<string> {
  if (k.components === undefined) return k.project === DEFAULT_PROJECT ? 'all' : new Set();
  return k.components.includes('*') ? 'all' : new Set(k.components);
}

/** Whether a principal may read a service's metrics and traces. */
export const mayReadComponent = (p: Principal, service: string): boolean => p.components === 'all' || p.components.has(service);

const digest = (value: string): Buffer => hash('sha256', value, 'buffer');

interface StoredKey {
  readonly digest: Buffer;
  readonly principal: Principal;
  /** Milliseconds since the epoch after which the key is refused; Infinity when it does not expire. */
  readonly expiresAt: number;
  readonly revoked: boolean;
  /** What the key is, without its secret: to tell a rotation or a scope change from an unchanged key. */
  readonly fingerprint: string;
}

/** What changed between two sets of keys, by key name. */
export interface KeyChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly revoked: readonly string[];
  /** Secret, scopes, expiry, project or Sentry project id changed (or a revocation was lifted). */
  readonly changed: readonly string[];
}

/** The project of each key named in KeyChanges (its new one; a removed key's last), and the one it left when that changed. */
export type KeyProjects = ReadonlyMap<string, { readonly project: string; readonly previous?: string }>;

function stored(k: ApiKey): StoredKey {
  const d = digest(k.key);
  const expiresAt = k.expiresAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(k.expiresAt);
  return {
    digest: d,
    principal: { name: k.name, scopes: new Set(k.scopes), project: k.project, sentryProjectId: k.sentryProjectId, components: keyComponents(k) },
    expiresAt,
    revoked: k.revoked === true,
    fingerprint: [d.toString('hex'), [...k.scopes].sort().join(','), String(expiresAt), k.project, k.sentryProjectId ?? '', [...(k.components ?? [])].sort().join(',')].join('|'),
  };
}

/**
 * Recognises API keys. Keys are compared as SHA-256 digests with
 * `timingSafeEqual`, and every key is compared on every call, so neither the
 * length of a key nor the position of a match shows in the timing. A revoked
 * key, or one past its `expiresAt`, is not recognised. `replace` swaps the
 * whole set at once (a reload of the key file).
 *
 * A key once recognised is found again by its text, without the digest (a
 * SHA-256 costs more than the rest of the check): only the keys of the set
 * can be remembered, so the map is never larger than the set, and a key that
 * is not in it takes the full comparison. Whether a key is valid, which the
 * answer says anyway, is all that the difference in time tells.
 */
export class ApiKeyStore {
  private keys: readonly StoredKey[];
  private recognised = new Map<string, StoredKey>();

  constructor(
    keys: readonly ApiKey[],
    private readonly now: () => number = Date.now,
  ) {
    this.keys = keys.map(stored);
  }

  authenticate(presented: string | undefined): Principal | undefined {
    if (presented === undefined || presented.length === 0 || presented.length > 512) return undefined;
    let found = this.recognised.get(presented);
    if (found === undefined) {
      const d = digest(presented);
      for (const k of this.keys) {
        if (timingSafeEqual(d, k.digest)) found = k;
      }
      if (found) this.recognised.set(presented, found);
    }
    if (!found || found.revoked || found.expiresAt <= this.now()) return undefined;
    return found.principal;
  }

  /** Takes a new set of keys and says what changed, by name, and the projects of the keys that changed. */
  replace(keys: readonly ApiKey[]): { changes: KeyChanges; projects: KeyProjects } {
    const next = keys.map(stored);
    const before = new Map(this.keys.map((k) => [k.principal.name, k]));
    const after = new Map(next.map((k) => [k.principal.name, k]));
    const changes = { added: [] as string[], removed: [] as string[], revoked: [] as string[], changed: [] as string[] };
    const projects = new Map<string, { project: string; previous?: string }>();
    for (const [name, k] of after) {
      const old = before.get(name);
      const project = k.principal.project;
      const moved = old !== undefined && old.principal.project !== project ? { project, previous: old.principal.project } : { project };
      if (!old) (k.revoked ? changes.revoked : changes.added).push(name);
      else if (k.revoked && !old.revoked) changes.revoked.push(name);
      else if (old.fingerprint !== k.fingerprint || old.revoked !== k.revoked) changes.changed.push(name);
      else continue;
      projects.set(name, moved);
    }
    for (const [name, k] of before) {
      if (after.has(name)) continue;
      changes.removed.push(name);
      projects.set(name, { project: k.principal.project });
    }
    this.keys = next;
    this.recognised = new Map();
    return { changes, projects };
  }

  /** The keys (not revoked) whose expiry lies in (`since`, `until`], by name and project. */
  expiredBetween(since: number, until: number): { name: string; project: string }[] {
    return this.keys
      .filter((k) => !k.revoked && k.expiresAt > since && k.expiresAt <= until)
      .map((k) => ({ name: k.principal.name, project: k.principal.project }));
  }

  /** The next expiry after `t`, or undefined. */
  nextExpiry(t: number): number | undefined {
    let next: number | undefined;
    for (const k of this.keys) if (!k.revoked && k.expiresAt > t && Number.isFinite(k.expiresAt) && (next === undefined || k.expiresAt < next)) next = k.expiresAt;
    return next;
  }
}

/** `admin` holds every scope. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has(scope) || principal.scopes.has('admin');
}

/** Reads the key from `x-api-key` or `Authorization: Bearer` (what Alertmanager's http_config sends). */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const x = headers['x-api-key'];
  if (typeof x === 'string') return x;
  const auth = headers['authorization'];
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  return undefined;
}

/** What `authorize` needs of the app. */
export interface AuthContext {
  readonly keys: ApiKeyStore;
  readonly limiter: RateLimiter;
  readonly metrics: Pick<ServiceMetrics, 'authFailures' | 'rateLimited'>;
}

/**
 * Checks the scope and the rate of a recognised caller and sets
 * `request.principal`; otherwise throws the 401, 403 or 429, all without
 * detail. `principal` is what `ApiKeyStore.authenticate` returned.
 */
export function authorize(ctx: AuthContext, request: FastifyRequest, reply: FastifyReply, scope: Scope, principal: Principal | undefined): void {
  if (!principal) {
    ctx.metrics.authFailures.inc({ reason: 'unauthenticated' });
    throw new HttpError(401, 'unauthorized', 'authentication required');
  }
  request.principal = principal;
  if (!hasScope(principal, scope)) {
    ctx.metrics.authFailures.inc({ reason: 'forbidden' });
    throw new HttpError(403, 'forbidden', 'forbidden');
  }
  const wait = ctx.limiter.take(principal.name);
  if (wait > 0) {
    ctx.metrics.rateLimited.inc();
    reply.header('retry-after', String(wait));
    throw new HttpError(429, 'rate_limited', 'too many requests for this API key');
  }
}

/**
 * A token bucket per name (an API key, or a client address). At most
 * `maxBuckets` are kept: past that, the least recently used one is dropped,
 * which gives its owner a full bucket again, never a stricter limit.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
    private readonly maxBuckets = 100_000,
  ) {}

  /** Returns 0 when the request may go, else the seconds to wait. */
  take(key: string): number {
    if (this.perSecond <= 0) return 0;
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond);
    b.at = t;
    // Re-inserted, so that the map's order is least recently used first.
    this.buckets.delete(key);
    this.buckets.set(key, b);
    if (this.buckets.size > this.maxBuckets) this.buckets.delete(this.buckets.keys().next().value!);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
  }
}
