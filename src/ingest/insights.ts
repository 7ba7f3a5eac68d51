import { z } from 'zod';
import { SEVERITY_LEVELS } from './alert-instances.js';
import {
  type InstantResult,
  labelMatcher,
  PrometheusError,
  type PrometheusQuerier,
  PrometheusQueryError,
  PrometheusUnavailableError,
  promDuration,
  type Sample,
  type Series,
} from './prometheus-client.js';

/*
 * What the health and analytics answers learn from Prometheus: node
 * saturation (node-exporter), the request performance of the applications
 * (`http_requests_total`, `http_request_duration_seconds`), their databases,
 * caches and AI providers (the service conventions of the metric catalog),
 * and firing alerts. A component is the `service` label the scrape jobs set
 * (the Kubernetes service), as the alert rules aggregate by it.
 *
 * The rules below are pure functions over numbers, so that each threshold is
 * tested on its own; `collectInsights` only queries and hands the numbers over.
 */

// ─── Rules and thresholds ─────────────────────────────────────────────────────

/**
 * When a window differs enough from the one before to be a trend. Each
 * window needs `minRequests` requests (or histogram observations), otherwise
 * the trend is `stable`: three requests say nothing.
 *
 * - Response time (mean of the histogram): `degrading` when the mean grew by
 *   at least `relativeChange` (20%) and by at least `absoluteMs` (5 ms),
 *   `improving` when it fell by as much.
 * - Error rate (5xx share): a two-proportion z-test; `degrading`/`improving`
 *   when |z| ≥ `zScore` (2, about 95% confidence that the change is not
 *   noise) and the rates differ by at least `absoluteChange` (half a
 *   percentage point).
 */
export const TREND_RULES = {
  minRequests: 30,
  responseTime: { relativeChange: 0.2, absoluteMs: 5 },
  errorRate: { zScore: 2, absoluteChange: 0.005 },
} as const;

/**
 * The findings `findBottlenecks` reports, with their thresholds. The error
 * rate, database and disk thresholds are those of the stack's alert rules
 * (HighErrorRate 5%, SlowDatabaseQueries 0.5 s, NodeFilesystemAlmostFull 85%);
 * CPU and memory use the same 85%, under the node alerts' 90%, so that the
 * finding comes before the page. Each finding needs a minimum of traffic in
 * the window, so that a handful of requests makes none.
 */
export const BOTTLENECK_RULES = {
  /** A route whose p95 is above `factor` times the median p95 of its service's other routes, and at least `floorSeconds`. */
  slowRoute: { factor: 2, floorSeconds: 0.25, minRequests: 20 },
  /** A service answering more than `threshold` of its requests with a 5xx. */
  errorRate: { threshold: 0.05, minRequests: 20 },
  /** Database queries (one operation of one service) whose p95 is above `thresholdSeconds`. */
  databaseQueries: { thresholdSeconds: 0.5, minQueries: 20 },
  /** A cache hitting less than `threshold` of its lookups. */
  cacheHitRatio: { threshold: 0.5, minLookups: 100 },
  /** An external dependency (an AI provider, `ai_requests_total{status!="success"}`) failing more than `threshold` of the calls. */
  dependencyErrors: { threshold: 0.05, minRequests: 20 },
  /** CPU, memory or root filesystem of the nodes used above this percentage. */
  saturationPercent: 85,
  /** At most this many findings are reported, the worst first. */
  maxFindings: 20,
} as const;

/**
 * How `classifyUsage` reads the hour-of-day profile of the last 7 days (UTC).
 * A peak hour carries at least `peakFactor` times the mean hourly traffic;
 * adjacent peak hours form one range. See `classifyUsage` for the patterns.
 */
export const USAGE_RULES = {
  /** Below this many requests over the 7 days, or with an hour of the day never seen, the pattern is `insufficient_data`. */
  minRequests: 100,
  peakFactor: 1.5,
  /** Business hours, [from, to) in UTC hours, and the share of the day's traffic they must carry. */
  businessHours: [8, 18],
  businessShare: 0.6,
  /** A peak range starting in [eveningFrom, 24) is an evening peak; one starting in [0, nightTo) a night peak. */
  eveningFrom: 18,
  nightTo: 6,
  maxRanges: 3,
} as const;

/**
 * The weights of the health score (they add up to 100) and where each part
 * loses all its points. Every part loses points linearly between its "good"
 * and "bad" ends, so the score never rises when an input gets worse.
 *
 * - error rate: 0 at 0%, all at `errorRateBad` (10%, twice the alert threshold);
 * - latency: p95 against the objective, 0 up to half of it, all at twice it;
 * - saturation: the busiest of CPU, memory and disk, 0 up to 70%, all at 95%;
 * - firing alerts: P1 takes all the points, a P2 half, a P3 a fifth, a P4 a twentieth, summed;
 * - database: all when it is down.
 *
 * Parts whose input is unknown are left out and the others scaled to 100;
 * with no input at all there is no score.
 */
export const HEALTH_WEIGHTS = {
  errorRate: 30,
  latency: 20,
  saturation: 15,
  alerts: 25,
  database: 10,
} as const;
export const HEALTH_RULES = {
  errorRateBad: 0.1,
  /** The p95 objective when the caller gives none: the requirements' high-latency alert (2 s). */
  latencyObjectiveMs: 2_000,
  saturationGood: 70,
  saturationBad: 95,
  alertCost: { P1: 1, P2: 0.5, P3: 0.2, P4: 0.05 },
} as const;

/** Network devices that are not a node's own traffic: loopback, bridges, container and overlay interfaces. */
export const VIRTUAL_NETWORK_DEVICES = 'lo|veth.*|cali.*|flannel.*|cni.*|docker.*|br-.*|virbr.*|cilium.*|lxc.*|vxlan.*|tun.*|tap.*|kube-ipvs.*';
/** Filesystem types that hold no node data. */
const PSEUDO_FILESYSTEMS = 'tmpfs|ramfs|overlay|squashfs|nsfs';

// ─── Parameters ──────────────────────────────────────────────────────────────

const DURATION = /^(\d{1,6})(s|m|h|d)$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;
/** Shortest and longest window the insights take. */
export const WINDOW_LIMITS = { minSeconds: 10, maxSeconds: 7 * 86_400 } as const;

/** A window as a route takes it (`30s`, `5m`, `1h`, `1d`), as seconds. */
export const WindowParam = z
  .string()
  .regex(DURATION, 'must be a duration such as 5m, 1h or 1d')
  .transform((s) => {
    const [, n, unit] = DURATION.exec(s)!;
    return Number(n) * UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS];
  })
  .refine((s) => s >= WINDOW_LIMITS.minSeconds && s <= WINDOW_LIMITS.maxSeconds, 'must be between 10s and 7d');

/**
 * A component as a route takes it: any text of 1–128 characters (it is
 * quoted into the queries, never pasted), without control characters.
 */
