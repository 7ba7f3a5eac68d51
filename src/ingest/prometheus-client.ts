import { z } from 'zod';
import { readCapped } from './http/read-capped.js';

/** One sample of an instant vector: its labels, its value and its time (Unix seconds). */
export interface Sample {
  readonly metric: Readonly<Record<string, string>>;
  /** NaN, +Inf and -Inf arrive as Prometheus writes them ("NaN", "+Inf", "-Inf") and are kept as such. */
  readonly value: number;
  readonly time: number;
}

/** One series of a range vector, its points in time order. */
export interface Series {
  readonly metric: Readonly<Record<string, string>>;
  readonly points: readonly { readonly time: number; readonly value: number }[];
}

/** An instant query's answer, by `data.resultType`. */
export type InstantResult =
  | { readonly type: 'vector'; readonly samples: readonly Sample[] }
  | { readonly type: 'scalar'; readonly value: number; readonly time: number }
  | { readonly type: 'string'; readonly value: string; readonly time: number }
  | { readonly type: 'matrix'; readonly series: readonly Series[] };

/** Why a call failed: Prometheus could not be asked, or it answered something other than a result. */
export type PrometheusErrorKind = 'unreachable' | 'timeout' | 'aborted' | 'query_failed' | 'too_large' | 'invalid_answer';

/** A call to Prometheus's HTTP API that produced no result; `kind` says why. */
export class PrometheusError extends Error {
  readonly code = 'PROMETHEUS_FAILED';
  constructor(
    readonly kind: PrometheusErrorKind,
    message: string,
    /** The HTTP status of the answer, when there was one. */
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'PrometheusError';
  }
}

/** Prometheus did not answer: refused or reset connection, DNS, a proxy's 5xx page, the timeout, or the caller's abort. */
export class PrometheusUnavailableError extends PrometheusError {
  constructor(kind: 'unreachable' | 'timeout' | 'aborted', message: string, status?: number, options?: ErrorOptions) {
    super(kind, message, status, options);
    this.name = 'PrometheusUnavailableError';
  }
}

/**
 * Prometheus answered `{"status":"error"}`: the query was wrong (`bad_data`),
 * failed while running (`execution`), was cancelled or timed out on its side
 * (`canceled`, `timeout`), or Prometheus failed (`internal`, `unavailable`).
 */
export class PrometheusQueryError extends PrometheusError {
  constructor(
    readonly errorType: string,
    /** Prometheus's own message, e.g. `1:6: parse error: unexpected end of input`. */
    readonly error: string,
    status: number,
  ) {
    super('query_failed', `Prometheus refused the query (${errorType}): ${error.slice(0, 300)}`, status);
    this.name = 'PrometheusQueryError';
  }
}

/** Answers larger than this are refused rather than parsed. */
export const DEFAULT_MAX_ANSWER_BYTES = 4 * 1_048_576;
/** The longest one call may take, the answer's body included. */
export const DEFAULT_TIMEOUT_MS = 5_000;

// ─── Values and answers ────────────────────────────────────────────────────────

const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A sample value as Prometheus writes it (Go's `strconv.FormatFloat`, and
 * `NaN`, `+Inf`, `-Inf`), as a number; undefined for anything else, so that
 * an empty string never reads as 0.
 */
export function parseSampleValue(text: string): number | undefined {
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return FLOAT.test(text) ? Number(text) : undefined;
}

