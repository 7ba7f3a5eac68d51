import { describe, expect, it } from 'vitest';
import { loadProject, parseRuleFileText, resolveTool, synth, testRuleAreas } from 'obstack';

// Every environment of this repository, with our rules, dashboards and metrics next to obstack's own.
const project = await loadProject('.');
const report = synth({ environments: project.environments, content: project.content });

function hasPromtool(): boolean {
  try {
    resolveTool('promtool');
    return true;
  } catch {
    return false;
  }
}

describe('our observability stack', () => {
  it('has a dev and a prod environment', () => {
    expect(project.environments.map((e) => e.name).sort()).toEqual(['dev', 'prod']);
  });

  for (const { result, findings } of report.environments) {
    describe(result.environment.name, () => {
      it('passes every check obstack runs on a synth (schema, security policy, rules, dashboards)', () => {
        expect(findings).toEqual([]);
      });

      it("ships our checkout alert, owned by the shop team and linked to the checkout dashboard", () => {
        const text = result.files.get('rules/checkout.yaml');
        expect(text).toBeDefined();
        const rules = parseRuleFileText('rules/checkout.yaml', text ?? '').file?.groups.flatMap((g) => g.rules) ?? [];
        const checkout = rules.find((r) => r.alert === 'CheckoutOrdersFailing');
        expect(checkout?.labels).toMatchObject({ severity: 'P2', service: 'checkout', team: 'shop' });
        expect(checkout?.annotations?.dashboard_uid).toBe('shop-checkout');
        expect(checkout?.annotations?.dashboard_url).toMatch(/\/d\/shop-checkout$/);
        expect(checkout?.annotations?.runbook_url).toBe(`${result.environment.alerting.runbookBaseUrl}/checkout-orders-failing.md`);
        expect(result.files.get('runbooks/checkout-orders-failing.md')).toContain('# CheckoutOrdersFailing');
      });

      it("provisions the checkout dashboard in the shop team's Grafana folder", () => {
        const dashboard = result.stack.grafana?.provisionedDashboards.find((d) => d.uid === 'shop-checkout');
        expect(dashboard?.folder).toBe('Shop');
        expect(result.files.has('dashboards/shop-checkout.json')).toBe(true);
      });
    });
  }

  it.skipIf(!hasPromtool())("passes the cases written next to our alerts in the real promtool (install Prometheus's promtool to run them)", () => {
    const [env] = project.environments;
    if (!env) throw new Error('no environment');
    const tests = testRuleAreas(env, project.content.ruleAreas);
    expect(tests.missing).toEqual([]);
    expect(tests.output).not.toContain('FAILED');
    expect(tests.ok).toBe(true);
    expect(tests.cases).toBeGreaterThanOrEqual(2);
  });
});
