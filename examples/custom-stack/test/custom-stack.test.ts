import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadProject, resolveTool, synth, testRuleAreas } from 'obstack';

const project = await loadProject('.');
const report = synth({ environments: project.environments, content: project.content });
const byName = new Map(report.environments.map((e) => [e.result.environment.name, e.result]));

function objects(env: string, file: string): { kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec?: any }[] {
  return parseAllDocuments(byName.get(env)?.files.get(file) ?? '').map((d) => d.toJS());
}
function rules(env: string, file: string): { alert?: string; record?: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] {
  return (parse(byName.get(env)?.files.get(file) ?? 'groups: []') as { groups: { rules: never[] }[] }).groups.flatMap((g) => g.rules);
}
function hasTool(name: 'promtool'): boolean {
  try {
    resolveTool(name);
    return true;
  } catch {
    return false;
  }
}

describe('the custom stack', () => {
  it('passes every check in both environments', () => {
    for (const e of report.environments) expect(e.findings, e.result.environment.name).toEqual([]);
    expect([...byName.keys()].sort()).toEqual(['dev', 'prod']);
  });

  it("ships the payments alert as the payments team's, with dev's override in its expression and text", () => {
    const gateway = rules('dev', 'rules/payments.yaml').find((r) => r.alert === 'PaymentsGatewayErrors');
    expect(gateway?.labels).toMatchObject({ team: 'payments', severity: 'P2', service: 'payments-api' });
    expect(gateway?.expr).toMatch(/> 0\.1$/);
    expect(gateway?.annotations?.description).toContain('10%');
    expect(gateway?.annotations?.description).toContain('15 minutes');
    expect(gateway?.annotations?.dashboard_url).toMatch(/\/d\/payments-overview$/);
    expect(rules('prod', 'rules/payments.yaml').find((r) => r.alert === 'PaymentsGatewayErrors')?.expr).toMatch(/> 0\.02$/);
  });

  it('turns the SLO into recording rules and four burn-rate alerts', () => {
    const all = rules('prod', 'rules/payments.yaml');
    expect(all.filter((r) => r.alert === 'PaymentsErrorBudgetBurn').map((r) => r.labels?.severity).sort()).toEqual(['P1', 'P2', 'P3', 'P4']);
    expect(all.filter((r) => r.record?.startsWith('slo:')).length).toBeGreaterThanOrEqual(4);
  });

  it('leaves the disabled shipped alert out, and keeps the others', () => {
    const node = rules('prod', 'rules/node.yaml').map((r) => r.alert);
    expect(node).not.toContain('NodeClockNotSynchronising');
    expect(node).toContain('NodeFilesystemAlmostFull');
  });

  it("provisions the payments dashboard in the team's folder", () => {
    const d = byName.get('prod')?.stack.grafana?.provisionedDashboards.find((x) => x.uid === 'payments-overview');
    expect(d?.folder).toBe('Payments');
  });

  it("routes the team's alerts to the team's receivers", () => {
    const am = parse(byName.get('prod')?.files.get('alertmanager.yml') ?? '') as { receivers: { name: string }[] };
    expect(am.receivers.map((r) => r.name)).toEqual(expect.arrayContaining(['team-payments-pager', 'team-payments']));
  });

  it('scrapes the static target and the service monitor', () => {
    const prom = parse(byName.get('prod')?.files.get('prometheus.yml') ?? '') as { scrape_configs: { job_name: string; static_configs?: { targets: string[]; labels?: Record<string, string> }[] }[] };
    const gateway = prom.scrape_configs.find((j) => j.job_name === 'payments-gateway');
    expect(gateway?.static_configs?.[0]?.targets).toEqual(['10.20.0.15:9100', '10.20.0.16:9100']);
    expect(gateway?.static_configs?.[0]?.labels).toMatchObject({ namespace: 'payments', service: 'payments-api' });
    expect(prom.scrape_configs.some((j) => j.job_name.includes('payments-api'))).toBe(true);
  });

  it('applies the patches before the checks', () => {
    const ds = objects('prod', 'node-exporter.k8s.yaml').find((o) => o.kind === 'DaemonSet');
    expect(ds?.spec.template.spec.tolerations).toEqual(expect.arrayContaining([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]));
    const svc = objects('prod', 'grafana.k8s.yaml').find((o) => o.kind === 'Service');
    expect(svc?.metadata.annotations).toEqual({ 'platform.example.com/expose': 'internal', 'argocd.argoproj.io/sync-wave': '3' });
  });

  it.skipIf(!hasTool('promtool'))('passes the promtool cases of its own alerts and SLO', () => {
    const [env] = project.environments;
    if (!env) throw new Error('no environment');
    const result = testRuleAreas(env, project.content.ruleAreas);
    expect(result.missing).toEqual([]);
    expect(result.ok, result.output).toBe(true);
    expect(result.cases).toBeGreaterThanOrEqual(5);
  });
});