export const ComponentParam = z
  .string()
  .min(1)
  .max(128)
  // eslint-disable-next-line no-control-regex
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must not contain control characters');

// ─── Queries ─────────────────────────────────────────────────────────────────

/** The instant queries of `collectInsights`, by name. */
export type QueryName =
  | 'cpu'
  | 'memory'
  | 'disk'
  | 'networkSent'
  | 'networkReceived'
  | 'nodeSampleTime'
  | 'requests'
  | 'durationSum'
  | 'durationCount'
  | 'routeP95'
  | 'p95'
  | 'previousRequests'
  | 'previousDurationSum'
  | 'previousDurationCount'
  | 'databaseP95'
  | 'databaseQueries'
  | 'cacheHits'
  | 'cacheMisses'
  | 'dependencies'
  | 'alerts'
  | 'targetsUp'
  | 'targets';

/** Labels a route of the HTTP conventions is told apart by (`handler`: prometheus-fastapi-instrumentator's name for the route). */
const ROUTE_LABELS = 'service, method, route, handler';
/** The status labels of the conventions: `status` ("500" or "5xx"), `status_code` (prom-client), `code`. */
const STATUS_LABELS = 'status, status_code, code';

/**
 * The PromQL of every query, for a component (the `service` label, quoted)
 * and a window in seconds. The set is fixed: `collectInsights` runs these
 * and the hourly range query, whatever the number of routes or services.
 */
export function insightQueries(component: string | undefined, windowSeconds: number): { readonly instant: Record<QueryName, string>; readonly hourly: string } {
  const w = promDuration(windowSeconds);
  const own = component === undefined ? [] : [labelMatcher('service', '=', component)];
  const sel = (metric: string, ...matchers: string[]) => {
    const all = [...matchers, ...own];
    return all.length === 0 ? metric : `${metric}{${all.join(',')}}`;
  };
  const fs = (metric: string) => `sum(${metric}{mountpoint="/",fstype!~"${PSEUDO_FILESYSTEMS}"})`;
  const nic = (metric: string) => `sum(${metric}{device!~"${VIRTUAL_NETWORK_DEVICES}"})`;
  const hist = 'http_request_duration_seconds';
  return {
    instant: {
      cpu: `100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle"}[${w}])))`,
      memory: '100 * (1 - sum(node_memory_MemAvailable_bytes) / sum(node_memory_MemTotal_bytes))',
      disk: `100 * (1 - ${fs('node_filesystem_avail_bytes')} / ${fs('node_filesystem_size_bytes')})`,
      networkSent: nic('node_network_transmit_bytes_total'),
      networkReceived: nic('node_network_receive_bytes_total'),
      nodeSampleTime: 'max(timestamp(node_memory_MemAvailable_bytes))',
      requests: `sum by (${ROUTE_LABELS}, ${STATUS_LABELS}) (increase(${sel('http_requests_total')}[${w}]))`,
      durationSum: `sum by (${ROUTE_LABELS}) (increase(${sel(`${hist}_sum`)}[${w}]))`,
      durationCount: `sum by (${ROUTE_LABELS}) (increase(${sel(`${hist}_count`)}[${w}]))`,
      routeP95: `histogram_quantile(0.95, sum by (${ROUTE_LABELS}, le) (rate(${sel(`${hist}_bucket`)}[${w}])))`,
      p95: `histogram_quantile(0.95, sum by (le) (rate(${sel(`${hist}_bucket`)}[${w}])))`,
      previousRequests: `sum by (${STATUS_LABELS}) (increase(${sel('http_requests_total')}[${w}] offset ${w}))`,
      previousDurationSum: `sum(increase(${sel(`${hist}_sum`)}[${w}] offset ${w}))`,
      previousDurationCount: `sum(increase(${sel(`${hist}_count`)}[${w}] offset ${w}))`,
      databaseP95: `histogram_quantile(0.95, sum by (service, operation, le) (rate(${sel('database_query_duration_seconds_bucket')}[${w}])))`,
      databaseQueries: `sum by (service, operation) (increase(${sel('database_query_duration_seconds_count')}[${w}]))`,
      cacheHits: `sum by (service, cache) (increase(${sel('cache_hits_total')}[${w}]))`,
      cacheMisses: `sum by (service, cache) (increase(${sel('cache_misses_total')}[${w}]))`,
      dependencies: `sum by (service, provider, status) (increase(${sel('ai_requests_total')}[${w}]))`,
      alerts: `count by (severity) (${sel('ALERTS', 'alertstate="firing"')})`,
      targetsUp: 'sum(up)',
      targets: 'count(up)',
    },
    hourly: `sum(increase(${sel('http_requests_total')}[1h]))`,
  };
}

// ─── Trends ─────────────────────────────────────────────────────────────────

export type Trend = 'improving' | 'degrading' | 'stable';

/** Histogram totals of one window: observations and the sum of their durations. */
export interface LatencyWindow {
  readonly count: number;
  readonly sumSeconds: number;
}

/** Requests and 5xx answers of one window. */
export interface ErrorWindow {
  readonly requests: number;
  readonly errors: number;
}

/** The response-time trend from the window before to the last one (see TREND_RULES). */
export function responseTimeTrend(previous: LatencyWindow | null, current: LatencyWindow | null): Trend {
  const { minRequests, responseTime } = TREND_RULES;
  if (!previous || !current || !(previous.count >= minRequests) || !(current.count >= minRequests)) return 'stable';
  const before = (previous.sumSeconds / previous.count) * 1000;
  const now = (current.sumSeconds / current.count) * 1000;
  if (!Number.isFinite(before) || !Number.isFinite(now)) return 'stable';
  const change = now - before;
  if (Math.abs(change) < responseTime.absoluteMs) return 'stable';
  if (before > 0 && Math.abs(change) / before < responseTime.relativeChange) return 'stable';
  return change > 0 ? 'degrading' : 'improving';
}

/** The error-rate trend from the window before to the last one (see TREND_RULES). */
export function errorRateTrend(previous: ErrorWindow | null, current: ErrorWindow | null): Trend {
  const { minRequests, errorRate } = TREND_RULES;
  if (!previous || !current || !(previous.requests >= minRequests) || !(current.requests >= minRequests)) return 'stable';
  const p1 = clamp01(previous.errors / previous.requests);
  const p2 = clamp01(current.errors / current.requests);
  if (Math.abs(p2 - p1) < errorRate.absoluteChange) return 'stable';
  const pooled = (p1 * previous.requests + p2 * current.requests) / (previous.requests + current.requests);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / previous.requests + 1 / current.requests));
  if (!(se > 0)) return 'stable';
  const z = (p2 - p1) / se;
  if (Math.abs(z) < errorRate.zScore) return 'stable';
  return z > 0 ? 'degrading' : 'improving';
}

// ─── Usage pattern ───────────────────────────────────────────────────────────

