import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { environmentRuleGroups, stackRuleFiles, stackRuleGroups } from '../../rules/index.js';
import { alert, compileRuleTests, isAlert, type RuleGroup, testCoverage } from '../../src/authoring/index.js';
import { ConfigError, parseEnvironment } from '../../src/config/index.js';
import { runRuleTests } from '../../src/validate/rules-tests.js';
import { example } from '../constructs/helpers.js';

const env = example('dev');
const groups = stackRuleGroups(env);
const all: RuleGroup[] = Object.values(groups).flat();
const alertNames = new Set(all.flatMap((g) => g.rules.filter(isAlert).map((r) => r.name)));
/** Alerts that cannot be silent by definition. */
const ALWAYS_FIRING = new Set(['Watchdog']);

function withOverrides(overrides: Record<string, unknown>) {
  return parseEnvironment({ ...structuredClone(envInput()), alerting: { ...envInput().alerting, overrides } }, '<test>');
}
function envInput() {
  return {
    name: 'dev',
    alerting: {
      receivers: {
        pagerduty: { routingKey: { secretName: 'pd', key: 'k' } },
        slack: { channel: '#a', apiUrl: { secretName: 's', key: 'k' } },
      },
    },
  };
}

describe('the shipped rules', () => {
  it('ship at least 60 alerts, one file per area, the Watchdog among them', () => {
    expect(alertNames.size).toBeGreaterThanOrEqual(60);
    expect(alertNames).toContain('Watchdog');
    expect(Object.keys(stackRuleFiles(env))).toEqual(expect.arrayContaining(['stack.yaml', 'prometheus.yaml', 'elasticsearch.yaml', 'logstash.yaml', 'jaeger.yaml', 'ingest.yaml', 'slos.yaml']));
  });

  it('have a case that fires and a case that stays silent for every alert', () => {
    const missing: string[] = [];
    for (const [name, c] of testCoverage(all)) {
      if (c.fires === 0) missing.push(`${name}: no firing case`);
      if (c.silent === 0 && !ALWAYS_FIRING.has(name)) missing.push(`${name}: no silent case`);
    }
    expect(missing).toEqual([]);
  });

  it('pass every case in the real promtool test rules (one invocation)', () => {
    const compiled = compileRuleTests(groups);
    expect(compiled.cases).toBeGreaterThanOrEqual(2 * alertNames.size - 1);
    const result = runRuleTests(compiled);
    expect(result.output).not.toContain('FAILED');
    expect(result.ok).toBe(true);
  });

  it('carry severity, service, summary, description and a runbook from the environment', () => {
    const file = parse(stackRuleFiles(env)['node.yaml'] ?? '') as { groups: { rules: { alert: string; labels: Record<string, string>; annotations: Record<string, string> }[] }[] };
    const memory = file.groups[0]?.rules.find((r) => r.alert === 'NodeMemoryHigh');
    expect(memory?.labels).toEqual({ severity: 'P2', service: 'node' });
    expect(memory?.annotations.runbook_url).toBe(`${env.alerting.runbookBaseUrl}/node-memory-high.md`);
    expect(memory?.annotations.summary).toBeTruthy();
    expect(memory?.annotations.description).toBeTruthy();
  });
});

describe('promtool catches a case that is wrong', () => {
  it('reports a case expecting an alert that does not fire', () => {
    const rule = alert({
      alert: 'Probe',
      expr: 'up == 0',
      severity: 'P4',
      service: 'probe',
      summary: 's',
      description: 'd',
      runbook: 'r',
      tests: [{ name: 'wrongly expects a firing alert', series: { 'up{job="x"}': '1x10' }, at: '5m', fires: [{ job: 'x' }] }],
    });
    const result = runRuleTests(compileRuleTests({ 'probe.yaml': [{ name: 'probe', rules: [rule] }] }));
    expect(result.ok).toBe(false);
    expect(result.output).toContain('Probe');
  });
});

describe('per-environment overrides', () => {
  it('change a threshold, a for and a severity, and drop an alert', () => {
    const e = withOverrides({ HighErrorRate: { threshold: 0.1, for: '15m', severity: 'P3' }, NodeClockNotSynchronising: { enabled: false } });
    const rules = Object.values(environmentRuleGroups(e)).flat().flatMap((g) => g.rules.filter(isAlert));
    const high = rules.find((r) => r.name === 'HighErrorRate');
    expect(high?.expr).toMatch(/> 0\.1$/);
    expect(high?.for).toBe('15m');
    expect(high?.labels.severity).toBe('P3');
    expect(rules.some((r) => r.name === 'NodeClockNotSynchronising')).toBe(false);
    expect(parse(stackRuleFiles(e)['application.yaml'] ?? '').groups[0].rules.find((r: { alert: string }) => r.alert === 'HighErrorRate').expr).toMatch(/> 0\.1$/);
  });

  it('refuse a misspelt name, naming it and the closest alert', () => {
    const e = withOverrides({ HighErorRate: { threshold: 0.1 } });
    expect(() => stackRuleFiles(e)).toThrow(ConfigError);
    expect(() => stackRuleFiles(e)).toThrow(/alerting\.overrides\.HighErorRate: names no alert; did you mean "HighErrorRate"\?/);
  });

  it('refuse a threshold on an alert without one, and a severity on the four SLO rules', () => {
    expect(() => stackRuleFiles(withOverrides({ Watchdog: { threshold: 1 } }))).toThrow(/Watchdog has no threshold/);
    expect(() => stackRuleFiles(withOverrides({ ApiErrorBudgetBurn: { severity: 'P3' } }))).toThrow(/defined by 4 rules/);
    expect(stackRuleFiles(withOverrides({ ApiErrorBudgetBurn: { enabled: false } }))['slos.yaml']).not.toContain('ApiErrorBudgetBurn');
  });

  it('are refused by the schema when a field is unknown or a severity is not P1–P4', () => {
    expect(() => withOverrides({ HighErrorRate: { severity: 'critical' } })).toThrow(/alerting\.overrides\.HighErrorRate\.severity/);
    expect(() => withOverrides({ HighErrorRate: { treshold: 1 } })).toThrow(/treshold/);
  });
});
