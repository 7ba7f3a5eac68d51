import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BOTTLENECK_RULES,
  type Bottleneck,
  classifyUsage,
  collectInsights,
  ComponentParam,
  errorRateTrend,
  findBottlenecks,
  type HealthInputs,
  healthParts,
  healthScore,
  hourlyProfile,
  insightQueries,
  isServerError,
  recommendationsFor,
  responseTimeTrend,
  type RouteStats,
  severityLevel,
  type SystemMetrics,
  WindowParam,
} from '../../src/ingest/insights.js';
import {
  labelMatcher,
  parseSampleValue,
  PrometheusClient,
  PrometheusQueryError,
  PrometheusUnavailableError,
  promDuration,
  quoteLabelValue,
} from '../../src/ingest/prometheus-client.js';
import { freePort } from '../support/processes.js';

// ─── Trends ─────────────────────────────────────────────────────────────────

describe('response time trend', () => {
  const w = (count: number, meanMs: number) => ({ count, sumSeconds: (count * meanMs) / 1000 });

  it('is stable under 30 observations in either window, however large the change', () => {
    expect(responseTimeTrend(w(3, 100), w(3, 900))).toBe('stable');
    expect(responseTimeTrend(w(29, 100), w(1000, 900))).toBe('stable');
    expect(responseTimeTrend(w(1000, 100), w(29, 900))).toBe('stable');
    expect(responseTimeTrend(w(30, 100), w(30, 900))).toBe('degrading');
  });

  it('needs a 20% change of the mean: 19% is stable, 21% is a trend either way', () => {
    expect(responseTimeTrend(w(500, 100), w(500, 119))).toBe('stable');
    expect(responseTimeTrend(w(500, 100), w(500, 121))).toBe('degrading');
    expect(responseTimeTrend(w(500, 100), w(500, 81))).toBe('stable');
    expect(responseTimeTrend(w(500, 100), w(500, 79))).toBe('improving');
  });

  it('ignores changes under 5 ms, even when large in proportion', () => {
    expect(responseTimeTrend(w(500, 2), w(500, 6))).toBe('stable');
    expect(responseTimeTrend(w(500, 2), w(500, 8))).toBe('degrading');
  });

  it('is stable without a window before (a new service) or without observations', () => {
    expect(responseTimeTrend(null, w(500, 100))).toBe('stable');
    expect(responseTimeTrend(w(500, 100), null)).toBe('stable');
    expect(responseTimeTrend({ count: 0, sumSeconds: 0 }, { count: 0, sumSeconds: 0 })).toBe('stable');
  });
});

describe('error rate trend', () => {
  const w = (requests: number, errors: number) => ({ requests, errors });

  it('calls nothing on 3 requests, even from no error to all failing', () => {
    expect(errorRateTrend(w(3, 0), w(3, 3))).toBe('stable');
  });

  it('takes 2 errors out of 40 after none out of 40 as noise (z ≈ 1.4 < 2)', () => {
    expect(errorRateTrend(w(40, 0), w(40, 2))).toBe('stable');
    // The same shares on ten times the traffic are a change.
    expect(errorRateTrend(w(400, 0), w(400, 20))).toBe('degrading');
  });

  it('needs half a percentage point: 1% → 1.2% on a million requests is stable', () => {
    expect(errorRateTrend(w(1_000_000, 10_000), w(1_000_000, 12_000))).toBe('stable');
    expect(errorRateTrend(w(1_000_000, 10_000), w(1_000_000, 16_000))).toBe('degrading');
  });

  it('improves when the share falls significantly', () => {
    expect(errorRateTrend(w(2_000, 100), w(2_000, 20))).toBe('improving');
  });

  it('is stable without the window before', () => {
    expect(errorRateTrend(null, w(1_000, 500))).toBe('stable');
  });
});

// ─── Usage pattern ───────────────────────────────────────────────────────────

/** Hourly points over 7 days ending at a UTC midnight, each counting the hour before its time. */
function week(level: (hour: number) => number, days = 7): { time: number; value: number }[] {
  const end = Date.UTC(2026, 0, 15) / 1000;
  const out: { time: number; value: number }[] = [];
  for (let t = end - days * 86_400 + 3_600; t <= end; t += 3_600) {
    out.push({ time: t, value: level(new Date((t - 3_600) * 1000).getUTCHours()) });
  }
  return out;
}

