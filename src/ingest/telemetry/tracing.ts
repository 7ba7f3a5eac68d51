import { ROOT_CONTEXT, SpanKind, TraceFlags, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

export interface Tracing {
  readonly tracer: Tracer;
  readonly provider: NodeTracerProvider;
  /**
   * The server span of a request, or undefined when the request is not
   * sampled (`parentbased_traceidratio`): a caller's `traceparent` decides by
   * its sampled flag, a new trace is sampled with probability `sampleRatio`.
   * Without an exporter or processor, no span is made at all.
   */
  startServerSpan(name: string, attributes: Attributes, parent: TraceParent | undefined): Span | undefined;
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  readonly serviceName: string;
  readonly serviceVersion: string;
  /** Head-sampling ratio of new traces; a caller's sampled flag is followed (parentbased_traceidratio). */
  readonly sampleRatio: number;
  /** OTLP/HTTP base URL, e.g. http://jaeger-collector:4318; none means spans are not exported. */
  readonly otlpEndpoint?: string | undefined;
  /** For tests: where spans go instead of OTLP. */
  readonly exporter?: SpanExporter | undefined;
  readonly processors?: SpanProcessor[] | undefined;
}

/**
 * A tracer provider of the app's own; `server.ts` also registers it globally.
 *
 * The head-sampling decision is taken before a span exists: a request that is
 * not sampled gets no span at all rather than a non-recording one, which
 * saves the id generation and span objects on 9 requests in 10 at the
 * default ratio. The provider itself records what it is asked to start
 * (parent-based, always on for roots), so the ratio is applied once.
 */
export function createTracing(opts: TracingOptions): Tracing {
  const processors: SpanProcessor[] = [...(opts.processors ?? [])];
  const exporter =
    opts.exporter ??
    (opts.otlpEndpoint ? new OTLPTraceExporter({ url: `${opts.otlpEndpoint.replace(/\/$/, '')}/v1/traces` }) : undefined);
  if (exporter) processors.push(new BatchSpanProcessor(exporter));
  // A span that no processor receives would be built and dropped on every sampled request.
  const recording = processors.length > 0;
  const provider = new NodeTracerProvider({
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName, [ATTR_SERVICE_VERSION]: opts.serviceVersion }),
    spanProcessors: processors,
  });
  const tracer = provider.getTracer('obstack-ingest', opts.serviceVersion);
  return {
    tracer,
    provider,
    startServerSpan(name, attributes, parent) {
      if (!recording) return undefined;
      const sampled = parent ? parent.sampled : Math.random() < opts.sampleRatio;
      if (!sampled) return undefined;
      return tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent ? contextOf(parent) : ROOT_CONTEXT);
    },
    shutdown: () => provider.shutdown(),
  };
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A caller's span, from its W3C `traceparent` header. */
export interface TraceParent {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

/** The remote parent in a W3C `traceparent` header, or undefined when absent or malformed. */
export function parseTraceparent(header: string | undefined): TraceParent | undefined {
  if (!header) return undefined;
  const m = TRACEPARENT.exec(header.trim().toLowerCase());
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  return { traceId: m[2]!, spanId: m[3]!, sampled: (parseInt(m[4]!, 16) & 1) === 1 };
}

function contextOf(parent: TraceParent): Context {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: parent.traceId,
    spanId: parent.spanId,
    traceFlags: parent.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  });
}
