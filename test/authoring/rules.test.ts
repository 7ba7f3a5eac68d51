import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { alert, compileRuleFile, RuleError, slo } from '../../src/authoring/index.js';

const base = { alert: 'Probe', expr: 'up == 0', severity: 'P3', service: 's', summary: 'sum', description: 'desc', runbook: 'https://r#probe' } as const;

describe('alert()', () => {
  it('compiles severity and service into labels, texts and the dashboard uid into annotations', () => {
    const file = parse(compileRuleFile([{ name: 'g', rules: [alert({ ...base, for: '5m', dashboard: 'node-overview', labels: { team: 'sre' } })] }]));
    expect(file.groups[0].rules[0]).toEqual({
      alert: 'Probe',
      expr: 'up == 0',
      for: '5m',
      labels: { team: 'sre', severity: 'P3', service: 's' },
      annotations: { summary: 'sum', description: 'desc', runbook_url: 'https://r#probe', dashboard_uid: 'node-overview' },
    });
  });

  it('makes a threshold a parameter of the expression', () => {
    const rule = alert({ ...base, threshold: 0.05, expr: (t) => `rate(x_total[5m]) > ${t}` });
    expect(rule.expr).toBe('rate(x_total[5m]) > 0.05');
    expect(rule.exprFor?.(0.1)).toBe('rate(x_total[5m]) > 0.1');
  });

  it('refuses at compile time what types can catch', () => {
    // @ts-expect-error severities are P1–P4
    expect(() => alert({ ...base, severity: 'critical' })).toThrow(/severity must be one of P1, P2, P3, P4/);
    // @ts-expect-error a duration is not a bare number
    expect(() => alert({ ...base, for: 5 })).toThrow(RuleError);
    // @ts-expect-error "team-name" is not a label name
    expect(() => alert({ ...base, labels: { 'team-name': 'x' } })).toThrow(/labels\.team-name is not a valid label name/);
    // @ts-expect-error a runbook is required
    expect(() => alert({ alert: 'Probe', expr: 'up', severity: 'P1', service: 's', summary: 's', description: 'd' })).toThrow(/runbook must not be empty/);
  });

  it('refuses at run time what types cannot catch', () => {
    expect(() => alert({ ...base, alert: 'probe_down' })).toThrow(/UpperCamelCase/);
    expect(() => alert({ ...base, summary: ' ' })).toThrow(/summary must not be empty/);
    expect(() => alert({ ...base, labels: { __x: 'y' } as never })).toThrow(/not a valid label name/);
    expect(() => compileRuleFile([{ name: 'g', rules: [alert(base), alert(base)] }])).toThrow(/defined twice/);
  });
});

describe('slo()', () => {
  const groups = slo({ service: 'api', objective: 99.9, window: '30d', errors: 'e_total{code=~"5.."}', total: 'e_total', runbook: 'r' });

  it('records the error ratio over every window and the remaining budget', () => {
    const records = groups[0]?.rules.map((r) => r.name) ?? [];
    for (const w of ['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d']) expect(records).toContain(`slo:sli_error:ratio_rate${w}`);
    expect(records).toContain('slo:error_budget_remaining:ratio');
  });

  it('alerts on the four burn rates of the SRE workbook, P1 to P4, under one alert name', () => {
    const alerts = groups[1]?.rules ?? [];
    expect(alerts.map((a) => [a.name, a.labels['severity'], a.labels['long'], a.labels['short']])).toEqual([
      ['ApiErrorBudgetBurn', 'P1', '1h', '5m'],
      ['ApiErrorBudgetBurn', 'P2', '6h', '30m'],
      ['ApiErrorBudgetBurn', 'P3', '1d', '2h'],
      ['ApiErrorBudgetBurn', 'P4', '3d', '6h'],
    ]);
    expect(alerts[0]?.expr).toBe('slo:sli_error:ratio_rate1h{slo="api"} > (14.4 * (1 - 0.999))\nand\nslo:sli_error:ratio_rate5m{slo="api"} > (14.4 * (1 - 0.999))');
    expect(() => slo({ service: 'api', objective: 100, window: '30d', errors: 'e', total: 't', runbook: 'r' })).toThrow(/objective/);
  });
});
