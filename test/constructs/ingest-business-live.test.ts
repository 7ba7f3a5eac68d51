import { type Server, createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboards, FULL_CONTEXT, STACK_DASHBOARDS } from '../../dashboards/index.js';
import { DASHBOARD_UIDS } from '../../src/authoring/index.js';
import { writeOfflinePrometheus } from '../support/offline-prometheus.js';
import { type Started, startPrometheus, waitFor } from '../support/processes.js';
import { type Json, environment, synth } from './helpers.js';

/**
 * The real Prometheus on the synthesized configuration scrapes a stand-in for
 * the ingest service on 127.0.0.1: `/metrics` open, `/metrics/business`
 * answering only `Authorization: Bearer <key>`, as the service does. The
 * targets come through files carrying the `__meta_kubernetes_*` labels
 * discovery would set for the ingest Service's endpoint, and the key is
 * written where the offline config maps the mounted Secret.
 */
const KEY = 'prometheus-metrics-key-0123456789abcdef';
const NAMESPACE = 'obs-test';
const SERVICE_METRICS = '# HELP ingest_queue_depth Rows queued.\n# TYPE ingest_queue_depth gauge\ningest_queue_depth 4\n';
/** As the service answers the platform's `metrics` key: every project's KPIs, by project; here two projects with a KPI of the same name. */
const KPI_METRICS = [
  '# HELP business_kpi_value Latest value of a business KPI.',
  '# TYPE business_kpi_value gauge',
  'business_kpi_value{project="alpha",kpi="conversion_rate"} 0.1',
  'business_kpi_value{project="beta",kpi="conversion_rate"} 0.3',
  '# HELP business_kpi_target Target of a business KPI.',
  '# TYPE business_kpi_target gauge',
  'business_kpi_target{project="alpha",kpi="conversion_rate"} 0.2',
  'business_kpi_target{project="beta",kpi="conversion_rate"} 0.2',
  '',
].join('\n');

/** The queries of the Ingest service dashboard's KPI table (value, target, achieved), as shipped. */
function kpiTableQueries(): { exprs: string[]; organize: Json } {
  const file = buildDashboards(STACK_DASHBOARDS, FULL_CONTEXT).find((f) => f.uid === DASHBOARD_UIDS.ingest);
  const panel = (JSON.parse(file!.json) as Json).panels.find((p: Json) => p.title === 'KPIs against target');
  return { exprs: panel.targets.map((t: Json) => t.expr), organize: panel.transformations.find((t: Json) => t.id === 'organize').options };
}

