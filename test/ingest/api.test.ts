import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRetention } from '../../src/ingest/retention.js';
import { runRollup } from '../../src/ingest/rollup.js';
import { userDigest } from '../../src/ingest/routes/users.js';
import { auth, makeApp, type TestApp } from './helpers/app.js';

const alert = (status: 'firing' | 'resolved', endsAt = '0001-01-01T00:00:00Z') => ({
  version: '4',
  groupKey: '{}:{alertname="HighErrorRate"}',
  truncatedAlerts: 0,
  status,
  receiver: 'ingest-history',
  groupLabels: { alertname: 'HighErrorRate' },
  commonLabels: { alertname: 'HighErrorRate', severity: 'P2' },
  commonAnnotations: { summary: 'error rate above 5%' },
  externalURL: 'http://alertmanager:9093',
  alerts: [
    {
      status,
      labels: { alertname: 'HighErrorRate', severity: 'P2', service: 'api' },
      annotations: { summary: 'error rate above 5%' },
      startsAt: '2026-01-15T14:25:00Z',
      endsAt,
      generatorURL: 'http://prometheus:9090/graph',
      fingerprint: 'a1b2c3d4e5f60708',
    },
  ],
});

describe('ingest API (PGlite)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp({ rateLimitPerSecond: 1000, rateLimitBurst: 1000 });
  });
  afterAll(async () => {
    await t.app.close();
    await t.db.close();
  });

  it('answers health, liveness and readiness without a key', async () => {
    expect((await t.app.inject({ url: '/health' })).json()).toMatchObject({ status: 'ok', service: 'obstack-ingest' });
    expect((await t.app.inject({ url: '/health/live' })).statusCode).toBe(200);
    const ready = await t.app.inject({ url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { database: 'up', queue: 'ok', shutdown: 'no' } });
  });

  it('stores one event, an array, and a wrapped batch, with the audit entry in the same commit', async () => {
    const one = await t.app.inject({ method: 'POST', url: '/api/v1/events', headers: auth('ingest'), payload: { type: 'page_view', user_id: 'u1', properties: { path: '/' } } });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ success: true, accepted: 1 });
    const arr = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: auth('ingest'),
      payload: [
        { type: 'session_start', user_id: 'u1', session_id: 's1' },
        { type: 'session_end', user_id: 'u1', session_id: 's1', properties: { duration_seconds: 120 } },
      ],
    });
    expect(arr.json()).toMatchObject({ accepted: 2 });
    const wrapped = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: auth('ingest'),
      payload: {
        events: [
          { type: 'feature_used', user_id: 'u2', properties: { feature: 'search' } },
          { type: 'feature_used', user_id: 'u1', properties: { feature: 'search' } },
          { type: 'conversation_rated', user_id: 'u2', properties: { rating: 4 } },
          { type: 'conversation_rated', user_id: 'u1', properties: { rating: 5 } },
          { type: 'request', properties: { duration_ms: 20, status: 200 } },
          { type: 'request', properties: { duration_ms: 80, status: 503 } },
          { type: 'checkout.completed', user_id: 'u2', properties: { amount: 12.5 } },
        ],
      },
    });
    expect(wrapped.json()).toMatchObject({ accepted: 7 });
    expect(await t.count('events')).toBe(10);
    const { rows } = await t.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_log WHERE action = 'events.ingest' AND outcome = 'success' AND actor = 'app'",
    );
    expect(rows[0]?.n).toBe(3);
  });

  it('stores an event with an event_id only once, so a client may retry after a lost answer', async () => {
    const id = randomUUID();
    for (let i = 0; i < 2; i++) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/events', headers: auth('ingest'), payload: { type: 'retry_test', event_id: id } });
      expect(res.statusCode).toBe(200);
    }
    const { rows } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE event_id = $1', [id]);
    expect(rows[0]?.n).toBe(1);
  });

  it('takes the correlation id from traceparent or x-request-id, returns it, and logs ECS fields', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
      payload: { type: 'page_view' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.headers['x-request-id']).toBe(traceId);
    const line = t.logs.find((l) => l['http.request.id'] === traceId && l['message'] === 'request completed');
    expect(line).toMatchObject({
      'log.level': 'info',
      'service.name': 'obstack-ingest',
      'http.request.method': 'POST',
      'http.route': '/api/v1/events',
      'http.response.status_code': 401,
      'trace.id': traceId,
    });
    expect(line?.['@timestamp']).toMatch(/^\d{4}-\d\d-\d\dT/);
    // A successful probe is counted in http_requests_total, not logged at info.
    const probeId = '1af7651916cd43dd8448eb211c80319c';
    const probe = await t.app.inject({ url: '/health', headers: { traceparent: `00-${probeId}-b7ad6b7169203331-01` } });
    expect(probe.statusCode).toBe(200);
    expect(probe.headers['x-request-id']).toBe(probeId);
    expect(t.logs.filter((l) => l['http.request.id'] === probeId)).toEqual([]);
    const rid = await t.app.inject({ url: '/health', headers: { 'x-request-id': 'req-123' } });
    expect(rid.headers['x-request-id']).toBe('req-123');
    const made = await t.app.inject({ url: '/health', headers: { 'x-request-id': 'bad id with spaces' } });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes each field once per line: the audit line of a write carries the request id of its request', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/events', headers: { ...auth('ingest'), 'x-request-id': 'req-audit-1' }, payload: { type: 'page_view' } });
    expect(res.statusCode).toBe(200);
    const audit = t.logs.find((l) => l['event.dataset'] === 'obstack_ingest.audit' && l['http.request.id'] === 'req-audit-1');
    expect(audit).toMatchObject({ 'event.action': 'events.ingest', 'user.name': 'app', 'audit.outcome': 'success' });
    for (const line of t.rawLogs) expect(line.match(/"http\.request\.id":/g)?.length ?? 0, line).toBeLessThanOrEqual(1);
  });

  it('exposes custom metrics and KPIs on /metrics next to its own', async () => {
    const m = await t.app.inject({
      method: 'POST',
      url: '/api/v1/monitoring/metrics',
      headers: auth('ingest'),
      payload: {
        metrics: [
          { name: 'app_recommendations_total', metric_type: 'counter', value: 3, labels: { algorithm: 'cf' } },
          { name: 'app_queue_length', metric_type: 'gauge', value: 7 },
          { name: 'app_inference_seconds', metric_type: 'histogram', value: 0.3, buckets: [0.1, 0.5, 1] },
        ],
      },
    });
    expect(m.statusCode).toBe(200);
    expect(m.json()).toMatchObject({ recorded: 3 });
    const k = await t.app.inject({
      method: 'POST',
      url: '/api/v1/monitoring/business-metrics',
      headers: auth('ingest'),
      payload: { metric_name: 'monthly_recurring_revenue', value: 125000, dimension: 'monthly', target: 150000, metadata: { currency: 'USD' } },
    });
    expect(k.statusCode).toBe(200);
    expect(await t.count('business_metrics')).toBe(1);
    const text = (await t.app.inject({ url: '/metrics' })).body;
    expect(text).toContain('app_recommendations_total{algorithm="cf"} 3');
    expect(text).toContain('app_queue_length 7');
    expect(text).toContain('app_inference_seconds_bucket{le="0.5"} 1');
    // KPIs are kept from /metrics, as the API keeps them for admin keys.
    expect(text).not.toContain('business_kpi');
    const kpis = (await t.app.inject({ url: '/metrics/business', headers: auth('admin') })).body;
    expect(kpis).toContain('business_kpi_value{project="default",kpi="monthly_recurring_revenue"} 125000');
    expect(kpis).toContain('business_kpi_target{project="default",kpi="monthly_recurring_revenue"} 150000');
    expect(text).toMatch(/http_requests_total\{method="POST",route="\/api\/v1\/events",status_code="200"\} \d+/);
    expect(text).toContain('http_request_duration_seconds_bucket');
    expect(text).toMatch(/ingest_events_total \d+/);
    expect(text).toContain('ingest_queue_depth 0');
    expect(text).toContain('ingest_db_up 1');
    expect(text).toContain('ingest_db_write_duration_seconds_bucket');
  });

  it('groups error reports by type and top frames, ignoring line numbers', async () => {
    const stack = (line: number) => `TypeError: x is undefined\n    at render (/app/src/view.js:${line}:7)\n    at main (/app/src/index.js:3:1)`;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/errors',
      headers: auth('ingest'),
      payload: [
        { type: 'TypeError', message: 'x is undefined', stack: stack(10), release: '1.0.0', user_id: 'u1' },
        { type: 'TypeError', message: 'x is undefined', stack: stack(12), release: '1.0.1', user_id: 'u2' },
        { type: 'RangeError', message: 'bad length 7', release: '1.0.1' },
      ],
    });
    expect(res.statusCode).toBe(200);
    const fps = res.json<{ fingerprints: string[] }>().fingerprints;
    expect(fps[0]).toBe(fps[1]);
    expect(fps[2]).not.toBe(fps[0]);
    const list = await t.app.inject({ url: '/api/v1/errors', headers: auth('read') });
    const groups = list.json<{ groups: { fingerprint: string; count: number; users: number; releases: string[] }[] }>().groups;
    const typeErrors = groups.find((g) => g.fingerprint === fps[0]);
    expect(typeErrors).toMatchObject({ count: 2, users: 2, type: 'TypeError' });
    expect(typeErrors?.releases.sort()).toEqual(['1.0.0', '1.0.1']);
  });

  it('keeps the alert history from the Alertmanager webhook: firing, resolved with duration, acknowledged', async () => {
    const key = { authorization: `Bearer ${auth('ingest')['x-api-key']}` };
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/alerts/webhook', headers: key, payload: alert('firing') })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/alerts/webhook', headers: key, payload: alert('firing') })).statusCode).toBe(200);
    const firing = await t.app.inject({ url: '/api/v1/alerts?status=firing', headers: auth('read') });
    const [a] = firing.json<{ alerts: { id: number; notifications: number; ends_at: string | null; severity: string }[] }>().alerts;
    expect(a).toMatchObject({ notifications: 2, ends_at: null, severity: 'P2' });
    const health = await t.app.inject({ url: '/api/v1/monitoring/health', headers: auth('read') });
    expect(health.json()).toMatchObject({ status: 'degraded', active_alerts: [{ alertname: 'HighErrorRate', acknowledged: false }] });
    expect((await t.app.inject({ method: 'POST', url: `/api/v1/alerts/${a!.id}/acknowledge`, headers: auth('read') })).statusCode).toBe(403);
    // Acknowledging silences the alert in Alertmanager; without one configured, nothing is recorded.
    const reason = { reason: 'looking into it' };
    const ack = await t.app.inject({ method: 'POST', url: `/api/v1/alerts/${a!.id}/acknowledge`, headers: auth('admin'), payload: reason });
    expect(ack.statusCode).toBe(503);
    expect(ack.json()).toMatchObject({ error: 'alertmanager_not_configured' });
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/alerts/999999/acknowledge', headers: auth('admin'), payload: reason })).statusCode).toBe(404);
    await t.app.inject({ method: 'POST', url: '/api/v1/alerts/webhook', headers: key, payload: alert('resolved', '2026-01-15T14:40:00Z') });
    const all = await t.app.inject({ url: '/api/v1/alerts', headers: auth('read') });
    expect(all.json<{ alerts: unknown[] }>().alerts).toEqual([
      expect.objectContaining({ status: 'resolved', duration_seconds: 900, notifications: 3, acknowledged_by: null, ends_at: '2026-01-15T14:40:00.000Z' }),
    ]);
  });

  it('computes analytics over daily rollups', async () => {
    // Yesterday's activity, for retention.
    const yesterday = new Date(Date.now() - 86_400_000).toISOString();
    await t.app.inject({ method: 'POST', url: '/api/v1/events', headers: auth('ingest'), payload: [
      { type: 'page_view', user_id: 'u1', timestamp: yesterday },
      { type: 'page_view', user_id: 'u3', timestamp: yesterday },
    ] });
    await runRollup(t.db, { days: 2 });
    const res = await t.app.inject({ url: '/api/v1/monitoring/analytics?days=7', headers: auth('read') });
    expect(res.statusCode).toBe(200);
    const a = res.json<{ summary: Record<string, unknown>; feature_usage: unknown[]; daily: unknown[]; last_rollup_at: string | null }>();
    expect(a.summary).toMatchObject({
      daily_active_users: 2,
      monthly_active_users: 3,
      sessions: 1,
      session_duration_avg_seconds: 120,
      satisfaction_avg: 4.5,
      ratings: 2,
      requests: 2,
      error_rate: 0.5,
      retention_day_1: 0.5,
      error_reports: 3,
    });
    expect((a.summary['latency_ms'] as { p50: number }).p50).toBeCloseTo(50);
    expect(a.feature_usage).toEqual([{ feature: 'search', uses: 2, users: 2 }]);
    expect(a.daily).toHaveLength(2);
    expect(a.last_rollup_at).not.toBeNull();
    const dash = await t.app.inject({ url: '/api/v1/monitoring/business-dashboard', headers: auth('admin') });
    expect(dash.json()).toMatchObject({
      kpis: { monthly_recurring_revenue: 125000 },
      targets: { monthly_recurring_revenue: { current: 125000, target: 150000 } },
      user_metrics: { daily_active_users: 2, monthly_active_users: 3, return_user_rate: 0.5 },
    });
  });

  it('erases a user on request, auditing a digest of the id rather than the id', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/api/v1/users/u1/data', headers: auth('admin') });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ deleted: { events: 6, error_events: 1, daily_active_users: 2 } });
    const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE user_id = 'u1'");
    expect(rows[0]?.n).toBe(0);
    const audit = await t.db.query<{ resource_id: string; actor: string }>("SELECT resource_id, actor FROM audit_log WHERE action = 'user.erase'");
    expect(audit.rows).toEqual([{ resource_id: userDigest('u1'), actor: 'ops' }]);
  });

  it('deletes raw rows older than the retention period', async () => {
    await t.db.query("INSERT INTO events (type, ts, api_key) VALUES ('old', now() - interval '100 days', 'app')");
    const deleted = await runRetention(t.db, { retentionDays: 90, auditRetentionDays: 365, alertRetentionDays: 180 });
    expect(deleted['events']).toBe(1);
    const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE type = 'old'");
    expect(rows[0]?.n).toBe(0);
  });

  it('answers a 5xx without anything internal', async () => {
    await t.db.query('ALTER TABLE error_events RENAME TO error_events_moved');
    try {
      const res = await t.app.inject({ url: '/api/v1/errors', headers: auth('read') });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ error: 'internal', message: 'internal error', request_id: res.headers['x-request-id'] });
    } finally {
      await t.db.query('ALTER TABLE error_events_moved RENAME TO error_events');
    }
  });

  it('limits the rate per API key with 429 and Retry-After', async () => {
    const limited = await makeApp({ rateLimitPerSecond: 1, rateLimitBurst: 2 }, t.db);
    try {
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) codes.push((await limited.app.inject({ url: '/api/v1/errors', headers: auth('read') })).statusCode);
      expect(codes).toEqual([200, 200, 429]);
      const other = await limited.app.inject({ url: '/api/v1/errors', headers: auth('admin') });
      expect(other.statusCode).toBe(200);
    } finally {
      await limited.app.close();
    }
  });

  it('refuses writes with 503 when they would put the queue over its limit', async () => {
    const small = await makeApp({ queueMaxRows: 100 }, t.db);
    try {
      const many = Array.from({ length: 100 }, () => ({ type: 'page_view' }));
      const res = await small.app.inject({ method: 'POST', url: '/api/v1/events', headers: auth('ingest'), payload: many });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json()).toEqual({ error: 'unavailable', message: 'the service cannot store data right now; retry later' });
    } finally {
      await small.app.close();
    }
  });
});
