import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackDashboards } from '../../dashboards/index.js';
import { example } from '../constructs/helpers.js';
import { type StartedServer, startPrometheus, waitFor } from '../support/processes.js';

/**
 * The Service overview's queries on a real Prometheus holding two hours of
 * four applications, instrumented differently: a FastAPI service
 * (prometheus-fastapi-instrumentator), prometheus_client services with the
 * stack's convention, and an OpenTelemetry service. All are found by
 * annotation (one job), and two share a namespace: only their `service`
 * label tells them apart. Every panel must show each of them when it is
 * picked, and the figures must be the ones the series were written with.
 */
const STEP = 15;
const STEPS = (2 * 3600) / STEP;
const END = Math.floor(Date.now() / 1000 / 3600) * 3600 - 3600;
const START = END - STEPS * STEP;
const target = (namespace: string, service: string, ip: string) => `job="kubernetes-pods",namespace="${namespace}",service="${service}",pod="${service}-0",instance="${ip}:8000"`;

interface App {
  readonly namespace: string;
  /** The `service` label the scrape gives its series (its app label, controller or Service). */
  readonly service: string;
  readonly route: string;
  /** Requests per second of the app, and of its 5xx and 4xx answers. */
  readonly rate: number;
  readonly errors: number;
  readonly clientErrors: number;
  /** Where all of its requests fall: each takes between these two bucket bounds. */
  readonly slowest: number;
}
const APPS = {
  fastapi: { namespace: 'shop', service: 'orders', route: '/orders/{order_id}', rate: 4.5, errors: 1, clientErrors: 0.5, slowest: 2.5 },
  prometheusClient: { namespace: 'billing', service: 'invoices', route: '/invoices', rate: 4.2, errors: 0.2, clientErrors: 0, slowest: 0.25 },
  otel: { namespace: 'search', service: 'search', route: '/search/{query}', rate: 2.5, errors: 0.5, clientErrors: 0, slowest: 0.5 },
  // A second application in the shop namespace, found by annotation like the first (job kubernetes-pods): only its service tells them apart.
  cart: { namespace: 'shop', service: 'cart', route: '/cart', rate: 1.5, errors: 0.1, clientErrors: 0, slowest: 0.1 },
} as const satisfies Record<string, App>;

/** OpenMetrics families: name → type and lines (`series value ts`), one family's samples together. */
type Families = Map<string, { type: 'counter' | 'histogram'; lines: string[] }>;
const add = (f: Families, family: string, type: 'counter' | 'histogram', line: string) => {
  if (!f.has(family)) f.set(family, { type, lines: [] });
  f.get(family)!.lines.push(line);
};
/** A counter growing by `perSecond`. */
const counter = (f: Families, family: string, labels: string, perSecond: number) => {
  for (let i = 0; i <= STEPS; i++) add(f, family, 'counter', `${family}_total{${labels}} ${perSecond * i * STEP} ${START + i * STEP}`);
};
/** A histogram of `perSecond` requests, each lasting `seconds` (so every bucket from the first bound ≥ `seconds` holds them all). */
const histogram = (f: Families, family: string, labels: string, bounds: readonly number[], perSecond: number, seconds: number) => {
  const sep = labels === '' ? '' : ',';
  for (let i = 0; i <= STEPS; i++) {
    const n = perSecond * i * STEP;
    const ts = START + i * STEP;
    for (const le of bounds) add(f, family, 'histogram', `${family}_bucket{${labels}${sep}le="${le}"} ${le >= seconds ? n : 0} ${ts}`);
    add(f, family, 'histogram', `${family}_bucket{${labels}${sep}le="+Inf"} ${n} ${ts}`);
    add(f, family, 'histogram', `${family}_sum{${labels}} ${n * seconds} ${ts}`);
    add(f, family, 'histogram', `${family}_count{${labels}} ${n} ${ts}`);
  }
};

