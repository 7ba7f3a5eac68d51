import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stackRuleFiles } from '../../rules/index.js';
import {
  buildCatalog,
  KUBE_PROMETHEUS_SOURCES,
  lintRuleFiles,
  parsePromQL,
  parseRuleFileText,
  PROMETHEUS_SYNTHETIC,
  type RuleFinding,
  stackMetricCatalog,
} from '../../src/validate/index.js';
import { example } from '../constructs/helpers.js';
import { corpusDir } from '../support/corpus.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CORPUS = corpusDir('rules') ?? '';
const corpusCatalog = buildCatalog([PROMETHEUS_SYNTHETIC, ...KUBE_PROMETHEUS_SOURCES]);

function load(name: string, text: string) {
  const parsed = parseRuleFileText(name, text);
  if (!parsed.file) throw new Error(JSON.stringify(parsed.findings));
  return { name, content: parsed.file };
}
const corpusFiles = () => readdirSync(CORPUS).filter((f) => f.endsWith('.yaml')).map((f) => load(f, readFileSync(join(CORPUS, f), 'utf8')));
const lintOne = (yaml: string, catalog = stackMetricCatalog(), profile: 'stack' | 'external' = 'external'): RuleFinding[] =>
  lintRuleFiles([load('t.yaml', yaml)], { profile, catalog });
const ALERT = (expr: string, extra = '') =>
  `groups:\n- name: g\n  rules:\n  - alert: A\n    expr: ${JSON.stringify(expr)}\n    labels: { severity: P3, service: s${extra} }\n    annotations: { summary: s, description: d, runbook_url: r }\n`;

describe.skipIf(CORPUS === '')('the kube-prometheus corpus', () => {
  it('raises no finding when its exporters count as known', () => {
    const files = corpusFiles();
    expect(files.length).toBe(8);
    expect(lintRuleFiles(files, { profile: 'external', catalog: corpusCatalog })).toEqual([]);
  });

  it('catches a misspelt metric in one of its rules, and suggests the right name', () => {
    const text = readFileSync(join(CORPUS, 'node-exporter-rules.yaml'), 'utf8').replace('node_filesystem_files_free{', 'node_filesystem_file_free{');
    const findings = lintRuleFiles([load('node-exporter-rules.yaml', text)], { profile: 'external', catalog: corpusCatalog });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ file: 'node-exporter-rules.yaml', group: 'node-exporter', check: 'unknown-metric' });
    expect(findings[0]?.message).toContain('node_filesystem_file_free');
    expect(findings[0]?.message).toContain('did you mean node_filesystem_files_free?');
  });

  it('keeps alerts of one name with different labels (KubeAPIErrorBudgetBurn) apart from real duplicates', () => {
    const dup = `groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    labels: { severity: warning }\n    annotations: { summary: s, runbook_url: r }\n  - alert: A\n    expr: up == 1\n    labels: { severity: warning }\n    annotations: { summary: s, runbook_url: r }\n`;
    expect(lintOne(dup).map((f) => f.check)).toEqual(['duplicate-alert']);
  });
});

describe('the rule checks', () => {
  it('find nothing in the shipped rules of every environment', () => {
    for (const name of ['dev', 'staging'] as const) {
      const files = Object.entries(stackRuleFiles(example(name))).map(([f, t]) => load(f, t));
      expect(lintRuleFiles(files, { profile: 'stack', catalog: stackMetricCatalog() })).toEqual([]);
    }
  });

  it('refuse an expression that does not parse', () => {
    expect(parsePromQL('sum(rate(x[5m])').errors.length).toBeGreaterThan(0);
    expect(lintOne(ALERT('sum(rate(up[5m])')).map((f) => f.check)).toContain('promql-syntax');
  });

  it('refuse rate() over a gauge of the catalog and over a name that is no counter', () => {
    const gauge = lintOne(ALERT('rate(node_memory_MemAvailable_bytes[5m]) > 0'));
    expect(gauge).toHaveLength(1);
    expect(gauge[0]?.message).toMatch(/rate\(\) over node_memory_MemAvailable_bytes, a gauge \(node-exporter\)/);
    const unknown = lintRuleFiles([load('t.yaml', ALERT('increase(my_queue_depth[5m]) > 0'))], { profile: 'external', catalog: false });
    expect(unknown.map((f) => f.check)).toEqual(['counter-function']);
    expect(lintOne(ALERT('increase(logstash_stats_pipeline_events_in[5m]) > 0'))).toEqual([]);
  });

  it('refuse a metric no component produces, unless a rule records it or it is declared known', () => {
    expect(lintOne(ALERT('node_memroy_MemAvailable_bytes < 1')).map((f) => f.message)).toEqual([
      'reads node_memroy_MemAvailable_bytes, which no component of the catalog produces and no rule records (did you mean node_memory_MemAvailable_bytes?)',
    ]);
    const recorded = `groups:\n- name: r\n  rules:\n  - record: job:x:sum\n    expr: sum by (job) (up)\n${ALERT('job:x:sum < 1').replace('groups:\n', '')}`;
    expect(lintOne(recorded)).toEqual([]);
    expect(lintRuleFiles([load('t.yaml', ALERT('my_metric < 1'))], { profile: 'external', catalog: stackMetricCatalog(), knownMetrics: ['my_metric'] })).toEqual([]);
  });

  it('require severity, service and the annotations a responder needs (stack profile), and only P1–P4', () => {
    const bare = `groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    labels: { severity: critical }\n`;
    expect(lintOne(bare, stackMetricCatalog(), 'stack').map((f) => f.message)).toEqual([
      'severity "critical" is not one of P1, P2, P3, P4',
      'has no service label (inhibition matches on alertname and service)',
      'has no summary annotation',
      'has no description annotation',
      'has no runbook_url annotation',
    ]);
    expect(lintOne(bare).map((f) => f.message)).toEqual(['has no runbook_url annotation', 'has no summary, description or message annotation']);
    expect(lintOne(ALERT('up == 0', ', "bad-name": x')).map((f) => f.check)).toContain('label-name');
  });
});

describe('obstack check rules, as a process', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin', 'obstack.js'), 'check', 'rules', ...args], { encoding: 'utf8', cwd: ROOT });

  it('prints each finding with file, group, rule and reason, and exits 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obstack-check-rules-'));
    const file = join(dir, 'team.yaml');
    writeFileSync(file, ALERT('rate(node_memory_MemAvailable_bytes[5m]) > 0 and my_metric > 1'));
    const r = run(file);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`${file}: group g: A: [counter-function] rate() over node_memory_MemAvailable_bytes, a gauge`);
    expect(r.stdout).toContain(`${file}: group g: A: [unknown-metric] reads my_metric`);

    const known = join(dir, 'known.txt');
    writeFileSync(known, '# ours\nmy_metric\n');
    expect(run('--known-metrics', known, file).stdout).not.toContain('unknown-metric');
    expect(run('--no-catalog', file).stdout).not.toContain('unknown-metric');
  });

  it.skipIf(CORPUS === '')('passes the whole corpus with the kube-prometheus catalog (promtool included)', () => {
    const r = run('--catalog', 'kube-prometheus', ...readdirSync(CORPUS).map((f) => join(CORPUS, f)));
    expect(r.stdout).toContain('8 file(s), 234 rule(s): no findings');
    expect(r.status).toBe(0);
  });
});
