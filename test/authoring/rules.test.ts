import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { alert, applyOverrides, compileRuleFile, humanDuration, isAlert, percent, rawAlert, RuleError, slo } from '../../src/authoring/index.js';

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

describe('texts that are functions of the parameters', () => {
  const rule = alert({
    ...base,
    threshold: 0.05,
    expr: (t) => `rate(x_total[5m]) > ${t}`,
    for: '10m',
    summary: ({ threshold }) => `{{ $labels.job }} fails over ${percent(threshold)}`,
    description: ({ threshold, for: f }) => `More than ${percent(threshold)} of {{ $labels.job }} failed for ${humanDuration(f)} ({{ $value | humanizePercentage }}).`,
    annotations: { impact: ({ for: f }) => `users wait ${humanDuration(f)}`, team: 'sre' },
  });

  it('render with the defaults, Prometheus templates untouched', () => {
    expect(rule.annotations).toEqual({
      summary: '{{ $labels.job }} fails over 5%',
      description: 'More than 5% of {{ $labels.job }} failed for 10 minutes ({{ $value | humanizePercentage }}).',
      runbook_url: 'https://r#probe',
      impact: 'users wait 10 minutes',
      team: 'sre',
    });
  });

  it('render again for other parameters: only the texts that are functions', () => {
    expect(rule.textsFor?.({ threshold: 0.1, for: '1h' })).toEqual({
      summary: '{{ $labels.job }} fails over 10%',
      description: 'More than 10% of {{ $labels.job }} failed for 1 hour ({{ $value | humanizePercentage }}).',
      impact: 'users wait 1 hour',
    });
    expect(alert(base).textsFor).toBeUndefined();
  });

  it('follow an override of the threshold or the for, and stay when neither changes', () => {
    const apply = (o: Parameters<typeof applyOverrides>[1]) => applyOverrides({ 'f.yaml': [{ name: 'g', rules: [rule] }] }, o, '<test>')['f.yaml']?.[0]?.rules.filter(isAlert)[0];
    expect(apply({ Probe: { threshold: 0.02, for: '5m' } })?.annotations).toMatchObject({
      summary: '{{ $labels.job }} fails over 2%',
      description: 'More than 2% of {{ $labels.job }} failed for 5 minutes ({{ $value | humanizePercentage }}).',
      impact: 'users wait 5 minutes',
    });
    expect(apply({ Probe: { for: '2h' } })?.annotations.description).toBe('More than 5% of {{ $labels.job }} failed for 2 hours ({{ $value | humanizePercentage }}).');
    expect(apply({ Probe: { severity: 'P1' } })?.annotations).toEqual(rule.annotations);
  });

  it('types the parameters: a threshold only when the alert has one, a for that may be absent', () => {
    // @ts-expect-error an alert without a threshold has none to state
    expect(() => alert({ ...base, description: ({ threshold }) => percent(threshold) })).toThrow(/rule Probe: description could not be rendered for threshold undefined/);
    // @ts-expect-error an alert without `for` may fire at once
    expect(() => alert({ ...base, threshold: 1, expr: (t) => `up > ${t}`, description: ({ for: f }) => humanDuration(f) })).toThrow(RuleError);
    expect(alert({ ...base, description: ({ for: f }) => `for ${f ?? 'no time'}` }).annotations.description).toBe('for no time');
  });

  it('refuses a function that renders an empty text, naming the field', () => {
    expect(() => alert({ ...base, description: () => ' ' })).toThrow(/rule Probe: description must not be empty/);
    expect(() => alert({ ...base, annotations: { impact: () => '' } })).toThrow(/rule Probe: annotations\.impact must not be empty/);
  });
});

describe('dashboard links with availableDashboards', () => {
  const annotations = (rules: Parameters<typeof compileRuleFile>[0], opts: Parameters<typeof compileRuleFile>[1]) =>
    (parse(compileRuleFile(rules, opts)) as { groups: { rules: { alert: string; annotations: Record<string, string> }[] }[] }).groups[0]!.rules.map((r) => r.annotations);
  const own = alert({ ...base, dashboard: 'obstack-ai' });
  const none = alert({ ...base, alert: 'Other' });
  const groups = [{ name: 'g', rules: [own, none] }];
  const grafana = 'https://grafana.example';

  it('keep the own dashboard when it is available, or when no set is given', () => {
    for (const available of [undefined, new Set(['obstack-ai', 'obstack-service-overview'])]) {
      const [a, b] = annotations(groups, { dashboardBaseUrl: grafana, defaultDashboard: 'obstack-service-overview', ...(available ? { availableDashboards: available } : {}) });
      expect(a).toMatchObject({ dashboard_uid: 'obstack-ai', dashboard_url: `${grafana}/d/obstack-ai` });
      expect(b).toMatchObject({ dashboard_uid: 'obstack-service-overview', dashboard_url: `${grafana}/d/obstack-service-overview` });
    }
  });

  it("fall back to the area's dashboard when the own one is dropped", () => {
    const [a] = annotations(groups, { dashboardBaseUrl: grafana, defaultDashboard: 'obstack-service-overview', availableDashboards: new Set(['obstack-service-overview']) });
    expect(a).toMatchObject({ dashboard_uid: 'obstack-service-overview', dashboard_url: `${grafana}/d/obstack-service-overview` });
  });

  it('give no dashboard annotations at all when neither is available', () => {
    const [a, b] = annotations(groups, { dashboardBaseUrl: grafana, defaultDashboard: (name) => (name === 'Probe' ? 'obstack-ai' : 'obstack-slos'), availableDashboards: new Set(['obstack-nodes']) });
    expect(a).toEqual({ summary: 'sum', description: 'desc', runbook_url: 'https://r#probe' });
    expect(b).toEqual({ summary: 'sum', description: 'desc', runbook_url: 'https://r#probe' });
  });

  it('drop a hand-written dashboard_url that points at a dashboard that is not available', () => {
    const raw = rawAlert({ alert: 'Raw', expr: 'up == 0', annotations: { summary: 's', dashboard_url: `${grafana}/d/gone/x`, other_url: 'https://elsewhere.example/' } });
    const [a] = annotations([{ name: 'g', rules: [raw] }], { availableDashboards: new Set(['obstack-nodes']) });
    expect(a).toEqual({ summary: 's', other_url: 'https://elsewhere.example/' });
    const [b] = annotations([{ name: 'g', rules: [raw] }], { availableDashboards: new Set(['gone']) });
    expect(b?.dashboard_url).toBe(`${grafana}/d/gone/x`);
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