describe('usage pattern', () => {
  it('averages each hour of the day over the days, the point at T counting the hour before T', () => {
    const p = hourlyProfile([
      { time: Date.UTC(2026, 0, 1, 15) / 1000, value: 10 },
      { time: Date.UTC(2026, 0, 2, 15) / 1000, value: 30 },
      { time: Date.UTC(2026, 0, 2, 0) / 1000, value: 7 },
      { time: Date.UTC(2026, 0, 2, 1) / 1000, value: Number.NaN },
    ]);
    expect(p.perHour[14]).toBe(20);
    expect(p.perHour[23]).toBe(7);
    expect(p.perHour[0]).toBe(0);
    expect(p.hoursCovered).toBe(2);
    expect(p.total).toBe(47);
  });

  it('finds business hours with an evening peak, the busiest range first', () => {
    const profile = hourlyProfile(week((h) => (h >= 9 && h < 17 ? 1000 : h === 20 || h === 21 ? 1500 : 100)));
    expect(classifyUsage(profile)).toEqual({ peak_hours: ['09:00-17:00', '20:00-22:00'], pattern: 'business_hours_with_evening_peak' });
  });

  it('finds business hours alone', () => {
    expect(classifyUsage(hourlyProfile(week((h) => (h >= 9 && h < 17 ? 1000 : 100))))).toEqual({ peak_hours: ['09:00-17:00'], pattern: 'business_hours' });
  });

  it('calls a flat day steady, with no peak hours, and small noise does not make a peak', () => {
    expect(classifyUsage(hourlyProfile(week(() => 500)))).toEqual({ peak_hours: [], pattern: 'steady' });
    expect(classifyUsage(hourlyProfile(week((h) => 500 + (h % 3) * 100)))).toEqual({ peak_hours: [], pattern: 'steady' });
  });

  it('joins a peak across midnight into one range, and names evening and night peaks', () => {
    expect(classifyUsage(hourlyProfile(week((h) => (h >= 23 || h < 2 ? 2000 : 100))))).toEqual({ peak_hours: ['23:00-02:00'], pattern: 'evening_peak' });
    expect(classifyUsage(hourlyProfile(week((h) => (h >= 1 && h < 4 ? 2000 : 100))))).toEqual({ peak_hours: ['01:00-04:00'], pattern: 'night_peak' });
    expect(classifyUsage(hourlyProfile(week((h) => (h >= 22 ? 2000 : 100))))).toEqual({ peak_hours: ['22:00-24:00'], pattern: 'evening_peak' });
  });

  it('names other shapes by their number of peaks', () => {
    expect(classifyUsage(hourlyProfile(week((h) => (h === 6 || h === 7 ? 3000 : 100))))).toEqual({ peak_hours: ['06:00-08:00'], pattern: 'single_peak' });
    expect(classifyUsage(hourlyProfile(week((h) => (h === 6 ? 3000 : h === 19 ? 2500 : 100))))).toEqual({
      peak_hours: ['06:00-07:00', '19:00-20:00'],
      pattern: 'multiple_peaks',
    });
  });

  it('needs every hour of the day and 100 requests', () => {
    expect(classifyUsage(hourlyProfile(week((h) => (h >= 9 && h < 17 ? 1000 : 100)).slice(0, 23)))).toEqual({ peak_hours: [], pattern: 'insufficient_data' });
    expect(classifyUsage(hourlyProfile(week((h) => (h === 12 ? 10 : 0))))).toEqual({ peak_hours: [], pattern: 'insufficient_data' });
    expect(classifyUsage(hourlyProfile([]))).toEqual({ peak_hours: [], pattern: 'insufficient_data' });
  });
});

// ─── Health score ─────────────────────────────────────────────────────────────

