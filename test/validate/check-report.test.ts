import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  applyCheckConfig,
  CheckConfigError,
  exitCodeFor,
  formatReport,
  globToRegExp,
  loadCheckConfig,
  parseCheckConfig,
  type ReportedFinding,
  summarizeFindings,
} from '../../src/validate/index.js';

const F: readonly ReportedFinding[] = [
  { file: 'rules/a.yaml', where: 'group g: rule A', check: 'promql/rate', level: 'error', policy: false, message: 'rate() over x, a gauge', line: 7 },
  { file: 'vendor/b.yaml', where: 'group g: rule B', check: 'promql/regexp', level: 'info', policy: false, message: 'job=~"a": use =' },
  { file: 'rules/a.yaml', where: 'group g: rule A', check: 'alerts/annotation', level: 'warning', policy: true, message: 'has no runbook_url annotation, 100%\nsecond line' },
];

describe('formatReport', () => {
  it('text: defects first, house policy apart, one a line with file:line', () => {
    expect(formatReport(F, 'text', 'rules')).toBe(
      [
        'rules/a.yaml:7: group g: rule A: error [promql/rate] rate() over x, a gauge',
        'vendor/b.yaml: group g: rule B: info [promql/regexp] job=~"a": use =',
        '',
        'house policy:',
        '  rules/a.yaml: group g: rule A: warning [alerts/annotation] has no runbook_url annotation, 100%\nsecond line',
        '',
      ].join('\n'),
    );
    expect(formatReport([], 'text', 'rules')).toBe('');
  });

  it('json: the findings as an array', () => {
    expect(JSON.parse(formatReport(F, 'json', 'dashboards'))).toEqual(F);
  });

  it('sarif: SARIF 2.1.0 with one rule per check, levels error/warning/note and physical locations', () => {
    const log = JSON.parse(formatReport(F, 'sarif', 'rules')) as {
      version: string;
      runs: { tool: { driver: { name: string; rules: { id: string }[] } }; results: Record<string, unknown>[] }[];
    };
    expect(log.version).toBe('2.1.0');
    const run = log.runs[0]!;
    expect(run.tool.driver.name).toBe('obstack check rules');
    expect(run.tool.driver.rules.map((r) => r.id)).toEqual(['alerts/annotation', 'promql/rate', 'promql/regexp']);
    expect(run.results.map((r) => r['level'])).toEqual(['error', 'note', 'warning']);
    expect(run.results[0]).toMatchObject({
      ruleId: 'promql/rate',
      ruleIndex: 1,
      message: { text: 'group g: rule A: rate() over x, a gauge' },
      locations: [{ physicalLocation: { artifactLocation: { uri: 'rules/a.yaml' }, region: { startLine: 7 } } }],
      properties: { policy: false },
    });
    expect(run.results[1]).not.toHaveProperty('locations.0.physicalLocation.region');
    expect(run.results[2]).toMatchObject({ properties: { policy: true } });
  });

  it('github: workflow commands, escaped, notice for info', () => {
    expect(formatReport(F, 'github', 'rules').split('\n')).toEqual([
      '::error file=rules/a.yaml,line=7,title=promql/rate::group g: rule A: rate() over x, a gauge',
      '::notice file=vendor/b.yaml,title=promql/regexp::group g: rule B: job=~"a": use =',
      '::warning file=rules/a.yaml,title=alerts/annotation (policy)::group g: rule A: has no runbook_url annotation, 100%25%0Asecond line',
      '',
    ]);
  });
});

describe('the configuration file', () => {
  it('turns checks off everywhere or per path, and sets levels', () => {
    const config = parseCheckConfig({ disable: [{ check: 'promql/regexp', paths: ['vendor/**'] }, 'alerts/annotation'], levels: { 'promql/rate': 'warning' } });
    const kept = applyCheckConfig(F, config);
    expect(kept.map((f) => `${f.check} ${f.level}`)).toEqual(['promql/rate warning']);
    expect(exitCodeFor(kept)).toBe(0);
    expect(exitCodeFor(F)).toBe(1);
    // A path that does not match keeps the finding.
    expect(applyCheckConfig(F, parseCheckConfig({ disable: [{ check: 'promql/regexp', paths: ['rules/*.yaml'] }] }))).toHaveLength(3);
  });

  it('matches globs as written or by the trailing part of a path', () => {
    expect(globToRegExp('vendor/**').test('vendor/x/y.yaml')).toBe(true);
    expect(globToRegExp('**/*.yml').test('a/b/c.yml')).toBe(true);
    expect(globToRegExp('**/*.yml').test('c.yml')).toBe(true);
    expect(globToRegExp('*.yaml').test('a/b.yaml')).toBe(false);
    const config = parseCheckConfig({ disable: [{ check: 'promql/rate', paths: ['rules/a.yaml'] }] });
    expect(applyCheckConfig([{ ...F[0]!, file: './team/rules/a.yaml' }], config)).toEqual([]);
  });

  it('reads a YAML file, and names the field of every mistake', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obstack-checks-'));
    const file = join(dir, '.obstack-checks.yaml');
    writeFileSync(file, 'disable:\n  - check: promql/fragile\n    paths: [vendor/**]\nlevels:\n  rule/label: info\nrules:\n  scrapeInterval: 1m\n');
    expect(loadCheckConfig(file)).toMatchObject({ disable: [{ check: 'promql/fragile', paths: ['vendor/**'] }], levels: { 'rule/label': 'info' }, rules: { scrapeInterval: '1m' } });
    writeFileSync(file, '');
    expect(loadCheckConfig(file).disable).toEqual([]);
    const wrong = (doc: unknown) => () => parseCheckConfig(doc);
    expect(wrong({ levels: { 'promql/rate': 'fatal' } })).toThrow(/levels\.promql\/rate: must be error, warning or info, got "fatal"/);
    expect(wrong({ disable: [{ paths: ['x'] }] })).toThrow(/disable\[0\]\.check/);
    expect(wrong({ disable: [{ check: 'x', path: 'y' }] })).toThrow(/disable\[0\]\.path: unknown field/);
    expect(wrong({ disabled: [] })).toThrow(/disabled: unknown field/);
    expect(wrong({ rules: { for: { max: 'long' } } })).toThrow(CheckConfigError);
    writeFileSync(file, 'levels: [\n');
    expect(() => loadCheckConfig(file)).toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: is not YAML`));
  });
});

describe('summarizeFindings', () => {
  it('counts by level with policy apart', () => {
    expect(summarizeFindings(F)).toBe('1 error, 0 warnings, 1 note; 1 policy finding');
    expect(summarizeFindings([])).toBe('no findings');
  });
});
