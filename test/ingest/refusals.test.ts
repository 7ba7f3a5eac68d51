import { performance } from 'node:perf_hooks';
import { brotliCompressSync, brotliDecompressSync, constants, gzipSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite, type Database } from '../../src/ingest/db.js';
import { API_KEYS, KEYS, auth, makeApp, type TestApp } from './helpers/app.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const event = { type: 'page_view', user_id: 'u1' };

interface RefusedRow {
  reason: string;
  ip: string | null;
  metadata: { count: number; status: number };
}

describe('10,000 requests with wrong keys', () => {
  let db: Database;
  let t: TestApp;
  const statuses = new Map<number, number>();
  // Refusals are summed per minute: the run may span more than one.
  let started = 0;
  const minutesSoFar = () => Math.floor(Date.now() / 60_000) - Math.floor(started / 60_000) + 1;

  beforeAll(async () => {
    db = await openPglite('memory://');
    // A burst of 200 and one more a second: the 401s are 200 plus one per second the loop takes, however slow the machine.
    t = await makeApp({ sourceRateLimitPerSecond: 1, sourceRateLimitBurst: 200 }, db);
    started = Date.now();
    for (let i = 0; i < 10_000; i++) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/events', headers: { 'x-api-key': `wrong-key-${i}-0123456789abcdef` }, payload: event });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    }
  }, 120_000);
  afterAll(async () => {
    await db.close();
  });

  it('are refused: 401 within the address budget, then 429 with Retry-After', async () => {
    // The budget per address without a valid key: a burst of 200, then one a second here.
    const unauthorized = statuses.get(401) ?? 0;
    expect(unauthorized).toBeGreaterThanOrEqual(200);
    expect(unauthorized).toBeLessThan(1_000);
    expect(unauthorized + (statuses.get(429) ?? 0)).toBe(10_000);
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/errors', headers: { 'x-api-key': 'wrong-key-0123456789abcdef0000' } });
    expect(res.statusCode).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('do not limit a valid key from the same address', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/events', headers: auth('ingest'), payload: event });
    expect(res.statusCode).toBe(200);
  });

  it('are counted by reason and route', async () => {
    // From another address: this one has spent its budget without a key.
    const text = (await t.app.inject({ url: '/metrics', remoteAddress: '10.0.0.9' })).body;
    // The earlier test's request to /api/v1/errors is the one more 429.
    expect(text).toContain(`ingest_requests_refused_total{reason="unauthorized",route="/api/v1/events"} ${statuses.get(401)}\n`);
    expect(text).toContain(`ingest_requests_refused_total{reason="source_rate_limited",route="/api/v1/events"} ${statuses.get(429)}\n`);
    expect(text).toContain(`ingest_source_rate_limited_total ${(statuses.get(429) ?? 0) + 1}\n`);
  });

  it('add at most 100 audit rows, whose counts add up to every refusal', async () => {
    // Closing the app writes the sums of the current minute.
    await t.app.close();
    const minutes = minutesSoFar();
    const { rows } = await db.query<RefusedRow>("SELECT reason, ip_address AS ip, metadata FROM audit_log WHERE action = 'request.refused'");
    expect(rows.length).toBeLessThanOrEqual(100);
    // Per minute, route and reason: one row at the first refusal and one with the rest of the minute
    // (the single 429 on /api/v1/errors has no rest) — 5 rows in a run within one minute.
    expect(new Set(rows.map((r) => r.reason))).toEqual(new Set(['source_rate_limited', 'unauthorized']));
    expect(rows.length).toBeGreaterThanOrEqual(5);
    expect(rows.length).toBeLessThanOrEqual(5 * minutes);
    expect(rows.reduce((n, r) => n + r.metadata.count, 0)).toBe(10_001);
    expect(rows.every((r) => r.ip === '127.0.0.1')).toBe(true);
    // The access log has the first refusal of each kind (per minute), not ten thousand lines.
    const lines = t.logs.filter((l) => l['event.dataset'] === 'obstack_ingest.access');
    expect(lines.length).toBeLessThanOrEqual(5 * minutes);
  });
});

describe('compression bombs', () => {
  let t: TestApp;
  const zeros = Buffer.alloc(100 * 1024 * 1024);
  const br = brotliCompressSync(zeros, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } });
  const gz = gzipSync(zeros, { level: 9 });
  const envelopeHeaders = (encoding: string, key?: string) => ({
    'content-encoding': encoding,
    'content-type': 'application/x-sentry-envelope',
    ...(key ? { 'x-sentry-auth': `Sentry sentry_version=7, sentry_key=${key}` } : {}),
  });

  beforeAll(async () => {
    // No address limit here: every request must reach authentication.
    t = await makeApp({ bodyLimitBytes: 1_048_576, sourceRateLimitPerSecond: 0 });
  });
  afterAll(async () => {
    await t.app.close();
    await t.db.close();
  });

  it('are small enough to pass the body limit', () => {
    expect(br.length).toBeLessThan(1_048_576);
    expect(gz.length).toBeLessThan(1_048_576);
  });

  it.each([
    ['br', () => br],
    ['gzip', () => gz],
  ])('without a key (%s): 401 in under 10 ms, on the envelope and the store route', async (encoding, body) => {
    for (const url of ['/api/1/envelope/', '/api/1/store/']) {
      const times: number[] = [];
      const server: number[] = [];
      for (let i = 0; i < 9; i++) {
        const start = performance.now();
        const res = await t.app.inject({ method: 'POST', url, headers: envelopeHeaders(encoding), payload: body() });
        times.push(performance.now() - start);
        expect(res.statusCode).toBe(401);
        expect(res.json()).toEqual({ error: 'unauthorized', message: 'authentication required' });
      }
      // The server's own figure: the histogram of answer times has every one of them in the 10 ms bucket.
      const metrics = (await t.app.inject({ url: '/metrics' })).body;
      const le10 = new RegExp(`http_request_duration_seconds_bucket\\{le="0.01",method="POST",route="/api/:projectId/${url.includes('store') ? 'store' : 'envelope'}/",status_code="401"\\} (\\d+)`).exec(metrics);
      server.push(Number(le10?.[1]));
      expect(median(times)).toBeLessThan(10);
      expect(server[0]).toBeGreaterThanOrEqual(9);
    }
  });

  it('with a wrong key, or a key only in the envelope header: 401 as fast', async () => {
    const times: number[] = [];
    for (let i = 0; i < 9; i++) {
      const start = performance.now();
      const res = await t.app.inject({ method: 'POST', url: '/api/1/envelope/?sentry_key=nope0123456789abcdef0123456789', headers: envelopeHeaders('br'), payload: br });
      times.push(performance.now() - start);
      expect(res.statusCode).toBe(401);
    }
    expect(median(times)).toBeLessThan(10);
    const dsnOnly = Buffer.from(`${JSON.stringify({ dsn: `https://${KEYS.ingest}@example.com/1` })}\n{"type":"event"}\n{}\n`);
    const res = await t.app.inject({ method: 'POST', url: '/api/1/envelope/', payload: dsnOnly, headers: { 'content-type': 'application/x-sentry-envelope' } });
    expect(res.statusCode).toBe(401);
  });

  it.each([
    ['br', () => br, (b: Buffer) => brotliDecompressSync(b)],
    ['gzip', () => gz, (b: Buffer) => gunzipSync(b)],
  ])('with a valid key (%s): 413, without decompressing past the limit', async (encoding, body, inflate) => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      const res = await t.app.inject({ method: 'POST', url: '/api/1/envelope/', headers: envelopeHeaders(encoding, KEYS.ingest), payload: body() });
      times.push(performance.now() - start);
      expect(res.statusCode).toBe(413);
      expect(res.json<{ message: string }>().message).toBe('the decompressed body is larger than the limit of 1048576 bytes');
    }
    // Inflating the whole 100 MB takes far longer than inflating up to the 1 MiB limit.
    const fullStart = performance.now();
    expect(inflate(body()).length).toBe(zeros.length);
    const full = performance.now() - fullStart;
    expect(median(times)).toBeLessThan(full / 5);
  });
});

