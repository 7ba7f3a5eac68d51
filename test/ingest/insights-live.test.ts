import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectInsights, healthScore, type Insights } from '../../src/ingest/insights.js';
import { PrometheusClient, PrometheusQueryError } from '../../src/ingest/prometheus-client.js';
import { type Started, startPrometheus, waitFor } from '../support/processes.js';

/*
 * The real Prometheus (Debian's) scrapes, every second, a small HTTP server
 * that plays a node-exporter and an application whose counters grow at set
 * rates. Half-way, the application changes: the search route turns slow, the
 * cart starts failing and the node's free memory drops. collectInsights must
 * find those changes in what Prometheus stored. Seven days of hourly traffic
 * for the usage pattern are written beforehand with promtool's backfill.
 */

/** The window of the insights, in seconds: ten scrapes (the shortest window collectInsights takes). */
const WINDOW = 10;
const GiB = 1024 ** 3;
const BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** A component name that would close the selector and add series if it were pasted into PromQL. */
const HOSTILE = 'shop"} or vector(1) or http_requests_total{service=~".+\\';

type Labels = Record<string, string>;
type Phase = 'A' | 'B';

/** Requests of one route and status, at a rate and a duration per phase. */
interface Flow {
  readonly labels: Labels;
  readonly rate: Record<Phase, number>;
  readonly seconds: Record<Phase, number>;
}

const flow = (labels: Labels, rateA: number, rateB: number, secondsA: number, secondsB = secondsA): Flow => ({
  labels,
  rate: { A: rateA, B: rateB },
  seconds: { A: secondsA, B: secondsB },
});

const SHOP_FLOWS: Flow[] = [
  flow({ service: 'shop', method: 'GET', route: '/api/items', status: '200' }, 20, 20, 0.05),
  flow({ service: 'shop', method: 'POST', route: '/api/cart', status: '200' }, 10, 10, 0.05),
  flow({ service: 'shop', method: 'POST', route: '/api/cart', status: '500' }, 0.2, 5, 0.05),
  flow({ service: 'shop', method: 'GET', route: '/api/search', status: '200' }, 5, 5, 0.05, 2),
];
const OTHER_FLOWS: Flow[] = [
  flow({ service: HOSTILE, method: 'GET', route: '/x', status_code: '200' }, 3, 3, 0.01),
  flow({ service: HOSTILE, method: 'GET', route: '/x', status_code: '503' }, 1, 1, 0.01),
  // About one request per window: far below the trends' minimum traffic, whatever its errors do.
  flow({ service: 'tiny', method: 'GET', route: '/', status: '200' }, 0.1, 0, 0.01),
  flow({ service: 'tiny', method: 'GET', route: '/', status: '500' }, 0, 0.1, 0.01),
];
const DB_FLOWS: Flow[] = [
  flow({ service: 'shop', operation: 'select' }, 50, 50, 0.005),
  flow({ service: 'shop', operation: 'insert' }, 4, 4, 0.9),
];
/** Counters of the other application metrics, per second. */
const RATES: { name: string; labels: Labels; rate: number }[] = [
  { name: 'cache_hits_total', labels: { service: 'shop', cache: 'search' }, rate: 30 },
  { name: 'cache_misses_total', labels: { service: 'shop', cache: 'search' }, rate: 70 },
  { name: 'cache_hits_total', labels: { service: 'shop', cache: 'session' }, rate: 95 },
  { name: 'cache_misses_total', labels: { service: 'shop', cache: 'session' }, rate: 5 },
  { name: 'ai_requests_total', labels: { service: 'shop', provider: 'openai', status: 'success' }, rate: 9 },
  { name: 'ai_requests_total', labels: { service: 'shop', provider: 'openai', status: 'error' }, rate: 1 },
  { name: 'ai_requests_total', labels: { service: 'shop', provider: 'ollama', status: 'success' }, rate: 5 },
  { name: 'node_cpu_seconds_total', labels: { cpu: '0', mode: 'idle' }, rate: 0.2 },
  { name: 'node_cpu_seconds_total', labels: { cpu: '0', mode: 'user' }, rate: 0.8 },
  { name: 'node_cpu_seconds_total', labels: { cpu: '1', mode: 'idle' }, rate: 0.3 },
  { name: 'node_cpu_seconds_total', labels: { cpu: '1', mode: 'user' }, rate: 0.7 },
];

