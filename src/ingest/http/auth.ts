import { hash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKey, Scope } from '../config.js';
import type { ServiceMetrics } from '../telemetry/service-metrics.js';
import { HttpError } from './errors.js';

/** The caller, once its key is recognised. */
export interface Principal {
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
}

const digest = (value: string): Buffer => hash('sha256', value, 'buffer');

/**
 * Recognises API keys. Keys are compared as SHA-256 digests with
 * `timingSafeEqual`, and every key is compared on every call, so neither the
 * length of a key nor the position of a match shows in the timing.
 */
export class ApiKeyStore {
  private readonly keys: { digest: Buffer; principal: Principal }[];

  constructor(keys: readonly ApiKey[]) {
    this.keys = keys.map((k) => ({
      digest: digest(k.key),
      principal: { name: k.name, scopes: new Set(k.scopes) },
    }));
  }

  authenticate(presented: string | undefined): Principal | undefined {
    if (presented === undefined || presented.length === 0 || presented.length > 512) return undefined;
    const d = digest(presented);
    let found: Principal | undefined;
    for (const k of this.keys) {
      if (timingSafeEqual(d, k.digest)) found = k.principal;
    }
    return found;
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
 * Recognises the key a request presented, checks its scope and its rate, and
 * sets `request.principal`; otherwise throws the 401, 403 or 429, all without detail.
 */
export function authorize(ctx: AuthContext, request: FastifyRequest, reply: FastifyReply, scope: Scope, presented: string | undefined): void {
  const principal = ctx.keys.authenticate(presented);
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

/** A token bucket per API key; the number of buckets is bounded by the number of keys. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Returns 0 when the request may go, else the seconds to wait. */
  take(key: string): number {
    if (this.perSecond <= 0) return 0;
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond);
    b.at = t;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
  }
}
