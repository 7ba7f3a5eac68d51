/** One equality matcher of a silence, as Alertmanager's API v2 takes it. */
export interface SilenceMatcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: false;
  readonly isEqual: true;
}

/** A silence to create (`postableSilence` of Alertmanager's OpenAPI, without an id). */
export interface NewSilence {
  readonly matchers: readonly SilenceMatcher[];
  readonly startsAt: string;
  readonly endsAt: string;
  readonly createdBy: string;
  readonly comment: string;
}

export type SilenceState = 'active' | 'pending' | 'expired';

/**
 * A call to Alertmanager that failed: `unreachable` when it did not answer
 * within the timeout or at all, `refused` when it answered with an error status.
 */
export class AlertmanagerError extends Error {
  readonly code = 'ALERTMANAGER_FAILED';
  constructor(
    readonly kind: 'unreachable' | 'refused',
    message: string,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'AlertmanagerError';
  }
}

/** Equality matchers for a label set, sorted by name. */
export function equalityMatchers(labels: Readonly<Record<string, string>>): SilenceMatcher[] {
  return Object.keys(labels)
    .sort()
    .map((name) => ({ name, value: labels[name]!, isRegex: false as const, isEqual: true as const }));
}

/**
 * Alerts and silences of Alertmanager's API v2, through Node's
 * fetch. Every call has its own timeout covering the answer's body as well.
 */
export class AlertmanagerClient {
  private readonly base: URL;

  constructor(
    baseUrl: string,
    private readonly timeoutMs: number,
  ) {
    // A trailing slash keeps a path prefix (`--web.route-prefix`) when the API paths are resolved against it.
    this.base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  }

  /** Sends alerts (`POST /api/v2/alerts`); Alertmanager routes and notifies them as it does Prometheus's. */
  async postAlerts(alerts: readonly unknown[]): Promise<void> {
    const { status, body } = await this.call('POST', 'api/v2/alerts', alerts);
    if (status !== 200) throw this.refused('POST', 'api/v2/alerts', status, body);
  }

  /** Creates a silence and returns its id. */
  async createSilence(silence: NewSilence): Promise<string> {
    const { status, body } = await this.call('POST', 'api/v2/silences', silence);
    if (status !== 200) throw this.refused('POST', 'api/v2/silences', status, body);
    const id = (body as { silenceID?: unknown } | undefined)?.silenceID;
    if (typeof id !== 'string' || id === '') throw new AlertmanagerError('refused', 'Alertmanager answered a new silence without a silenceID', status);
    return id;
  }

  /** The state of a silence, or undefined when Alertmanager does not know it (expired and garbage-collected). */
  async silenceState(id: string): Promise<SilenceState | undefined> {
    const path = `api/v2/silence/${encodeURIComponent(id)}`;
    const { status, body } = await this.call('GET', path);
    if (status === 404) return undefined;
    if (status !== 200) throw this.refused('GET', path, status, body);
    const state = (body as { status?: { state?: unknown } } | undefined)?.status?.state;
    return state === 'active' || state === 'pending' || state === 'expired' ? state : undefined;
  }

  /** Expires a silence (`DELETE /api/v2/silence/{id}`); one already gone is not an error. */
  async expireSilence(id: string): Promise<void> {
    const path = `api/v2/silence/${encodeURIComponent(id)}`;
    const { status, body } = await this.call('DELETE', path);
    if (status !== 200 && status !== 404) throw this.refused('DELETE', path, status, body);
  }

  private refused(method: string, path: string, status: number, body: unknown): AlertmanagerError {
    const detail = typeof body === 'string' ? body : JSON.stringify(body ?? '');
    return new AlertmanagerError('refused', `Alertmanager answered ${method} /${path} with ${status}: ${detail.slice(0, 500)}`, status);
  }

  private async call(method: 'GET' | 'POST' | 'DELETE', path: string, payload?: unknown): Promise<{ status: number; body: unknown }> {
    const url = new URL(path, this.base);
    try {
      const res = await fetch(url, {
        method,
        headers: payload === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
        ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        // Alertmanager answers some errors as plain text; keep it as it is.
      }
      return { status: res.status, body };
    } catch (err) {
      const timedOut = (err as { name?: string }).name === 'TimeoutError';
      throw new AlertmanagerError(
        'unreachable',
        timedOut
          ? `Alertmanager at ${this.base.origin} did not answer ${method} /${path} within ${this.timeoutMs} ms`
          : `Alertmanager at ${this.base.origin} could not be reached for ${method} /${path}: ${(err as Error).message}`,
        undefined,
        { cause: err },
      );
    }
  }
}