const escapeValue = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const series = (name: string, labels: Labels) => `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${escapeValue(v)}"`).join(',')}}`;

/** The simulated node and applications: every counter advances by its rate times the time since the last scrape. */
class World {
  phase: Phase = 'A';
  memoryAvailable = 4 * GiB;
  private last = Date.now();
  // As if the application had run for 1000 s already, so that no counter is near zero (increase() would extrapolate differently).
  private readonly counts = new Map<string, number>();

  constructor() {
    this.advance(1000);
  }

  private add(key: string, by: number) {
    this.counts.set(key, (this.counts.get(key) ?? 0) + by);
  }

  private advance(seconds: number) {
    for (const f of [...SHOP_FLOWS, ...OTHER_FLOWS]) this.observe('http_requests_total', 'http_request_duration_seconds', f, seconds);
    for (const f of DB_FLOWS) this.observe(undefined, 'database_query_duration_seconds', f, seconds);
    for (const r of RATES) this.add(series(r.name, r.labels), r.rate * seconds);
  }

  private observe(counter: string | undefined, histogram: string, f: Flow, seconds: number) {
    const n = f.rate[this.phase] * seconds;
    const d = f.seconds[this.phase];
    if (counter) this.add(series(counter, f.labels), n);
    for (const le of [...BUCKETS.map(String), '+Inf']) this.add(series(`${histogram}_bucket`, { ...f.labels, le }), le === '+Inf' || d <= Number(le) ? n : 0);
    this.add(series(`${histogram}_sum`, f.labels), n * d);
    this.add(series(`${histogram}_count`, f.labels), n);
  }

  /** Brings the counters to now, at the rates of the phase that was running. */
  tick() {
    const now = Date.now();
    this.advance((now - this.last) / 1000);
    this.last = now;
  }

  switchTo(phase: Phase) {
    this.tick();
    this.phase = phase;
  }

  exposition(what: 'node' | 'app'): string {
    this.tick();
    const lines: string[] = [];
    for (const [key, value] of this.counts) if (key.startsWith('node_') === (what === 'node')) lines.push(`${key} ${value}`);
    if (what === 'node') {
      lines.push(`node_memory_MemTotal_bytes ${8 * GiB}`, `node_memory_MemAvailable_bytes ${this.memoryAvailable}`);
      const fs = (labels: Labels, size: number, avail: number) =>
        lines.push(`${series('node_filesystem_size_bytes', labels)} ${size}`, `${series('node_filesystem_avail_bytes', labels)} ${avail}`);
      fs({ device: '/dev/sda1', fstype: 'ext4', mountpoint: '/' }, 100e9, 30e9);
      // Neither counts: another mount point, and the container's overlay seen at / (full, it would read 85%).
      fs({ device: '/dev/sda2', fstype: 'ext4', mountpoint: '/boot' }, 1e9, 0.1e9);
      fs({ device: 'overlay', fstype: 'overlay', mountpoint: '/' }, 100e9, 0);
      const nic = (device: string, sent: number, received: number) =>
        lines.push(`${series('node_network_transmit_bytes_total', { device })} ${sent}`, `${series('node_network_receive_bytes_total', { device })} ${received}`);
      nic('eth0', 1048576000, 2097152000);
      nic('lo', 5e9, 5e9);
      nic('veth1a2b3c', 7e9, 7e9);
      nic('cali0123', 3e9, 3e9);
    }
    return `${lines.join('\n')}\n`;
  }
}

/** Seven days of `http_requests_total` of shop, in OpenMetrics for promtool: busy 09:00–17:00, busier 20:00–22:00 (UTC), every 5 minutes. */
function history(endSeconds: number): string {
  const perHour = (h: number) => (h >= 9 && h < 17 ? 12_000 : h === 20 || h === 21 ? 18_000 : 1_200);
  const lines = ['# TYPE http_requests counter'];
  let value = 0;
  for (let t = endSeconds - 7 * 86_400 - 300; t <= endSeconds; t += 300) {
    // The sample at t counts the five minutes before it.
    value += perHour(new Date((t - 300) * 1000).getUTCHours()) / 12;
    lines.push(`${series('http_requests_total', { service: 'shop', method: 'GET', route: '/api/items', status: '200', job: 'history' })} ${value} ${t}`);
  }
  return `${lines.join('\n')}\n# EOF\n`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('insights from a real Prometheus (Debian 2.42) scraping every second', () => {
  let root: string;
  let server: Server;
  let prometheus: Started;
  let client: PrometheusClient;
  const world = new World();
  let before: Insights;
  let shop: Insights;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'obstack-insights-live-'));
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600;
    writeFileSync(join(root, 'history.om'), history(hour));
    execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', '--max-block-duration=168h', join(root, 'history.om'), join(root, 'data')]);

    server = createServer((req, res) => {
      const what = req.url === '/node' ? 'node' : req.url === '/app' ? 'app' : undefined;
      if (!what) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(world.exposition(what));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const target = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    writeFileSync(
      join(root, 'rules.yml'),
      JSON.stringify({
        groups: [
          {
            name: 'test',
            rules: [
              { alert: 'ShopAlwaysFiring', expr: 'vector(1)', labels: { severity: 'P2', service: 'shop' } },
              { alert: 'OtherWarning', expr: 'vector(1)', labels: { severity: 'warning', service: 'other' } },
            ],
          },
        ],
      }),
    );
    writeFileSync(
      join(root, 'prometheus.yml'),
      JSON.stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: [join(root, 'rules.yml')],
        scrape_configs: [
          { job_name: 'node', metrics_path: '/node', static_configs: [{ targets: [target] }] },
          { job_name: 'app', metrics_path: '/app', static_configs: [{ targets: [target] }] },
        ],
      }),
    );
    const started = await startPrometheus(join(root, 'prometheus.yml'), join(root, 'data'));
    prometheus = started.server;
    client = new PrometheusClient(started.base, { timeoutMs: 5_000 });
    await waitFor(
      async () => {
        const r = await client.query('count(node_memory_MemTotal_bytes) + count(http_requests_total{job="app"}) + count(ALERTS)');
        return r.type === 'vector' && r.samples.length === 1 ? true : undefined;
      },
      20_000,
      'the first scrapes and rule evaluation',
      prometheus,
    );

    // Phase A for a window and a bit, then phase B for a window and a bit, so that the last window holds only B.
    await sleep((WINDOW + 2) * 1000);
    before = await collectInsights(client, { component: 'shop', windowSeconds: WINDOW });
    world.switchTo('B');
    world.memoryAvailable = 0.5 * GiB;
    await sleep((WINDOW + 2) * 1000);
    shop = await collectInsights(client, { component: 'shop', windowSeconds: WINDOW });
  }, 90_000);

  afterAll(async () => {
    await prometheus?.stop();
    await new Promise((resolve) => server?.close(resolve));
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('computes CPU, memory, disk and network from the node-exporter series, ignoring virtual devices and other mounts', () => {
    expect(shop.source).toEqual({ prometheus: 'ok' });
    const s = shop.system_metrics;
    // Idle 0.2 and 0.3 CPU-seconds per second on two CPUs: 75% busy (scrape timing moves the rate a little).
    expect(s.cpu_usage).toBeGreaterThan(74);
    expect(s.cpu_usage).toBeLessThan(76);
    // 0.5 GiB of 8 available, once the values changed; 4 of 8 before.
    expect(s.memory_usage).toBe(93.8);
    expect(before.system_metrics.memory_usage).toBe(50);
    expect(s.disk_usage).toBe(70);
    expect(s.network_io).toEqual({ bytes_sent: 1048576000, bytes_recv: 2097152000 });
    expect(Date.now() - Date.parse(s.last_updated!)).toBeLessThan(5_000);
  });

  it('reports throughput, error rate and response time of the component from its counters', () => {
    // Phase B: 40 requests/s, of which 5/s are 500s on the cart; 35/s take 50 ms and 5/s take 2 s.
    expect(shop.summary.error_rate).toBeCloseTo(5 / 40, 6);
    expect(shop.summary.throughput_per_minute).toBeGreaterThan(2400 * 0.95);
    expect(shop.summary.throughput_per_minute).toBeLessThan(2400 * 1.05);
    expect(shop.summary.average_response_time).toBeCloseTo(((35 * 0.05 + 5 * 2) / 40) * 1000, 0);
    // 95% of 40: the 38th request falls in the (1 s, 2.5 s] bucket, 3 of its 5 requests in: 1 + 3/5 × 1.5 s.
    expect(shop.summary.p95_response_time).toBeCloseTo(1900, 0);
    expect(shop.top_operations.map((o) => [o.service, o.operation, o.avg_duration_ms])).toEqual([
      ['shop', 'GET /api/items', 50],
      ['shop', 'POST /api/cart', 50],
      ['shop', 'GET /api/search', 2000],
    ]);
    const [items, cart, search] = shop.top_operations;
    expect(items!.request_count / cart!.request_count).toBeCloseTo(20 / 15, 2);
    expect(search!.request_count / items!.request_count).toBeCloseTo(5 / 20, 2);
    expect(cart!.error_rate).toBeCloseTo(5 / 15, 6);
    expect(before.summary.error_rate).toBeCloseTo(0.2 / 35.2, 6);
  });

  it('finds the slow route, the failing cart, the slow insert, the cold cache, the failing provider and the memory', () => {
    const found = Object.fromEntries(shop.bottlenecks.map((b) => [`${b.kind} ${b.subject ?? ''}`.trim(), b]));
    expect(Object.keys(found).sort()).toEqual(
      ['dependency_errors openai', 'high_error_rate POST /api/cart', 'low_cache_hit_ratio search', 'memory_saturation', 'slow_database_queries insert', 'slow_route GET /api/search'].sort(),
    );
    const slow = found['slow_route GET /api/search']!;
    expect(slow.component).toBe('shop');
    // p95 in the (1, 2.5] bucket, against the other routes' 50 ms answers in the (0.025, 0.05] bucket.
    expect(slow.evidence.value).toBeCloseTo(1 + 0.95 * 1.5, 6);
    expect(slow.evidence.baseline).toBeCloseTo(0.025 + 0.95 * 0.025, 6);
    expect(slow.evidence.threshold).toBe(0.25);
    expect(found['memory_saturation']!.evidence).toMatchObject({ value: 93.8, threshold: 85, unit: 'percent' });
    expect(found['high_error_rate POST /api/cart']!.evidence.value).toBeCloseTo(0.125, 6);
    expect(found['low_cache_hit_ratio search']!.evidence.value).toBeCloseTo(0.3, 6);
    expect(found['dependency_errors openai']!.evidence.value).toBeCloseTo(0.1, 6);
    expect(found['slow_database_queries insert']!.evidence.value).toBeCloseTo(0.5 + 0.95 * 0.5, 6);
    expect(shop.recommendations).toHaveLength(shop.bottlenecks.length);
    expect(shop.recommendations[shop.bottlenecks.indexOf(slow)]).toMatch(/^Speed up GET \/api\/search of shop: its p95 of 2\.4[23] s/);
    // Before the change nothing but the low cache hits, the provider and the slow inserts stood out.
    expect(before.bottlenecks.map((b) => b.kind).sort()).toEqual(['dependency_errors', 'low_cache_hit_ratio', 'slow_database_queries']);
    expect(shop.component_specific.cache_hit_rate).toBeCloseTo((30 + 95) / 200, 6);
  });

  it('sees both trends degrade, and calls a change on one request per window stable', async () => {
    expect(shop.trends.response_time_trend).toBe('degrading');
    expect(shop.trends.error_rate_trend).toBe('degrading');
    const tiny = await collectInsights(client, { component: 'tiny', windowSeconds: WINDOW });
    // tiny went from no error to every request failing, on about one request per window.
    expect(tiny.top_operations.map((o) => o.error_rate)).toEqual([1]);
    expect(tiny.trends.error_rate_trend).toBe('stable');
    expect(tiny.trends.response_time_trend).toBe('stable');
  });

  it('finds the peak hours of the 7 backfilled days in an hourly range query', () => {
    expect(shop.trends.usage_pattern).toEqual({ peak_hours: ['09:00-17:00', '20:00-22:00'], pattern: 'business_hours_with_evening_peak' });
  });

  it('counts firing alerts by severity, and the health score reads them with the rest', () => {
    expect(shop.firing_alerts).toEqual({ P1: 0, P2: 1, P3: 0, P4: 0, other: 0 });
    expect(shop.monitoring).toEqual({ targets_up: 2, targets_total: 2 });
    // Errors 12.5% (all 30 points), p95 1.9 s of 2 s (0.3 of 20), memory 93.8% (0.952 of 15), one P2 (half of 25), database up.
    const expected = 100 - (30 + 0.3 * 20 + ((93.8 - 70) / 25) * 15 + 12.5);
    expect(healthScore({ ...shop.health_inputs, databaseUp: true })).toBeCloseTo(expected, 0);
  });

  it('matches a hostile component name literally: its own series, nothing injected', async () => {
    const hostile = await collectInsights(client, { component: HOSTILE, windowSeconds: WINDOW });
    expect(hostile.source).toEqual({ prometheus: 'ok' });
    expect(hostile.top_operations.map((o) => [o.service, o.operation])).toEqual([[HOSTILE, 'GET /x']]);
    // Its series use prom-client's `status_code`: one 503 in four requests.
    expect(hostile.summary.error_rate).toBeCloseTo(0.25, 6);
    const absent = await collectInsights(client, { component: 'x"} or vector(1) or http_requests_total{service=~".+', windowSeconds: WINDOW });
    expect(absent.source).toEqual({ prometheus: 'ok' });
    expect(absent.summary.total_requests).toBeNull();
    expect(absent.top_operations).toEqual([]);
    expect(absent.trends.usage_pattern.pattern).toBe('insufficient_data');
    const controls = await collectInsights(client, { component: 'shop\n\u0000"', windowSeconds: WINDOW });
    expect(controls.source).toEqual({ prometheus: 'ok' });
    expect(controls.summary.total_requests).toBeNull();
  });

  it("reads Prometheus's own answers: errors, special values, strings, matrices and the size cap", async () => {
    const err = await client.query('rate(').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrometheusQueryError);
    expect(err).toMatchObject({ errorType: 'bad_data', status: 400 });
    const nan = await client.query('0/0');
    expect(nan.type === 'scalar' && Number.isNaN(nan.value)).toBe(true);
    const inf = await client.query('vector(-1/0)');
    expect(inf.type === 'vector' && inf.samples[0]!.value).toBe(Number.NEGATIVE_INFINITY);
    expect(await client.query('"a string"')).toMatchObject({ type: 'string', value: 'a string' });
    const m = await client.query('node_memory_MemTotal_bytes[3s]');
    expect(m.type === 'matrix' && m.series[0]!.points.every((p) => p.value === 8 * GiB)).toBe(true);
    await expect(new PrometheusClient(client.origin, { maxAnswerBytes: 512 }).query('http_requests_total')).rejects.toMatchObject({ kind: 'too_large' });
  });

  it('answers unavailable, without throwing, once Prometheus has stopped', async () => {
    await prometheus.stop();
    const started = performance.now();
    const r = await collectInsights(client, { component: 'shop', windowSeconds: WINDOW });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(r.source).toEqual({ prometheus: 'unavailable', error: 'unreachable', message: 'Prometheus could not be reached' });
    expect(r.system_metrics.cpu_usage).toBeNull();
    expect(r.summary.total_requests).toBeNull();
    expect(r.bottlenecks).toEqual([]);
    expect(r.recommendations).toEqual([]);
  });
});
