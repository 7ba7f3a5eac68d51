import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { transformSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { stackRuleFiles } from '../../rules/index.js';
import * as authoring from '../../src/authoring/index.js';
import { compileRuleFile, importRuleFile, ImportError, type RuleGroup } from '../../src/authoring/index.js';
import { promtoolCheckRules } from '../../src/validate/index.js';
import { example } from '../constructs/helpers.js';
import { corpusDir, corpusRuleFiles } from '../support/corpus.js';

const CORPUS = corpusDir('rules') ?? '';

/** Runs the generated TypeScript with the real DSL and returns its groups. */
function evaluate(ts: string): RuleGroup[] {
  const { code } = transformSync(ts, { loader: 'ts', format: 'cjs' });
  const module = { exports: {} as Record<string, () => RuleGroup[]> };
  new Function('require', 'module', 'exports', code)(() => authoring, module, module.exports);
  const fn = module.exports['importedRules'];
  if (!fn) throw new Error('no importedRules export');
  return fn();
}

/** The rule file as Prometheus sees it: strings for values, no empty maps, no groups without rules' null. */
function normalize(text: string): unknown {
  const file = (parse(text) as { groups?: { rules?: Record<string, unknown>[] | null }[] } | null) ?? {};
  const groups = file.groups ?? [];
  for (const g of groups) {
    g.rules = (g.rules ?? []).map((r) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r)) {
        if (v && typeof v === 'object' && Object.keys(v).length === 0) continue;
        out[k] = v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([a, b]) => [a, String(b)])) : String(v);
      }
      return out;
    });
  }
  return { groups };
}

const CORPUS_FILES = corpusRuleFiles() ?? [];

describe('obstack import-rules', () => {
  it.skipIf(CORPUS === '')('round-trips every rule file of the corpus: import, load back, compile, and promtool accepts the same rules', () => {
    expect(CORPUS_FILES.length).toBe(120);
    const dir = mkdtempSync(join(tmpdir(), 'obstack-import-'));
    const failures: string[] = [];
    const written: string[] = [];
    for (const [i, path] of CORPUS_FILES.entries()) {
      const original = readFileSync(path, 'utf8');
      const name = relative(join(CORPUS, '..', '..'), path);
      try {
        const again = compileRuleFile(evaluate(importRuleFile(original, { source: basename(path) })));
        expect(normalize(again)).toEqual(normalize(original));
        const out = join(dir, `${i}-${basename(path)}`);
        writeFileSync(out, again);
        written.push(out);
      } catch (e) {
        failures.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    expect(failures).toEqual([]);
    // promtool accepts every compiled file and says of each exactly what it says of the original
    // (its count of rules, and its lint note on kube-prometheus's two code_verb:apiserver_request_total:increase1h recordings).
    const res = promtoolCheckRules(written);
    expect(res.ok, res.output).toBe(true);
    const reference = promtoolCheckRules(CORPUS_FILES);
    const numbered = (output: string, paths: readonly string[]) => paths.reduce((out, p, i) => out.replaceAll(p, `#${i}`), output);
    expect(numbered(res.output, written)).toBe(numbered(reference.output, CORPUS_FILES));
    expect(res.output.match(/SUCCESS: \d+ rules found/g)?.length).toBeGreaterThan(100);
  }, 120_000);

  it('keeps keep_firing_for, for: 0 and alerts that share a name with other conditions', () => {
    const text = [
      'groups:',
      '- name: g',
      '  rules:',
      '  - alert: A',
      '    expr: up == 0',
      '    for: "0"',
      '    keep_firing_for: 5m',
      '  - alert: A',
      '    expr: up == 1',
      '  - alert: A',
      '    expr: absent(up)',
      '',
    ].join('\n');
    const ts = importRuleFile(text);
    expect(ts).toContain('keepFiringFor: "5m",');
    const again = compileRuleFile(evaluate(ts));
    expect(normalize(again)).toEqual(normalize(text));
    expect(again).toContain('keep_firing_for: 5m');
  });

  it('imports the empty files Prometheus loads: nothing, null, {}, a group without rules', () => {
    for (const text of ['', 'null\n', '{}\n', 'groups: []\n', 'groups:\n- name: g\n  rules:\n']) {
      const groups = evaluate(importRuleFile(text));
      expect(normalize(compileRuleFile(groups)), JSON.stringify(text)).toEqual(normalize(text));
    }
  });

  it('writes alert() for a rule that fits the DSL, so our own files round-trip through it', () => {
    const text = stackRuleFiles(example('dev'))['node.yaml'] ?? '';
    const ts = importRuleFile(text);
    expect(ts).toContain('alert({');
    expect(ts).not.toContain('rawAlert({');
    expect(ts).toContain('severity: "P2",');
    expect(normalize(compileRuleFile(evaluate(ts)))).toEqual(normalize(text));
  });

  it('refuses what the DSL cannot express, naming it', () => {
    expect(() => importRuleFile('groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    keep_firing: 5m\n')).toThrow(ImportError);
    expect(() => importRuleFile('groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    keep_firing: 5m\n')).toThrow(/groups\[0\] \(g\)\.rules\[0\]: field "keep_firing"/);
    expect(() => importRuleFile('groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    keep_firing_for: soon\n')).toThrow(/keep_firing_for "soon" is not a duration/);
    expect(() => importRuleFile('nothing: here')).toThrow(/field "nothing"/);
  });
});
