import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, makeApp, type TestApp } from './helpers/app.js';

const json = { 'content-type': 'application/json' };

interface BadCase {
  readonly name: string;
  readonly url: string;
  readonly method?: 'POST' | 'GET' | 'DELETE';
  readonly headers?: Record<string, string>;
  readonly payload?: string;
  readonly status: number;
  readonly error: string;
  /** Text the answer must contain: the field or the problem it names. */
  readonly names: string;
}

const event = (over: Record<string, unknown> = {}) => JSON.stringify({ type: 'page_view', user_id: 'u1', ...over });
const metric = (over: Record<string, unknown> = {}) => JSON.stringify({ name: 'app_logins_total', metric_type: 'counter', value: 1, ...over });

const CASES: BadCase[] = [
  { name: 'malformed JSON', url: '/api/v1/events', payload: '{"type": "page_view",', status: 400, error: 'invalid_json', names: 'not valid JSON' },
  { name: 'empty JSON body', url: '/api/v1/events', payload: '', status: 400, error: 'invalid_json', names: 'empty' },
  { name: 'wrong content type', url: '/api/v1/events', headers: { 'content-type': 'text/plain', ...auth('ingest') }, payload: 'hello', status: 415, error: 'unsupported_media_type', names: 'text/plain' },
  { name: 'wrong type of a field', url: '/api/v1/events', payload: event({ user_id: 42 }), status: 400, error: 'invalid_request', names: 'body.user_id' },
  { name: 'missing field', url: '/api/v1/events', payload: JSON.stringify({ user_id: 'u1' }), status: 400, error: 'invalid_request', names: 'body.type' },
  { name: 'unknown key', url: '/api/v1/events', payload: event({ colour: 'red' }), status: 400, error: 'invalid_request', names: 'body.colour: unknown field' },
  { name: 'unknown key in a batch item', url: '/api/v1/events', payload: JSON.stringify({ events: [JSON.parse(event()), { type: 'x', usr: 'a' }] }), status: 400, error: 'invalid_request', names: 'body.events[1].usr' },
  { name: 'unknown key next to a batch', url: '/api/v1/events', payload: JSON.stringify({ events: [JSON.parse(event())], extra: 1 }), status: 400, error: 'invalid_request', names: 'body.extra' },
  { name: 'empty batch', url: '/api/v1/events', payload: '[]', status: 400, error: 'invalid_request', names: 'at least one' },
  { name: 'batch too large', url: '/api/v1/events', payload: JSON.stringify(Array.from({ length: 51 }, () => JSON.parse(event()))), status: 400, error: 'invalid_request', names: 'at most 50 events' },
  { name: 'invalid event type name', url: '/api/v1/events', payload: event({ type: 'drop table;' }), status: 400, error: 'invalid_request', names: 'body.type' },
  { name: 'timestamp without zone', url: '/api/v1/events', payload: event({ timestamp: '2024-01-15 14:30' }), status: 400, error: 'invalid_request', names: 'body.timestamp' },
  { name: 'timestamp in the future', url: '/api/v1/events', payload: event({ timestamp: new Date(Date.now() + 86_400_000).toISOString() }), status: 400, error: 'invalid_request', names: 'future' },
  { name: 'known event missing its property', url: '/api/v1/events', payload: event({ type: 'conversation_rated', properties: { rating: 9 } }), status: 400, error: 'invalid_request', names: 'body.properties.rating' },
  { name: 'NUL in a string', url: '/api/v1/events', payload: event({ user_id: 'a\u0000b' }), status: 400, error: 'invalid_request', names: 'NUL' },
  { name: 'properties not an object', url: '/api/v1/events', payload: event({ properties: [1, 2] }), status: 400, error: 'invalid_request', names: 'body.properties' },
  { name: 'NUL in a nested property', url: '/api/v1/events', payload: event({ properties: { a: { b: ['ok', 'x\u0000'] } } }), status: 400, error: 'invalid_request', names: 'body.properties.a.b[1]: must not contain NUL' },
  { name: 'properties nested too deep', url: '/api/v1/events', payload: event({ properties: { a: { b: { c: { d: { e: { f: { g: { h: { i: 1 } } } } } } } } } }), status: 400, error: 'invalid_request', names: 'nested more than 8 levels' },
  { name: 'property key too long', url: '/api/v1/events', payload: event({ properties: { ['k'.repeat(129)]: 1 } }), status: 400, error: 'invalid_request', names: 'at most 128 characters' },
  { name: 'properties over 8 KiB', url: '/api/v1/events', payload: event({ properties: { blob: 'x'.repeat(9_000) } }), status: 400, error: 'invalid_request', names: 'body.properties: must be at most 8192 bytes' },
  { name: 'bad event_id', url: '/api/v1/events', payload: event({ event_id: 'not-a-uuid' }), status: 400, error: 'invalid_request', names: 'body.event_id' },
  { name: 'oversized body', url: '/api/v1/events', payload: JSON.stringify({ events: [JSON.parse(event({ properties: { blob: 'x'.repeat(20_000) } }))] }), status: 413, error: 'body_too_large', names: '16384 bytes' },
  { name: 'missing API key', url: '/api/v1/events', headers: { ...json }, payload: event(), status: 401, error: 'unauthorized', names: 'authentication required' },
  { name: 'wrong API key', url: '/api/v1/events', headers: { ...json, 'x-api-key': 'test-ingest-key-0123456789abcdeX' }, payload: event(), status: 401, error: 'unauthorized', names: 'authentication required' },
  { name: 'wrong bearer token', url: '/api/v1/events', headers: { ...json, authorization: 'Bearer nope' }, payload: event(), status: 401, error: 'unauthorized', names: 'authentication required' },
  { name: 'key without the scope', url: '/api/v1/events', headers: { ...json, ...auth('read') }, payload: event(), status: 403, error: 'forbidden', names: 'forbidden' },
  { name: 'invalid metric name', url: '/api/v1/monitoring/metrics', payload: metric({ name: 'marketplace recommendation.generated' }), status: 400, error: 'invalid_request', names: 'invalid metric name "marketplace recommendation.generated"' },
  { name: 'counter without _total', url: '/api/v1/monitoring/metrics', payload: metric({ name: 'app_logins' }), status: 400, error: 'invalid_request', names: 'must end in _total' },
  { name: 'reserved metric name', url: '/api/v1/monitoring/metrics', payload: metric({ name: 'http_requests_total' }), status: 400, error: 'invalid_request', names: 'reserved' },
  { name: 'invalid label name', url: '/api/v1/monitoring/metrics', payload: metric({ labels: { 'user-type': 'x' } }), status: 400, error: 'invalid_request', names: 'body.labels.user-type' },
  { name: 'negative counter', url: '/api/v1/monitoring/metrics', payload: metric({ value: -1 }), status: 400, error: 'invalid_request', names: 'body.value' },
  { name: 'unknown metric type', url: '/api/v1/monitoring/metrics', payload: metric({ metric_type: 'summary' }), status: 400, error: 'invalid_request', names: 'body.metric_type' },
  { name: 'non-finite value', url: '/api/v1/monitoring/metrics', payload: '{"name":"app_logins_total","metric_type":"counter","value":"NaN"}', status: 400, error: 'invalid_request', names: 'body.value' },
  { name: 'invalid KPI name', url: '/api/v1/monitoring/business-metrics', payload: JSON.stringify({ metric_name: 'Monthly Revenue', value: 1 }), status: 400, error: 'invalid_request', names: 'body.metric_name' },
  { name: 'error report missing message', url: '/api/v1/errors', payload: JSON.stringify({ type: 'TypeError' }), status: 400, error: 'invalid_request', names: 'body.message' },
  { name: 'alert webhook of the wrong version', url: '/api/v1/alerts/webhook', payload: JSON.stringify({ version: '3' }), status: 400, error: 'invalid_request', names: 'body.version' },
  { name: 'unknown query parameter', method: 'GET', url: '/api/v1/monitoring/analytics?dayz=3', headers: auth('read'), status: 400, error: 'invalid_request', names: 'query.dayz' },
  { name: 'query parameter out of range', method: 'GET', url: '/api/v1/monitoring/analytics?days=0', headers: auth('read'), status: 400, error: 'invalid_request', names: 'query.days' },
  { name: 'business dashboard without admin', method: 'GET', url: '/api/v1/monitoring/business-dashboard', headers: auth('read'), status: 403, error: 'forbidden', names: 'forbidden' },
  { name: 'erasure without admin', method: 'DELETE', url: '/api/v1/users/u1/data', headers: auth('ingest'), status: 403, error: 'forbidden', names: 'forbidden' },
  { name: 'unknown route', method: 'GET', url: '/api/v1/nothing', headers: auth('read'), status: 404, error: 'not_found', names: '/api/v1/nothing' },
];

