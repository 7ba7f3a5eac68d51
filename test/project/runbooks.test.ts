import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadProject, synth } from '../../src/project/index.js';
import { SOURCE_ALIAS, writeProjectFile } from '../support/project.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ALIAS = SOURCE_ALIAS;

let dir: string;

const write = (rel: string, text: string): void => writeProjectFile(dir, rel, text);

const ENV = `name: dev
alerting:
  receivers:
    pagerduty: { routingKey: { secretName: pd, key: k } }
    slack: { channel: "#a", apiUrl: { secretName: s, key: k } }
teams:
  shop:
    namespaces: [shop]
    receivers:
      pagerduty: { routingKey: { secretName: shop, key: pd } }
      slack: { channel: "#shop", apiUrl: { secretName: shop, key: slack } }
gitops:
  argocd: { repoURL: "https://github.com/acme/observability.git", targetRevision: main }
`;

const AREA = `import { alert, defineRules, group, runbooks } from 'obstack';
export default defineRules({
  team: 'shop',
  metrics: [{ source: 'orders', reference: 'orders /metrics', metrics: { orders_total: 'counter', orders_failed_total: 'counter' } }],
  rules: (env) => [group({ name: 'shop.orders', rules: [
    alert({
      alert: 'OrdersStopped', expr: 'sum by (namespace, service) (rate(orders_total[10m])) == 0', for: '15m', severity: 'P3', service: 'orders',
      summary: 'No orders', description: 'No order for 15 minutes.', runbook: runbooks(env)('OrdersStopped'),
    }),
    alert({
      alert: 'OrdersFailing', threshold: 0.1, expr: (t) => 'sum by (namespace) (rate(orders_failed_total[5m])) / sum by (namespace) (rate(orders_total[5m])) > ' + t,
      for: '5m', severity: 'P2', service: 'orders',
      summary: 'Orders fail', description: ({ threshold }) => 'More than ' + threshold * 100 + '% of the orders fail.',
      runbook: { impact: 'Customers cannot pay.', causes: ['The payment provider refuses the API key.'], checks: ['The payment provider status page.'] },
    }),
  ] })],
});
`;

beforeEach(() => {
  // Inside the checkout, so that the compiled content resolves cdk8s, zod and the rest from its node_modules.
  const base = join(ROOT, 'node_modules', '.cache', 'obstack-tests');
  mkdirSync(base, { recursive: true });
  dir = mkdtempSync(join(base, 'runbooks-'));
  write('package.json', JSON.stringify({ name: 'team', type: 'module' }));
  write('environments/dev.yaml', ENV);
  write('rules/orders.ts', AREA);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("a project's own alerts", () => {
  it('get runbook pages in dist/<env>.files/runbooks, linked from the repository Argo CD reads', async () => {
    const project = await loadProject(dir, { alias: ALIAS });
    const out = join(dir, 'dist');
    const report = synth({ environments: project.environments, content: project.content, out });
    expect(report.environments[0]?.findings).toEqual([]);
    const base = 'https://github.com/acme/observability/blob/main/dist/dev.files/runbooks';
    expect(project.environments[0]?.alerting.runbookBaseUrl).toBe(base);

    const file = parse(readFileSync(join(out, 'dev.files', 'rules', 'orders.yaml'), 'utf8')) as { groups: { rules: { alert: string; annotations: Record<string, string> }[] }[] };
    const url = (name: string) => file.groups[0]?.rules.find((r) => r.alert === name)?.annotations.runbook_url;
    expect(url('OrdersStopped')).toBe(`${base}/orders-stopped.md`);
    expect(url('OrdersFailing')).toBe(`${base}/orders-failing.md`);

    const stopped = readFileSync(join(out, 'dev.files', 'runbooks', 'orders-stopped.md'), 'utf8');
    expect(stopped).toContain('```promql\nsum by (namespace, service) (rate(orders_total[10m])) == 0\n```');
    expect(stopped).toContain('| Team | `shop` |');
    expect(stopped).toContain('- `team-shop`: Slack #shop');
    const failing = readFileSync(join(out, 'dev.files', 'runbooks', 'orders-failing.md'), 'utf8');
    expect(failing).toContain('## Impact\n\nCustomers cannot pay.\n');
    expect(failing).toContain('More than 10% of the orders fail.');
    // P2 pages the team's own PagerDuty.
    expect(failing).toContain('- `team-shop-pager`: PagerDuty');
    expect(readFileSync(join(out, 'dev.files', 'runbooks', 'README.md'), 'utf8')).toContain('| [OrdersFailing](orders-failing.md) | `orders` | `shop` | Orders fail |');

    // The manifests' folder stays Kubernetes objects and the Kustomization only.
    expect(readdirSync(join(out, 'dev')).filter((f) => !f.endsWith('.k8s.yaml') && f !== 'Kustomization')).toEqual([]);
    expect(existsSync(join(out, 'dev', 'runbooks'))).toBe(false);
  });
});
