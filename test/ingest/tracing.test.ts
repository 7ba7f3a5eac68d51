import { afterEach, describe, expect, it } from 'vitest';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { buildApp } from '../../src/ingest/app.js';
import type { IngestApp } from '../../src/ingest/context.js';
import { openPglite } from '../../src/ingest/db.js';
import { createTracing } from '../../src/ingest/telemetry/tracing.js';
import { auth, testConfig } from './helpers/app.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

describe('traces of the ingest service', () => {
  let app: IngestApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(sampleRatio: number) {
    const exporter = new InMemorySpanExporter();
    const tracing = createTracing({ serviceName: 'obstack-ingest', serviceVersion: 'test', sampleRatio, processors: [new SimpleSpanProcessor(exporter)] });
    app = await buildApp({ config: testConfig({ logLevel: 'silent', rateLimitPerSecond: 0 }), db: await openPglite('memory://'), tracing, defaultMetrics: false });
    return exporter;
  }

  it('records a server span per request with the route template and status, under the caller\'s trace', async () => {
    const exporter = await start(0);
    const res = await app!.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: { ...auth('ingest'), traceparent: `00-${TRACE}-${PARENT}-01` },
      payload: { type: 'page_view', user_id: 'u1' },
    });
    expect(res.statusCode).toBe(200);
    const [span, ...rest] = exporter.getFinishedSpans();
    expect(rest).toEqual([]);
    expect(span!.name).toBe('POST /api/v1/events');
    expect(span!.spanContext().traceId).toBe(TRACE);
    expect(span!.parentSpanContext?.spanId).toBe(PARENT);
    expect(span!.attributes).toMatchObject({ 'http.route': '/api/v1/events', 'http.request.method': 'POST', 'http.response.status_code': 200 });
    expect(span!.resource.attributes['service.name']).toBe('obstack-ingest');
  });

  it("follows the caller's decision not to sample, whatever the ratio", async () => {
    const exporter = await start(1);
    await app!.inject({ url: '/health', headers: { traceparent: `00-${TRACE}-${PARENT}-00` } });
    expect(exporter.getFinishedSpans()).toEqual([]);
    await app!.inject({ url: '/health' });
    expect(exporter.getFinishedSpans()).toHaveLength(1);
  });

  it('samples new traces at the configured ratio', async () => {
    const exporter = await start(0.1);
    const n = 2_000;
    for (let i = 0; i < n; i++) await app!.inject({ url: '/health/live' });
    const share = exporter.getFinishedSpans().length / n;
    // 0.1 ± 7 standard deviations of a binomial share over 2000 draws.
    expect(share).toBeGreaterThan(0.05);
    expect(share).toBeLessThan(0.15);
  });

  it('treats a malformed traceparent as none: a new trace, sampled by ratio', async () => {
    const exporter = await start(1);
    const res = await app!.inject({ url: '/health', headers: { traceparent: `00-${'0'.repeat(32)}-${PARENT}-01` } });
    expect(res.headers['x-request-id']).not.toBe('0'.repeat(32));
    const [span] = exporter.getFinishedSpans();
    expect(span!.spanContext().traceId).not.toBe('0'.repeat(32));
    expect(span!.parentSpanContext).toBeUndefined();
  });
});