const SampleValue = z.string().transform((s, ctx) => {
  const v = parseSampleValue(s);
  if (v === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a sample value: ${JSON.stringify(s.slice(0, 40))}` });
    return z.NEVER;
  }
  return v;
});
const Point = z.tuple([z.number(), SampleValue]);
const Labels = z.record(z.string(), z.string());

// Samples of native histograms carry `histogram`/`histograms` instead of `value`/`values`; they are skipped.
const VectorData = z.object({
  resultType: z.literal('vector'),
  result: z.array(z.object({ metric: Labels, value: Point.optional() })),
});
const MatrixData = z.object({
  resultType: z.literal('matrix'),
  result: z.array(z.object({ metric: Labels, values: z.array(Point).optional() })),
});
const ScalarData = z.object({ resultType: z.literal('scalar'), result: Point });
const StringData = z.object({ resultType: z.literal('string'), result: z.tuple([z.number(), z.string()]) });

const SuccessAnswer = z.object({
  status: z.literal('success'),
  data: z.discriminatedUnion('resultType', [VectorData, MatrixData, ScalarData, StringData]),
  warnings: z.array(z.string()).optional(),
});
const ErrorAnswer = z.object({ status: z.literal('error'), errorType: z.string(), error: z.string() });

type Data = z.output<typeof SuccessAnswer>['data'];

function resultOf(data: Data): InstantResult {
  switch (data.resultType) {
    case 'vector':
      return {
        type: 'vector',
        samples: data.result.flatMap((s) => (s.value ? [{ metric: s.metric, time: s.value[0], value: s.value[1] }] : [])),
      };
    case 'matrix':
      return {
        type: 'matrix',
        series: data.result.map((s) => ({ metric: s.metric, points: (s.values ?? []).map(([time, value]) => ({ time, value })) })),
      };
    case 'scalar':
      return { type: 'scalar', time: data.result[0], value: data.result[1] };
    case 'string':
      return { type: 'string', time: data.result[0], value: data.result[1] };
  }
}

// ─── PromQL text ─────────────────────────────────────────────────────────────────

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A label value as a double-quoted PromQL string literal, quotes included.
 * Backslash and double quote are escaped, and every control character is
 * written as `\uXXXX`, so whatever a client sends stays one string: it can
 * neither close the literal nor the selector around it.
 */
export function quoteLabelValue(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\' || ch === '"') out += `\\${ch}`;
    // A lone surrogate is not a character PromQL can carry (nor UTF-8): it becomes U+FFFD, as a UTF-8 encoder writes it.
    else if (code >= 0xd800 && code <= 0xdfff) out += '\uFFFD';
    else if (code < 0x20 || code === 0x7f || code === 0x2028 || code === 0x2029) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** A regular expression (RE2, as Prometheus anchors it) that matches `value` literally. */
export function literalRegex(value: string): string {
  return value.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

/** A label matcher such as `service="shop"`; the name is checked, the value quoted. */
export function labelMatcher(name: string, op: '=' | '!=' | '=~' | '!~', value: string): string {
  if (!LABEL_NAME.test(name)) throw new RangeError(`label name must match ${LABEL_NAME.source}, got ${JSON.stringify(name)}`);
  return `${name}${op}${quoteLabelValue(value)}`;
}

/** A duration in PromQL's syntax, in whole seconds: 300 → `300s`. */
export function promDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 1) throw new RangeError(`a PromQL duration must be a whole number of seconds, at least 1, got ${seconds}`);
  return `${seconds}s`;
}

// ─── The client ─────────────────────────────────────────────────────────────────────

/** Options of one call. */
export interface QueryOptions {
  /** Aborts the call; the error is then `aborted`, or the signal's reason when that is a PrometheusError. */
  readonly signal?: AbortSignal;
}

/** What the insights need of Prometheus: instant and range queries. */
export interface PrometheusQuerier {
  query(expr: string, opts?: QueryOptions & { readonly time?: Date }): Promise<InstantResult>;
  queryRange(expr: string, range: { readonly start: Date; readonly end: Date; readonly stepSeconds: number }, opts?: QueryOptions): Promise<readonly Series[]>;
}

export interface PrometheusClientOptions {
  /**
   * The longest one call may take, the answer's body included; Prometheus is
   * also asked to stop evaluating after it.
   * @default 5000
   */
  readonly timeoutMs?: number;
  /**
   * Answers larger than this many bytes (after decompression) are refused.
   * @default 4 MiB
   */
  readonly maxAnswerBytes?: number;
  /** Headers sent with every call, e.g. `authorization` for a Prometheus behind a proxy. @default - none */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Prometheus's HTTP API (`/api/v1/query`, `/api/v1/query_range`) through
 * Node's fetch. Queries are POSTed form-encoded, so that long expressions do
 * not meet URL limits; every answer is checked against the API's shape.
 */
export class PrometheusClient implements PrometheusQuerier {
  readonly timeoutMs: number;
  readonly maxAnswerBytes: number;
  private readonly base: URL;
  private readonly headers: Readonly<Record<string, string>>;

  constructor(baseUrl: string, opts: PrometheusClientOptions = {}) {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`the Prometheus URL must be http or https, got ${url.protocol}`);
    // A trailing slash keeps a path prefix (`--web.route-prefix`) when the API paths are resolved against it.
    this.base = new URL(url.href.endsWith('/') ? url.href : `${url.href}/`);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxAnswerBytes = opts.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs < 1) throw new RangeError(`timeoutMs must be a whole number of milliseconds, at least 1, got ${this.timeoutMs}`);
    if (!Number.isInteger(this.maxAnswerBytes) || this.maxAnswerBytes < 1) throw new RangeError(`maxAnswerBytes must be at least 1, got ${this.maxAnswerBytes}`);
    this.headers = opts.headers ?? {};
  }

  /** Where Prometheus is, for logs: scheme, host and port only. */
  get origin(): string {
    return this.base.origin;
  }

  /** An instant query at `time` (default: Prometheus's now). */
  async query(expr: string, opts: QueryOptions & { readonly time?: Date } = {}): Promise<InstantResult> {
    const form = new URLSearchParams({ query: expr, timeout: `${this.timeoutMs}ms` });
    if (opts.time) form.set('time', (opts.time.getTime() / 1000).toFixed(3));
    return resultOf(await this.post('api/v1/query', form, opts.signal));
  }

  /** A range query; its answer is always a matrix. */
  async queryRange(
    expr: string,
    range: { readonly start: Date; readonly end: Date; readonly stepSeconds: number },
    opts: QueryOptions = {},
  ): Promise<readonly Series[]> {
    if (!(range.stepSeconds > 0)) throw new RangeError(`stepSeconds must be positive, got ${range.stepSeconds}`);
    const form = new URLSearchParams({
      query: expr,
      start: (range.start.getTime() / 1000).toFixed(3),
      end: (range.end.getTime() / 1000).toFixed(3),
      step: String(range.stepSeconds),
      timeout: `${this.timeoutMs}ms`,
    });
    const result = resultOf(await this.post('api/v1/query_range', form, opts.signal));
    if (result.type !== 'matrix') throw new PrometheusError('invalid_answer', `Prometheus answered a range query with a ${result.type}`);
    return result.series;
  }

  private async post(path: string, form: URLSearchParams, callerSignal: AbortSignal | undefined): Promise<Data> {
    const url = new URL(path, this.base);
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = callerSignal ? AbortSignal.any([timeout, callerSignal]) : timeout;
    const failed = (err: unknown) => this.unavailable(path, err, timeout, callerSignal);
    // A connection that fails before any answer (a kept-alive socket Prometheus has just closed) is tried once
    // more within the same time budget: queries are read-only, so asking twice changes nothing.
    let res: Response;
    for (let attempt = 1; ; attempt++) {
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { ...this.headers, accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
          redirect: 'error',
          signal,
        });
        break;
      } catch (err) {
        if (attempt === 1 && !signal.aborted) continue;
        throw failed(err);
      }
    }
    let text: string;
    try {
      text = await this.readCapped(res, path);
    } catch (err) {
      throw err instanceof PrometheusError ? err : failed(err);
    }
    const json = parseJson(text);
    const ok = SuccessAnswer.safeParse(json);
    if (ok.success) {
      if (res.status !== 200) throw new PrometheusError('invalid_answer', `Prometheus answered /${path} with status ${res.status} and a result`, res.status);
      return ok.data.data;
    }
    const error = ErrorAnswer.safeParse(json);
    if (error.success) throw new PrometheusQueryError(error.data.errorType, error.data.error, res.status);
    // Not the API's shape: a proxy's error page (502, 503, 504) means Prometheus is not there; anything else is a wrong URL or a bug.
    if (res.status >= 500) {
      throw new PrometheusUnavailableError('unreachable', `Prometheus at ${this.origin} answered /${path} with ${res.status} and no API answer`, res.status);
    }
    const why = json === undefined ? 'not JSON' : z.prettifyError(ok.error).slice(0, 300);
    throw new PrometheusError('invalid_answer', `Prometheus's answer to /${path} (status ${res.status}) is not an API answer: ${why}`, res.status);
  }

  /** The answer's body as text, refused as soon as it exceeds the size cap. */
  private readCapped(res: Response, path: string): Promise<string> {
    return readCapped(res, this.maxAnswerBytes, () => new PrometheusError('too_large', `Prometheus's answer to /${path} is larger than ${this.maxAnswerBytes} bytes`, res.status));
  }

  private unavailable(path: string, err: unknown, timeout: AbortSignal, callerSignal: AbortSignal | undefined): PrometheusError {
    if (callerSignal?.aborted && !timeout.aborted) {
      const reason: unknown = callerSignal.reason;
      return reason instanceof PrometheusError ? reason : new PrometheusUnavailableError('aborted', `the call to Prometheus /${path} was aborted`, undefined, { cause: err });
    }
    if (timeout.aborted) {
      return new PrometheusUnavailableError('timeout', `Prometheus at ${this.origin} did not answer /${path} within ${this.timeoutMs} ms`, undefined, { cause: err });
    }
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? (err as Error).message;
    return new PrometheusUnavailableError('unreachable', `Prometheus at ${this.origin} could not be reached for /${path}: ${detail}`, undefined, { cause: err });
  }
}

/** JSON.parse that answers undefined for what is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