describe('/metrics', () => {
  let t: TestApp;
  const METRICS_KEY = 'test-metrics-key-0123456789abcdef';

  beforeAll(async () => {
    t = await makeApp({ apiKeys: [...API_KEYS, { name: 'prometheus', key: METRICS_KEY, scopes: ['metrics'] }] });
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/business-metrics', headers: auth('ingest'), payload: { metric_name: 'monthly_recurring_revenue', value: 125_000, target: 150_000 } });
    expect(res.statusCode).toBe(200);
  });
  afterAll(async () => {
    await t.app.close();
    await t.db.close();
  });

  it('shows no KPI to anyone', async () => {
    const res = await t.app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('http_requests_total');
    expect(res.body).not.toContain('business_kpi');
    expect(res.body).not.toContain('monthly_recurring_revenue');
  });

  it('/metrics/business needs a key with the metrics or admin scope', async () => {
    expect((await t.app.inject({ url: '/metrics/business' })).statusCode).toBe(401);
    expect((await t.app.inject({ url: '/metrics/business', headers: auth('read') })).statusCode).toBe(403);
    expect((await t.app.inject({ url: '/metrics/business', headers: auth('ingest') })).statusCode).toBe(403);
    for (const headers of [{ authorization: `Bearer ${METRICS_KEY}` }, auth('admin')]) {
      const res = await t.app.inject({ url: '/metrics/business', headers });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('business_kpi_value{project="default",kpi="monthly_recurring_revenue"} 125000');
      expect(res.body).toContain('business_kpi_target{project="default",kpi="monthly_recurring_revenue"} 150000');
    }
  });

  it('a metrics key opens nothing else', async () => {
    for (const url of ['/api/v1/monitoring/business-dashboard', '/api/v1/monitoring/analytics', '/api/v1/errors']) {
      expect((await t.app.inject({ url, headers: { 'x-api-key': METRICS_KEY } })).statusCode).toBe(403);
    }
  });
});
