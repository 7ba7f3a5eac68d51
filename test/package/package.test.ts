/**
 * obstack as a team adopts it: the packed tarball installed in an empty
 * folder, `obstack init`, the scaffold's own tests and synth, a plain ESM
 * consumer checked by tsc --strict, an alert with its dashboard added in two
 * files, and examples/custom-stack built on the tarball.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '..', '..');
const own = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
const MINUTES = 60_000;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

let work: string;
let tarball: string;

function sh(cwd: string, cmd: string, args: readonly string[], opts: { readonly ok?: boolean } = {}): { code: number; out: string } {
  try {
    const out = execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', CDK8S_CHECK_UPGRADE: 'false', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, out: out.replace(ANSI, '') };
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    const result = { code: err.status ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}`.replace(ANSI, '') };
    if (opts.ok !== false) throw new Error(`${cmd} ${args.join(' ')} in ${cwd} exited ${result.code}:\n${result.out.slice(-4000)}`);
    return result;
  }
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'obstack-package-'));
  // npm pack runs the prepack build: lib/ with JavaScript and declarations.
  const packed = sh(ROOT, 'npm', ['pack', '--pack-destination', work, '--json']).out;
  const [info] = JSON.parse(packed.slice(packed.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  if (!info) throw new Error('npm pack printed no package');
  tarball = join(work, info.filename);
}, 10 * MINUTES);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('is public, Apache-2.0, ships compiled JavaScript with declarations, and no sources or tests', () => {
    const files = sh(work, 'tar', ['tzf', tarball]).out.split('\n').filter(Boolean);
    const pkg = JSON.parse(sh(work, 'tar', ['xzOf', tarball, 'package/package.json']).out) as Record<string, unknown>;
    expect(pkg.private).toBeUndefined();
    expect(pkg.license).toBe('Apache-2.0');
    expect(pkg.peerDependencies).toMatchObject({ cdk8s: expect.any(String), constructs: expect.any(String) });
    expect((pkg.dependencies as Record<string, string>).cdk8s).toBeUndefined();
    expect(files).toContain('package/LICENSE');
    expect(files).toContain('package/lib/src/index.js');
    expect(files).toContain('package/lib/src/index.d.ts');
    expect(files).toContain('package/lib/templates/logstash/pipeline.conf.hbs');
    expect(files).toContain('package/schema/environment.schema.json');
    // TypeScript ships only as declarations, and as the scaffold `obstack init` copies into a new project.
    expect(files.filter((f) => f.startsWith('package/src/') || f.startsWith('package/test/') || (f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('package/scaffold/')))).toEqual([]);
  });
});

describe('in an empty folder', () => {
  let consumer: string;

  beforeAll(() => {
    consumer = join(work, 'consumer');
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2)}\n`);
    sh(consumer, 'npm', ['install', '--prefer-offline', tarball, `typescript@${own.devDependencies.typescript}`, `@types/node@${own.devDependencies['@types/node']}`]);
  }, 10 * MINUTES);

  it('installs one copy of cdk8s and constructs, shared with the consumer', () => {
    const tree = sh(consumer, 'npm', ['ls', 'cdk8s', 'constructs', '--all', '--parseable']).out.split('\n').filter(Boolean);
    expect(tree.filter((p) => p.endsWith('/cdk8s'))).toHaveLength(1);
    expect(tree.filter((p) => p.endsWith('/constructs'))).toHaveLength(1);
  });

  it('runs the obstack command from node_modules/.bin without a TypeScript loader', () => {
    const help = sh(consumer, 'npx', ['obstack', '--help']).out;
    expect(help).toContain('usage: obstack');
    expect(existsSync(join(consumer, 'node_modules', 'obstack', 'src'))).toBe(false);
    const missing = sh(consumer, 'npx', ['obstack', 'synth', '--file', 'nope.yaml'], { ok: false });
    expect(missing.code).toBe(1);
    expect(missing.out).toContain('nope.yaml');
    expect(missing.out).not.toMatch(/\n\s+at /);
  });

  it('lets a plain ESM file import from obstack, type-checked by tsc --strict, and compose ObservabilityStack in its own App', () => {
    writeFileSync(
      join(consumer, 'stack.mjs'),
      `// @ts-check
import { App } from 'cdk8s';
import { ObservabilityStack, alert, group, parseEnvironment, compileRuleFile, stackRuleFiles, synth } from 'obstack';

const environment = parseEnvironment({
  name: 'mine',
  alerting: {
    receivers: {
      pagerduty: { routingKey: { secretName: 'pd', key: 'key' } },
      slack: { channel: '#alerts', apiUrl: { secretName: 'slack', key: 'url' } },
    },
  },
});
const app = new App();
const stack = new ObservabilityStack(app, 'mine', { environment, ruleFiles: stackRuleFiles(environment) });
const yaml = app.synthYaml();
/** @type {string} */
const rules = compileRuleFile([
  group({ name: 'mine', rules: [alert({ alert: 'Mine', expr: 'up == 0', severity: 'P3', service: 'mine', summary: 's', description: 'd', runbook: 'https://runbooks/mine' })] }),
]);
const report = synth({ environments: [environment] });
console.log(JSON.stringify({ kinds: new Set(stack.toJson().map((o) => o.kind)).size, bytes: yaml.length, rules: rules.includes('alert: Mine'), ok: report.ok }));
`,
    );
    const tsc = sh(consumer, 'npx', ['tsc', '--strict', '--checkJs', '--allowJs', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node', 'stack.mjs'], { ok: false });
    expect(tsc.out).toBe('');
    expect(tsc.code).toBe(0);
    const run = JSON.parse(sh(consumer, 'node', ['stack.mjs']).out) as { kinds: number; bytes: number; rules: boolean; ok: boolean };
    expect(run.kinds).toBeGreaterThan(10);
    expect(run.bytes).toBeGreaterThan(100_000);
    expect(run.rules).toBe(true);
    expect(run.ok).toBe(true);
  });

  describe('obstack init team', () => {
    let team: string;

    beforeAll(() => {
      sh(consumer, 'npx', ['obstack', 'init', 'team']);
      team = join(consumer, 'team');
      sh(team, 'npm', ['install', '--prefer-offline']);
    }, 10 * MINUTES);

    it('scaffolds a repository that depends on the installed obstack', () => {
      const pkg = JSON.parse(readFileSync(join(team, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
      expect(pkg.dependencies.obstack).toBe(`file:../../${tarball.split('/').pop()}`);
      for (const f of ['environments/dev.yaml', 'environments/prod.yaml', 'rules/checkout.ts', 'dashboards/checkout.ts', 'metrics/checkout.ts', 'test/stack.test.ts', 'README.md', '.github/workflows/ci.yml', '.gitignore']) {
        expect(existsSync(join(team, f)), f).toBe(true);
      }
      const ci = parse(readFileSync(join(team, '.github', 'workflows', 'ci.yml'), 'utf8')) as { jobs: { check: { steps: { run?: string }[] } } };
      expect(ci.jobs.check.steps.map((s) => s.run ?? '')).toEqual(expect.arrayContaining(['npm ci', 'npm test']));
    });

    it('refuses to scaffold over a folder that is not empty', () => {
      const again = sh(consumer, 'npx', ['obstack', 'init', 'team'], { ok: false });
      expect(again.code).toBe(1);
      expect(again.out).toContain('is not empty');
    });

    it('passes its own npm test out of the box', () => {
      const out = sh(team, 'npm', ['test']).out;
      expect(out).toMatch(/Tests\s+\S*\s*8 passed/);
    });

    it('synthesizes every environment with its own alert and dashboard, linked and checked', () => {
      const out = sh(team, 'npx', ['obstack', 'synth', '--all']).out;
      expect(out).toContain('wrote dist/dev');
      expect(out).toContain('wrote dist/prod');
      const rules = readFileSync(join(team, 'dist', 'prod.files', 'rules', 'checkout.yaml'), 'utf8');
      expect(rules).toContain('alert: CheckoutOrdersFailing');
      expect(rules).toContain('team: shop');
      expect(rules).toMatch(/dashboard_url: \S+\/d\/shop-checkout/);
      expect(existsSync(join(team, 'dist', 'prod.files', 'dashboards', 'shop-checkout.json'))).toBe(true);
    });

    it('takes an alert with its own dashboard in two new files, wired and checked like the shipped ones', () => {
      const before = new Set(listFiles(team));
      writeFileSync(
        join(team, 'rules', 'inventory.ts'),
        `import { alert, defineMetrics, defineRules, firesWhen, group, runbooks, silentWhen } from 'obstack';

