import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError } from '../../src/config/index.js';
import { ContentError, loadProject, ProjectError, projectLayout, synth } from '../../src/project/index.js';
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
    grafana: { folder: Shop }
`;

const AREA = (extra = '') => `import { alert, defineRules, group } from 'obstack';
import { SERVICE } from './_shared';
export default defineRules({
  team: 'shop',
  dashboard: 'shop-orders',
  metrics: [{ source: 'orders', reference: 'orders /metrics', metrics: { orders_total: 'counter' } }],
  rules: (env) => [group({ name: 'shop.orders', rules: [alert({
    alert: 'OrdersStopped', expr: 'sum by (namespace, service) (rate(orders_total[10m])) == 0', for: '15m', severity: 'P3', service: SERVICE,
    summary: 'No orders', description: 'No order for 15 minutes.', runbook: env.alerting.runbookBaseUrl + '#ordersstopped',
  })] })],
  ${extra}
});
`;

const DASHBOARD = `import { defineDashboard, promql, section, stackDashboard, timeseriesPanel, units } from 'obstack';
export default defineDashboard({
  uid: 'shop-orders', team: 'shop', requires: ['prometheus'],
  build: () => section(stackDashboard({ uid: 'shop-orders', title: 'Orders', description: 'Orders.', datasources: ['prometheus'] }), 'Orders', [
    timeseriesPanel({ title: 'Orders', description: 'Orders per second.', unit: units.OpsPerSecond, queries: [promql('sum(rate(orders_total[5m]))')] }),
  ]),
});
`;

beforeEach(() => {
  // Inside the checkout, so that the compiled content resolves cdk8s, zod and the rest from its node_modules.
  const base = join(ROOT, 'node_modules', '.cache', 'obstack-tests');
  mkdirSync(base, { recursive: true });
  dir = mkdtempSync(join(base, 'project-'));
  write('package.json', JSON.stringify({ name: 'team', type: 'module' }));
  write('environments/dev.yaml', ENV);
  write('rules/_shared.ts', "export const SERVICE = 'orders';\n");
  write('rules/orders.ts', AREA());
  write('dashboards/orders.ts', DASHBOARD);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('a project of its own', () => {
  it('loads its rule areas (named by file), dashboards and metrics, and skips helpers named _*', async () => {
    const project = await loadProject(dir, { alias: ALIAS });
    expect(project.content.ruleAreas.map((a) => a.name)).toEqual(['orders']);
    expect(project.content.dashboards.map((d) => d.uid)).toEqual(['shop-orders']);
    expect(project.environments.map((e) => e.name)).toEqual(['dev']);
  });

  it("synthesizes the team's alert with its team label and dashboard link, the dashboard in the team's folder, checked against its metrics", async () => {
    const project = await loadProject(dir, { alias: ALIAS });
    const report = synth({ environments: project.environments, content: project.content });
    const [dev] = report.environments;
    expect(dev?.findings).toEqual([]);
    const file = parse(dev?.result.files.get('rules/orders.yaml') ?? '') as { groups: { rules: { alert: string; labels: Record<string, string>; annotations: Record<string, string> }[] }[] };
    const rule = file.groups[0]?.rules[0];
    expect(rule?.labels).toEqual({ severity: 'P3', service: 'orders', team: 'shop' });
    expect(rule?.annotations.dashboard_uid).toBe('shop-orders');
    expect(rule?.annotations.dashboard_url).toBe(`http://grafana.${project.environments[0]?.namespace}.svc.cluster.local:3000/d/shop-orders`);
    expect(dev?.result.stack.grafana?.provisionedDashboards.find((d) => d.uid === 'shop-orders')?.folder).toBe('Shop');
    expect(report.ok).toBe(true);
  });

  it('refuses an alert over a metric the catalog does not know, naming it', async () => {
    write('rules/orders.ts', AREA().replace("metrics: [{ source: 'orders', reference: 'orders /metrics', metrics: { orders_total: 'counter' } }],", ''));
    const project = await loadProject(dir, { alias: ALIAS });
    const report = synth({ environments: project.environments, content: project.content });
    expect(report.ok).toBe(false);
    expect(report.environments[0]?.findings.join('\n')).toContain('orders_total');
  });

  it('lets an environment drop the dashboard: the alert then links to nothing rather than to a missing dashboard', async () => {
    write('environments/dev.yaml', `${ENV}dashboards: { drop: [shop-orders] }\n`);
    const project = await loadProject(dir, { alias: ALIAS });
    const [dev] = synth({ environments: project.environments, content: project.content }).environments;
    expect(dev?.findings).toEqual([]);
    expect(dev?.result.files.get('rules/orders.yaml')).not.toContain('shop-orders');
  });

  it('lets an environment override and disable its alerts like the shipped ones, and refuses a misspelt name with the closest', async () => {
    write('environments/dev.yaml', `${ENV.replace('alerting:\n', 'alerting:\n  overrides: { OrdersStopped: { for: 30m } }\n')}`);
    const project = await loadProject(dir, { alias: ALIAS });
    expect(synth({ environments: project.environments, content: project.content }).environments[0]?.result.files.get('rules/orders.yaml')).toContain('for: 30m');
    write('environments/dev.yaml', `${ENV.replace('alerting:\n', 'alerting:\n  overrides: { OrdersStoped: { enabled: false } }\n')}`);
    await expect(loadProject(dir, { alias: ALIAS })).rejects.toThrow(/alerting\.overrides\.OrdersStoped: names no alert; did you mean "OrdersStopped"\?/);
  });

  it('names every file whose default export is not content, in one error', async () => {
    write('rules/broken.ts', 'export const rules = [];\n');
    write('dashboards/broken.ts', 'export default { uid: 42 };\n');
    const error = await loadProject(dir, { alias: ALIAS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProjectError);
    expect((error as Error).message).toMatch(/\(2 problems\)/);
    expect((error as Error).message).toMatch(/rules\/broken\.ts: must export default defineRules/);
    expect((error as Error).message).toMatch(/dashboards\/broken\.ts: must export default defineDashboard/);
  });

  it('reports a file that does not compile with its line', async () => {
    write('rules/orders.ts', 'export default defineRules({ rules: [ });\n');
    await expect(loadProject(dir, { alias: ALIAS })).rejects.toThrow(/rules\/orders\.ts:1:\d+: /);
  });

  it('refuses an area named like a shipped one, naming both', async () => {
    write('rules/node.ts', AREA());
    write('rules/orders.ts', "export { default } from './node';\n");
    const project = loadProject(dir, { alias: ALIAS });
    await expect(project).rejects.toBeInstanceOf(ContentError);
    await expect(loadProject(dir, { alias: ALIAS })).rejects.toThrow(/rule area "node" is defined twice, by the stack and by \S*rules\/node\.ts:/);
  });

  it('refuses content of a team the environment does not have, with the closest name', async () => {
    write('dashboards/orders.ts', DASHBOARD.replace("team: 'shop'", "team: 'shp'"));
    const project = await loadProject(dir, { alias: ALIAS });
    expect(() => synth({ environments: project.environments, content: project.content })).toThrow(ConfigError);
    expect(() => synth({ environments: project.environments, content: project.content })).toThrow(/has no team "shp", which dashboard "shop-orders" \(.*dashboards\/orders\.ts\) belongs to; did you mean "shop"\?/);
  });

  it('reads its folders from package.json, and refuses an unknown key there', () => {
    write('package.json', JSON.stringify({ name: 'team', obstack: { environments: 'envs', metrics: null } }));
    expect(projectLayout(dir)).toMatchObject({ environments: 'envs', rules: 'rules', dashboards: 'dashboards', metrics: null });
    write('package.json', JSON.stringify({ name: 'team', obstack: { enviroments: 'envs' } }));
    expect(() => projectLayout(dir)).toThrow(/unknown key\(s\) "enviroments"/);
  });
});