describe("the ingest service's KPIs in a real Prometheus, with the key from the mounted Secret", () => {
  let root: string;
  let server: Server;
  let prometheus: Started;
  let base: string;
  let keyFile: string;
  const seen: { path: string; authorization: string | undefined }[] = [];

  const query = async (q: string): Promise<Json[]> => ((await (await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as Json).data.result;
  const target = async (pool: string): Promise<Json | undefined> =>
    (((await (await fetch(`${base}/api/v1/targets`)).json()) as Json).data.activeTargets as Json[]).find((t) => t.scrapePool === pool);

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(SERVICE_METRICS);
      } else if (req.url === '/metrics/business' && req.headers.authorization === `Bearer ${KEY}`) {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(KPI_METRICS);
      } else {
        res.writeHead(req.url === '/metrics/business' ? 401 : 404, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;

    const env = environment({ components: { prometheus: { scrapeInterval: '1s', evaluationInterval: '1s' } } });
    expect(env.namespace).toBe(NAMESPACE);
    const endpoint = {
      targets: [`127.0.0.1:${port}`],
      labels: {
        __meta_kubernetes_namespace: NAMESPACE,
        __meta_kubernetes_service_name: 'ingest',
        __meta_kubernetes_endpoint_port_name: 'http',
        __meta_kubernetes_pod_name: 'ingest-abc',
        __meta_kubernetes_pod_node_name: 'worker-1',
      },
    };
    root = mkdtempSync(join(tmpdir(), 'obstack-ingest-business-'));
    const offline = writeOfflinePrometheus(synth(env).files, root, (job) => (job === 'obstack-ingest' || job === 'obstack-ingest-business' ? [endpoint] : []));
    expect(offline.findings).toEqual([]);
    const { secretName, key } = env.components.ingest.prometheusKey;
    keyFile = join(offline.scrapeSecretsDir, secretName, key);
    // A key the service does not know first; the right one is written over it below.
    writeFileSync(keyFile, 'not-the-key-0123456789abcdefghij');
    ({ server: prometheus, base } = await startPrometheus(offline.configFile, join(root, 'data')));
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await new Promise((resolve) => server?.close(resolve));
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('with a wrong key the business target is down and no KPI arrives, while /metrics is scraped without a key', async () => {
    const down = await waitFor(
      async () => {
        const t = await target('obstack-ingest-business');
        return t?.health === 'down' ? t : undefined;
      },
      30_000,
      'the business target to be down',
      prometheus,
    );
    expect(down.lastError).toMatch(/401/);
    expect(down.scrapeUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics\/business$/);
    expect(seen).toContainEqual({ path: '/metrics/business', authorization: 'Bearer not-the-key-0123456789abcdefghij' });
    expect(await query('business_kpi_value')).toEqual([]);
    expect(await query('up{job="obstack-ingest-business"}')).toEqual([expect.objectContaining({ value: [expect.any(Number), '0'] })]);

    await waitFor(async () => ((await target('obstack-ingest'))?.health === 'up' ? true : undefined), 30_000, 'the open target to be up', prometheus);
    expect(seen.filter((s) => s.path === '/metrics').every((s) => s.authorization === undefined)).toBe(true);
  }, 40_000);

  it('with the key in the file the KPI series arrive, labelled as the business job of the ingest pod, without a reload', async () => {
    writeFileSync(keyFile, KEY);
    const values = await waitFor(
      async () => {
        const r = await query('business_kpi_value');
        return r.length > 0 ? r : undefined;
      },
      30_000,
      'business_kpi_value',
      prometheus,
    );
    expect(values.map((v: Json) => v.metric.project).sort()).toEqual(['alpha', 'beta']);
    const alpha = values.find((v: Json) => v.metric.project === 'alpha');
    expect(alpha.metric).toEqual({
      __name__: 'business_kpi_value',
      project: 'alpha',
      kpi: 'conversion_rate',
      job: 'obstack-ingest-business',
      instance: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      namespace: NAMESPACE,
      pod: 'ingest-abc',
      service: 'ingest',
      node: 'worker-1',
    });
    expect(alpha.value[1]).toBe('0.1');
    expect((await target('obstack-ingest-business'))?.health).toBe('up');
    // The open job keeps the service's own series and never gets the KPIs.
    expect(await query('business_kpi_value{job="obstack-ingest"}')).toEqual([]);
    expect((await query('ingest_queue_depth{job="obstack-ingest"}')).length).toBe(1);
  }, 40_000);

  it("gives the Ingest service dashboard's KPI table one row per project and KPI", async () => {
    const { exprs, organize } = kpiTableQueries();
    expect(exprs).toHaveLength(3);
    // Every aggregation keeps the project: without it, the KPIs of two projects of the same name would be one row.
    for (const e of exprs) expect([...e.matchAll(/\bby \(([^)]*)\)/g)].map((m) => m[1]), e).toEqual(e.includes(' / ') ? ['project, kpi', 'project, kpi'] : ['project, kpi']);
    expect(Object.keys(organize.indexByName).slice(0, 2)).toEqual(['project', 'kpi']);
    // What the table's merge does: the three results joined on their labels, one row per label set.
    const rows = new Map<string, Record<string, unknown>>();
    for (const [i, column] of ['value', 'target', 'achieved'].entries()) {
      for (const r of await query(exprs[i]!)) {
        const labels = r.metric as Record<string, string>;
        const key = JSON.stringify(labels);
        rows.set(key, { ...labels, ...rows.get(key), [column]: Number(r.value[1]) });
      }
    }
    const table = [...rows.values()].sort((a, b) => String(a['project']).localeCompare(String(b['project'])));
    // Taken together, the two projects' KPIs would be one row with beta's value over a target of either.
    expect(table).toEqual([
      { project: 'alpha', kpi: 'conversion_rate', value: 0.1, target: 0.2, achieved: expect.closeTo(0.5) },
      { project: 'beta', kpi: 'conversion_rate', value: 0.3, target: 0.2, achieved: expect.closeTo(1.5) },
    ]);
  });
});
