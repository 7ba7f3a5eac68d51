import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transformSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { stackRuleFiles } from '../../rules/index.js';
import * as authoring from '../../src/authoring/index.js';
import { compileRuleFile, importRuleFile, ImportError, type RuleGroup } from '../../src/authoring/index.js';
import { promtoolCheckRules } from '../../src/validate/index.js';
import { example } from '../constructs/helpers.js';
import { corpusDir } from '../support/corpus.js';

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

/** The rule file as Prometheus sees it: strings for values, no empty maps. */
function normalize(text: string): unknown {
  const file = parse(text) as { groups: { rules: Record<string, unknown>[] }[] };
  for (const g of file.groups) {
    g.rules = g.rules.map((r) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r)) {
        if (v && typeof v === 'object' && Object.keys(v).length === 0) continue;
        out[k] = v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([a, b]) => [a, String(b)])) : String(v);
      }
      return out;
    });
  }
  return file;
}

describe('obstack import-rules', () => {
  it.skipIf(CORPUS === '')('round-trips every kube-prometheus file: importing and compiling gives the same rules, and promtool accepts them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obstack-import-'));
    const written: string[] = [];
    for (const f of readdirSync(CORPUS).filter((n) => n.endsWith('.yaml'))) {
      const original = readFileSync(join(CORPUS, f), 'utf8');
      const again = compileRuleFile(evaluate(importRuleFile(original, { source: f })));
      expect(normalize(again), f).toEqual(normalize(original));
      const out = join(dir, f);
      writeFileSync(out, again);
      written.push(out);
    }
    expect(written).toHaveLength(8);
    // promtool says exactly what it says of the originals (including its lint note on the
    // corpus's two code_verb:apiserver_request_total:increase1h recordings).
    const res = promtoolCheckRules(written);
    const reference = promtoolCheckRules(readdirSync(CORPUS).filter((n) => n.endsWith('.yaml')).map((n) => join(CORPUS, n)));
    expect(res.ok).toBe(true);
    expect(res.output.replaceAll(dir, 'DIR')).toBe(reference.output.replaceAll(CORPUS, 'DIR'));
    expect(res.output.match(/SUCCESS: \d+ rules found/g)).toHaveLength(7);
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
    expect(() => importRuleFile('groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    keep_firing_for: 5m\n')).toThrow(ImportError);
    expect(() => importRuleFile('groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    keep_firing_for: 5m\n')).toThrow(/groups\[0\] \(g\)\.rules\[0\]: field "keep_firing_for"/);
    expect(() => importRuleFile('nothing: here')).toThrow(/no "groups" list/);
  });
});
