import { z } from 'zod';
import { readCapped } from './http/read-capped.js';

/** An attribute value as the routes read it: OTLP's scalars as they are, arrays and maps as JSON text. */
export type AttributeValue = string | number | boolean;

/** One span of a trace, read from Jaeger's OTLP answer. Times are Unix nanoseconds, which exceed 2^53. */
export interface TraceSpan {
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** The span's resource's `service.name`, when it has one. */
  readonly serviceName: string | undefined;
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** OTLP's status code: ERROR is `error`. */
  readonly status: 'unset' | 'ok' | 'error';
  /** The span's attributes in the order Jaeger gave them; values with nothing in them are left out. */
  readonly attributes: readonly (readonly [string, AttributeValue])[];
}

/** A trace as Jaeger returned it: every span of every resource and scope. */
export interface Trace {
  readonly spans: readonly TraceSpan[];
}

/**
 * A call to Jaeger that failed: `unreachable` when it did not answer within
 * the timeout or at all, `refused` when it answered with an error status,
 * `invalid` when its answer was too large or not the API's shape.
 */
export class JaegerError extends Error {
  readonly code = 'JAEGER_FAILED';
  constructor(
    readonly kind: 'unreachable' | 'refused' | 'invalid',
    message: string,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'JaegerError';
  }
}

/**
 * Answers larger than this are refused rather than parsed: about 5,000 spans
 * of ten attributes each. Reading and mapping such a trace holds the event
 * loop for about 200 ms, which the service's writes wait through.
 */
export const DEFAULT_MAX_ANSWER_BYTES = 4 * 1_048_576;

// The JSON of Jaeger's API v3 follows OTLP/JSON (the collector's pdata JSON marshaler): 64-bit
// integers are decimal strings, enums are numbers, ids are hex, zero values are left out.
const uint64 = z.union([z.string().regex(/^\d{1,20}$/, 'must be a decimal integer'), z.number().int().nonnegative()]);
const enumValue = z.union([z.number().int(), z.string().max(64)]);

/**
 * An OTLP AnyValue. Arrays and maps are taken as they come and walked with a
 * depth limit when read, so that a deeply nested answer cannot exhaust the stack.
 */
const AnyValue = z.object({
  stringValue: z.string().optional(),
  boolValue: z.boolean().optional(),
  intValue: z.union([z.string().regex(/^-?\d{1,20}$/, 'must be a decimal integer'), z.number().int()]).optional(),
  doubleValue: z.union([z.number(), z.string().max(32)]).optional(),
  bytesValue: z.string().optional(),
  arrayValue: z.unknown().optional(),
  kvlistValue: z.unknown().optional(),
});
const KeyValue = z.object({ key: z.string(), value: AnyValue.optional() });

const Span = z.object({
  traceId: z.string().max(64).optional(),
  spanId: z.string().max(64).default(''),
  parentSpanId: z.string().max(64).default(''),
  name: z.string().default(''),
  startTimeUnixNano: uint64.optional(),
  endTimeUnixNano: uint64.optional(),
  attributes: z.array(KeyValue).optional(),
  status: z.object({ code: enumValue.optional(), message: z.string().optional() }).optional(),
});

const ResourceSpans = z.object({
  resource: z.object({ attributes: z.array(KeyValue).optional() }).optional(),
  scopeSpans: z.array(z.object({ spans: z.array(Span).optional() })).optional(),
});

/**
 * The answer of `GET /api/v3/traces/{trace_id}`: the OTLP TracesData in the
 * envelope `{"result": …}` (api_v3's GRPCGatewayWrapper).
 */
const GetTraceAnswer = z.object({ result: z.object({ resourceSpans: z.array(ResourceSpans).optional() }) });

/** Jaeger's error body (api_v3's GRPCGatewayError): `{"error":{"httpCode":404,"message":"No traces found"}}`. */
const GatewayError = z.object({ error: z.object({ httpCode: z.number().optional(), message: z.string().optional() }) });

const MAX_VALUE_DEPTH = 4;