function openMetrics(): string {
  const f: Families = new Map();
  // prometheus-fastapi-instrumentator: handler, method, status classes; a coarse histogram by handler and a fine one without labels.
  const shop = target('shop', APPS.fastapi.service, '10.0.0.7');
  counter(f, 'http_requests', `${shop},handler="${APPS.fastapi.route}",method="GET",status="2xx"`, 3);
  counter(f, 'http_requests', `${shop},handler="${APPS.fastapi.route}",method="GET",status="5xx"`, 1);
  counter(f, 'http_requests', `${shop},handler="${APPS.fastapi.route}",method="GET",status="4xx"`, 0.5);
  // prometheus_client with the stack's convention: route, method, status_code.
  const billing = target('billing', APPS.prometheusClient.service, '10.0.0.8');
  counter(f, 'http_requests', `${billing},route="${APPS.prometheusClient.route}",method="POST",status_code="200"`, 4);
  counter(f, 'http_requests', `${billing},route="${APPS.prometheusClient.route}",method="POST",status_code="500"`, 0.2);
  histogram(f, 'http_request_duration_seconds', `${shop},handler="${APPS.fastapi.route}",method="GET"`, [0.1, 0.5, 1], 4.5, 2);
  histogram(f, 'http_request_duration_seconds', `${billing},route="${APPS.prometheusClient.route}",method="POST",status_code="200"`, [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], 4.2, 0.2);
  histogram(f, 'http_request_duration_highr_seconds', shop, [0.1, 0.5, 1, 2.5, 5, 10, 30, 60], 4.5, 2);
  // OpenTelemetry HTTP semantic conventions as exported to Prometheus.
  const search = `${target('search', APPS.otel.service, '10.0.0.9')},http_route="${APPS.otel.route}",http_request_method="GET"`;
  const otelBounds = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
  histogram(f, 'http_server_request_duration_seconds', `${search},http_response_status_code="200"`, otelBounds, 2, 0.4);
  histogram(f, 'http_server_request_duration_seconds', `${search},http_response_status_code="503"`, otelBounds, 0.5, 0.4);
  // prometheus_client in the same namespace as the FastAPI service.
  const cart = target('shop', APPS.cart.service, '10.0.0.10');
  counter(f, 'http_requests', `${cart},route="${APPS.cart.route}",method="GET",status_code="200"`, APPS.cart.rate - APPS.cart.errors);
  counter(f, 'http_requests', `${cart},route="${APPS.cart.route}",method="GET",status_code="500"`, APPS.cart.errors);
  histogram(f, 'http_request_duration_seconds', `${cart},route="${APPS.cart.route}",method="GET",status_code="200"`, [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], APPS.cart.rate, 0.05);
  return `${[...f].map(([name, { type, lines }]) => `# TYPE ${name} ${type}\n${lines.join('\n')}`).join('\n')}\n# EOF\n`;
}

/** The dashboard's targets by panel title. */
const dashboard = JSON.parse(stackDashboards(example('prod')).find((d) => d.uid === 'obstack-service-overview')!.json) as {
  panels: { title: string; targets?: { expr: string; refId: string }[] }[];
  templating: { list: { name: string; query: string; regex?: string }[] };
};
const panels = dashboard.panels.filter((p) => p.targets && p.targets.length > 0);

/** Grafana's interpolation: `$__rate_interval` and `$__range` as durations, a multi-value variable as a regex of its values. */
function interpolate(expr: string, vars: Record<string, string>): string {
  return expr.replace(/\$(__rate_interval|__range|[a-z_]+)/g, (_, name: string) => {
    if (name === '__rate_interval') return '5m';
    if (name === '__range') return '1h';
    return vars[name] ?? '.*';
  });
}

/** Grafana's escape of a value in a regex variable for Prometheus: a backslash, itself escaped in the PromQL string. */
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');

