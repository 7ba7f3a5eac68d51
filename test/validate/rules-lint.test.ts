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
  if (!parsed.file || parsed.findings.length > 0) throw new Error(JSON.stringify(parsed.findings));
  return { name, content: parsed.file };
}
/** Findings that are neither house policy nor notes on style. */
const defects = (findings: readonly RuleFinding[]) => findings.filter((f) => !f.policy && f.level !== 'info');
const corpusFiles = () => readdirSync(CORPUS).filter((f) => f.endsWith('.yaml')).map((f) => load(f, readFileSync(join(CORPUS, f), 'utf8')));
const lintOne = (yaml: string, catalog = stackMetricCatalog(), profile: 'stack' | 'external' = 'external'): RuleFinding[] =>
  lintRuleFiles([load('t.yaml', yaml)], { profile, catalog });
const ALERT = (expr: string, extra = '') =>
  `groups:\n- name: g\n  rules:\n  - alert: A\n    expr: ${JSON.stringify(expr)}\n    labels: { severity: P3, service: s${extra} }\n    annotations: { summary: s, description: d, runbook_url: r }\n`;

describe.skipIf(CORPUS === '')('the kube-prometheus corpus', () => {
  it('reads no unknown metric and no misused counter when its exporters count as known', () => {
    const files = corpusFiles();
    expect(files.length).toBe(8);
    const findings = lintRuleFiles(files, { profile: 'external', catalog: corpusCatalog });
    // The five description templates that read $labels.job after `sum by (namespace, service)` (listed in rules-corpus.test.ts).
    expect(defects(findings).map((f) => f.check)).toEqual(Array(5).fill('alerts/template'));
    expect(findings.filter((f) => f.policy)).toEqual([]);
  });

  it('catches a misspelt metric in one of its rules, and suggests the right name', () => {
    const text = readFileSync(join(CORPUS, 'node-exporter-rules.yaml'), 'utf8').replace('node_filesystem_files_free{', 'node_filesystem_file_free{');
    const findings = lintRuleFiles([load('node-exporter-rules.yaml', text)], { profile: 'external', catalog: corpusCatalog });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ file: 'node-exporter-rules.yaml', group: 'node-exporter', check: 'unknown-metric' });
    expect(findings[0]?.message).toContain('node_filesystem_file_free');
    expect(findings[0]?.message).toContain('did you mean node_filesystem_files_free?');
  });

  it('keeps alerts of one name with other labels (KubeAPIErrorBudgetBurn) or other conditions apart from real duplicates', () => {
    const twice = (a: string, b: string) =>
      `groups:\n- name: g\n  rules:\n  - alert: A\n    expr: ${a}\n    labels: { severity: warning }\n    annotations: { summary: s, runbook_url: r }\n  - alert: A\n    expr: ${b}\n    labels: { severity: warning }\n    annotations: { summary: s, runbook_url: r }\n`;
    expect(lintOne(twice('up == 0', 'up == 1'))).toEqual([]);
    expect(lintOne(twice('up == 0', 'up  == 0')).map((f) => f.check)).toEqual(['rule/duplicate']);
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
    expect(lintOne(ALERT('sum(rate(up[5m])')).map((f) => f.check)).toContain('promql/syntax');
  });

  it('refuse rate() over a gauge of the catalog, and never judge a counter by its name', () => {
    const gauge = lintOne(ALERT('rate(node_memory_MemAvailable_bytes[5m]) > 0'));
    expect(gauge.map((f) => `${f.check} ${f.level}`)).toEqual(['promql/rate error']);
    expect(gauge[0]?.message).toMatch(/rate\(\) over node_memory_MemAvailable_bytes, a gauge \(node-exporter\)/);
    // A real counter without _total (kuskoman's logstash exporter), and a name no metadata types.
    expect(lintOne(ALERT('increase(logstash_stats_pipeline_events_in[5m]) > 0'))).toEqual([]);
    expect(lintRuleFiles([load('t.yaml', ALERT('increase(my_queue_depth[5m]) > 0'))], { profile: 'external', catalog: false })).toEqual([]);
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
    expect(lintOne(bare, stackMetricCatalog(), 'stack').every((f) => f.policy && f.level === 'error')).toBe(true);
    expect(lintOne(bare).every((f) => f.policy && f.level === 'warning')).toBe(true);
    expect(parseRuleFileText('t.yaml', ALERT('up == 0', ', "bad-name": x')).findings.map((f) => f.message)).toEqual(['labels.bad-name is not a valid name ([a-zA-Z_][a-zA-Z0-9_]*)']);
  });
});