/** Mean requests per hour of the day (UTC), from hourly points. */
export interface HourlyProfile {
  /** 24 values: index 14 is the traffic from 14:00 to 15:00. */
  readonly perHour: readonly number[];
  /** Hours of the day that had at least one point. */
  readonly hoursCovered: number;
  /** Requests over all points. */
  readonly total: number;
}

/**
 * The hour-of-day profile of points of `sum(increase(x[1h]))` (each point at
 * time T counts the hour before T); NaN and negative points are skipped.
 */
export function hourlyProfile(points: readonly { readonly time: number; readonly value: number }[]): HourlyProfile {
  const sums = new Array<number>(24).fill(0);
  const counts = new Array<number>(24).fill(0);
  let total = 0;
  for (const p of points) {
    if (!Number.isFinite(p.value) || p.value < 0) continue;
    const hour = new Date((p.time - 3_600) * 1000).getUTCHours();
    sums[hour]! += p.value;
    counts[hour]! += 1;
    total += p.value;
  }
  return {
    perHour: sums.map((s, h) => (counts[h]! > 0 ? s / counts[h]! : 0)),
    hoursCovered: counts.filter((c) => c > 0).length,
    total,
  };
}

export type UsagePatternName =
  | 'insufficient_data'
  | 'steady'
  | 'business_hours'
  | 'business_hours_with_evening_peak'
  | 'evening_peak'
  | 'night_peak'
  | 'single_peak'
  | 'multiple_peaks';

export interface UsagePattern {
  /** Peak ranges, the busiest first: `["09:00-17:00", "20:00-22:00"]` (UTC; a range may cross midnight, `23:00-01:00`). */
  readonly peak_hours: string[];
  readonly pattern: UsagePatternName;
}

interface PeakRange {
  readonly start: number;
  readonly hours: number;
  readonly traffic: number;
}

const hh = (h: number) => `${String(h).padStart(2, '0')}:00`;

/** Adjacent peak hours as ranges (circular: 23:00 and 00:00 are adjacent), the busiest first. */
function peakRanges(profile: HourlyProfile): PeakRange[] {
  const mean = profile.perHour.reduce((a, b) => a + b, 0) / 24;
  if (!(mean > 0)) return [];
  const peak = profile.perHour.map((v) => v >= USAGE_RULES.peakFactor * mean);
  if (peak.every(Boolean)) return [];
  // Start scanning after a quiet hour, so that a range crossing midnight is found whole.
  const first = peak.findIndex((p) => !p);
  const ranges: PeakRange[] = [];
  let current: { start: number; hours: number; traffic: number } | undefined;
  for (let i = 1; i <= 24; i++) {
    const h = (first + i) % 24;
    if (peak[h]) {
      current ??= { start: h, hours: 0, traffic: 0 };
      current.hours += 1;
      current.traffic += profile.perHour[h]!;
    } else if (current) {
      ranges.push(current);
      current = undefined;
    }
  }
  return ranges.sort((a, b) => b.traffic - a.traffic || a.start - b.start);
}

function formatRange(r: PeakRange): string {
  const end = r.start + r.hours;
  return `${hh(r.start)}-${end === 24 ? '24:00' : hh(end % 24)}`;
}

/**
 * Peak hours and a pattern name from an hour-of-day profile, first rule that holds:
 *
 * 1. `insufficient_data`: fewer than USAGE_RULES.minRequests requests, or an hour of the day without data;
 * 2. `steady`: no hour reaches `peakFactor` times the mean;
 * 3. `business_hours` when business hours (08:00–18:00) carry at least 60% of
 *    the traffic, `business_hours_with_evening_peak` when a peak range also starts from 18:00;
 * 4. `evening_peak`: the busiest range starts from 18:00;
 * 5. `night_peak`: the busiest range starts before 06:00;
 * 6. `single_peak` or `multiple_peaks`, by the number of ranges.
 */
export function classifyUsage(profile: HourlyProfile): UsagePattern {
  if (profile.total < USAGE_RULES.minRequests || profile.hoursCovered < 24) return { peak_hours: [], pattern: 'insufficient_data' };
  const ranges = peakRanges(profile);
  const peak_hours = ranges.slice(0, USAGE_RULES.maxRanges).map(formatRange);
  if (ranges.length === 0) return { peak_hours, pattern: 'steady' };
  const day = profile.perHour.reduce((a, b) => a + b, 0);
  const [from, to] = USAGE_RULES.businessHours;
  const business = profile.perHour.slice(from, to).reduce((a, b) => a + b, 0);
  const evening = (r: PeakRange) => r.start >= USAGE_RULES.eveningFrom;
  if (business / day >= USAGE_RULES.businessShare) {
    return { peak_hours, pattern: ranges.some(evening) ? 'business_hours_with_evening_peak' : 'business_hours' };
  }
  const busiest = ranges[0]!;
  if (evening(busiest)) return { peak_hours, pattern: 'evening_peak' };
  if (busiest.start < USAGE_RULES.nightTo) return { peak_hours, pattern: 'night_peak' };
  return { peak_hours, pattern: ranges.length > 1 ? 'multiple_peaks' : 'single_peak' };
}

// ─── Health score ──────────────────────────────────────────────────────────────

export type Severity = 'P1' | 'P2' | 'P3' | 'P4';

/** What the health score reads; a missing or null input is unknown, and its part is left out. */
export interface HealthInputs {
  /** Share of requests answered with a 5xx, 0–1. */
  readonly errorRate?: number | null;
  readonly latencyP95Ms?: number | null;
  /** @default 2000 (HEALTH_RULES.latencyObjectiveMs) */
  readonly latencyObjectiveMs?: number;
  readonly cpuPercent?: number | null;
  readonly memoryPercent?: number | null;
  readonly diskPercent?: number | null;
  /** Firing alerts by severity. */
  readonly firingAlerts?: Readonly<Partial<Record<Severity, number>>> | null;
  readonly databaseUp?: boolean | null;
}

/** One part of the health score: its weight and the share of it lost (0–1). */
export interface HealthPart {
  readonly part: keyof typeof HEALTH_WEIGHTS;
  readonly weight: number;
  readonly lost: number;
}

const known = (v: number | null | undefined): v is number => typeof v === 'number' && !Number.isNaN(v);
const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
/** The share lost between a good and a bad end, linearly. */
const ramp = (value: number, good: number, bad: number) => clamp01((value - good) / (bad - good));

