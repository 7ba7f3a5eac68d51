import { z } from 'zod';
import type { IngestApp, IngestContext } from '../context.js';
import { mayReadComponent } from '../http/auth.js';
import { HttpError } from '../http/errors.js';
import { ErrorReply } from '../http/schemas.js';
import { JaegerError, type AttributeValue, type JaegerClient, type Trace, type TraceSpan } from '../jaeger-client.js';

/** At most this many attributes of a span are answered. */
export const MAX_METADATA_KEYS = 50;
/** Longer attribute values are cut to this many characters. */
const MAX_VALUE_CHARS = 1_024;
const MAX_KEY_CHARS = 256;

/**
 * Attribute names that hold or may hold a credential: a segment (between
 * `.`, `_`, `-`, …) that is or ends in one of these words, e.g.
 * `http.request.header.authorization`, `db.password`, `x-api-key`,
 * `accessToken`, `set-cookie`. `gen_ai.usage.input_tokens` is a count and stays.
 */
const CREDENTIAL_NAME =
  /(?:^|[^a-z0-9])[a-z0-9]*(?:authorization|cookies?|passw(?:or)?d|pwd|passphrase|secrets?|token|api[-_]?key|access[-_]?key|private[-_]?key|credentials?|bearer|jwt)(?=$|[^a-z0-9])/i;

/** Credentials inside a value: `Bearer …`, `Basic …` (base64 of `user:password`), and credential-like query parameters of a URL. */
const BEARER = /\bBearer\s+[A-Za-z0-9._~+/-]{8,}=*/gi;
const BASIC = /\bBasic\s+([A-Za-z0-9+/]{4,}={0,2})(?![A-Za-z0-9+/=])/gi;
const QUERY_CREDENTIAL = /([?&;][^=&#\s]*?(?:token|key|secret|passw(?:or)?d|signature|sig|auth|credential)[^=&#\s]*=)[^&#\s]*/gi;

/** Whether an attribute name looks like one that carries a credential. */
export function isCredentialName(name: string): boolean {
  return CREDENTIAL_NAME.test(name);
}

/** A value with the credentials it carries redacted, and cut to 1024 characters. */
export function scrubValue(value: AttributeValue): AttributeValue {
  if (typeof value !== 'string') return value;
  // Cut first, with room for a credential that straddles the cut, so that the patterns' work stays bounded.
  const scrubbed = value
    .slice(0, 2 * MAX_VALUE_CHARS)
    .replace(BEARER, 'Bearer [redacted]')
    // Only what decodes to user:password: "Basic authentication failed" stays as it is.
    .replace(BASIC, (whole, b64: string) => (Buffer.from(b64, 'base64').toString('latin1').includes(':') ? 'Basic [redacted]' : whole))
    .replace(QUERY_CREDENTIAL, '$1[redacted]');
  return scrubbed.length > MAX_VALUE_CHARS ? `${scrubbed.slice(0, MAX_VALUE_CHARS - 1)}…` : scrubbed;
}

/** A span's attributes as a flat object: no credential, at most 50 keys, long strings cut. */
export function spanMetadata(attributes: TraceSpan['attributes']): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  let n = 0;
  for (const [key, value] of attributes) {
    if (n >= MAX_METADATA_KEYS) break;
    if (key === '' || key.length > MAX_KEY_CHARS || isCredentialName(key) || Object.hasOwn(out, key)) continue;
    // defineProperty: an attribute named __proto__ is a key like any other, not the object's prototype.
    Object.defineProperty(out, key, { value: scrubValue(value), enumerable: true, writable: true, configurable: true });
    n++;
  }
  return out;
}

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

const TraceSpanReply = z.strictObject({
  span_id: z.string(),
  /** Null for the root span. */
  parent_span_id: z.string().nullable(),
  name: z.string(),
  service: z.string(),
  /** Milliseconds from the start of the trace to the start of this span. */
  start_offset_ms: z.number(),
  duration_ms: z.number(),
  status: z.enum(['success', 'error']),
  metadata: z.record(z.string(), Scalar),
});

const TraceReply = z.strictObject({
  trace_id: z.string(),
  /** The root span's name. */
  operation: z.string(),
  /** The root span's service, or its `component` attribute. */
  component: z.string(),
  /** From the first span's start to the last span's end. */
  total_duration_ms: z.number(),
  spans: z.array(TraceSpanReply),
  /** No span is in error. */
  success: z.boolean(),
  /** The root span's start. */
  timestamp: z.string(),
  /** The root span's attributes, the trace's services and its span count. */
  metadata: z.record(z.string(), z.union([Scalar, z.array(z.string())])),
});
export type TraceReply = z.output<typeof TraceReply>;

const HEX_ID = /^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{16})$/;