/** A small deterministic PRNG (mulberry32), so that the property checks below are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function randomInputs(rand: () => number): HealthInputs {
  const maybe = <T>(v: T) => (rand() < 0.2 ? null : v);
  return {
    errorRate: maybe(rand() * 0.3),
    latencyP95Ms: maybe(rand() * 6_000),
    cpuPercent: maybe(rand() * 100),
    memoryPercent: maybe(rand() * 100),
    diskPercent: maybe(rand() * 100),
    firingAlerts: maybe({ P1: rand() < 0.1 ? 1 : 0, P2: Math.floor(rand() * 3), P3: Math.floor(rand() * 5), P4: Math.floor(rand() * 10) }),
    databaseUp: maybe(rand() < 0.8),
  };
}

describe('health score', () => {
  it('is 100 when everything is good, null when nothing is known', () => {
    expect(
      healthScore({ errorRate: 0, latencyP95Ms: 100, cpuPercent: 10, memoryPercent: 20, diskPercent: 30, firingAlerts: { P1: 0, P2: 0, P3: 0, P4: 0 }, databaseUp: true }),
    ).toBe(100);
    expect(healthScore({})).toBeNull();
    expect(healthScore({ errorRate: null, cpuPercent: Number.NaN })).toBeNull();
  });

  it('follows its documented weights', () => {
    // Everything known and good but a 5% error rate: half of the error part's 30 points.
    const good = { latencyP95Ms: 100, cpuPercent: 10, memoryPercent: 10, diskPercent: 10, firingAlerts: {}, databaseUp: true };
    expect(healthScore({ ...good, errorRate: 0.05 })).toBe(85);
    // The database down costs its 10 points; a P1 alert all 25 of the alerts part; a P2 half of them.
    expect(healthScore({ ...good, errorRate: 0, databaseUp: false })).toBe(90);
    expect(healthScore({ ...good, errorRate: 0, firingAlerts: { P1: 1 } })).toBe(75);
    expect(healthScore({ ...good, errorRate: 0, firingAlerts: { P2: 1 } })).toBe(87.5);
    // p95 at the objective: a third of the latency part (0 at half the objective, all at twice it).
    expect(healthScore({ ...good, errorRate: 0, latencyP95Ms: 2_000 })).toBeCloseTo(100 - 20 / 3, 1);
    expect(healthScore({ ...good, errorRate: 0, latencyP95Ms: 500, latencyObjectiveMs: 500 })).toBeCloseTo(100 - 20 / 3, 1);
    expect(healthScore({ ...good, errorRate: 0, latencyP95Ms: 1_000, latencyObjectiveMs: 500 })).toBe(80);
    // Saturation reads the busiest resource: 95% disk loses all 15 points whatever CPU and memory are.
    expect(healthScore({ ...good, errorRate: 0, diskPercent: 95 })).toBe(85);
  });

  it('scales the known parts to 100 and leaves the unknown ones out', () => {
    expect(healthScore({ errorRate: 0.1 })).toBe(0);
    expect(healthScore({ errorRate: 0.05 })).toBe(50);
    expect(healthParts({ errorRate: 0.05, databaseUp: true }).map((p) => p.part)).toEqual(['errorRate', 'database']);
    expect(healthScore({ errorRate: 0.05, databaseUp: true })).toBe(62.5);
  });

  it('stays within 0–100 for any inputs, even out of range', () => {
    const rand = prng(7);
    for (let i = 0; i < 2_000; i++) {
      const s = healthScore(randomInputs(rand));
      if (s !== null) {
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(100);
      }
    }
    expect(healthScore({ errorRate: 5, latencyP95Ms: 1e12, cpuPercent: 400, firingAlerts: { P1: 1e6 }, databaseUp: false })).toBe(0);
    expect(healthScore({ errorRate: -1, latencyP95Ms: -5, cpuPercent: -50 })).toBe(100);
  });

  it('never rises when one input gets worse, whatever the others are', () => {
    const rand = prng(42);
    const worse: [string, (i: HealthInputs, step: number) => HealthInputs][] = [
      ['errorRate', (i, s) => ({ ...i, errorRate: s * 0.01 })],
      ['latencyP95Ms', (i, s) => ({ ...i, latencyP95Ms: s * 250 })],
      ['cpuPercent', (i, s) => ({ ...i, cpuPercent: s * 5 })],
      ['memoryPercent', (i, s) => ({ ...i, memoryPercent: s * 5 })],
      ['diskPercent', (i, s) => ({ ...i, diskPercent: s * 5 })],
      ['P1 alerts', (i, s) => ({ ...i, firingAlerts: { ...i.firingAlerts, P1: s } })],
      ['P2 alerts', (i, s) => ({ ...i, firingAlerts: { ...i.firingAlerts, P2: s } })],
      ['P3 alerts', (i, s) => ({ ...i, firingAlerts: { ...i.firingAlerts, P3: s } })],
      ['P4 alerts', (i, s) => ({ ...i, firingAlerts: { ...i.firingAlerts, P4: s } })],
    ];
    for (let i = 0; i < 300; i++) {
      const base = randomInputs(rand);
      for (const [name, at] of worse) {
        let previous = Number.POSITIVE_INFINITY;
        for (let step = 0; step <= 20; step++) {
          const s = healthScore(at(base, step))!;
          expect(s, `${name} at step ${step}`).toBeLessThanOrEqual(previous);
          previous = s;
        }
      }
      expect(healthScore({ ...base, databaseUp: false })!).toBeLessThanOrEqual(healthScore({ ...base, databaseUp: true })!);
    }
  });

  it('reads severities as the stack names them', () => {
    expect(['critical', 'high', 'medium', 'low', 'info', 'P1', 'P4', 'warning', 'Critical'].map(severityLevel)).toEqual(['P1', 'P2', 'P3', 'P4', 'P4', 'P1', 'P4', 'P3', 'P1']);
    expect(severityLevel('__proto__')).toBeUndefined();
    expect(severityLevel('toString')).toBeUndefined();
    expect(severityLevel(undefined)).toBeUndefined();
  });
});

// ─── Bottlenecks and recommendations ─────────────────────────────────────────────

const route = (operation: string, p95Seconds: number | null, requests = 100, errors = 0, service = 'shop'): RouteStats => ({
  service,
  operation,
  requests,
  errors,
  durationCount: requests,
  durationSumSeconds: requests * (p95Seconds ?? 0),
  p95Seconds,
});
const none = { routes: [], database: [], caches: [], dependencies: [], system: null };
const kinds = (b: readonly Bottleneck[]) => b.map((x) => `${x.kind}:${x.component ?? ''}:${x.subject ?? ''}`);

describe('bottlenecks', () => {
  it('finds a route slower than twice the median of its service\'s other routes', () => {
    const found = findBottlenecks({ ...none, routes: [route('GET /a', 0.05), route('GET /b', 0.06), route('GET /search', 2), route('GET /x', 3, 100, 0, 'other')] });
    expect(kinds(found)).toEqual(['slow_route:shop:GET /search']);
    expect(found[0]!.evidence).toEqual({ metric: 'http_request_duration_seconds p95', value: 2, threshold: 0.25, unit: 'seconds', baseline: 0.055, sample_size: 100 });
  });

  it('compares two routes with each other, and a slow route with the threshold above the floor', () => {
    expect(kinds(findBottlenecks({ ...none, routes: [route('GET /a', 0.4), route('GET /b', 1)] }))).toEqual(['slow_route:shop:GET /b']);
    const [b] = findBottlenecks({ ...none, routes: [route('GET /a', 0.4), route('GET /b', 1)] });
    expect(b!.evidence.threshold).toBe(0.8);
  });

  it('ignores routes under 0.25 s, under 20 requests, or alone in their service', () => {
    expect(findBottlenecks({ ...none, routes: [route('GET /a', 0.01), route('GET /b', 0.2)] })).toEqual([]);
    expect(findBottlenecks({ ...none, routes: [route('GET /a', 0.05), route('GET /b', 0.05), route('GET /slow', 5, 19)] })).toEqual([]);
    expect(findBottlenecks({ ...none, routes: [route('GET /only', 9)] })).toEqual([]);
  });

  it('finds a service failing more than 5% of 20 requests or more, naming the route with the most 5xx', () => {
    const found = findBottlenecks({ ...none, routes: [route('GET /a', 0.05, 100, 1), route('POST /pay', 0.05, 100, 12)] });
    expect(kinds(found)).toEqual(['high_error_rate:shop:POST /pay']);
    expect(found[0]!.evidence.value).toBeCloseTo(13 / 200, 10);
    expect(findBottlenecks({ ...none, routes: [route('GET /a', 0.05, 19, 19)] })).toEqual([]);
    expect(findBottlenecks({ ...none, routes: [route('GET /a', 0.05, 100, 5)] })).toEqual([]);
  });

  it('finds slow database queries, a low cache hit ratio, a failing dependency and saturated nodes', () => {
    const system: SystemMetrics = { cpu_usage: 86, memory_usage: 85, disk_usage: 99, network_io: { bytes_sent: null, bytes_recv: null }, last_updated: null };
    const found = findBottlenecks({
      routes: [],
      database: [
        { service: 'shop', operation: 'insert', p95Seconds: 0.9, queries: 50 },
        { service: 'shop', operation: 'select', p95Seconds: 0.4, queries: 5000 },
        { service: 'shop', operation: 'delete', p95Seconds: 4, queries: 3 },
      ],
      caches: [
        { service: 'shop', cache: 'search', hits: 30, misses: 70 },
        { service: 'shop', cache: 'session', hits: 60, misses: 40 },
        { service: 'shop', cache: 'tiny', hits: 0, misses: 99 },
      ],
      dependencies: [
        { service: 'chat', provider: 'openai', requests: 100, errors: 10 },
        { service: 'chat', provider: 'ollama', requests: 100, errors: 5 },
      ],
      system,
    });
    expect(kinds(found).sort()).toEqual(
      ['cpu_saturation::', 'dependency_errors:chat:openai', 'disk_saturation::', 'low_cache_hit_ratio:shop:search', 'slow_database_queries:shop:insert'].sort(),
    );
    // The worst first: 0.9 s against 0.5 s (1.8x) before the provider (10% against 5%, 2x is first).
    expect(kinds(found)[0]).toBe('dependency_errors:chat:openai');
    expect(kinds(found)[1]).toBe('slow_database_queries:shop:insert');
  });

  it('reports at most the 20 worst', () => {
    const routes = Array.from({ length: 30 }, (_, i) => [route(`GET /fast${i}`, 0.01, 100, 0, `s${i}`), route(`GET /slow${i}`, 1 + i, 100, 0, `s${i}`)]).flat();
    const found = findBottlenecks({ ...none, routes });
    expect(found).toHaveLength(BOTTLENECK_RULES.maxFindings);
    expect(found[0]!.subject).toBe('GET /slow29');
  });
});

describe('recommendations', () => {
  const system: SystemMetrics = { cpu_usage: 97, memory_usage: 91, disk_usage: 88, network_io: { bytes_sent: null, bytes_recv: null }, last_updated: null };
  const found = findBottlenecks({
    routes: [route('GET /a', 0.05), route('GET /b', 0.05), route('GET /search', 2.4, 100, 30)],
    database: [{ service: 'shop', operation: 'insert', p95Seconds: 0.9, queries: 50 }],
    caches: [{ service: 'shop', cache: 'search', hits: 30, misses: 70 }],
    dependencies: [{ service: 'shop', provider: 'openai', requests: 100, errors: 10 }],
    system,
  });
  const recs = recommendationsFor(found);

  it('gives one sentence per finding, in the same order, each naming its subject and its number', () => {
    expect(found.map((b) => b.kind).sort()).toEqual(
      ['cpu_saturation', 'dependency_errors', 'disk_saturation', 'high_error_rate', 'low_cache_hit_ratio', 'memory_saturation', 'slow_database_queries', 'slow_route'].sort(),
    );
    expect(recs).toHaveLength(found.length);
    const by = (kind: string) => recs[found.findIndex((b) => b.kind === kind)]!;
    expect(by('slow_route')).toMatch(/^Speed up GET \/search of shop: its p95 of 2\.4 s is 48 times the 50 ms median/);
    expect(by('high_error_rate')).toContain('shop answers 10% of its requests with a 5xx (more than 5%), most of them on GET /search');
    expect(by('slow_database_queries')).toContain('insert database queries of shop, whose p95 is 900 ms (over 500 ms)');
    expect(by('low_cache_hit_ratio')).toContain('search cache of shop from 30% to above 50%');
    expect(by('dependency_errors')).toContain('Protect shop from openai, which fails 10% of its calls');
    expect(by('cpu_saturation')).toContain('97.0% busy (over 85%)');
    expect(by('memory_saturation')).toContain('91.0% of the nodes');
    expect(by('disk_saturation')).toContain('88.0% used');
    for (const r of recs) expect(r.split(/[.!?](\s|$)/).filter((s) => s.trim()).length).toBe(1);
  });

  it('follows the findings: none without findings, other words for other findings', () => {
    expect(recommendationsFor([])).toEqual([]);
    const other = recommendationsFor(findBottlenecks({ ...none, routes: [route('GET /x', 0.05), route('GET /y', 0.05), route('POST /checkout', 1.1)] }));
    expect(other).toHaveLength(1);
    expect(other[0]).toMatch(/^Speed up POST \/checkout of shop: its p95 of 1\.1 s is 22 times/);
  });
});

// ─── PromQL text ─────────────────────────────────────────────────────────────────

/**
 * Splits PromQL into its double-quoted string literals (decoded as the PromQL
 * lexer does for the escapes quoteLabelValue writes) and the text around them.
 */
