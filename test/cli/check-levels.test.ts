import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkEnvironmentRules } from '../../src/cli/check.js';
import type { SynthesizedEnvironment } from '../../src/cli/synthesize.js';
import { stackMetricCatalog } from '../../src/validate/index.js';

/** Only what the rule checks read of a synthesized environment: its rule files and catalog. */
function withRuleFile(rule: Record<string, unknown>): SynthesizedEnvironment {
  const file = stringify({ groups: [{ name: 'g', rules: [rule] }] });
  return { files: new Map([['rules/team.yaml', file]]), catalog: stackMetricCatalog() } as unknown as SynthesizedEnvironment;
}

const ALERT = {
  alert: 'TargetDown',
  expr: 'up{job="node-exporter"} == 0',
  labels: { severity: 'P2', service: 'node-exporter' },
  annotations: { summary: 'A target is down', description: 'Prometheus cannot scrape {{ $labels.instance }}.', runbook_url: 'https://runbooks.example.com/targetdown' },
};

describe('levels of rule findings in a synth', () => {
  it('a style note (info) does not refuse the synth; a warning does', () => {
    expect(checkEnvironmentRules(withRuleFile(ALERT))).toEqual([]);
    // `for: 0m` is the default spelled out: an info-level note of `check rules`, not a reason to refuse.
    expect(checkEnvironmentRules(withRuleFile({ ...ALERT, for: '0m' }))).toEqual([]);
    // A template label the query aggregates away is a warning: the alert's text would be empty.
    const aggregated = checkEnvironmentRules(withRuleFile({ ...ALERT, expr: 'sum(up{job="node-exporter"}) == 0' }));
    expect(aggregated.map((f) => f.check)).toContain('rules:alerts/template');
  });
});
