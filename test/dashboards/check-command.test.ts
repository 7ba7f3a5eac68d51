import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildDashboards, FULL_CONTEXT, STACK_DASHBOARDS } from '../../dashboards/index.js';
import { checkDashboardFiles, STACK_DATASOURCES } from '../../src/cli/dashboards-commands.js';
import { DATASOURCE_UIDS } from '../../src/constructs/index.js';
import { stackRuleFiles } from '../../rules/index.js';
import { example } from '../constructs/helpers.js';
import { corpusDir } from '../support/corpus.js';

const CORPUS_ROOT = corpusDir('dashboards') ?? '';
const CORPUS = join(CORPUS_ROOT, '..');

function capture(args: string[]): { code: number; out: string } {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    return { code: checkDashboardFiles(args), out };
  } finally {
    spy.mockRestore();
  }
}

describe('obstack check dashboards FILE...', () => {
  afterEach(() => vi.restoreAllMocks());

  it.skipIf(CORPUS_ROOT === '')('prints each finding with file, panel and reason, and exits 1', () => {
    const d = JSON.parse(readFileSync(join(CORPUS, 'dashboards', 'nodes.json'), 'utf8')) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
    const panel = d.panels.find((p) => (p.targets?.length ?? 0) > 0)!;
    panel.targets![0]!.expr = 'rate(node_cpu_seconds_total[5m]';
    const file = join(mkdtempSync(join(tmpdir(), 'obstack-dash-')), 'broken.json');
    writeFileSync(file, JSON.stringify(d));
    const { code, out } = capture([file, '--catalog', 'kube-prometheus']);
    expect(code).toBe(1);
    expect(out).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: panels\\[\\d+\\] "${panel.title}"\\.targets\\[0\\]: error \\[target-promql\\] is not valid PromQL`, 'm'));
    expect(out).toContain('1 dashboard checked: 1 error, 0 warnings, 0 notes\n');
  });

  it('accepts the shipped dashboards written to files, with the stack catalog', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obstack-dash-'));
    const files = buildDashboards(STACK_DASHBOARDS, FULL_CONTEXT).map((f) => {
      const path = join(dir, `${f.uid}.json`);
      writeFileSync(path, f.json);
      return path;
    });
    // Dashboards read series the stack's recording rules record: pass its rule files as a team would.
    const rules = Object.entries(stackRuleFiles(example('prod'))).flatMap(([name, text]) => {
      const path = join(dir, name.replace(/\//g, '_'));
      writeFileSync(path, text);
      return ['--rules', path];
    });
    const { code, out } = capture([...files, '--catalog', 'stack', ...rules, '--format', 'json']);
    const findings = JSON.parse(out) as Array<{ level: string; check: string }>;
    expect(findings.filter((f) => f.level !== 'info')).toEqual([]);
    expect(code).toBe(0);
  });

  describe('formats, configuration, catalog and metric types', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obstack-dash-'));
    const ds = { type: 'prometheus', uid: '${datasource}' };
    const file = join(dir, 'case.json');
    writeFileSync(
      file,
      JSON.stringify(
        {
          uid: 'case',
          title: 'Case',
          templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus' }] },
          panels: [
            { id: 1, type: 'timeseries', title: 'Requests', datasource: ds, targets: [{ refId: 'A', expr: 'sum(rate(http_requests_total[5m]))' }] },
            { id: 2, type: 'stat', title: 'CPU', datasource: ds, targets: [{ refId: 'A', expr: 'sum(node_cpu_seconds)' }] },
          ],
        },
        null,
        2,
      ),
    );
    const config = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const json = (args: string[]) => {
      const { code, out } = capture([file, '--format', 'json', ...args]);
      return { code, findings: JSON.parse(out) as Array<{ file: string; where: string; check: string; level: string; policy: boolean; line?: number; message: string }> };
    };

    it('look metrics up only in a catalog the user chose', () => {
      expect(json([]).findings.filter((f) => f.check === 'dashboard-metric')).toEqual([]);
      const { findings } = json(['--catalog', 'stack']);
      expect(findings.filter((f) => f.check === 'dashboard-metric').map((f) => f.message)).toEqual(['reads "node_cpu_seconds", which no scraped component exposes and no recording rule records']);
      expect(findings.find((f) => f.check === 'dashboard-metric')?.level).toBe('warning');
    });

    it('tell counters by a # TYPE dump, not only by a _total name', () => {
      const counters = (args: string[]) => json(args).findings.filter((f) => f.check === 'target-counter-agg').map((f) => f.message);
      expect(counters([])).toEqual([]);
      const dump = config('metrics.txt', '# HELP node_cpu_seconds Seconds the CPUs spent.\n# TYPE node_cpu_seconds counter\nnode_cpu_seconds{cpu="0"} 12\n');
      expect(counters(['--metric-types', dump])).toEqual([expect.stringMatching(/^reads the counter "node_cpu_seconds" in sum\(\)/)]);
    });

    it('print SARIF 2.1.0 with rules, levels and the line of each query', () => {
      const { code, out } = capture([file, '--format', 'sarif']);
      const sarif = JSON.parse(out) as { version: string; runs: Array<{ tool: { driver: { rules: Array<{ id: string }> } }; results: Array<{ ruleId: string; level: string; locations: Array<{ physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }> }> }> };
      expect(sarif.version).toBe('2.1.0');
      const [result] = sarif.runs[0]!.results.filter((r) => r.ruleId === 'target-rate-interval');
      expect(result?.level).toBe('note');
      const line = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes('sum(rate(http_requests_total[5m]))')) + 1;
      expect(result?.locations[0]?.physicalLocation.region?.startLine).toBe(line);
      expect(sarif.runs[0]!.tool.driver.rules.map((r) => r.id)).toContain('target-rate-interval');
      expect(code).toBe(0);
    });

    it('print GitHub workflow commands', () => {
      const { out } = capture([file, '--format', 'github']);
      expect(out).toMatch(/^::notice file=.*case\.json,line=\d+,title=target-rate-interval::panels\[0\] "Requests"\.targets\[0\]: rate\(\) over a fixed \[5m\]/m);
    });

    it('apply a configuration file: levels, checks off per path, and dashboards.policy', () => {
      const raise = config('raise.yaml', 'levels:\n  target-rate-interval: error\n');
      expect(json(['--config', raise]).code).toBe(1);
      const off = config('off.yaml', 'disable:\n  - check: target-rate-interval\n    paths: ["**/case.json"]\n  - target-counter-agg\n');
      expect(json(['--config', off]).findings).toEqual([]);
      expect(json([]).findings.some((f) => f.policy)).toBe(false);
      const policy = config('policy.yaml', 'dashboards:\n  policy: true\n');
      expect(json(['--config', policy]).findings.filter((f) => f.policy).map((f) => f.check)).toEqual(expect.arrayContaining(['panel-title-description', 'panel-units']));
    });

    it('refuse a configuration file with a wrong dashboards field, naming it', () => {
      const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      const bad = config('bad.yaml', 'dashboards:\n  polcy: true\n');
      expect(capture([file, '--config', bad]).code).toBe(1);
      expect(String(err.mock.calls[0]?.[0])).toContain(`--config ${bad}: dashboards.polcy: unknown field (expected policy)`);
    });
  });

  it('defaults to the datasources the stack provisions', () => {
    expect(STACK_DATASOURCES.map((d) => d.uid).sort()).toEqual(Object.values(DATASOURCE_UIDS).sort());
  });

  it('refuses to run without files', () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(checkDashboardFiles([])).toBe(1);
    expect(String(err.mock.calls[0]?.[0])).toContain('needs at least one dashboard file');
  });
});