describe('the Service overview on FastAPI, prometheus_client and OpenTelemetry services', () => {
  let dir: string;
  let prom: StartedServer | undefined;
  let query: (expr: string) => Promise<{ metric: Record<string, string>; value: [number, string] }[]>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'service-overview-'));
    writeFileSync(join(dir, 'samples.om'), openMetrics());
    execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'samples.om'), join(dir, 'data')], { stdio: 'pipe' });
    writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n');
    prom = await startPrometheus(join(dir, 'prometheus.yml'), join(dir, 'data'));
    const base = prom.base;
    await waitFor(async () => ((await fetch(`${base}/-/ready`)).ok ? true : undefined), 30_000, 'Prometheus', prom.server);
    query = async (expr) => {
      const body = (await (await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}&time=${END - 60}`)).json()) as { status: string; error?: string; data: { result: never[] } };
      if (body.status !== 'success') throw new Error(`${body.error}: ${expr}`);
      return body.data.result;
    };
  }, 60_000);

  afterAll(async () => {
    await prom?.server.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const [kind, app] of Object.entries(APPS)) {
    for (const route of ['All', 'its route'] as const) {
      it(`every panel shows the ${kind} service, with $route ${route}`, async () => {
        const vars = { namespace: app.namespace, service: app.service, route: route === 'All' ? '.*' : `(${escapeRegex(app.route)})` };
        for (const p of panels) {
          for (const t of p.targets!) {
            const rows = await query(interpolate(t.expr, vars));
            const values = rows.map((r) => Number(r.value[1])).filter((v) => Number.isFinite(v));
            // Client errors: only the FastAPI service answers 4xx; every other query has a value for each service.
            const expectsNone = p.title === 'Client and server errors' && t.refId === 'A' && app.clientErrors === 0;
            expect(values.length > 0, `${p.title} ${t.refId} for ${kind}: ${JSON.stringify(rows)}`).toBe(!expectsNone);
            // Panels by route name the route under the label the service uses.
            if (/by route|Routes over/.test(p.title)) {
              for (const r of rows) {
                expect(r.metric['route'] ?? r.metric['handler'] ?? r.metric['http_route'], p.title).toBe(app.route);
                expect(r.metric['service'], p.title).toBe(app.service);
              }
            }
          }
        }
      });
    }

    it(`counts the ${kind} service's requests, errors and latency as its series were written`, async () => {
      const vars = { namespace: app.namespace, service: app.service };
      const one = async (title: string, refId = 'A') => {
        const t = panels.find((p) => p.title === title)!.targets!.find((x) => x.refId === refId)!;
        const rows = await query(interpolate(t.expr, vars));
        expect(rows.length, title).toBe(1);
        return Number(rows[0]!.value[1]);
      };
      expect(await one('Requests per second')).toBeCloseTo(app.rate, 6);
      expect(await one('Error ratio (5xx)')).toBeCloseTo(app.errors / app.rate, 6);
      // Every request lasts between two bounds: the p95 lies between the bound below and `slowest`.
      const p95 = await one('p95 latency');
      expect(p95).toBeLessThanOrEqual(app.slowest);
      expect(p95).toBeGreaterThan(app.slowest / 5);
    });
  }

  it("reads the FastAPI service's fine histogram for the latency over all routes, its coarse one by route", async () => {
    const t = (title: string) => panels.find((p) => p.title === title)!.targets![0]!.expr;
    const vars = { namespace: 'shop', service: APPS.fastapi.service };
    const [all] = await query(interpolate(t('p95 latency'), vars));
    // Requests take 2 s: the coarse histogram's last bound is 1 s, the fine one's next bound 2.5 s.
    expect(Number(all!.value[1])).toBeGreaterThan(1);
    const [byRoute] = await query(interpolate(t('p95 latency by route'), vars));
    expect(byRoute!.metric['handler']).toBe(APPS.fastapi.route);
  });

  it('adds the services up once each, and splits their status codes under every spelling', async () => {
    const t = (title: string) => panels.find((p) => p.title === title)!.targets![0]!.expr;
    const [total] = await query(interpolate(t('Requests per second'), {}));
    expect(Number(total!.value[1])).toBeCloseTo(Object.values(APPS).reduce((n, a) => n + a.rate, 0), 6);
    const byStatus = await query(interpolate(t('Requests by status code'), {}));
    const codes = byStatus.map((r) => r.metric['status_code'] ?? r.metric['status'] ?? r.metric['http_response_status_code']).sort();
    expect(codes).toEqual(['200', '200', '2xx', '4xx', '500', '503', '5xx']);
  });

  it('lists the namespaces, jobs, services and the routes of the three spellings in its variables', async () => {
    const values = async (name: string, vars: Record<string, string> = {}) => {
      const v = dashboard.templating.list.find((x) => x.name === name)!;
      const inner = /^query_result\(([\s\S]*)\)$/.exec(v.query)![1]!;
      // Grafana prints each result as `{labels} value timestamp` and takes what the regex captures.
      const regex = new RegExp(/^\/(.*)\/$/.exec(v.regex!)![1]!);
      const rows = await query(interpolate(inner, vars));
      return rows.map((r) => regex.exec(`{${Object.entries(r.metric).map(([k, x]) => `${k}="${x}"`).join(', ')}}`)?.[1]).filter((x) => x !== undefined).sort();
    };
    expect(await values('namespace')).toEqual(['billing', 'search', 'shop']);
    expect(await values('job')).toEqual(['kubernetes-pods']);
    expect(await values('service')).toEqual(Object.values(APPS).map((a) => a.service).sort());
    expect(await values('service', { namespace: 'shop' })).toEqual([APPS.cart.service, APPS.fastapi.service]);
    expect(await values('route')).toEqual(Object.values(APPS).map((a) => a.route).sort());
    expect(await values('route', { namespace: 'search' })).toEqual([APPS.otel.route]);
    expect(await values('route', { namespace: 'shop', service: APPS.cart.service })).toEqual([APPS.cart.route]);
  });
});
