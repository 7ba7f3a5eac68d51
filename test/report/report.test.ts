import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/main.js';
import { parseEnvironment } from '../../src/config/index.js';
import { loadProject, synthEnvironment } from '../../src/project/index.js';
import { buildReportModel, deliveriesFor, escapeHtml, parseQuantity, renderReport } from '../../src/report/index.js';
import { example } from '../constructs/helpers.js';
import { TEAMS } from '../constructs/teams-fixture.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ALIAS = { obstack: join(ROOT, 'src', 'index.ts') };
const GiB = 2 ** 30;

const prod = synthEnvironment(example('prod')).result;
const dev = synthEnvironment(example('dev')).result;

describe('the report model', () => {
  const m = buildReportModel(prod);

  it('has a box for every component prod enables, the applications and each receiver', () => {
    expect(m.nodes.map((n) => n.id)).toEqual([
      'apps', 'node-exporter', 'kube-state-metrics', 'prometheus', 'alertmanager', 'grafana', 'filebeat', 'logstash', 'elasticsearch', 'kibana', 'jaeger', 'ingest', 'postgres',
      'receiver:pager', 'receiver:team', 'receiver:digest', 'receiver:history', 'receiver:escalation',
    ]);
    expect(m.nodes.find((n) => n.id === 'jaeger')?.detail).toBe('collector × 2, query × 2');
  });

  it('derives the flows of every signal from the NetworkPolicies, prometheus.yml and alertmanager.yml', () => {
    const flows = m.flows.map((f) => `${f.signal}: ${f.from} > ${f.to}`);
    expect(flows).toEqual(expect.arrayContaining([
      'metrics: node-exporter > prometheus', 'metrics: kube-state-metrics > prometheus', 'metrics: ingest > prometheus', 'metrics: prometheus > grafana',
      'alerts: prometheus > alertmanager', 'alerts: alertmanager > receiver:pager', 'alerts: alertmanager > receiver:digest',
      'logs: filebeat > logstash', 'logs: logstash > elasticsearch', 'logs: elasticsearch > grafana', 'logs: elasticsearch > kibana',
      'traces: apps > jaeger', 'traces: ingest > jaeger', 'traces: jaeger > elasticsearch', 'traces: jaeger > grafana',
      'analytics: apps > ingest', 'analytics: ingest > postgres', 'analytics: postgres > grafana',
    ]));
    // Nothing is drawn between boxes that cannot talk.
    expect(flows).not.toContain('logs: filebeat > elasticsearch');
  });

  it('follows the environment: a component turned off loses its box and its flows', () => {
    const env = example('dev');
    const off = synthEnvironment(parseEnvironment({ ...env, components: { ...env.components, kibana: { ...env.components.kibana, enabled: false }, ingest: { ...env.components.ingest, enabled: false } } }, '<test>')).result;
    const ids = buildReportModel(off).nodes.map((n) => n.id);
    expect(ids).toContain('elasticsearch');
    expect(ids).not.toContain('kibana');
    expect(ids).not.toContain('ingest');
    expect(ids).not.toContain('postgres');
    expect(buildReportModel(off).flows.some((f) => f.to === 'kibana' || f.from === 'ingest' || f.to === 'ingest')).toBe(false);
  });

  it('sizes each workload from its objects, with storage and retention', () => {
    const row = (name: string) => m.workloads.find((w) => w.name === name);
    expect(row('prometheus')).toMatchObject({ kind: 'StatefulSet', replicas: 2, retention: '30d or 180GB', storage: [{ size: '200Gi', storageClass: 'fast-ssd' }] });
    expect(row('prometheus')?.requests.memory).toBeGreaterThanOrEqual(4 * GiB);
    expect(row('ingest')).toMatchObject({ kind: 'Deployment', replicas: 2, maxReplicas: 6, retention: 'raw events 180d' });
    expect(row('node-exporter')).toMatchObject({ kind: 'DaemonSet', replicas: undefined });
    expect(row('elasticsearch')?.retention).toBe('logs 30d, audit 730d, traces 14d');
  });

  it('adds up the footprint: replicas times pods, DaemonSets per node, every persistent volume', () => {
    const f = m.footprint;
    // prometheus 2×200Gi, alertmanager 3×2Gi, ingest-postgres 50Gi, elasticsearch 3×200Gi, logstash 2×20Gi.
    expect(f.storageBytes).toBe(1096 * GiB);
    expect(f.volumes).toBe(11);
    expect([...f.perNode.workloads].sort()).toEqual(['filebeat', 'node-exporter']);
    const expected = m.workloads.filter((w) => w.replicas !== undefined).reduce((s, w) => s + w.requests.cpu * (w.replicas ?? 0), 0);
    expect(f.requests.cpu).toBeCloseTo(expected, 6);
    // Every pod of prod's three Elasticsearch nodes asks for 1 CPU and 4Gi: at least that much is in the total.
    expect(f.requests.memory).toBeGreaterThan(3 * 4 * GiB + 2 * 4 * GiB);
  });

  it('tells which receivers each severity reaches', () => {
    const sev = (s: string) => m.severities.find((x) => x.severity === s)!;
    const reached = (s: string) => sev(s).deliveries.filter((d) => d.receiver !== 'null').map((d) => d.receiver);
    // escalation: only alerts labelled escalation="true" (AlertNotAcknowledged) get there.
    expect(reached('P1')).toEqual(['history', 'escalation', 'pager', 'team']);
    expect(reached('P3')).toEqual(['history', 'escalation', 'team']);
    expect(reached('P4')).toEqual(['history', 'escalation', 'digest']);
    expect(sev('P2').alerts.find((a) => a.alert === 'NodeMemoryHigh')).toMatchObject({ service: 'node', summary: 'Node {{ $labels.instance }} memory is above 90%' });
    expect(m.receivers.find((r) => r.name === 'team')?.channels).toEqual(['email to platform-oncall@example.com', 'Slack #obstack-alerts']);
  });

  it("routes a team's alerts to the team's receivers, and the rest to the environment's", () => {
    const env = parseEnvironment({ ...example('dev'), teams: TEAMS }, '<test>');
    const am = synthEnvironment(env).result.files.get('alertmanager.yml');
    const p1 = deliveriesFor(am, 'P1');
    expect(p1).toEqual(expect.arrayContaining([
      { receiver: 'team-payments-pager', when: ['team="payments"'], unless: ['alertname="Watchdog"', 'escalation="true"'] },
      { receiver: 'team-search', when: ['team="search"'], unless: ['alertname="Watchdog"', 'escalation="true"', 'team="payments"'] },
      { receiver: 'pager', when: [], unless: ['alertname="Watchdog"', 'escalation="true"', 'team="payments"', 'team="search"'] },
    ]));
    expect(deliveriesFor(am, 'P4').map((d) => d.receiver)).toEqual(['null', 'history', 'escalation', 'team-payments-webhook', 'team-payments-digest', 'team-search-digest', 'digest']);
  });

  it('lists the dashboards by folder with their panel titles', () => {
    const nodes = m.dashboards.find((d) => d.uid === 'obstack-nodes');
    expect(nodes?.title).toBe('Nodes and cluster resources');
    expect(nodes?.panels).toEqual(expect.arrayContaining([{ title: 'CPU', row: true }, { title: 'CPU utilisation', row: false }]));
    expect(m.dashboards.map((d) => d.uid).sort()).toEqual(prod.stack.grafana?.provisionedDashboards.map((d) => d.uid).sort());
  });

  it('parses Kubernetes quantities', () => {
    expect(parseQuantity('250m')).toBeCloseTo(0.25);
    expect(parseQuantity('1536Mi')).toBe(1536 * 2 ** 20);
    expect(parseQuantity('2G')).toBe(2e9);
    expect(parseQuantity('lots')).toBeUndefined();
  });
});

