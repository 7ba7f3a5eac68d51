import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { alert, defineRules, group, ownRunbookContent, runbookPageName, runbooks, type RuleFile } from '../../src/authoring/index.js';
import { diffEnvironment } from '../../src/cli/diff.js';
import { type Environment, loadEnvironmentFile, parseEnvironment } from '../../src/config/index.js';
import { synthEnvironment } from '../../src/project/index.js';
import { currentValueQueries } from '../../src/report/runbooks.js';
import { amtoolRoutesTest } from '../../src/validate/tools.js';
import { shippedRunbookNotes } from '../../rules/runbook-notes.js';
import { stackRuleGroups } from '../../rules/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const example = (name: string): Environment => loadEnvironmentFile(join(ROOT, 'examples', 'environments', `${name}.yaml`));

interface FileAlert {
  readonly file: string;
  readonly alert: string;
  readonly expr: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

function alertsOf(files: ReadonlyMap<string, string>): FileAlert[] {
  return [...files]
    .filter(([f]) => f.startsWith('rules/'))
    .flatMap(([file, text]) =>
      (parse(text) as RuleFile).groups.flatMap((g) =>
        g.rules.flatMap((r) => (r.alert ? [{ file, alert: r.alert, expr: r.expr, labels: r.labels ?? {}, annotations: r.annotations ?? {} }] : [])),
      ),
    );
}

const dir = mkdtempSync(join(tmpdir(), 'obstack-runbooks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The receivers an alert reaches according to amtool, for its static labels (templated values are left out). */
function amtoolReceivers(env: string, alertmanagerYml: string): (a: FileAlert) => string[] {
  const file = join(dir, `${env}-alertmanager.yml`);
  writeFileSync(file, alertmanagerYml);
  const cache = new Map<string, string[]>();
  // A route can only tell alerts apart by name when the file names alerts; otherwise one call per label set is enough.
  const byName = (name: string) => alertmanagerYml.includes('alertname=~') || alertmanagerYml.includes(`alertname="${name}"`);
  return (a) => {
    const labels = Object.fromEntries(Object.entries(a.labels).filter(([, v]) => !v.includes('{{')));
    const key = JSON.stringify([byName(a.alert) ? a.alert : '', Object.entries(labels).sort()]);
    if (!cache.has(key)) cache.set(key, amtoolRoutesTest(file, { alertname: a.alert, ...labels }));
    return cache.get(key)!;
  };
}

describe('runbook pages', () => {
  it.each(['dev', 'staging', 'prod'])('%s: every alert links to a page that exists, with its expression and the receivers amtool routes it to', (name) => {
    const env = example(name);
    const { files } = synthEnvironment(env).result;
    const base = env.alerting.runbookBaseUrl;
    const alerts = alertsOf(files);
    expect(alerts.length).toBeGreaterThan(50);
    const receivers = amtoolReceivers(name, files.get('alertmanager.yml') ?? '');
    const index = files.get('runbooks/README.md') ?? '';
    for (const a of alerts) {
      const url = a.annotations.runbook_url ?? '';
      expect(url.startsWith(`${base}/`), `${a.alert}: ${url} is not under ${base}`).toBe(true);
      const page = files.get(`runbooks/${url.slice(base.length + 1)}`);
      expect(page, `${a.alert}: no page for ${url}`).toBeDefined();
      expect(page).toContain(`# ${a.alert}\n`);
      expect(page).toContain(`\`\`\`promql\n${a.expr}\n\`\`\``);
      if (a.labels.service !== undefined && !a.labels.service.includes('{{')) expect(page).toContain(`| Service | \`${a.labels.service}\` |`);
      const reached = receivers(a);
      expect(reached.length).toBeGreaterThan(0);
      for (const receiver of reached) expect(page, `${a.alert} (${a.labels.severity}) reaches ${receiver}`).toContain(`- \`${receiver}\`: `);
      expect(index).toContain(`[${a.alert}](${runbookPageName(a.alert)})`);
    }
    // One page per alert name (the four SLO rules of a name share theirs) and the index: nothing else in the folder.
    const pages = [...files.keys()].filter((f) => f.startsWith('runbooks/'));
    expect(pages.sort()).toEqual([...new Set(alerts.map((a) => `runbooks/${runbookPageName(a.alert)}`)), 'runbooks/README.md'].sort());
  });

  it('give the P1 and P2 alerts that have notes their own text, and the others their area\'s', () => {
    const env = example('prod');
    const { files } = synthEnvironment(env).result;
    const notes = shippedRunbookNotes({ namespace: env.namespace });
    const page = (alertName: string) => files.get(`runbooks/${runbookPageName(alertName)}`) ?? '';
    expect(page('IngestDatabaseDown')).toContain(notes.alerts.IngestDatabaseDown!.impact);
    expect(page('IngestDatabaseDown')).toContain(`kubectl -n ${env.namespace} get pods -l app.kubernetes.io/name=ingest-postgres`);
    expect(page('NodeMemoryHigh')).toContain(notes.alerts.NodeMemoryHigh!.causes[0]);
    // NodeExporterDown (P3) has no notes of its own.
    expect(notes.alerts.NodeExporterDown).toBeUndefined();
    expect(page('NodeExporterDown')).toContain(`## Impact\n\n${notes.areas.node!.impact}\n`);
  });

  it('give every shipped P1 and P2 alert notes of its own, and every shipped area notes for its other alerts', () => {
    for (const name of ['dev', 'prod']) {
      const env = example(name);
      const notes = shippedRunbookNotes({ namespace: env.namespace });
      const areas = stackRuleGroups(env);
      const urgent = Object.values(areas)
        .flat()
        .flatMap((g) => g.rules.filter((r) => r.kind === 'alert' && ['P1', 'P2'].includes(r.labels.severity ?? '')).map((r) => r.name));
      expect(urgent.length).toBeGreaterThan(10);
      // An alert may carry its notes itself (the remote-write alerts do).
      const own = ownRunbookContent(Object.values(areas).flat());
      expect([...new Set(urgent)].filter((a) => notes.alerts[a] === undefined && !own.has(a))).toEqual([]);
      expect(Object.keys(areas).map((f) => f.replace(/\.yaml$/, '')).filter((a) => notes.areas[a] === undefined)).toEqual([]);
    }
  });

  it('keep notes only for alerts the stack ships', () => {
    const env = example('dev');
    // dev leaves out the control-plane parts a local cluster hides; prod ships every alert.
    const shipped = new Set(['dev', 'prod'].flatMap((name) => Object.values(stackRuleGroups(example(name as 'dev' | 'prod'))).flat().flatMap((g) => g.rules.filter((r) => r.kind === 'alert').map((r) => r.name))));
    const notes = shippedRunbookNotes({ namespace: env.namespace });
    expect(Object.keys(notes.alerts).filter((a) => !shipped.has(a))).toEqual([]);
    expect(Object.keys(notes.areas).filter((a) => !Object.keys(stackRuleGroups(env)).includes(`${a}.yaml`))).toEqual([]);
  });

  it("state the environment's threshold, duration and dashboard link, and the expression without its comparison", () => {
    const env = example('prod');
    const overridden = withOverrides('prod', { NodeMemoryHigh: { threshold: 80, for: '20m' } });
    const before = synthEnvironment(env).result.files;
    const after = synthEnvironment(overridden).result.files;
    const page = after.get('runbooks/node-memory-high.md') ?? '';
    expect(page).toContain('node_memory_MemTotal_bytes{job="node-exporter"}) > 80\n```');
    expect(page).toContain('```promql\n100 * (1 - node_memory_MemAvailable_bytes{job="node-exporter"} / node_memory_MemTotal_bytes{job="node-exporter"})\n```');
    expect(page).toContain('has held for **20m**');
    expect(page).toContain('above 80%');
    const memory = alertsOf(after).find((a) => a.alert === 'NodeMemoryHigh')!;
    expect(memory.annotations.dashboard_url).toBeDefined();
    expect(page).toContain(`[\`${memory.annotations.dashboard_uid}\`](${memory.annotations.dashboard_url})`);
    // `obstack diff` sees the page change with the rule file.
    const changed = diffEnvironment(before, after).files.map((f) => f.file);
    expect(changed).toContain('rules/node.yaml');
    expect(changed).toContain('runbooks/node-memory-high.md');
  });

  it("write a page for an alert that brings its content, and none for one that names its own URL", () => {
    const env = withFields('dev', {
      teams: { shop: { namespaces: ['shop'], receivers: { pagerduty: { routingKey: { secretName: 'shop', key: 'pd' } }, slack: { channel: '#shop', apiUrl: { secretName: 'shop', key: 'slack' } } } } },
    });
    const area = defineRules({
      name: 'orders',
      team: 'shop',
      rules: (e) => [
        group({
          name: 'shop.orders',
          rules: [
            alert({
              alert: 'OrdersStopped', expr: 'sum by (namespace) (rate(orders_total[10m])) == 0', for: '15m', severity: 'P2', service: 'orders',
              summary: 'No orders', description: 'No order for 15 minutes.',
              runbook: { impact: 'Customers cannot check out.', causes: ['The payment provider is down.'], checks: ['The checkout logs.'] },
            }),
            alert({
              alert: 'OrdersSlow', expr: 'histogram_quantile(0.9, sum by (le) (rate(orders_seconds_bucket[5m]))) > 3', severity: 'P3', service: 'orders',
              summary: 'Slow orders', description: 'Orders are slow.', runbook: runbooks(e)('OrdersSlow'),
            }),
            alert({
              alert: 'OrdersRefunded', expr: 'sum(rate(orders_refunded_total[1h])) > 1', severity: 'P4', service: 'orders',
              summary: 'Refunds', description: 'Many refunds.', runbook: 'https://wiki.example.com/shop/refunds',
            }),
          ],
        }),
      ],
    });
    const { files } = synthEnvironment(env, { content: { ruleAreas: [area] } }).result;
    const rules = alertsOf(files).filter((a) => a.file === 'rules/orders.yaml');
    const url = (name: string) => rules.find((a) => a.alert === name)?.annotations.runbook_url;
    expect(url('OrdersStopped')).toBe(`${env.alerting.runbookBaseUrl}/orders-stopped.md`);
    const stopped = files.get('runbooks/orders-stopped.md') ?? '';
    expect(stopped).toContain('## Impact\n\nCustomers cannot check out.\n');
    expect(stopped).toContain('- The payment provider is down.');
    expect(stopped).toContain('1. The checkout logs.');
    expect(stopped).toContain('| Team | `shop` |');
    // The team's own receivers, as amtool routes the alert.
    const reached = amtoolReceivers('dev-shop', files.get('alertmanager.yml') ?? '')(rules.find((a) => a.alert === 'OrdersStopped')!);
    expect(reached.some((r) => r.includes('shop'))).toBe(true);
    for (const receiver of reached) expect(stopped).toContain(`- \`${receiver}\`: `);
    // Without content of its own, a team's alert gets its area's generic text.
    expect(files.get('runbooks/orders-slow.md')).toContain('an alert of the `orders` area, owned by team `shop`');
    expect(url('OrdersRefunded')).toBe('https://wiki.example.com/shop/refunds');
    expect(files.has('runbooks/orders-refunded.md')).toBe(false);
    expect(files.get('runbooks/README.md')).toContain('| [OrdersRefunded](https://wiki.example.com/shop/refunds) (own runbook) |');
  });

  it('refuse runbook content without an impact or a cause, naming the field', () => {
    const def = { alert: 'Probe', expr: 'up == 0', severity: 'P3', service: 's', summary: 's', description: 'd' } as const;
    expect(() => alert({ ...def, runbook: { impact: ' ', causes: ['x'] } })).toThrow('rule Probe: runbook.impact must not be empty');
    expect(() => alert({ ...def, runbook: { impact: 'i', causes: [] } })).toThrow('rule Probe: runbook.causes must list at least one likely cause');
    expect(() => alert({ ...def, runbook: { impact: 'i', causes: ['x'], checks: [''] } })).toThrow('rule Probe: runbook.checks[0] must be a text that is not empty');
  });
});

describe('the expression without its threshold', () => {
  it.each([
    ['up{job="x"} == 0', ['up{job="x"}']],
    ['100 * (count by (job) (up == 0) / count by (job) (up)) > 10', ['100 * (count by (job) (up == 0) / count by (job) (up))']],
    ['a > (14.4 * (1 - 0.999))\nand\nb > (14.4 * (1 - 0.999))', ['a', 'b']],
    ['rate(x[5m]) > 0 and rate(y[5m]) == 0', ['rate(x[5m])', 'rate(y[5m])']],
    ['predict_linear(q[5m], 1800) > min_over_time(c[5m])', ['predict_linear(q[5m], 1800)', 'min_over_time(c[5m])']],
    ['0.5 < x', ['x']],
    ['up == bool 0', ['up == bool 0']],
    ['vector(1)', ['vector(1)']],
    ['absent(up{job="x"})', ['absent(up{job="x"})']],
    ['up ==', []],
  ])('%s', (expr, expected) => {
    expect(currentValueQueries(expr)).toEqual(expected);
  });
});

describe('page names', () => {
  it.each([
    ['NodeMemoryHigh', 'node-memory-high.md'],
    ['AIServiceDown', 'ai-service-down.md'],
    ['HighLatencyP95', 'high-latency-p95.md'],
    ['KubeContainerOOMKilled', 'kube-container-oom-killed.md'],
    ['legacy_alert_Name', 'legacy-alert-name.md'],
  ])('%s → %s', (name, page) => {
    expect(runbookPageName(name)).toBe(page);
  });
});

/** An example environment file's own fields, read again. */
function raw(name: string): { alerting: { overrides?: Record<string, unknown> } } {
  return parse(readFileSync(join(ROOT, 'examples', 'environments', `${name}.yaml`), 'utf8')) as { alerting: { overrides?: Record<string, unknown> } };
}

/** An example environment with alert overrides added to its own. */
function withOverrides(name: string, overrides: Record<string, unknown>): Environment {
  const r = raw(name);
  return parseEnvironment({ ...r, alerting: { ...r.alerting, overrides: { ...r.alerting.overrides, ...overrides } } });
}

/** An example environment with some top-level fields replaced. */
function withFields(name: string, fields: Record<string, unknown>): Environment {
  return parseEnvironment({ ...raw(name), ...fields });
}
