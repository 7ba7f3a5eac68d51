import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildDashboards, FULL_CONTEXT, STACK_DASHBOARDS } from '../../dashboards/index.js';
import { checkDashboardFiles } from '../../src/cli/dashboards-commands.js';
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
    expect(out).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: panels\\[\\d+\\] "${panel.title}"\\.targets\\[0\\]: \\[dashboard-promql\\] does not parse`, 'm'));
    expect(out).toContain('1 dashboard checked, 1 finding\n');
  });

  it('accepts the shipped dashboards written to files, with the stack catalog', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obstack-dash-'));
    const files = buildDashboards(STACK_DASHBOARDS, FULL_CONTEXT).map((f) => {
      const path = join(dir, `${f.uid}.json`);
      writeFileSync(path, f.json);
      return path;
    });
    // The SLO dashboard reads series the SLO rules record; name them as a rule file would.
    const rules = join(dir, 'slo-rules.yaml');
    writeFileSync(
      rules,
      `groups:\n- name: slo\n  rules:\n${['slo:objective:ratio', 'slo:error_budget_remaining:ratio', 'slo:sli_error:ratio_rate1h', 'slo:sli_error:ratio_rate6h', 'slo:sli_error:ratio_rate1d', 'slo:sli_error:ratio_rate3d']
        .map((r) => `  - record: ${r}\n    expr: vector(1)\n`)
        .join('')}`,
    );
    const { code, out } = capture([...files, '--rules', rules]);
    expect(out).toBe(`${files.length} dashboards checked, no findings\n`);
    expect(code).toBe(0);
  });

  it('refuses to run without files', () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(checkDashboardFiles([])).toBe(1);
    expect(String(err.mock.calls[0]?.[0])).toContain('needs at least one dashboard file');
  });
});