/** The parts of the health score whose input is known. */
export function healthParts(inputs: HealthInputs): HealthPart[] {
  const parts: HealthPart[] = [];
  const add = (part: keyof typeof HEALTH_WEIGHTS, lost: number) => parts.push({ part, weight: HEALTH_WEIGHTS[part], lost });
  if (known(inputs.errorRate)) add('errorRate', ramp(inputs.errorRate, 0, HEALTH_RULES.errorRateBad));
  const objective = inputs.latencyObjectiveMs ?? HEALTH_RULES.latencyObjectiveMs;
  if (!(objective > 0)) throw new RangeError(`latencyObjectiveMs must be positive, got ${objective}`);
  if (known(inputs.latencyP95Ms)) add('latency', ramp(inputs.latencyP95Ms / objective, 0.5, 2));
  const used = [inputs.cpuPercent, inputs.memoryPercent, inputs.diskPercent].filter(known);
  if (used.length > 0) add('saturation', ramp(Math.max(...used), HEALTH_RULES.saturationGood, HEALTH_RULES.saturationBad));
  if (inputs.firingAlerts) {
    let cost = 0;
    for (const sev of ['P1', 'P2', 'P3', 'P4'] as const) {
      const n = inputs.firingAlerts[sev] ?? 0;
      if (n > 0) cost += n * HEALTH_RULES.alertCost[sev];
    }
    add('alerts', clamp01(cost));
  }
  if (typeof inputs.databaseUp === 'boolean') add('database', inputs.databaseUp ? 0 : 1);
  return parts;
}

/**
 * The overall health score, 0–100 with one decimal (see HEALTH_WEIGHTS), or
 * null when no input is known. It never rises when an input gets worse.
 */
export function healthScore(inputs: HealthInputs): number | null {
  const parts = healthParts(inputs);
  const weight = parts.reduce((a, p) => a + p.weight, 0);
  if (weight === 0) return null;
  const lost = parts.reduce((a, p) => a + p.weight * p.lost, 0);
  return Math.round(1000 * (1 - lost / weight)) / 10;
}

/** A severity as the stack names it: P1–P4 as they are, the seed's names mapped, Prometheus's customary `warning` as P3. */
export function severityLevel(severity: string | null | undefined): Severity | undefined {
  if (!severity) return undefined;
  const levels: Readonly<Record<string, Severity>> = SEVERITY_LEVELS;
  const key = severity.trim();
  if (Object.hasOwn(levels, key)) return levels[key];
  const lower = key.toLowerCase();
  if (Object.hasOwn(levels, lower)) return levels[lower];
  if (lower === 'warning' || lower === 'warn') return 'P3';
  return undefined;
}

// ─── Bottlenecks and recommendations ─────────────────────────────────────────────

/** Request numbers of one route (method and route template) of one service over the window. */
export interface RouteStats {
  readonly service: string;
  /** `GET /api/search`, or the route alone when the series have no method. */
  readonly operation: string;
  /** From `http_requests_total`; null when the service does not expose it. */
  readonly requests: number | null;
  readonly errors: number | null;
  /** From the `http_request_duration_seconds` histogram. */
  readonly durationCount: number | null;
  readonly durationSumSeconds: number | null;
  readonly p95Seconds: number | null;
}

export interface DatabaseStats {
  readonly service: string;
  readonly operation: string;
  readonly p95Seconds: number | null;
  readonly queries: number;
}

export interface CacheStats {
  readonly service: string;
  readonly cache: string;
  readonly hits: number;
  readonly misses: number;
}

export interface DependencyStats {
  readonly service: string;
  readonly provider: string;
  readonly requests: number;
  readonly errors: number;
}

/** The nodes' numbers (node-exporter), over every node the component filter does not apply to; percentages 0–100, network bytes since boot. */
export interface SystemMetrics {
  readonly cpu_usage: number | null;
  readonly memory_usage: number | null;
  readonly disk_usage: number | null;
  readonly network_io: { readonly bytes_sent: number | null; readonly bytes_recv: number | null };
  readonly last_updated: string | null;
}

export interface BottleneckInputs {
  readonly routes: readonly RouteStats[];
  readonly database: readonly DatabaseStats[];
  readonly caches: readonly CacheStats[];
  readonly dependencies: readonly DependencyStats[];
  readonly system: SystemMetrics | null;
}

export type BottleneckKind =
  | 'slow_route'
  | 'high_error_rate'
  | 'slow_database_queries'
  | 'low_cache_hit_ratio'
  | 'dependency_errors'
  | 'cpu_saturation'
  | 'memory_saturation'
  | 'disk_saturation';

/** A finding with the number behind it. */
export interface Bottleneck {
  readonly kind: BottleneckKind;
  /** The service (`service` label); null for the nodes. */
  readonly component: string | null;
  /** The route, database operation, cache or provider; null when the finding is about the whole component or the nodes. */
  readonly subject: string | null;
  readonly evidence: {
    /** What was measured, in PromQL terms. */
    readonly metric: string;
    readonly value: number;
    readonly threshold: number;
    readonly unit: 'seconds' | 'ratio' | 'percent';
    /** What the value was compared with, when the threshold derives from it (a slow route: its service's median p95). */
    readonly baseline?: number;
    /** Requests, queries or lookups in the window. */
    readonly sample_size?: number;
  };
}