/** A trace id: 32 hex characters, or 16 (a 64-bit id) left-padded with zeros; answered in lowercase. */
const TraceIdParam = z
  .string()
  .regex(HEX_ID, 'must be a trace id of 32 hex characters (or 16 for a 64-bit id)')
  .transform((s) => s.toLowerCase().padStart(32, '0'))
  .refine((s) => !/^0+$/.test(s), 'must not be all zeros: that is no trace');

const ms = (ns: bigint): number => Number(ns) / 1e6;

/** The span a trace starts from: one without a parent, else one whose parent is missing, else the first; the earliest of them. */
function rootOf(spans: readonly TraceSpan[]): TraceSpan {
  const ids = new Set(spans.map((s) => s.spanId));
  const candidates = spans.filter((s) => s.parentSpanId === '');
  const orphans = candidates.length > 0 ? candidates : spans.filter((s) => !ids.has(s.parentSpanId));
  const pool = orphans.length > 0 ? orphans : spans;
  return pool.reduce((a, b) => (b.startNs < a.startNs ? b : a));
}

const byStart = (a: TraceSpan, b: TraceSpan): number =>
  a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;

/**
 * The answer for a trace read from Jaeger: the seed API's shape, spans in
 * order of their start, durations from the spans' nanosecond times.
 */
export function traceReply(traceId: string, trace: Trace, mayRead: (service: string) => boolean = () => true): TraceReply {
  const spans = [...trace.spans].sort(byStart);
  const root = rootOf(spans);
  const start = spans.reduce((m, s) => (s.startNs < m ? s.startNs : m), spans[0]!.startNs);
  const end = spans.reduce((m, s) => (s.endNs > m ? s.endNs : m), spans[0]!.endNs);
  // A span of a service the caller may not read keeps its name and timing, not its attributes.
  const metadataOf = (span: TraceSpan) => (mayRead(span.serviceName ?? 'unknown') ? spanMetadata(span.attributes) : {});
  const rootMetadata = metadataOf(root);
  const component = root.serviceName ?? root.attributes.find(([k]) => k === 'component')?.[1];
  const services = [...new Set(spans.map((s) => s.serviceName).filter((s): s is string => s !== undefined))].sort();
  return {
    trace_id: traceId,
    operation: root.name,
    component: component === undefined ? 'unknown' : String(component),
    total_duration_ms: ms(end > start ? end - start : 0n),
    spans: spans.map((s) => ({
      span_id: s.spanId,
      parent_span_id: s.parentSpanId === '' ? null : s.parentSpanId,
      name: s.name,
      service: s.serviceName ?? 'unknown',
      start_offset_ms: ms(s.startNs - start),
      // A span that ends before it starts (clock skew Jaeger did not adjust) lasted no time.
      duration_ms: ms(s.endNs > s.startNs ? s.endNs - s.startNs : 0n),
      status: s.status === 'error' ? ('error' as const) : ('success' as const),
      metadata: metadataOf(s),
    })),
    success: spans.every((s) => s.status !== 'error'),
    timestamp: new Date(Number(root.startNs / 1_000_000n)).toISOString(),
    metadata: { ...rootMetadata, services, span_count: spans.length },
  };
}

/**
 * One trace read from Jaeger's query API. Without Jaeger (`jaeger`
 * undefined) the route answers 503 `tracing_not_configured`. A key sees a
 * trace only when one of its services is among the key's `components`
 * (else 404, as for a trace Jaeger does not have), and the attributes of
 * those spans only.
 */
export function registerTraceRoutes(app: IngestApp, _ctx: IngestContext, jaeger: JaegerClient | undefined): void {
  app.get(
    '/api/v1/monitoring/traces/:trace_id',
    {
      config: { scope: 'read' },
      schema: {
        params: z.strictObject({ trace_id: TraceIdParam }),
        response: { 200: TraceReply, '4xx': ErrorReply, '5xx': ErrorReply },
      },
    },
    async (request) => {
      const traceId = request.params.trace_id;
      if (!jaeger) {
        throw new HttpError(503, 'tracing_not_configured', 'traces are read from Jaeger: this service has no INGEST_JAEGER_QUERY_URL');
      }
      let trace: Trace | undefined;
      try {
        trace = await jaeger.getTrace(traceId);
      } catch (err) {
        if (!(err instanceof JaegerError)) throw err;
        request.log.warn({ error: err, 'trace.id': traceId }, 'jaeger call failed');
        const why = err.kind === 'unreachable' ? 'did not answer' : err.kind === 'refused' ? 'refused the request' : 'gave an answer that could not be read';
        throw new HttpError(502, 'upstream_unavailable', `Jaeger ${why}: trace ${traceId} cannot be read now, retry later`);
      }
      const principal = request.principal!;
      const mayRead = (service: string) => mayReadComponent(principal, service);
      if (!trace || !trace.spans.some((s) => mayRead(s.serviceName ?? 'unknown'))) throw new HttpError(404, 'not_found', `Jaeger has no trace ${traceId}`);
      return traceReply(traceId, trace, mayRead);
    },
  );
}