function lex(promql: string): { skeleton: string; literals: string[] } {
  let skeleton = '';
  const literals: string[] = [];
  for (let i = 0; i < promql.length; i++) {
    const ch = promql[i]!;
    if (ch !== '"') {
      skeleton += ch;
      continue;
    }
    let lit = '';
    for (i++; promql[i] !== '"'; i++) {
      if (i >= promql.length) throw new Error(`unterminated string in ${promql}`);
      if (promql[i] === '\n') throw new Error('newline in a string literal');
      if (promql[i] === '\\') {
        const e = promql[++i];
        if (e === 'u') {
          lit += String.fromCharCode(parseInt(promql.slice(i + 1, i + 5), 16));
          i += 4;
        } else if (e === '\\' || e === '"') lit += e;
        else throw new Error(`unexpected escape \\${e}`);
      } else lit += promql[i];
    }
    skeleton += '""';
    literals.push(lit);
  }
  return { skeleton, literals };
}

const HOSTILE = [
  'shop"} or vector(1) or {__name__=~".+',
  'shop\\"} or up',
  'a\\',
  'line\nbreak"}\r\t\u0000\u2028',
  '{service="x"}',
  '`raw` \'single\' ${x}',
  'ünïcödé ✓ 日本',
];

describe('PromQL text', () => {
  it('quotes any label value into one literal that decodes to the value', () => {
    for (const v of HOSTILE) {
      const q = quoteLabelValue(v);
      expect(lex(q)).toEqual({ skeleton: '""', literals: [v] });
      // The escapes are JSON's too: a second decoder agrees.
      expect(JSON.parse(q)).toBe(v);
    }
    expect(quoteLabelValue('a\uD800b')).toBe('"a\uFFFDb"');
  });

  it('keeps a hostile component inside its literal in every query', () => {
    const plain = insightQueries('x', 300);
    for (const hostile of HOSTILE) {
      const q = insightQueries(hostile, 300);
      for (const name of Object.keys(q.instant) as (keyof typeof q.instant)[]) {
        const got = lex(q.instant[name]);
        const want = lex(plain.instant[name]);
        expect(got.skeleton, name).toBe(want.skeleton);
        expect(got.literals, name).toEqual(want.literals.map((l) => (l === 'x' ? hostile : l)));
      }
      expect(lex(q.hourly).skeleton).toBe(lex(plain.hourly).skeleton);
      expect(lex(q.hourly).literals).toEqual([hostile]);
    }
  });

  it('filters by the component only where asked, and runs a fixed set of queries', () => {
    const all = insightQueries(undefined, 300);
    const shop = insightQueries('shop', 300);
    expect(Object.keys(all.instant)).toHaveLength(22);
    expect(Object.keys(shop.instant)).toEqual(Object.keys(all.instant));
    expect(shop.instant.requests).toBe(
      'sum by (service, method, route, handler, status, status_code, code) (increase(http_requests_total{service="shop"}[300s]))',
    );
    expect(all.instant.requests).toBe('sum by (service, method, route, handler, status, status_code, code) (increase(http_requests_total[300s]))');
    expect(shop.instant.alerts).toBe('count by (severity) (ALERTS{alertstate="firing",service="shop"})');
    expect(shop.instant.previousDurationCount).toBe('sum(increase(http_request_duration_seconds_count{service="shop"}[300s] offset 300s))');
    // Node metrics are the nodes', whatever the component.
    expect(shop.instant.cpu).toBe(all.instant.cpu);
    expect(shop.instant.memory).toBe(all.instant.memory);
  });

  it('refuses label names and durations PromQL would misread', () => {
    expect(labelMatcher('service', '=', 'a"b')).toBe('service="a\\"b"');
    expect(() => labelMatcher('service"} or up{x', '=', 'v')).toThrow(/label name must match/);
    expect(() => labelMatcher('1abc', '=', 'v')).toThrow(RangeError);
    expect(promDuration(90)).toBe('90s');
    expect(() => promDuration(1.5)).toThrow(RangeError);
    expect(() => promDuration(0)).toThrow(RangeError);
  });

  it('reads sample values as Prometheus writes them, and nothing else', () => {
    expect(parseSampleValue('NaN')).toBeNaN();
    expect(parseSampleValue('+Inf')).toBe(Number.POSITIVE_INFINITY);
    expect(parseSampleValue('-Inf')).toBe(Number.NEGATIVE_INFINITY);
    expect(parseSampleValue('1e-3')).toBe(0.001);
    expect(parseSampleValue('-2.5')).toBe(-2.5);
    expect(parseSampleValue('1048576000')).toBe(1048576000);
    for (const bad of ['', ' 1', '0x10', 'Infinity', 'nan', '1,5', '1e']) expect(parseSampleValue(bad), bad).toBeUndefined();
  });

  it('tells 5xx from other statuses in every convention', () => {
    expect(isServerError({ status: '500' })).toBe(true);
    expect(isServerError({ status: '5xx' })).toBe(true);
    expect(isServerError({ status_code: '503' })).toBe(true);
    expect(isServerError({ code: '502' })).toBe(true);
    expect(isServerError({ status: '404' })).toBe(false);
    expect(isServerError({ status: '2xx' })).toBe(false);
    expect(isServerError({})).toBe(false);
  });

  it('takes route parameters a route can validate with a 4xx', () => {
    expect(WindowParam.parse('5m')).toBe(300);
    expect(WindowParam.parse('1d')).toBe(86_400);
    expect(WindowParam.safeParse('5').success).toBe(false);
    expect(WindowParam.safeParse('5s').success).toBe(false);
    expect(WindowParam.safeParse('8d').success).toBe(false);
    expect(ComponentParam.safeParse('shop"} or vector(1)').success).toBe(true);
    expect(ComponentParam.safeParse('a\nb').success).toBe(false);
    expect(ComponentParam.safeParse('').success).toBe(false);
    expect(ComponentParam.safeParse('x'.repeat(129)).success).toBe(false);
  });
});

