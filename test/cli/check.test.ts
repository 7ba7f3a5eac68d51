import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { stackDashboards } from '../../dashboards/index.js';
import { stackRuleFiles } from '../../rules/index.js';
import { checkRouting, checkSynthesized } from '../../src/cli/check.js';
import { synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { RECEIVERS, TEMPLATES_FILE } from '../../src/constructs/index.js';
import { listExemptions } from '../../src/validate/index.js';
import { Components } from '../../src/config/index.js';
import { environment, example } from '../constructs/helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;

function synthesized(name: (typeof ENVIRONMENTS)[number]) {
  const env = example(name);
  return synthesizeEnvironment(env, { ruleFiles: stackRuleFiles(env), dashboards: stackDashboards(env) });
}

describe('every environment passes every check', () => {
  for (const name of ENVIRONMENTS) {
    it(`${name}: Kubernetes schema, security policy, promtool, amtool and routing`, () => {
      const result = synthesized(name);
      expect(result.files.has('prometheus.yml')).toBe(true);
      expect(result.files.has('alertmanager.yml')).toBe(true);
      expect(checkSynthesized(result, { tools: true })).toEqual([]);
    });

    it(`${name}: the only exemptions are node-exporter's and Filebeat's host access, each with its reason`, () => {
      const exemptions = listExemptions(synthesized(name).objects);
      expect(exemptions.map((e) => `${e.object} ${e.rule}`).sort()).toEqual([
        `DaemonSet/${example(name).namespace}/filebeat host-path`,
        `DaemonSet/${example(name).namespace}/node-exporter host-namespaces`,
        `DaemonSet/${example(name).namespace}/node-exporter host-path`,
      ]);
      for (const e of exemptions) expect(e.reason.length).toBeGreaterThan(20);
    });
  }
});

describe('the rule checks of an environment', () => {
  it('catch a rule that reads a metric nothing produces, before anything is applied', () => {
    const result = synthesized('dev');
    const files = new Map(result.files);
    const stack = files.get('rules/stack.yaml') ?? '';
    files.set('rules/stack.yaml', stack.replace('expr: vector(1)', 'expr: http_request_totl > 0'));
    const findings = checkSynthesized({ ...result, files }, { tools: false });
    expect(findings.some((f) => f.startsWith('[rules:unknown-metric] rules/stack.yaml') && f.includes('http_request_totl'))).toBe(true);
  });
});

describe('a short scrape interval', () => {
  it('gets a global scrape timeout no longer than itself, which promtool accepts', () => {
    const env = environment({ components: { prometheus: { scrapeInterval: '5s', evaluationInterval: '5s' } } });
    const result = synthesizeEnvironment(env, { ruleFiles: stackRuleFiles(env), dashboards: stackDashboards(env) });
    const global = (parse(result.files.get('prometheus.yml') ?? '') as { global: Record<string, string> }).global;
    expect(global).toMatchObject({ scrape_interval: '5s', scrape_timeout: '5s' });
    expect(checkSynthesized(result, { tools: true }).filter((f) => f.includes('promtool'))).toEqual([]);
  });
});

describe('the notification templates', () => {
  it('are written next to alertmanager.yml, and a broken one fails the amtool check', () => {
    const result = synthesized('dev');
    const templates = result.files.get(TEMPLATES_FILE);
    expect(templates).toContain('{{ define');
    expect(result.files.get('alertmanager.yml')).toContain(TEMPLATES_FILE);
    const files = new Map(result.files);
    files.set(TEMPLATES_FILE, `${templates}\n{{ define "broken" }}{{ .Unclosed \n`);
    const findings = checkSynthesized({ ...result, files }, { tools: true });
    expect(findings.some((f) => f.startsWith('[amtool-check-config] alertmanager.yml'))).toBe(true);
  });
});

describe('the routing check', () => {
  it('catches a tree that would page for a P4', () => {
    const config = parse(synthesized('dev').files.get('alertmanager.yml') ?? '') as { route: { routes: Array<Record<string, unknown>> } };
    const digest = config.route.routes.find((r) => r.receiver === RECEIVERS.digest);
    if (!digest) throw new Error('no digest route');
    digest.receiver = RECEIVERS.pager;
    const file = join(mkdtempSync(join(tmpdir(), 'obstack-route-')), 'alertmanager.yml');
    writeFileSync(file, stringify(config));
    const messages = checkRouting(file).map((f) => f.message);
    expect(messages).toContain('a P4 alert must not reach "pager" but reaches ["history","pager"]');
    expect(messages).toContain('a P4 alert must reach "digest" but reaches ["history","pager"]');
  });

  it('catches a P1 that reaches no paging receiver', () => {
    const config = parse(synthesized('prod').files.get('alertmanager.yml') ?? '') as { route: { routes: Array<Record<string, unknown>> } };
    config.route.routes = config.route.routes.filter((r) => r.receiver !== RECEIVERS.pager);
    const file = join(mkdtempSync(join(tmpdir(), 'obstack-route-')), 'alertmanager.yml');
    writeFileSync(file, stringify(config));
    expect(checkRouting(file).map((f) => f.message)).toContain('a P1 alert must reach "pager" but reaches ["history","team"]');
  });
});

describe('the obstack command, as a process', () => {
  const obstack = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin', 'obstack.js'), ...args], { cwd: ROOT, encoding: 'utf8' });

  it('synthesizes every environment into the output folder', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'obstack-cli-')), 'dist');
    const r = obstack('synth', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const name of ENVIRONMENTS) {
      for (const file of [`${name}.files/prometheus.yml`, `${name}.files/alertmanager.yml`, `${name}/prometheus.k8s.yaml`, `${name}/Kustomization`, `${name}.files/rules/stack.yaml`]) {
        expect(existsSync(join(out, file)), file).toBe(true);
      }
    }
    const configMap = readFileSync(join(out, 'prod', 'prometheus.k8s.yaml'), 'utf8');
    const prometheusYml = readFileSync(join(out, 'prod.files', 'prometheus.yml'), 'utf8');
    const docs = configMap.split(/^---$/m).map((d) => parse(d) as { kind: string; metadata: { name: string }; data?: Record<string, string> });
    expect(docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'prometheus-config')?.data?.['prometheus.yml']).toBe(prometheusYml);
  });

  it('refuses a broken environment file with exit 1, the path of the field, and no stack trace', () => {
    const r = obstack('synth', '--env-file', join(ROOT, 'test', 'config', 'broken', 'negative-replicas.yaml'), '--out', join(tmpdir(), 'never-written'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('components.alertmanager.replicas: must be at least 1 (found -1)');
    expect(r.stderr).not.toMatch(/\bat .*\.(ts|js|cjs):\d+/);
    expect(existsSync(join(tmpdir(), 'never-written'))).toBe(false);
  });

  it('refuses an unknown option with the usage', () => {
    const r = obstack('synth', '--environment', 'dev');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("Unknown option '--environment'");
    expect(r.stderr).toContain('usage: obstack');
  });

  it('prints a JSON Schema that names every component', () => {
    const r = obstack('schema');
    expect(r.status).toBe(0);
    const schema = JSON.parse(r.stdout) as { properties: { components: { properties: Record<string, unknown> } } };
    const components = Object.keys(schema.properties.components.properties).sort();
    expect(components).toEqual(Object.keys(Components.shape).sort());
    expect(components).toEqual(expect.arrayContaining(['alertmanager', 'grafana', 'ingest', 'prometheus']));
  });
});