export default defineRules({
  team: 'shop',
  dashboard: 'shop-inventory',
  metrics: [defineMetrics({ source: 'inventory', reference: 'inventory /metrics', metrics: { inventory_stock_items: 'gauge' } })],
  rules: (env) => [
    group({
      name: 'shop.inventory',
      rules: [
        alert({
          alert: 'InventoryOutOfStock',
          expr: 'min by (namespace, service, sku) (inventory_stock_items) == 0',
          for: '15m',
          severity: 'P3',
          service: 'inventory',
          summary: 'SKU {{ $labels.sku }} is out of stock',
          description: 'No item of {{ $labels.sku }} has been in stock for 15 minutes.',
          runbook: runbooks(env)('InventoryOutOfStock'),
          tests: [
            firesWhen('a SKU is out of stock', { 'inventory_stock_items{namespace="shop",service="inventory",sku="a"}': '0x30' }, '20m', { namespace: 'shop', service: 'inventory', sku: 'a' }),
            silentWhen('every SKU is in stock', { 'inventory_stock_items{namespace="shop",service="inventory",sku="a"}': '5x30' }, '20m'),
          ],
        }),
      ],
    }),
  ],
});
`,
      );
      writeFileSync(
        join(team, 'dashboards', 'inventory.ts'),
        `import { defineDashboard, promql, section, stackDashboard, timeseriesPanel, units } from 'obstack';