describe('obstack check rules, as a process', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin', 'obstack.js'), 'check', 'rules', ...args], { encoding: 'utf8', cwd: ROOT });

  it('prints each finding with file, line, group, rule, level and reason, and exits 1 on an error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obstack-check-rules-'));
    const file = join(dir, 'team.yaml');
    writeFileSync(file, ALERT('rate(node_memory_MemAvailable_bytes[5m]) > 0 and my_metric > 1'));
    const r = run('--catalog', 'stack', file);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`${file}:4: group g: rule A: error [promql/rate] rate() over node_memory_MemAvailable_bytes, a gauge`);
    expect(r.stdout).toContain(`${file}:4: group g: rule A: warning [unknown-metric] reads my_metric`);

    const known = join(dir, 'known.txt');
    writeFileSync(known, '# ours\nmy_metric\n');
    expect(run('--catalog', 'stack', '--known-metrics', known, file).stdout).not.toContain('unknown-metric');
    // Without a catalog the user chose: no unknown-metric check, and no types to judge rate() by.
    const bare = run(file);
    expect(bare.stdout).toBe('1 file(s), 1 rule(s): no findings\n');
    expect(bare.status).toBe(0);
    const types = join(dir, 'metrics.txt');
    writeFileSync(types, '# HELP node_memory_MemAvailable_bytes Memory.\n# TYPE node_memory_MemAvailable_bytes gauge\nnode_memory_MemAvailable_bytes 1e9\n');
    expect(run('--metric-types', types, file).stdout).toContain('error [promql/rate] rate() over node_memory_MemAvailable_bytes, a gauge (metric types)');
  });

  it('writes json, sarif or github, and follows --config (checks off per path, levels)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obstack-check-rules-'));
    const file = join(dir, 'team.yaml');
    writeFileSync(file, ALERT('rate(x_total[15s]) > 0'));
    const sarif = JSON.parse(run('--format', 'sarif', file).stdout) as { runs: { results: { ruleId: string; level: string }[] }[] };
    expect(sarif.runs[0]?.results.map((r) => `${r.ruleId} ${r.level}`)).toEqual(['promql/rate error']);
    expect(run('--format', 'github', file).stdout).toMatch(/^::error file=.*team\.yaml,line=4,title=promql\/rate::group g: rule A: rate\(x_total\[15s\]\)/);
    const json = run('--format', 'json', file);
    expect((JSON.parse(json.stdout) as { level: string }[]).map((f) => f.level)).toEqual(['error']);
    expect(json.status).toBe(1);
    const config = join(dir, 'checks.yaml');
    writeFileSync(config, 'levels:\n  promql/rate: warning\n');
    const lowered = run('--config', config, file);
    expect(lowered.stdout).toContain('warning [promql/rate]');
    expect(lowered.status).toBe(0);
    writeFileSync(config, 'disable:\n  - check: promql/rate\n    paths: ["**/team.yaml"]\n');
    expect(run('--config', config, file).stdout).toBe('1 file(s), 1 rule(s): no findings\n');
    writeFileSync(config, 'levels:\n  promql/rate: loud\n');
    const bad = run('--config', config, file);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('levels.promql/rate: must be error, warning or info, got "loud"');
    expect(run('--format', 'xml', file).stderr).toContain('--format must be one of text, json, sarif, github; got "xml"');
  });

  it.skipIf(CORPUS === '')('passes the whole corpus with the kube-prometheus catalog (promtool included): no error, five template warnings, four notes', () => {
    const r = run('--catalog', 'kube-prometheus', ...readdirSync(CORPUS).map((f) => join(CORPUS, f)));
    expect(r.stdout).toContain('8 file(s), 234 rule(s): 0 errors, 5 warnings, 4 notes');
    expect(r.status).toBe(0);
  });
});