/** The median of non-empty values. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

const traffic = (r: RouteStats) => r.requests ?? r.durationCount ?? 0;

function slowRoutes(routes: readonly RouteStats[]): Bottleneck[] {
  const { factor, floorSeconds, minRequests } = BOTTLENECK_RULES.slowRoute;
  const out: Bottleneck[] = [];
  for (const [service, list] of groupBy(routes, (r) => r.service)) {
    const measured = list.filter((r) => r.p95Seconds !== null && Number.isFinite(r.p95Seconds) && traffic(r) >= minRequests);
    for (const r of measured) {
      const others = measured.filter((o) => o !== r).map((o) => o.p95Seconds!);
      if (others.length === 0) continue;
      const baseline = median(others);
      const threshold = Math.max(factor * baseline, floorSeconds);
      if (r.p95Seconds! > threshold) {
        out.push({
          kind: 'slow_route',
          component: service,
          subject: r.operation,
          evidence: { metric: 'http_request_duration_seconds p95', value: r.p95Seconds!, threshold, unit: 'seconds', baseline, sample_size: Math.round(traffic(r)) },
        });
      }
    }
  }
  return out;
}

function errorRates(routes: readonly RouteStats[]): Bottleneck[] {
  const { threshold, minRequests } = BOTTLENECK_RULES.errorRate;
  const out: Bottleneck[] = [];
  for (const [service, list] of groupBy(routes, (r) => r.service)) {
    const counted = list.filter((r) => r.requests !== null);
    const requests = counted.reduce((a, r) => a + r.requests!, 0);
    const errors = counted.reduce((a, r) => a + (r.errors ?? 0), 0);
    if (requests < minRequests || !(errors / requests > threshold)) continue;
    const worst = [...counted].sort((a, b) => (b.errors ?? 0) - (a.errors ?? 0))[0];
    out.push({
      kind: 'high_error_rate',
      component: service,
      subject: worst && (worst.errors ?? 0) > 0 ? worst.operation : null,
      evidence: { metric: 'http_requests_total 5xx share', value: errors / requests, threshold, unit: 'ratio', sample_size: Math.round(requests) },
    });
  }
  return out;
}

function slowDatabase(stats: readonly DatabaseStats[]): Bottleneck[] {
  const { thresholdSeconds, minQueries } = BOTTLENECK_RULES.databaseQueries;
  return stats
    .filter((d) => d.queries >= minQueries && d.p95Seconds !== null && Number.isFinite(d.p95Seconds) && d.p95Seconds > thresholdSeconds)
    .map((d) => ({
      kind: 'slow_database_queries' as const,
      component: d.service,
      subject: d.operation === '' ? null : d.operation,
      evidence: { metric: 'database_query_duration_seconds p95', value: d.p95Seconds!, threshold: thresholdSeconds, unit: 'seconds' as const, sample_size: Math.round(d.queries) },
    }));
}

function lowCacheHits(stats: readonly CacheStats[]): Bottleneck[] {
  const { threshold, minLookups } = BOTTLENECK_RULES.cacheHitRatio;
  return stats
    .filter((c) => c.hits + c.misses >= minLookups && c.hits / (c.hits + c.misses) < threshold)
    .map((c) => ({
      kind: 'low_cache_hit_ratio' as const,
      component: c.service,
      subject: c.cache === '' ? null : c.cache,
      evidence: { metric: 'cache_hits_total / (cache_hits_total + cache_misses_total)', value: c.hits / (c.hits + c.misses), threshold, unit: 'ratio' as const, sample_size: Math.round(c.hits + c.misses) },
    }));
}

function failingDependencies(stats: readonly DependencyStats[]): Bottleneck[] {
  const { threshold, minRequests } = BOTTLENECK_RULES.dependencyErrors;
  return stats
    .filter((d) => d.requests >= minRequests && d.errors / d.requests > threshold)
    .map((d) => ({
      kind: 'dependency_errors' as const,
      component: d.service,
      subject: d.provider === '' ? null : d.provider,
      evidence: { metric: 'ai_requests_total{status!="success"} share', value: d.errors / d.requests, threshold, unit: 'ratio' as const, sample_size: Math.round(d.requests) },
    }));
}

function saturation(system: SystemMetrics | null): Bottleneck[] {
  if (!system) return [];
  const threshold = BOTTLENECK_RULES.saturationPercent;
  const checks = [
    ['cpu_saturation', system.cpu_usage, 'node_cpu_seconds_total busy share'],
    ['memory_saturation', system.memory_usage, '1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes'],
    ['disk_saturation', system.disk_usage, '1 - node_filesystem_avail_bytes / node_filesystem_size_bytes of /'],
  ] as const;
  return checks
    .filter(([, value]) => value !== null && value > threshold)
    .map(([kind, value, metric]) => ({ kind, component: null, subject: null, evidence: { metric, value: value!, threshold, unit: 'percent' as const } }));
}

/** How far past its threshold a finding is (≥ 1), to put the worst first. */
const excess = (b: Bottleneck) =>
  b.kind === 'low_cache_hit_ratio' ? b.evidence.threshold / Math.max(b.evidence.value, 1e-9) : b.evidence.value / b.evidence.threshold;

/** Every finding of BOTTLENECK_RULES in the numbers, the worst first, at most `maxFindings`. */
export function findBottlenecks(inputs: BottleneckInputs): Bottleneck[] {
  return [
    ...saturation(inputs.system),
    ...errorRates(inputs.routes),
    ...slowRoutes(inputs.routes),
    ...slowDatabase(inputs.database),
    ...failingDependencies(inputs.dependencies),
    ...lowCacheHits(inputs.caches),
  ]
    .sort((a, b) => excess(b) - excess(a))
    .slice(0, BOTTLENECK_RULES.maxFindings);
}

/** A duration for a sentence: `850 ms`, `2.4 s`. */
export function formatSeconds(s: number): string {
  return s < 1 ? `${Math.round(s * 1000)} ms` : `${Number(s.toFixed(2))} s`;
}
/** A ratio for a sentence: 0.125 → `12.5%`. */
export function formatRatio(r: number): string {
  return `${Number((r * 100).toFixed(1))}%`;
}

/** One actionable sentence for a finding, naming what it is about and its numbers. */
export function recommendationFor(b: Bottleneck): string {
  const e = b.evidence;
  const of = b.component === null ? '' : ` of ${b.component}`;
  switch (b.kind) {
    case 'slow_route':
      return (
        `Speed up ${b.subject}${of}: its p95 of ${formatSeconds(e.value)} is ${Number((e.value / (e.baseline || e.threshold)).toFixed(1))} times the ` +
        `${formatSeconds(e.baseline ?? 0)} median of the service's other routes, so trace one slow request to find the call that waits (a query, a downstream API) and cache, batch or paginate it.`
      );
    case 'high_error_rate':
      return (
        `Find why ${b.component} answers ${formatRatio(e.value)} of its requests with a 5xx (more than ${formatRatio(e.threshold)})` +
        `${b.subject ? `, most of them on ${b.subject},` : ''} in its error groups and logs, and roll back the last release if the errors began with it.`
      );
    case 'slow_database_queries':
      return (
        `Optimise the ${b.subject ? `${b.subject} ` : ''}database queries${of}, whose p95 is ${formatSeconds(e.value)} (over ${formatSeconds(e.threshold)}): ` +
        `read their plans for missing indexes and cache or batch the repeated reads.`
      );
    case 'low_cache_hit_ratio':
      return (
        `Raise the hit ratio of the ${b.subject ? `${b.subject} ` : ''}cache${of} from ${formatRatio(e.value)} to above ${formatRatio(e.threshold)} ` +
        `by checking its keys and expiry times, sizing it so that entries are not evicted early, and warming it after deploys.`
      );
    case 'dependency_errors':
      return (
        `Protect ${b.component ?? 'the service'} from ${b.subject ?? 'its external dependency'}, which fails ${formatRatio(e.value)} of its calls (more than ${formatRatio(e.threshold)}), ` +
        `with timeouts, retries with backoff and a circuit breaker with a fallback, and check the provider's status and quotas.`
      );
    case 'cpu_saturation':
      return `Add CPU or spread the load: the nodes' CPUs are ${e.value.toFixed(1)}% busy (over ${e.threshold}%), so scale out the busiest workloads, raise their limits where they are throttled, or add nodes.`;
    case 'memory_saturation':
      return `Free or add memory: ${e.value.toFixed(1)}% of the nodes' memory is in use (over ${e.threshold}%), so find the workloads that grow, set their memory limits, or add nodes before pods are evicted.`;
    case 'disk_saturation':
      return `Free space on the nodes' root filesystems, ${e.value.toFixed(1)}% used (over ${e.threshold}%): shorten retention, rotate logs and remove unused images, or grow the disks.`;
  }
}

/** One recommendation per finding, in the findings' order. */
export function recommendationsFor(bottlenecks: readonly Bottleneck[]): string[] {
  return bottlenecks.map(recommendationFor);
}