describe('bad input', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp({ bodyLimitBytes: 16_384, maxBatchEvents: 50, metricsMaxSeriesPerMetric: 3, metricsMaxMetrics: 2 });
  });
  afterAll(async () => {
    await t.app.close();
    await t.db.close();
  });

  it.each(CASES)('$name → $status naming the problem, nothing stored', async (c) => {
    const res = await t.app.inject({
      method: c.method ?? 'POST',
      url: c.url,
      headers: c.headers ?? { ...json, ...auth('ingest') },
      ...(c.payload !== undefined ? { payload: c.payload } : {}),
    });
    expect(res.statusCode).toBe(c.status);
    const body = res.json<{ error: string; message: string }>();
    expect(body.error).toBe(c.error);
    expect(body.message).toContain(c.names);
    expect(res.headers['x-request-id']).toBeTruthy();
    for (const table of ['events', 'error_events', 'business_metrics', 'alerts']) expect(await t.count(table)).toBe(0);
  });

  it('guards cardinality: a metric may not grow past its series limit, and the refusal is counted', async () => {
    const send = (method: string) =>
      t.app.inject({ method: 'POST', url: '/api/v1/monitoring/metrics', headers: auth('ingest'), payload: { name: 'app_logins_total', metric_type: 'counter', value: 1, labels: { method } } });
    for (const m of ['a', 'b', 'c']) expect((await send(m)).statusCode).toBe(200);
    const refused = await send('d');
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ error: 'cardinality_limit' });
    expect(refused.body).toContain('would exceed the limit of 3 series');
    // An existing series still takes samples.
    expect((await send('a')).statusCode).toBe(200);
    const metrics = (await t.app.inject({ url: '/metrics' })).body;
    expect(metrics).toContain('app_logins_total{method="a"} 2');
    expect(metrics).not.toContain('method="d"');
    expect(metrics).toMatch(/ingest_custom_metric_refused_total\{reason="too_many_series"\} 1/);
  });

  it('guards the number of metrics and refuses a whole batch when one sample breaks a guard', async () => {
    const batch = {
      metrics: [
        { name: 'app_queue_length', metric_type: 'gauge', value: 3 },
        { name: 'app_other_length', metric_type: 'gauge', value: 4 },
      ],
    };
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/metrics', headers: auth('ingest'), payload: batch });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('body.metrics[1].name');
    expect(res.body).toContain('limit of 2 metrics');
    const metrics = (await t.app.inject({ url: '/metrics' })).body;
    expect(metrics).not.toContain('app_queue_length');
  });

  it('refuses a sample whose type or labels conflict with the metric already seen', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/monitoring/metrics',
      headers: auth('ingest'),
      payload: { name: 'app_logins_total', metric_type: 'counter', value: 1, labels: { realm: 'x' } },
    });
    expect(res.statusCode).toBe(409);
    expect(res.body).toContain('has labels [method], got [realm]');
  });

  it('audits refused requests, in the table and in the log, without the key', async () => {
    await new Promise((r) => setTimeout(r, 50));
    const { rows } = await t.db.query<{ action: string; outcome: string; reason: string; actor: string | null }>(
      "SELECT action, outcome, reason, actor FROM audit_log WHERE action = 'request.refused'",
    );
    // The first refusal of each source, key, route and reason is a row at once; the rest of its minute is summed into one row later.
    expect(rows.length).toBeGreaterThanOrEqual(new Set(rows.map((r) => r.reason)).size);
    expect(rows.map((r) => r.reason)).toEqual(expect.arrayContaining(['invalid_json', 'unauthorized', 'forbidden', 'body_too_large', 'invalid_request', 'cardinality_limit']));
    expect(rows.every((r) => r.outcome === 'refused')).toBe(true);
    const lines = t.logs.filter((l) => l['message'] === 'audit' && l['event.action'] === 'request.refused');
    expect(lines.length).toBe(rows.length);
    expect(JSON.stringify(t.logs)).not.toContain('test-ingest-key');
  });
});