export default defineDashboard({
  uid: 'shop-inventory',
  team: 'shop',
  requires: ['prometheus'],
  build: () =>
    section(stackDashboard({ uid: 'shop-inventory', title: 'Inventory', description: 'Stock by SKU.', datasources: ['prometheus'] }), 'Stock', [
      timeseriesPanel({ title: 'Items in stock', description: 'Items in stock per SKU; zero pages nobody but shows on the team channel.', unit: units.Short, queries: [promql('sum by (sku) (inventory_stock_items)', '{{sku}}')] }),
    ]),
});
`,
      );
      const added = listFiles(team).filter((f) => !before.has(f));
      expect(added.sort()).toEqual(['dashboards/inventory.ts', 'rules/inventory.ts']);
      sh(team, 'npx', ['obstack', 'synth', '--all']);
      const rules = readFileSync(join(team, 'dist', 'dev.files', 'rules', 'inventory.yaml'), 'utf8');
      expect(rules).toContain('alert: InventoryOutOfStock');
      expect(rules).toContain('team: shop');
      expect(rules).toMatch(/dashboard_url: \S+\/d\/shop-inventory/);
      expect(existsSync(join(team, 'dist', 'dev.files', 'dashboards', 'shop-inventory.json'))).toBe(true);
      const tested = sh(team, 'npx', ['obstack', 'test']).out;
      expect(tested).toMatch(/4 promtool case\(s\) over 2 rule area\(s\).*passed/);
    });

    it('refuses an alert that reads a metric nobody produces, and leaves dist/ as it was', () => {
      const file = join(team, 'rules', 'inventory.ts');
      const text = readFileSync(file, 'utf8');
      const before = readFileSync(join(team, 'dist', 'dev.files', 'rules', 'inventory.yaml'), 'utf8');
      writeFileSync(file, text.replace("metrics: [defineMetrics({ source: 'inventory', reference: 'inventory /metrics', metrics: { inventory_stock_items: 'gauge' } })],\n", ''));
      try {
        const refused = sh(team, 'npx', ['obstack', 'synth', '--all'], { ok: false });
        expect(refused.code).toBe(1);
        expect(refused.out).toContain('inventory_stock_items');
        expect(refused.out).toContain('synth refused: nothing was written');
        expect(readFileSync(join(team, 'dist', 'dev.files', 'rules', 'inventory.yaml'), 'utf8')).toBe(before);
      } finally {
        writeFileSync(file, text);
      }
    });
  });
});

describe('examples/custom-stack on the packed package', () => {
  let dir: string;

  beforeAll(() => {
    dir = join(work, 'custom-stack');
    cpSync(join(ROOT, 'examples', 'custom-stack'), dir, { recursive: true, filter: (src) => !/(node_modules|dist|obstack\.tgz|package-lock\.json)$/.test(src) });
    cpSync(tarball, join(dir, 'obstack.tgz'));
    sh(dir, 'npm', ['install', '--prefer-offline']);
  }, 10 * MINUTES);

  it('passes its own tests', () => {
    const out = sh(dir, 'npm', ['test']).out;
    expect(out).toMatch(/Tests\s+\S*\s*9 passed/);
  });

  it('synthesizes dev and prod', () => {
    const out = sh(dir, 'npx', ['obstack', 'synth', '--all']).out;
    expect(out).toContain('wrote dist/dev');
    expect(out).toContain('wrote dist/prod');
  });
});

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) => {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) return ['node_modules', 'dist', '.github'].includes(e.name) ? [] : listFiles(dir, rel);
    return [rel];
  });
}