// ─── Reading the answers ─────────────────────────────────────────────────────────

/** A 5xx by any of the conventions' status labels: "500", "503", "5xx". */
export function isServerError(labels: Readonly<Record<string, string>>): boolean {
  const status = labels['status'] || labels['status_code'] || labels['code'] || '';
  return /^5/.test(status);
}

function samplesOf(result: InstantResult | undefined): readonly Sample[] | null {
  if (!result) return null;
  if (result.type === 'vector') return result.samples;
  if (result.type === 'scalar') return [{ metric: {}, value: result.value, time: result.time }];
  return null;
}

/** The value of a query answering one sample; null when there is none or it is not a finite number. */
function single(result: InstantResult | undefined): number | null {
  const v = samplesOf(result)?.[0]?.value;
  return v !== undefined && Number.isFinite(v) ? v : null;
}

const finiteOrNull = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : null);
const round1 = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
/** Six decimals: enough for any ratio or duration in seconds, without the last bits of floating-point noise (0.12499999999999795). */
const round6 = (v: number) => Math.round(v * 1e6) / 1e6;
const ratioOrNull = (part: number, whole: number) => (whole > 0 ? round6(part / whole) : null);

/** A finding with its numbers at six decimals, for the answer. */
function tidy(b: Bottleneck): Bottleneck {
  const e = b.evidence;
  return {
    ...b,
    evidence: { ...e, value: round6(e.value), threshold: round6(e.threshold), ...(e.baseline === undefined ? {} : { baseline: round6(e.baseline) }) },
  };
}

function operationOf(m: Readonly<Record<string, string>>): string {
  const route = m['route'] || m['handler'] || '(no route)';
  return m['method'] ? `${m['method']} ${route}` : route;
}

/** Route statistics from the answers of the `requests`, `durationSum`, `durationCount` and `routeP95` queries. */
export function routeStats(answers: {
  readonly requests: readonly Sample[] | null;
  readonly durationSum: readonly Sample[] | null;
  readonly durationCount: readonly Sample[] | null;
  readonly routeP95: readonly Sample[] | null;
}): RouteStats[] {
  interface Acc {
    service: string;
    operation: string;
    requests: number | null;
    errors: number | null;
    durationCount: number | null;
    durationSumSeconds: number | null;
    p95Seconds: number | null;
  }
  const routes = new Map<string, Acc>();
  const at = (m: Readonly<Record<string, string>>): Acc => {
    const service = m['service'] ?? '';
    const operation = operationOf(m);
    const key = JSON.stringify([service, operation]);
    let acc = routes.get(key);
    if (!acc) {
      acc = { service, operation, requests: null, errors: null, durationCount: null, durationSumSeconds: null, p95Seconds: null };
      routes.set(key, acc);
    }
    return acc;
  };
  for (const s of answers.requests ?? []) {
    if (!Number.isFinite(s.value)) continue;
    const acc = at(s.metric);
    acc.requests = (acc.requests ?? 0) + s.value;
    acc.errors = (acc.errors ?? 0) + (isServerError(s.metric) ? s.value : 0);
  }
  for (const s of answers.durationCount ?? []) if (Number.isFinite(s.value)) at(s.metric).durationCount = s.value;
  for (const s of answers.durationSum ?? []) if (Number.isFinite(s.value)) at(s.metric).durationSumSeconds = s.value;
  for (const s of answers.routeP95 ?? []) {
    const v = finiteOrNull(s.value);
    if (v !== null) at(s.metric).p95Seconds = v;
  }
  return [...routes.values()];
}

// ─── Collecting ───────────────────────────────────────────────────────────────

export interface InsightsOptions {
  /** The `service` label to look at; every service when absent. @default - all services */
  readonly component?: string;
  /** The window of rates, trends (this window against the one before) and findings, in seconds (10 s – 7 d). At least twice the scrape interval. */
  readonly windowSeconds: number;
  /** The time the answers are for. @default - now */
  readonly now?: Date;
  /** Queries in flight at once. @default 6 */
  readonly concurrency?: number;
  /** Called once with each error a query met (for the service's log: the message names Prometheus's address). @default - none */
  readonly onError?: (error: PrometheusError, query: string) => void;
}

export interface TopOperation {
  readonly service: string;
  readonly operation: string;
  readonly request_count: number;
  readonly avg_duration_ms: number | null;
  readonly p95_ms: number | null;
  readonly error_rate: number | null;
}

/** Whether the numbers came from Prometheus; `error` and `message` say why not, without naming internal addresses. */
export interface InsightsSource {
  /** `not_permitted`: the caller's key may read no component's metrics (set by the routes). */
  readonly prometheus: 'ok' | 'partial' | 'unavailable' | 'not_configured' | 'not_permitted';
  readonly error?: PrometheusError['kind'];
  readonly message?: string;
  /** With `partial`: the queries that failed, and why. */
  readonly failed?: readonly { readonly query: QueryName | 'hourly'; readonly error: PrometheusError['kind'] }[];
}

export interface Insights {
  readonly source: InsightsSource;
  readonly component: string | null;
  readonly window_seconds: number;
  readonly generated_at: string;
  readonly system_metrics: SystemMetrics;
  readonly summary: {
    readonly total_requests: number | null;
    readonly error_count: number | null;
    /** 5xx share, 0–1. */
    readonly error_rate: number | null;
    readonly throughput_per_minute: number | null;
    /** Mean response time, ms. */
    readonly average_response_time: number | null;
    readonly p95_response_time: number | null;
  };
  readonly top_operations: readonly TopOperation[];
  readonly trends: {
    readonly response_time_trend: Trend;
    readonly error_rate_trend: Trend;
    readonly usage_pattern: UsagePattern;
  };
  readonly bottlenecks: readonly Bottleneck[];
  readonly recommendations: readonly string[];
  readonly component_specific: {
    readonly cache_hit_rate: number | null;
    readonly caches: readonly { readonly service: string; readonly cache: string; readonly hit_rate: number | null; readonly lookups: number }[];
    readonly database_operations: readonly { readonly service: string; readonly operation: string; readonly p95_ms: number | null; readonly queries: number }[];
    readonly dependencies: readonly { readonly service: string; readonly provider: string; readonly error_rate: number | null; readonly requests: number }[];
  };
  /** Firing alerts by severity (`ALERTS`), `other` for severities outside P1–P4 and the seed's names; null when unknown. */
  readonly firing_alerts: Readonly<Record<Severity | 'other', number>> | null;
  readonly monitoring: { readonly targets_up: number | null; readonly targets_total: number | null };
  /** The health score's inputs Prometheus knows; the caller adds `databaseUp` (and may use its own alerts). */
  readonly health_inputs: HealthInputs;
}

const TOP_OPERATIONS = 10;
const HOUR = 3_600;
const USAGE_DAYS = 7;

