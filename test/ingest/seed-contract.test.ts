import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertFingerprint } from '../../src/ingest/alert-instances.js';
import { type StartedServer, freePort, startAlertmanager, startPrometheus, waitFor } from '../support/processes.js';
import { makeApp, type TestApp } from './helpers/app.js';
import { SEED_ALERT } from './fixtures/seed-api.js';

/**
 * The seed API document's example requests (requirements 004), sent as they
 * are to a service wired to a real Prometheus, which scrapes an application
 * and a node, and a real Alertmanager, whose webhook comes back to the
 * service: each gets the documented response's fields, with numbers that
 * follow from what Prometheus scraped.
 */

const SEED_METRIC = {
  name: 'marketplace.recommendation.generated',
  value: 1,
  metric_type: 'counter',
  component: 'recommendation',
  tags: { user_type: 'enterprise', algorithm: 'collaborative_filtering' },
  labels: { version: 'v2.1', environment: 'production' },
};
const SEED_KPI = {
  metric_name: 'monthly_recurring_revenue',
  value: 125000.0,
  dimension: 'monthly',
  target: 150000.0,
  metadata: { currency: 'USD', segment: 'enterprise', growth_rate: 0.15 },
};

const KEYS = {
  ingest: 'shop-ingest-key-0123456789abcdef',
  read: 'shop-read-key-0123456789abcdef00',
  admin: 'shop-admin-key-0123456789abcdef0',
  alertmanager: 'platform-alertmanager-key-012345',
};
const API_KEYS = [
  { name: 'shop-app', key: KEYS.ingest, scopes: ['ingest' as const], project: 'shop' },
  { name: 'shop-dashboards', key: KEYS.read, scopes: ['read' as const], project: 'shop', components: ['marketplace'] },
  { name: 'shop-ops', key: KEYS.admin, scopes: ['admin' as const], project: 'shop', components: ['marketplace'] },
  { name: 'alertmanager', key: KEYS.alertmanager, scopes: ['ingest' as const], project: 'platform' },
];
const as = (key: keyof typeof KEYS) => ({ 'x-api-key': KEYS[key], 'content-type': 'application/json' });

const GiB = 1024 ** 3;
/** What the stand-in node and application expose: gauges fixed, counters growing at a fixed rate per second. */
function exposition(seconds: number): string {
  const c = (perSecond: number) => (perSecond * seconds).toFixed(3);
  return [
    '# TYPE node_memory_MemTotal_bytes gauge',
    `node_memory_MemTotal_bytes ${8 * GiB}`,
    '# TYPE node_memory_MemAvailable_bytes gauge',
    `node_memory_MemAvailable_bytes ${2 * GiB}`,
    '# TYPE node_filesystem_size_bytes gauge',
    'node_filesystem_size_bytes{mountpoint="/",fstype="ext4",device="/dev/sda1"} 100000000000',
    '# TYPE node_filesystem_avail_bytes gauge',
    'node_filesystem_avail_bytes{mountpoint="/",fstype="ext4",device="/dev/sda1"} 30000000000',
    '# TYPE node_cpu_seconds_total counter',
    `node_cpu_seconds_total{cpu="0",mode="idle"} ${c(0.6)}`,
    `node_cpu_seconds_total{cpu="0",mode="user"} ${c(0.4)}`,
    '# TYPE node_network_transmit_bytes_total counter',
    `node_network_transmit_bytes_total{device="eth0"} ${1_048_576_000 + Math.round(1000 * seconds)}`,
    '# TYPE node_network_receive_bytes_total counter',
    `node_network_receive_bytes_total{device="eth0"} ${2_097_152_000 + Math.round(2000 * seconds)}`,
    '# TYPE http_requests_total counter',
    `http_requests_total{service="marketplace",method="GET",route="/search",status="200"} ${c(19)}`,
    `http_requests_total{service="marketplace",method="GET",route="/search",status="500"} ${c(1)}`,
    `http_requests_total{service="recommendation",method="POST",route="/recommend",status="200"} ${c(5)}`,
    '# TYPE http_request_duration_seconds histogram',
    `http_request_duration_seconds_bucket{service="marketplace",method="GET",route="/search",le="0.1"} ${c(10)}`,
    `http_request_duration_seconds_bucket{service="marketplace",method="GET",route="/search",le="0.5"} ${c(20)}`,
    `http_request_duration_seconds_bucket{service="marketplace",method="GET",route="/search",le="+Inf"} ${c(20)}`,
    `http_request_duration_seconds_sum{service="marketplace",method="GET",route="/search"} ${c(3)}`,
    `http_request_duration_seconds_count{service="marketplace",method="GET",route="/search"} ${c(20)}`,
    '',
  ].join('\n');
}

