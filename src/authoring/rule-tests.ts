import { type AlertRule, type AlertTest, compileRuleFile, isAlert, type RuleGroup } from './rules.js';
import type { Duration } from './types.js';
import { yamlText } from '../config/yaml-text.js';

/** promtool's unit-test files for a set of rule files, ready to write into one folder and run with one `promtool test rules`. */
export interface CompiledRuleTests {
  /** Rule files the tests load: each file as shipped and a copy without annotations. */
  readonly ruleFiles: Readonly<Record<string, string>>;
  /** promtool test files, by file name. */
  readonly testFiles: Readonly<Record<string, string>>;
  /** Number of test cases (one promtool test group each). */
  readonly cases: number;
}

interface PromtoolTestGroup {
  name: string;
  interval: string;
  input_series: { series: string; values: string }[];
  alert_rule_test: { eval_time: string; alertname: string; exp_alerts: { exp_labels: Record<string, string>; exp_annotations?: Record<string, string> }[] }[];
}

/** Labels every alert of a rule carries whatever its expression yields. */
function staticLabels(rule: AlertRule): Record<string, string> {
  return { ...rule.labels };
}

function toTestGroup(file: string, rule: AlertRule, t: AlertTest): PromtoolTestGroup {
  return {
    name: `${file} ${rule.name}: ${t.name}`,
    interval: t.interval ?? '1m',
    input_series: Object.entries(t.series).map(([series, values]) => ({ series, values })),
    alert_rule_test: [
      {
        eval_time: t.at,
        alertname: rule.name,
        exp_alerts: t.fires.map((labels, i) => {
          const annotations = t.annotations?.[i];
          return { exp_labels: { ...staticLabels(rule), ...labels }, ...(annotations ? { exp_annotations: { ...annotations } } : {}) };
        }),
      },
    ],
  };
}

/** The groups with their recording rules and the rules of one alert name only. */
function onlyAlert(groups: readonly RuleGroup[], alertName: string): RuleGroup[] {
  return groups
    .map((g) => ({ ...g, rules: g.rules.filter((r) => !isAlert(r) || r.name === alertName) }))
    .filter((g) => g.rules.length > 0);
}

function stem(file: string): string {
  return file.replace(/\.ya?ml$/, '');
}

/**
 * Compiles the test cases written next to the alerts into promtool's
 * unit-test format. Cases that state annotations run against the file as
 * shipped; the others against a copy without annotations (promtool compares
 * annotations exactly, so a case must state all of them or none).
 */
export function compileRuleTests(
  files: Readonly<Record<string, readonly RuleGroup[]>>,
  opts: { readonly evaluationInterval?: Duration } = {},
): CompiledRuleTests {
  const ruleFiles: Record<string, string> = {};
  const testFiles: Record<string, string> = {};
  let cases = 0;
  for (const [file, groups] of Object.entries(files)) {
    // One test file per alert, annotations stated or not, and evaluation interval (the last two are file-wide in
    // promtool). Each loads a rule file with only that alert and the file's recording rules: promtool evaluates every
    // loaded rule at every step, so a case pays only for what it tests.
    const name = stem(file);
    const buckets = new Map<string, { alert: string; annotated: boolean; evaluationInterval: Duration; tests: PromtoolTestGroup[] }>();
    for (const g of groups) {
      for (const rule of g.rules) {
        if (!isAlert(rule)) continue;
        for (const t of rule.tests) {
          const annotated = t.annotations !== undefined;
          const evaluationInterval = t.evaluationInterval ?? opts.evaluationInterval ?? '1m';
          const key = `${name}.${rule.name}${annotated ? '' : '.bare'}${evaluationInterval === '1m' ? '' : `.every-${evaluationInterval}`}`;
          const bucket = buckets.get(key) ?? { alert: rule.name, annotated, evaluationInterval, tests: [] };
          bucket.tests.push(toTestGroup(file, rule, t));
          buckets.set(key, bucket);
          cases++;
        }
      }
    }
    for (const [key, bucket] of buckets) {
      const ruleFile = `${name}.${bucket.alert}${bucket.annotated ? '' : '.bare'}.rules.yaml`;
      ruleFiles[ruleFile] ??= compileRuleFile(onlyAlert(groups, bucket.alert), { withoutAnnotations: !bucket.annotated });
      testFiles[`${key}.test.yaml`] = yamlText(
        { rule_files: [ruleFile], evaluation_interval: bucket.evaluationInterval, tests: bucket.tests });
    }
  }
  return { ruleFiles, testFiles, cases };
}

/** Per alert name: whether some case proves it fires and some case proves it stays silent. */
export function testCoverage(groups: readonly RuleGroup[]): Map<string, { fires: number; silent: number }> {
  const out = new Map<string, { fires: number; silent: number }>();
  for (const g of groups) {
    for (const rule of g.rules) {
      if (!isAlert(rule)) continue;
      const c = out.get(rule.name) ?? { fires: 0, silent: 0 };
      for (const t of rule.tests) {
        if (t.fires.length > 0) c.fires++;
        else c.silent++;
      }
      out.set(rule.name, c);
    }
  }
  return out;
}