/** Runs `tasks` with at most `concurrency` in flight; once one finds Prometheus unavailable, the others are aborted with its error. */
async function settle<K extends string, T>(
  tasks: readonly (readonly [K, (signal: AbortSignal) => Promise<T>])[],
  concurrency: number,
): Promise<Map<K, T | PrometheusError>> {
  const out = new Map<K, T | PrometheusError>();
  const stop = new AbortController();
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const [name, run] = tasks[next++]!;
      if (stop.signal.aborted) {
        out.set(name, stop.signal.reason as PrometheusError);
        continue;
      }
      try {
        out.set(name, await run(stop.signal));
      } catch (err) {
        const e = err instanceof PrometheusError ? err : new PrometheusError('invalid_answer', (err as Error).message, undefined, { cause: err });
        out.set(name, e);
        // Prometheus is down or hangs: the other queries would only wait for the same answer.
        if (e instanceof PrometheusUnavailableError && e.kind !== 'aborted' && !stop.signal.aborted) stop.abort(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
  return out;
}

/** A message for API clients: what failed, without Prometheus's address. */
function describe(e: PrometheusError): string {
  switch (e.kind) {
    case 'unreachable':
      return 'Prometheus could not be reached';
    case 'timeout':
      return 'Prometheus did not answer in time';
    case 'aborted':
      return 'the query was aborted';
    case 'too_large':
      return "Prometheus's answer was too large";
    case 'invalid_answer':
      return "Prometheus's answer was not understood";
    case 'query_failed':
      return `Prometheus refused a query (${e instanceof PrometheusQueryError ? e.errorType : 'error'})`;
  }
}

const EMPTY_SYSTEM: SystemMetrics = { cpu_usage: null, memory_usage: null, disk_usage: null, network_io: { bytes_sent: null, bytes_recv: null }, last_updated: null };

/** The answer when Prometheus gave nothing: every number null, no finding. */
function emptyInsights(source: InsightsSource, opts: InsightsOptions, now: Date): Insights {
  return {
    source,
    component: opts.component ?? null,
    window_seconds: opts.windowSeconds,
    generated_at: now.toISOString(),
    system_metrics: EMPTY_SYSTEM,
    summary: { total_requests: null, error_count: null, error_rate: null, throughput_per_minute: null, average_response_time: null, p95_response_time: null },
    top_operations: [],
    trends: { response_time_trend: 'stable', error_rate_trend: 'stable', usage_pattern: { peak_hours: [], pattern: 'insufficient_data' } },
    bottlenecks: [],
    recommendations: [],
    component_specific: { cache_hit_rate: null, caches: [], database_operations: [], dependencies: [] },
    firing_alerts: null,
    monitoring: { targets_up: null, targets_total: null },
    health_inputs: {},
  };
}

/**
 * Asks Prometheus for everything the health and analytics answers take from
 * it: a fixed set of instant queries at `now` and one hourly range query over
 * the last 7 days, at most `concurrency` at a time. It never throws for
 * Prometheus's sake: without a client the source is `not_configured`; when
 * Prometheus cannot be reached (the first such failure aborts the other
 * queries) it is `unavailable` and every number is null; when some queries
 * fail it is `partial` and their numbers are null.
 */
export async function collectInsights(prom: PrometheusQuerier | undefined, opts: InsightsOptions): Promise<Insights> {
  const { windowSeconds, component } = opts;
  if (!Number.isInteger(windowSeconds) || windowSeconds < WINDOW_LIMITS.minSeconds || windowSeconds > WINDOW_LIMITS.maxSeconds) {
    throw new RangeError(`windowSeconds must be a whole number from ${WINDOW_LIMITS.minSeconds} to ${WINDOW_LIMITS.maxSeconds}, got ${windowSeconds}`);
  }
  const concurrency = opts.concurrency ?? 6;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be at least 1, got ${concurrency}`);
  const now = opts.now ?? new Date();
  if (!prom) return emptyInsights({ prometheus: 'not_configured', message: 'no Prometheus URL is configured' }, opts, now);

  const queries = insightQueries(component, windowSeconds);
  const end = new Date(Math.floor(now.getTime() / (HOUR * 1000)) * HOUR * 1000);
  const start = new Date(end.getTime() - (USAGE_DAYS * 24 - 1) * HOUR * 1000);
  type Answer = InstantResult | readonly Series[];
  const tasks: (readonly [QueryName | 'hourly', (signal: AbortSignal) => Promise<Answer>])[] = [
    ...(Object.entries(queries.instant) as [QueryName, string][]).map(
      ([name, expr]) => [name, (signal: AbortSignal) => prom.query(expr, { time: now, signal })] as const,
    ),
    ['hourly', (signal: AbortSignal) => prom.queryRange(queries.hourly, { start, end, stepSeconds: HOUR }, { signal })] as const,
  ];
  const answers = await settle(tasks, concurrency);

  const failed: { query: QueryName | 'hourly'; error: PrometheusError }[] = [];
  const reported = new Set<PrometheusError>();
  for (const [name, a] of answers) {
    if (a instanceof PrometheusError) {
      failed.push({ query: name, error: a });
      // The queries aborted after Prometheus was found unavailable carry that same error: it is reported once.
      if (!reported.has(a)) opts.onError?.(a, name === 'hourly' ? queries.hourly : queries.instant[name]);
      reported.add(a);
    }
  }
  if (failed.length === tasks.length) {
    const first = failed.find((f) => f.error.kind !== 'aborted')?.error ?? failed[0]!.error;
    return emptyInsights({ prometheus: 'unavailable', error: first.kind, message: describe(first) }, opts, now);
  }
  const source: InsightsSource =
    failed.length === 0
      ? { prometheus: 'ok' }
      : { prometheus: 'partial', failed: failed.map((f) => ({ query: f.query, error: f.error.kind })), message: describe(failed[0]!.error) };

  const instant = (name: QueryName): InstantResult | undefined => {
    const a = answers.get(name);
    return a === undefined || a instanceof PrometheusError || Array.isArray(a) ? undefined : (a as InstantResult);
  };
  const vector = (name: QueryName) => samplesOf(instant(name));

  // Nodes.
  const sampleTime = single(instant('nodeSampleTime'));
  const system: SystemMetrics = {
    cpu_usage: round1(single(instant('cpu'))),
    memory_usage: round1(single(instant('memory'))),
    disk_usage: round1(single(instant('disk'))),
    network_io: { bytes_sent: single(instant('networkSent')), bytes_recv: single(instant('networkReceived')) },
    last_updated: sampleTime === null ? null : new Date(sampleTime * 1000).toISOString(),
  };

  // Requests.
  const routes = routeStats({ requests: vector('requests'), durationSum: vector('durationSum'), durationCount: vector('durationCount'), routeP95: vector('routeP95') });
  const counted = routes.filter((r) => r.requests !== null);
  const timed = routes.filter((r) => r.durationCount !== null && r.durationSumSeconds !== null);
  const requests = counted.length > 0 ? counted.reduce((a, r) => a + r.requests!, 0) : null;
  const errors = counted.length > 0 ? counted.reduce((a, r) => a + (r.errors ?? 0), 0) : null;
  const current: LatencyWindow | null =
    timed.length > 0 ? { count: timed.reduce((a, r) => a + r.durationCount!, 0), sumSeconds: timed.reduce((a, r) => a + r.durationSumSeconds!, 0) } : null;
  const p95 = single(instant('p95'));
  const summary: Insights['summary'] = {
    total_requests: requests === null ? null : Math.round(requests),
    error_count: errors === null ? null : Math.round(errors),
    error_rate: requests !== null && errors !== null ? ratioOrNull(errors, requests) : null,
    throughput_per_minute: requests === null ? null : round1((requests / windowSeconds) * 60),
    average_response_time: current && current.count > 0 ? round1((current.sumSeconds / current.count) * 1000) : null,
    p95_response_time: p95 === null ? null : round1(p95 * 1000),
  };
  const top_operations: TopOperation[] = [...routes]
    .sort((a, b) => traffic(b) - traffic(a) || a.operation.localeCompare(b.operation))
    .slice(0, TOP_OPERATIONS)
    .map((r) => ({
      service: r.service,
      operation: r.operation,
      request_count: Math.round(traffic(r)),
      avg_duration_ms: r.durationCount && r.durationSumSeconds !== null ? round1((r.durationSumSeconds / r.durationCount) * 1000) : null,
      p95_ms: r.p95Seconds === null ? null : round1(r.p95Seconds * 1000),
      error_rate: r.requests ? ratioOrNull(r.errors ?? 0, r.requests) : null,
    }));

  // Trends.
  const previousRequests = vector('previousRequests');
  const previousErrors: ErrorWindow | null =
    previousRequests && previousRequests.length > 0
      ? {
          requests: previousRequests.reduce((a, s) => a + (Number.isFinite(s.value) ? s.value : 0), 0),
          errors: previousRequests.reduce((a, s) => a + (Number.isFinite(s.value) && isServerError(s.metric) ? s.value : 0), 0),
        }
      : null;
  const prevCount = single(instant('previousDurationCount'));
  const prevSum = single(instant('previousDurationSum'));
  const previousLatency: LatencyWindow | null = prevCount !== null && prevSum !== null ? { count: prevCount, sumSeconds: prevSum } : null;
  const hourly = answers.get('hourly');
  const points = Array.isArray(hourly) ? (hourly as readonly Series[]).flatMap((s) => s.points) : [];
  const usage_pattern = Array.isArray(hourly) ? classifyUsage(hourlyProfile(points)) : { peak_hours: [], pattern: 'insufficient_data' as const };

  // Dependencies of the services.
  const dbCounts = new Map((vector('databaseQueries') ?? []).map((s) => [JSON.stringify([s.metric['service'] ?? '', s.metric['operation'] ?? '']), s.value]));
  const database: DatabaseStats[] = (vector('databaseP95') ?? []).map((s) => {
    const service = s.metric['service'] ?? '';
    const operation = s.metric['operation'] ?? '';
    return { service, operation, p95Seconds: finiteOrNull(s.value), queries: dbCounts.get(JSON.stringify([service, operation])) ?? 0 };
  });
  const cacheMap = new Map<string, { service: string; cache: string; hits: number; misses: number }>();
  const cacheAt = (m: Readonly<Record<string, string>>) => {
    const key = JSON.stringify([m['service'] ?? '', m['cache'] ?? '']);
    let c = cacheMap.get(key);
    if (!c) cacheMap.set(key, (c = { service: m['service'] ?? '', cache: m['cache'] ?? '', hits: 0, misses: 0 }));
    return c;
  };
  for (const s of vector('cacheHits') ?? []) if (Number.isFinite(s.value)) cacheAt(s.metric).hits += s.value;
  for (const s of vector('cacheMisses') ?? []) if (Number.isFinite(s.value)) cacheAt(s.metric).misses += s.value;
  const caches = [...cacheMap.values()];
  const depMap = new Map<string, { service: string; provider: string; requests: number; errors: number }>();
  for (const s of vector('dependencies') ?? []) {
    if (!Number.isFinite(s.value)) continue;
    const key = JSON.stringify([s.metric['service'] ?? '', s.metric['provider'] ?? '']);
    let d = depMap.get(key);
    if (!d) depMap.set(key, (d = { service: s.metric['service'] ?? '', provider: s.metric['provider'] ?? '', requests: 0, errors: 0 }));
    d.requests += s.value;
    if (s.metric['status'] !== 'success') d.errors += s.value;
  }
  const dependencies = [...depMap.values()];

  const bottlenecks = findBottlenecks({ routes, database, caches, dependencies, system }).map(tidy);
  const hits = caches.reduce((a, c) => a + c.hits, 0);
  const lookups = caches.reduce((a, c) => a + c.hits + c.misses, 0);

  // Alerts and targets.
  const alertSamples = vector('alerts');
  let firing_alerts: Record<Severity | 'other', number> | null = null;
  if (alertSamples) {
    firing_alerts = { P1: 0, P2: 0, P3: 0, P4: 0, other: 0 };
    for (const s of alertSamples) firing_alerts[severityLevel(s.metric['severity']) ?? 'other'] += Number.isFinite(s.value) ? s.value : 0;
  }

  return {
    source,
    component: component ?? null,
    window_seconds: windowSeconds,
    generated_at: now.toISOString(),
    system_metrics: system,
    summary,
    top_operations,
    trends: {
      response_time_trend: responseTimeTrend(previousLatency, current),
      error_rate_trend: errorRateTrend(previousErrors, requests === null || errors === null ? null : { requests, errors }),
      usage_pattern,
    },
    bottlenecks,
    recommendations: recommendationsFor(bottlenecks),
    component_specific: {
      cache_hit_rate: ratioOrNull(hits, lookups),
      caches: caches.map((c) => ({ service: c.service, cache: c.cache, hit_rate: ratioOrNull(c.hits, c.hits + c.misses), lookups: Math.round(c.hits + c.misses) })),
      database_operations: database.map((d) => ({ service: d.service, operation: d.operation, p95_ms: d.p95Seconds === null ? null : round1(d.p95Seconds * 1000), queries: Math.round(d.queries) })),
      dependencies: dependencies.map((d) => ({ service: d.service, provider: d.provider, error_rate: ratioOrNull(d.errors, d.requests), requests: Math.round(d.requests) })),
    },
    firing_alerts,
    monitoring: { targets_up: single(instant('targetsUp')), targets_total: single(instant('targets')) },
    health_inputs: {
      errorRate: summary.error_rate,
      latencyP95Ms: summary.p95_response_time,
      cpuPercent: system.cpu_usage,
      memoryPercent: system.memory_usage,
      diskPercent: system.disk_usage,
      firingAlerts: firing_alerts,
    },
  };
}