describe('the seed API document, request by request', () => {
  let dir: string;
  let target: Server;
  let prometheus: StartedServer;
  let alertmanager: StartedServer;
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'obstack-seed-'));
    const started = Date.now();
    target = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(exposition((Date.now() - started) / 1000));
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const targetPort = (target.address() as AddressInfo).port;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: apps\n    static_configs:\n      - targets: ['127.0.0.1:${targetPort}']\n`,
    );
    prometheus = await startPrometheus(join(dir, 'prometheus.yml'), join(dir, 'prometheus-data'));

    const ingestPort = await freePort();
    writeFileSync(
      join(dir, 'alertmanager.yml'),
      [
        'route:',
        '  receiver: ingest-history',
        '  group_by: [alertname]',
        '  group_wait: 1s',
        '  group_interval: 1s',
        'receivers:',
        '  - name: ingest-history',
        '    webhook_configs:',
        `      - url: http://127.0.0.1:${ingestPort}/api/v1/alerts/webhook`,
        '        send_resolved: true',
        '        http_config:',
        '          authorization:',
        `            credentials: ${KEYS.alertmanager}`,
        '',
      ].join('\n'),
    );
    alertmanager = await startAlertmanager(join(dir, 'alertmanager.yml'), join(dir, 'alertmanager-data'));
    t = await makeApp({ apiKeys: API_KEYS, alertmanagerUrl: alertmanager.base, prometheusUrl: prometheus.base, prometheusTimeoutMs: 5_000 });
    await t.app.listen({ host: '127.0.0.1', port: ingestPort });
    base = `http://127.0.0.1:${ingestPort}`;
    // Enough scrapes for rates over the 10 s window the analytics test asks for.
    await waitFor(
      async () => {
        const r = await fetch(`${prometheus.base}/api/v1/query?query=${encodeURIComponent('count_over_time(up[1m])')}`);
        const body = (await r.json()) as { data: { result: { value: [number, string] }[] } };
        return Number(body.data.result[0]?.value[1] ?? 0) >= 12 ? true : undefined;
      },
      30_000,
      'twelve scrapes',
      prometheus.server,
    );
  }, 60_000);

  afterAll(async () => {
    await t?.app.close();
    await alertmanager?.server.stop();
    await prometheus?.server.stop();
    await new Promise<void>((r) => (target ? target.close(() => r()) : r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const call = async (method: string, path: string, key: keyof typeof KEYS, body?: unknown) => {
    const res = await fetch(`${base}${path}`, { method, headers: as(key), ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  it('POST /api/v1/monitoring/metrics: the dotted counter is recorded, exposed under its Prometheus name with tags, labels and component', async () => {
    const res = await call('POST', '/api/v1/monitoring/metrics', 'ingest', SEED_METRIC);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, message: 'Metric recorded successfully', metric_name: 'marketplace.recommendation.generated' });
    expect(Date.parse(res.body['timestamp'])).toBeGreaterThan(Date.now() - 60_000);
    expect(res.body['metric_names']).toEqual(['marketplace_recommendation_generated_total']);
    const exposed = await (await fetch(`${base}/metrics`)).text();
    const line = exposed.split('\n').find((l) => l.startsWith('marketplace_recommendation_generated_total{'));
    expect(line).toBeDefined();
    for (const pair of ['component="recommendation"', 'user_type="enterprise"', 'algorithm="collaborative_filtering"', 'version="v2.1"', 'environment="production"']) {
      expect(line).toContain(pair);
    }
    expect(line!.endsWith(' 1')).toBe(true);
  });

  it('POST /api/v1/monitoring/business-metrics: the KPI, its target and metadata are kept for the business dashboard', async () => {
    const res = await call('POST', '/api/v1/monitoring/business-metrics', 'ingest', SEED_KPI);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, metric_name: 'monthly_recurring_revenue', recorded: 1 });
    const dash = await call('GET', '/api/v1/monitoring/business-dashboard', 'admin');
    expect(dash.status).toBe(200);
    expect(dash.body['kpis']).toEqual({ monthly_recurring_revenue: 125000 });
    expect(dash.body['targets']['monthly_recurring_revenue']).toEqual({ current: 125000, target: 150000, achievement: 125000 / 150000 });
    expect(dash.body['trends']['monthly_recurring_revenue']).toBe('stable');
    expect(dash.body['revenue_metrics']).toEqual({ monthly_recurring_revenue: 125000, average_revenue_per_user: null, customer_lifetime_value: null });
    expect(Object.keys(dash.body).sort()).toEqual(
      ['generated_at', 'growth_metrics', 'kpis', 'quality_metrics', 'revenue_metrics', 'targets', 'trends', 'user_metrics'].sort(),
    );
    for (const key of ['session_duration_avg', 'pages_per_session', 'bounce_rate', 'return_user_rate']) expect(dash.body['user_metrics']).toHaveProperty(key);
  });

  it('POST /api/v1/monitoring/alerts: Alertmanager takes the alert with its severity mapped, the webhook comes back to its row, and a repeat keeps one row', async () => {
    const res = await call('POST', '/api/v1/monitoring/alerts', 'ingest', SEED_ALERT);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ success: true, name: 'High API Error Rate', severity: 'P2', requested_severity: 'high', component: 'api_gateway', status: 'firing', created: true });
    const labels = { alertname: 'High API Error Rate', severity: 'P2', component: 'api_gateway', project: 'shop', source: 'ingest-api' };
    expect(res.body['fingerprint']).toBe(alertFingerprint(labels));

    const inAlertmanager = (await (await fetch(`${alertmanager.base}/api/v2/alerts`)).json()) as { labels: Record<string, string>; annotations: Record<string, string>; fingerprint: string }[];
    expect(inAlertmanager).toHaveLength(1);
    expect(inAlertmanager[0]!.labels).toEqual(labels);
    expect(inAlertmanager[0]!.fingerprint).toBe(res.body['fingerprint']);
    expect(inAlertmanager[0]!.annotations).toMatchObject({ summary: 'High API Error Rate', condition: 'error_rate > 0.05', threshold: '0.05', duration_seconds: '300' });

    // Alertmanager notifies the history receiver (the platform's key); the project's own row follows.
    const notified = await waitFor(
      async () => {
        const list = await call('GET', '/api/v1/alerts', 'read');
        const row = (list.body['alerts'] as { id: number; receiver: string; notifications: number }[]).find((a) => String(a.id) === res.body['alert_id']);
        return row && row.receiver === 'ingest-history' && row.notifications >= 1 ? list.body['alerts'] : undefined;
      },
      20_000,
      "the webhook's notification",
      alertmanager.server,
    );
    expect(notified).toHaveLength(1);

    const again = await call('POST', '/api/v1/monitoring/alerts', 'ingest', SEED_ALERT);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ created: false, alert_id: res.body['alert_id'], starts_at: res.body['starts_at'] });
    expect((await call('GET', '/api/v1/alerts', 'read')).body['alerts']).toHaveLength(1);
  }, 30_000);

  it("GET /api/v1/monitoring/health: the score, the node's figures as served, recent performance, the project's active alert and the monitoring status", async () => {
    const res = await call('GET', '/api/v1/monitoring/health', 'read');
    expect(res.status).toBe(200);
    const h = res.body;
    expect(h['overall_health_score']).toBeGreaterThan(0);
    expect(h['overall_health_score']).toBeLessThanOrEqual(100);
    // 2 GiB of 8 available; 30 GB of 100 free. CPU is a rate over 5 minutes, which a few seconds of samples understate: only its range is sure.
    expect(h['system_metrics']['memory_usage']).toBeCloseTo(75, 5);
    expect(h['system_metrics']['disk_usage']).toBeCloseTo(70, 5);
    expect(h['system_metrics']['cpu_usage']).toBeGreaterThanOrEqual(0);
    expect(h['system_metrics']['cpu_usage']).toBeLessThanOrEqual(100);
    expect(h['system_metrics']['network_io']['bytes_sent']).toBeGreaterThanOrEqual(1_048_576_000);
    expect(h['system_metrics']['network_io']['bytes_recv']).toBeGreaterThanOrEqual(2_097_152_000);
    // The key reads marketplace only: its requests, 1 in 20 a 5xx.
    expect(h['recent_performance']['total_requests']).toBeGreaterThan(0);
    expect(h['recent_performance']['error_count']! / h['recent_performance']['total_requests']!).toBeCloseTo(0.05, 2);
    expect(h['recent_performance']['performance_average']).toBeCloseTo(150, 0);
    expect(h['active_alerts']).toEqual([
      expect.objectContaining({ name: 'High API Error Rate', severity: 'P2', component: 'api_gateway', alert_id: expect.any(String), triggered_at: expect.any(String) }),
    ]);
    expect(h['monitoring_status']).toMatchObject({ prometheus: 'ok', targets_up: 1, targets_total: 1 });
  });

  it('GET /api/v1/monitoring/analytics?component=marketplace: summary, trends, bottlenecks with recommendations and top operations from Prometheus', async () => {
    const res = await call('GET', '/api/v1/monitoring/analytics?component=marketplace&window=10s', 'read');
    expect(res.status).toBe(200);
    const a = res.body;
    expect(a['component']).toBe('marketplace');
    expect(a['summary']['request_error_rate']).toBeCloseTo(0.05, 2);
    expect(a['summary']['average_response_time']).toBeCloseTo(150, 0);
    // 20 requests a second; the 10 s window's first scrape may fall just inside it.
    expect(a['summary']['throughput_per_minute']).toBeGreaterThan(20 * 60 * 0.7);
    expect(a['summary']['throughput_per_minute']).toBeLessThan(20 * 60 * 1.3);
    expect(['improving', 'degrading', 'stable']).toContain(a['trends']['response_time_trend']);
    expect(a['trends']['usage_pattern']).toHaveProperty('peak_hours');
    expect(a['top_operations']).toEqual([expect.objectContaining({ service: 'marketplace', operation: 'GET /search' })]);
    expect(a['recommendations']).toHaveLength(a['bottlenecks'].length);
    expect(a['bottlenecks']).toEqual(a['bottleneck_details'].map((b: { kind: string; component: string | null; subject: string | null }) => [b.kind, b.component, b.subject].filter((x) => x !== null).join(':')));
    expect(a['insights_source']).toEqual({ prometheus: 'ok' });
    expect(JSON.stringify(a)).not.toContain('recommendation"'); // nothing of the service the key may not read
  });

  it('refuses the metrics of a component the key may not read with 403 naming query.component', async () => {
    const res = await call('GET', '/api/v1/monitoring/analytics?component=recommendation', 'read');
    expect(res.status).toBe(403);
    expect(res.body['message']).toContain('query.component');
  });
});

describe('POST /api/v1/monitoring/alerts without a working Alertmanager', () => {
  it('answers 503 and records nothing when Alertmanager does not answer, and when none is configured', async () => {
    const closed = await freePort();
    for (const overrides of [{ alertmanagerUrl: `http://127.0.0.1:${closed}`, alertmanagerTimeoutMs: 500 }, {}]) {
      const t = await makeApp({ apiKeys: API_KEYS, ...overrides });
      try {
        const res = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/alerts', headers: as('ingest'), payload: SEED_ALERT });
        expect(res.statusCode).toBe(503);
        expect(res.json()['error']).toMatch(/^alertmanager_(unavailable|not_configured)$/);
        expect(await t.count('alerts')).toBe(0);
        const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'alerts.create'");
        expect(rows[0]!.n).toBe(0);
      } finally {
        await t.app.close();
      }
    }
  });
});