// ─── The client and collectInsights against HTTP servers that are not Prometheus ───

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

const servers: (Server | TcpServer)[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function serve(handler: Handler): Promise<string> {
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => handler(req, body, res));
  });
  server.on('connection', (s) => sockets.add(s));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

describe('PrometheusClient', () => {
  it('POSTs the query form-encoded, and reads vectors, scalars and special values', async () => {
    const seen: { path: string; form: URLSearchParams }[] = [];
    const base = await serve((req, body, res) => {
      seen.push({ path: req.url ?? '', form: new URLSearchParams(body) });
      const q = new URLSearchParams(body).get('query');
      if (q === 'scalar') return json(res, 200, { status: 'success', data: { resultType: 'scalar', result: [1700000000.5, 'NaN'] } });
      json(res, 200, {
        status: 'success',
        data: {
          resultType: 'vector',
          result: [
            { metric: { a: '1' }, value: [1700000000, '+Inf'] },
            { metric: { a: '2' }, value: [1700000000, '-0.25'] },
            { metric: { a: '3' }, histogram: [1700000000, { count: '1', sum: '1' }] },
          ],
        },
      });
    });
    const client = new PrometheusClient(`${base}/prefix`);
    const time = new Date('2026-01-15T14:30:00.250Z');
    const r = await client.query('up{job="a b"}', { time });
    expect(r).toEqual({
      type: 'vector',
      samples: [
        { metric: { a: '1' }, value: Number.POSITIVE_INFINITY, time: 1700000000 },
        { metric: { a: '2' }, value: -0.25, time: 1700000000 },
      ],
    });
    expect(seen[0]!.path).toBe('/prefix/api/v1/query');
    expect(seen[0]!.form.get('query')).toBe('up{job="a b"}');
    expect(seen[0]!.form.get('time')).toBe('1768487400.250');
    expect(seen[0]!.form.get('timeout')).toBe('5000ms');
    const s = await client.query('scalar');
    expect(s.type).toBe('scalar');
    expect(s.type === 'scalar' && Number.isNaN(s.value)).toBe(true);
  });

  it("throws Prometheus's own error with its errorType and message", async () => {
    const base = await serve((_req, _body, res) => json(res, 422, { status: 'error', errorType: 'execution', error: 'query processing would load too many samples' }));
    const err = await new PrometheusClient(base).query('up').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrometheusQueryError);
    expect(err).toMatchObject({ kind: 'query_failed', errorType: 'execution', error: 'query processing would load too many samples', status: 422 });
  });

  it("takes a proxy's 502 page for an unavailable Prometheus, and other wrong answers as invalid", async () => {
    const base = await serve((req, _body, res) => {
      if (req.url?.startsWith('/proxy')) {
        res.writeHead(502, { 'content-type': 'text/html' });
        return res.end('<html>Bad Gateway</html>');
      }
      if (req.url?.startsWith('/values')) return json(res, 200, { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, ''] }] } });
      json(res, 200, { hello: 'world' });
    });
    await expect(new PrometheusClient(`${base}/proxy`).query('up')).rejects.toMatchObject({ kind: 'unreachable', status: 502 });
    await expect(new PrometheusClient(`${base}/proxy`).query('up')).rejects.toBeInstanceOf(PrometheusUnavailableError);
    await expect(new PrometheusClient(base).query('up')).rejects.toMatchObject({ kind: 'invalid_answer', status: 200 });
    // An empty value string is not a sample value: it must not read as 0.
    await expect(new PrometheusClient(`${base}/values`).query('up')).rejects.toMatchObject({ kind: 'invalid_answer' });
  });

  it('refuses an answer beyond the size cap, with or without a content-length', async () => {
    const big = JSON.stringify({ status: 'success', data: { resultType: 'vector', result: Array.from({ length: 2_000 }, (_, i) => ({ metric: { i: String(i) }, value: [1, '1'] })) } });
    const base = await serve((req, _body, res) => {
      if (req.url?.startsWith('/chunked')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        // Written in pieces without a length: the cap must count what arrives.
        for (let i = 0; i < big.length; i += 1_000) res.write(big.slice(i, i + 1_000));
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(big) });
      res.end(big);
    });
    await expect(new PrometheusClient(base, { maxAnswerBytes: 10_000 }).query('up')).rejects.toMatchObject({ kind: 'too_large' });
    await expect(new PrometheusClient(`${base}/chunked`, { maxAnswerBytes: 10_000 }).query('up')).rejects.toMatchObject({ kind: 'too_large' });
    const ok = await new PrometheusClient(base, { maxAnswerBytes: 1_000_000 }).query('up');
    expect(ok.type === 'vector' && ok.samples.length).toBe(2_000);
  });

  it('gives up after its timeout on a server that never answers, and says so', async () => {
    const tcp = createTcpServer((s) => sockets.add(s));
    servers.push(tcp);
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const port = (tcp.address() as { port: number }).port;
    const started = performance.now();
    const err = await new PrometheusClient(`http://127.0.0.1:${port}`, { timeoutMs: 300 }).query('up').catch((e: unknown) => e);
    const took = performance.now() - started;
    expect(err).toBeInstanceOf(PrometheusUnavailableError);
    expect(err).toMatchObject({ kind: 'timeout' });
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2_000);
  });

  it('says unreachable when nothing listens', async () => {
    const port = await freePort();
    await expect(new PrometheusClient(`http://127.0.0.1:${port}`, { timeoutMs: 2_000 }).query('up')).rejects.toMatchObject({ kind: 'unreachable' });
  });

  it('refuses URLs and options it cannot use', () => {
    expect(() => new PrometheusClient('file:///etc/passwd')).toThrow(/http or https/);
    expect(() => new PrometheusClient('http://p:9090', { timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});

describe('collectInsights without a working Prometheus', () => {
  it('says not_configured without a client, with every number null', async () => {
    const r = await collectInsights(undefined, { windowSeconds: 300 });
    expect(r.source).toEqual({ prometheus: 'not_configured', message: 'no Prometheus URL is configured' });
    expect(r.system_metrics).toEqual({ cpu_usage: null, memory_usage: null, disk_usage: null, network_io: { bytes_sent: null, bytes_recv: null }, last_updated: null });
    expect(r.summary.total_requests).toBeNull();
    expect(r.bottlenecks).toEqual([]);
    expect(healthScore(r.health_inputs)).toBeNull();
  });

  it('answers unavailable within about one timeout when Prometheus hangs, aborting the queries still waiting', async () => {
    let connections = 0;
    const tcp = createTcpServer((s) => {
      connections++;
      sockets.add(s);
    });
    servers.push(tcp);
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const port = (tcp.address() as { port: number }).port;
    const errors: string[] = [];
    const started = performance.now();
    const r = await collectInsights(new PrometheusClient(`http://127.0.0.1:${port}`, { timeoutMs: 400 }), {
      windowSeconds: 300,
      concurrency: 4,
      onError: (e) => errors.push(e.kind),
    });
    const took = performance.now() - started;
    expect(r.source).toEqual({ prometheus: 'unavailable', error: 'timeout', message: 'Prometheus did not answer in time' });
    expect(r.summary.error_rate).toBeNull();
    // 23 queries, 4 at a time, would take 6 timeouts one after the other; the first timeout stops them all.
    expect(took).toBeLessThan(1_500);
    expect(connections).toBeLessThanOrEqual(8);
    // Each call that timed out is reported once, not once more for every query it stopped.
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors.length).toBeLessThanOrEqual(4);
    expect(new Set(errors)).toEqual(new Set(['timeout']));
  });

  it('reports the queries Prometheus refused as partial, and the others still count', async () => {
    const base = await serve((_req, body, res) => {
      const q = new URLSearchParams(body).get('query') ?? '';
      if (q.startsWith('histogram_quantile')) return json(res, 422, { status: 'error', errorType: 'execution', error: 'boom' });
      if (q.includes('node_memory_MemAvailable_bytes) /')) return json(res, 200, { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, '62.5'] }] } });
      if (new URLSearchParams(body).has('step')) return json(res, 200, { status: 'success', data: { resultType: 'matrix', result: [] } });
      json(res, 200, { status: 'success', data: { resultType: 'vector', result: [] } });
    });
    const r = await collectInsights(new PrometheusClient(base), { windowSeconds: 300 });
    expect(r.source.prometheus).toBe('partial');
    expect(r.source.failed).toEqual(
      expect.arrayContaining([
        { query: 'routeP95', error: 'query_failed' },
        { query: 'p95', error: 'query_failed' },
        { query: 'databaseP95', error: 'query_failed' },
      ]),
    );
    expect(r.source.failed).toHaveLength(3);
    expect(r.source.message).toBe('Prometheus refused a query (execution)');
    expect(r.system_metrics.memory_usage).toBe(62.5);
    expect(r.system_metrics.cpu_usage).toBeNull();
    // No series at all: no requests rather than zero requests, and no alert firing (ALERTS is empty).
    expect(r.summary.total_requests).toBeNull();
    expect(r.firing_alerts).toEqual({ P1: 0, P2: 0, P3: 0, P4: 0, other: 0 });
  });

  it('refuses a window it cannot use', async () => {
    await expect(collectInsights(undefined, { windowSeconds: 5 })).rejects.toThrow(/windowSeconds/);
    await expect(collectInsights(undefined, { windowSeconds: 60.5 })).rejects.toThrow(RangeError);
  });
});