/** A nested OTLP value as plain JSON, nesting beyond a few levels cut off. */
function plain(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (typeof v['stringValue'] === 'string' || typeof v['boolValue'] === 'boolean' || typeof v['doubleValue'] === 'number') {
    return v['stringValue'] ?? v['boolValue'] ?? v['doubleValue'];
  }
  if (v['intValue'] !== undefined) return intOf(v['intValue']);
  if (typeof v['bytesValue'] === 'string') return v['bytesValue'];
  if (depth >= MAX_VALUE_DEPTH) return '…';
  const values = (v['arrayValue'] as { values?: unknown } | undefined)?.values ?? (v['kvlistValue'] as { values?: unknown } | undefined)?.values;
  if (!Array.isArray(values)) return v['kvlistValue'] !== undefined ? {} : v['arrayValue'] !== undefined ? [] : null;
  if (v['arrayValue'] !== undefined) return values.map((item) => plain(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const kv of values) {
    const key = (kv as { key?: unknown } | null)?.key;
    if (typeof key === 'string') Object.defineProperty(out, key, { value: plain((kv as { value?: unknown }).value, depth + 1), enumerable: true });
  }
  return out;
}

function intOf(v: unknown): number | string | null {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return null;
  const n = Number(v);
  // Beyond 2^53 a JSON number would change the value: keep its digits.
  return Number.isSafeInteger(n) ? n : v;
}

/** An attribute value for the routes, or undefined when it holds nothing. */
export function attributeValue(v: z.output<typeof AnyValue> | undefined): AttributeValue | undefined {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return intOf(v.intValue) ?? undefined;
  // 1e400 parses to Infinity, which JSON cannot carry: keep it as text, as OTLP/JSON writes NaN and Infinity.
  if (v.doubleValue !== undefined) return typeof v.doubleValue === 'number' && !Number.isFinite(v.doubleValue) ? String(v.doubleValue) : v.doubleValue;
  if (v.bytesValue !== undefined) return v.bytesValue;
  if (v.arrayValue !== undefined || v.kvlistValue !== undefined) return JSON.stringify(plain(v, 0));
  return undefined;
}

function attributes(list: readonly z.output<typeof KeyValue>[] | undefined): [string, AttributeValue][] {
  const out: [string, AttributeValue][] = [];
  for (const kv of list ?? []) {
    const value = attributeValue(kv.value);
    if (value !== undefined) out.push([kv.key, value]);
  }
  return out;
}

/** OTLP's STATUS_CODE_OK is 1 and STATUS_CODE_ERROR 2; proto3 JSON may also spell them by name. */
function statusOf(code: number | string | undefined): TraceSpan['status'] {
  if (code === 2 || code === 'STATUS_CODE_ERROR') return 'error';
  if (code === 1 || code === 'STATUS_CODE_OK') return 'ok';
  return 'unset';
}

const ZERO_ID = /^0*$/;

/** The spans of Jaeger's answer, each with its resource's service name. */
function traceOf(answer: z.output<typeof GetTraceAnswer>): Trace {
  const spans: TraceSpan[] = [];
  for (const rs of answer.result.resourceSpans ?? []) {
    const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value?.stringValue;
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          spanId: s.spanId.toLowerCase(),
          parentSpanId: ZERO_ID.test(s.parentSpanId) ? '' : s.parentSpanId.toLowerCase(),
          name: s.name,
          serviceName: service === '' ? undefined : service,
          startNs: BigInt(s.startTimeUnixNano ?? 0),
          endNs: BigInt(s.endTimeUnixNano ?? 0),
          status: statusOf(s.status?.code),
          attributes: attributes(s.attributes),
        });
      }
    }
  }
  return { spans };
}

/**
 * Reads traces from Jaeger's query service through its HTTP API v3
 * (`GET /api/v3/traces/{trace_id}`, served on the query HTTP port, 16686,
 * next to the UI), with Node's fetch. One timeout covers the whole call,
 * the answer's body included; answers beyond `maxBytes` are refused.
 */
export class JaegerClient {
  private readonly base: URL;

  constructor(
    baseUrl: string,
    private readonly timeoutMs: number,
    private readonly maxBytes: number = DEFAULT_MAX_ANSWER_BYTES,
  ) {
    // A trailing slash keeps a path prefix (jaeger_query's `base_path`) when the API path is resolved against it.
    this.base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  }

  /** Where Jaeger is, for messages: scheme, host and port only. */
  get origin(): string {
    return this.base.origin;
  }

  /**
   * The trace with this id (32 lowercase hex characters), or undefined when
   * Jaeger has no span of it.
   */
  async getTrace(traceId: string): Promise<Trace | undefined> {
    const path = `api/v3/traces/${encodeURIComponent(traceId)}`;
    const { status, text } = await this.get(path);
    if (status === 404) {
      // Only Jaeger's own error body means "no such trace"; any other 404 is a URL that is not Jaeger's query API.
      if (GatewayError.safeParse(parseJson(text)).success) return undefined;
      throw new JaegerError('refused', `Jaeger answered GET /${path} with 404 without its error body: is the URL Jaeger's query service?`, status);
    }
    if (status !== 200) {
      const detail = GatewayError.safeParse(parseJson(text));
      const message = detail.success ? (detail.data.error.message ?? '') : text;
      throw new JaegerError('refused', `Jaeger answered GET /${path} with ${status}: ${message.slice(0, 300)}`, status);
    }
    const parsed = GetTraceAnswer.safeParse(parseJson(text));
    if (!parsed.success) {
      throw new JaegerError('invalid', `Jaeger's answer to GET /${path} is not an API v3 trace: ${z.prettifyError(parsed.error).slice(0, 300)}`, status);
    }
    const trace = traceOf(parsed.data);
    return trace.spans.length === 0 ? undefined : trace;
  }

  private async get(path: string): Promise<{ status: number; text: string }> {
    const url = new URL(path, this.base);
    const signal = AbortSignal.timeout(this.timeoutMs);
    // A connection that fails before any answer (a kept-alive socket Jaeger has just closed) is tried once more,
    // within the same time budget; an answer, whatever its status, is never asked for again.
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'error', signal });
      } catch (err) {
        if (attempt === 1 && !signal.aborted) continue;
        throw this.unreachable(path, err, signal.aborted);
      }
      try {
        return { status: res.status, text: await this.readCapped(res, path) };
      } catch (err) {
        if (err instanceof JaegerError) throw err;
        throw this.unreachable(path, err, signal.aborted);
      }
    }
  }

  /** The answer's body as text, refused as soon as it exceeds the size cap. */
  private readCapped(res: Response, path: string): Promise<string> {
    return readCapped(res, this.maxBytes, () => new JaegerError('invalid', `Jaeger's answer to GET /${path} is larger than ${this.maxBytes} bytes`, res.status));
  }

  private unreachable(path: string, err: unknown, timedOut: boolean): JaegerError {
    return new JaegerError(
      'unreachable',
      timedOut
        ? `Jaeger at ${this.base.origin} did not answer GET /${path} within ${this.timeoutMs} ms`
        : `Jaeger at ${this.base.origin} could not be reached for GET /${path}: ${(err as Error).message}`,
      undefined,
      { cause: err },
    );
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