describe('the page', () => {
  it('is one self-contained file: inline style and SVG, nothing fetched, no script', () => {
    const page = renderReport(prod);
    expect(page.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(page).toContain('<svg id="diagram"');
    expect(page).toContain("default-src 'none'");
    expect(page).not.toMatch(/<script|<link|<img|@import|url\(http|src="/i);
    // Addresses may be shown as text (the runbook base), never in an attribute that loads or links them.
    expect(page).not.toMatch(/(?:src|href|action|data)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    for (const id of ['prometheus', 'alertmanager', 'grafana', 'elasticsearch', 'postgres']) expect(page).toContain(`data-component="${id}"`);
    expect(page).toContain('data-total="storage">1.07 TiB');
  });

  it('is the same for the same input', () => {
    expect(renderReport(dev)).toBe(renderReport(synthEnvironment(example('dev')).result));
  });

  it('escapes every text it shows', () => {
    expect(escapeHtml(`<a href='x'>"&"</a>`)).toBe('&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;');
  });
});

const HOSTILE = `<script>alert("x")</script> & 'q'`;
const HOSTILE_ESCAPED = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;';

describe('hostile text from an environment and a project', () => {
  let dir: string;

  beforeAll(() => {
    const base = join(ROOT, 'node_modules', '.cache', 'obstack-tests');
    mkdirSync(base, { recursive: true });
    dir = mkdtempSync(join(base, 'report-'));
    const write = (rel: string, text: string) => {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), text);
    };
    write('package.json', JSON.stringify({ name: 'team', type: 'module' }));
    write('environments/hostile.yaml', `name: hostile
components:
  prometheus:
    externalLabels: { cluster: ${JSON.stringify(HOSTILE)} }
alerting:
  runbookBaseUrl: ${JSON.stringify(`https://wiki.example.com/${HOSTILE}`)}
  receivers:
    pagerduty: { routingKey: { secretName: pd, key: k } }
    slack: { channel: "#a", apiUrl: { secretName: s, key: k } }
teams:
  shop:
    namespaces: [shop]
    receivers:
      pagerduty: { routingKey: { secretName: shop, key: pd } }
      slack: { channel: "#shop", apiUrl: { secretName: shop, key: slack } }
    grafana: { folder: "Shop <b>&amp; 'co'" }
`);
    write('rules/orders.ts', `import { alert, defineRules, group } from 'obstack';
export default defineRules({
  team: 'shop',
  metrics: [{ source: 'orders', reference: 'orders /metrics', metrics: { orders_total: 'counter' } }],
  rules: (env) => [group({ name: 'shop.orders', rules: [alert({
    alert: 'OrdersStopped', expr: 'sum by (namespace, service, instance) (rate(orders_total[10m])) == 0', for: '15m', severity: 'P3', service: 'orders',
    summary: ${JSON.stringify(`No orders on {{ $labels.instance }} ${HOSTILE}`)}, description: 'No order for 15 minutes.', runbook: env.alerting.runbookBaseUrl + '#ordersstopped',
  })] })],
});
`);
    write('dashboards/orders.ts', `import { defineDashboard, promql, section, stackDashboard, timeseriesPanel, units } from 'obstack';
export default defineDashboard({
  uid: 'shop-orders', team: 'shop', requires: ['prometheus'],
  build: () => section(stackDashboard({ uid: 'shop-orders', title: ${JSON.stringify(`Orders ${HOSTILE}`)}, description: 'Orders.', datasources: ['prometheus'] }), 'Orders', [
    timeseriesPanel({ title: ${JSON.stringify(`Rate ${HOSTILE}`)}, description: 'Orders per second.', unit: units.OpsPerSecond, queries: [promql('sum(rate(orders_total[5m]))')] }),
  ]),
});
`);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('appear escaped, never as markup', async () => {
    const project = await loadProject(dir, { alias: ALIAS });
    const [env] = project.environments;
    const page = renderReport(synthEnvironment(env!, { content: project.content }).result);
    expect(page).not.toContain('<script');
    expect(page).not.toContain('<b>');
    // The environment's external label and runbook address, the team's folder, the alert's summary, the dashboard's and its panel's titles.
    expect(page).toContain(`<code>cluster=${HOSTILE_ESCAPED}</code>`);
    expect(page).toContain(`https://wiki.example.com/${HOSTILE_ESCAPED}`);
    expect(page).toContain('Shop &lt;b&gt;&amp;amp; &#39;co&#39;');
    expect(page).toContain(`No orders on {{ $labels.instance }} ${HOSTILE_ESCAPED}`);
    expect(page).toContain(`<strong>Orders ${HOSTILE_ESCAPED}</strong>`);
    expect(page).toContain(`Rate ${HOSTILE_ESCAPED}`);
  });
});

describe('obstack report', () => {
  let out: string;
  let stderr: string;
  beforeAll(() => {
    out = mkdtempSync(join(ROOT, 'node_modules', '.cache', 'obstack-report-cli-'));
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  async function report(...args: string[]): Promise<number> {
    stderr = '';
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      stderr += String(s);
      return true;
    });
    const std = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      return await run(['report', '--project', ROOT, ...args]);
    } finally {
      err.mockRestore();
      std.mockRestore();
    }
  }

  it('writes the report of one environment, creating its folder', async () => {
    const file = join(out, 'nested', 'prod.html');
    expect(await report('--env', 'prod', '--out', file)).toBe(0);
    const page = readFileSync(file, 'utf8');
    expect(page).toContain('obstack environment “prod”');
    expect(page).toContain('data-component="kibana"');
  });

  it('refuses a missing, wrong or unwritable --out before synthesizing, and writes nothing', async () => {
    expect(await report('--env', 'prod')).toBe(1);
    expect(stderr).toMatch(/report needs --out FILE\.html/);
    expect(await report('--env', 'prod', '--out', join(out, 'prod.txt'))).toBe(1);
    expect(stderr).toMatch(/--out must name an \.html file/);
    writeFileSync(join(out, 'a-file'), '');
    expect(await report('--env', 'prod', '--out', join(out, 'a-file', 'prod.html'))).toBe(1);
    expect(stderr).toMatch(/a-file is a file, not a folder; nothing was written/);
    mkdirSync(join(out, 'folder.html'));
    expect(await report('--env', 'prod', '--out', join(out, 'folder.html'))).toBe(1);
    expect(stderr).toMatch(/is a folder, not a file/);
    expect(await report('--env', 'prod', '--out', '/proc/obstack-report/prod.html')).toBe(1);
    expect(stderr).toMatch(/cannot be written \(E[A-Z]+\); nothing was written/);
    // Refused before the environment was even read: a wrong name is not reported.
    expect(await report('--env', 'no-such-env')).toBe(1);
    expect(stderr).toMatch(/report needs --out/);
    expect(existsSync(join(out, 'prod.txt'))).toBe(false);
  });

  it('covers exactly one environment', async () => {
    expect(await report('--out', join(out, 'all.html'))).toBe(1);
    expect(stderr).toMatch(/report covers one environment, got 3/);
    expect(existsSync(join(out, 'all.html'))).toBe(false);
  });
});
