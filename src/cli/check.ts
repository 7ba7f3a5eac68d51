import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PAGING_RECEIVERS, RECEIVERS, RULES_DIR, SERVICE_ACCOUNT_DIR } from '../constructs/index.js';
import {
  type Finding,
  amtoolCheckConfig,
  amtoolRoutesTest,
  checkSecurityPolicy,
  checkSynthesizedDashboards,
  promtoolCheckConfig,
  promtoolCheckRules,
  stackMetricCatalog,
  toOfflineConfig,
  validateKubernetesSchema,
} from '../validate/index.js';
import type { SynthesizedEnvironment } from './synthesize.js';
import { type RuleFinding, lintRuleFiles, parseRuleFileText } from '../validate/rules-lint.js';
import type { RuleFile } from '../authoring/index.js';

export interface CheckOptions {
  /** Run promtool and amtool (slower, needs the binaries). */
  readonly tools: boolean;
}

/** Alerts of each severity and where they must, and must not, be delivered. */
export const ROUTING_EXPECTATIONS: ReadonlyArray<{ severity: string; mustReach: readonly string[]; mustNotReach: readonly string[] }> = [
  { severity: 'P1', mustReach: [RECEIVERS.pager, RECEIVERS.team], mustNotReach: [RECEIVERS.digest] },
  { severity: 'P2', mustReach: [RECEIVERS.pager, RECEIVERS.team], mustNotReach: [RECEIVERS.digest] },
  { severity: 'P3', mustReach: [RECEIVERS.team], mustNotReach: [...PAGING_RECEIVERS, RECEIVERS.digest] },
  { severity: 'P4', mustReach: [RECEIVERS.digest], mustNotReach: [...PAGING_RECEIVERS, RECEIVERS.team] },
];

function toolFinding(check: string, object: string, output: string): Finding {
  return { check, object, message: output.trim().split('\n').slice(-6).join(' | ') };
}

/** Runs the real promtool and amtool on the files of one environment, in a scratch folder. */
export function checkWithTools(result: SynthesizedEnvironment): Finding[] {
  const findings: Finding[] = [];
  const root = mkdtempSync(join(tmpdir(), 'obstack-check-'));
  try {
    const rulesDir = join(root, 'rules');
    mkdirSync(rulesDir, { recursive: true });
    const ruleFiles: string[] = [];
    for (const [rel, content] of result.files) {
      if (!rel.startsWith('rules/')) continue;
      const path = join(root, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
      ruleFiles.push(path);
    }
    if (ruleFiles.length > 0) {
      const rules = promtoolCheckRules(ruleFiles);
      if (!rules.ok) findings.push(toolFinding('promtool-check-rules', 'rules', rules.output));
    }

    const prom = result.files.get('prometheus.yml');
    if (prom !== undefined) {
      const saDir = join(root, 'serviceaccount');
      mkdirSync(saDir, { recursive: true });
      writeFileSync(join(saDir, 'token'), 'placeholder-token\n');
      writeFileSync(join(saDir, 'ca.crt'), '');
      const offline = toOfflineConfig(prom, root, { [SERVICE_ACCOUNT_DIR]: saDir, [RULES_DIR]: rulesDir });
      findings.push(...offline.findings);
      const file = join(root, 'prometheus.yml');
      writeFileSync(file, offline.text);
      const res = promtoolCheckConfig(file);
      if (!res.ok) findings.push(toolFinding('promtool-check-config', 'prometheus.yml', res.output));
    }

    const am = result.files.get('alertmanager.yml');
    if (am !== undefined) {
      const file = join(root, 'alertmanager.yml');
      writeFileSync(file, am);
      const res = amtoolCheckConfig(file);
      if (!res.ok) findings.push(toolFinding('amtool-check-config', 'alertmanager.yml', res.output));
      else findings.push(...checkRouting(file));
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return findings;
}

/** Proves with `amtool config routes test` that each severity reaches the right receivers. */
export function checkRouting(alertmanagerFile: string): Finding[] {
  const findings: Finding[] = [];
  for (const exp of ROUTING_EXPECTATIONS) {
    const reached = amtoolRoutesTest(alertmanagerFile, { alertname: 'RoutingProbe', service: 'probe', severity: exp.severity });
    for (const r of exp.mustReach) {
      if (!reached.includes(r)) {
        findings.push({ check: 'alert-routing', object: 'alertmanager.yml', message: `a ${exp.severity} alert must reach "${r}" but reaches ${JSON.stringify(reached)}` });
      }
    }
    for (const r of exp.mustNotReach) {
      if (reached.includes(r)) {
        findings.push({ check: 'alert-routing', object: 'alertmanager.yml', message: `a ${exp.severity} alert must not reach "${r}" but reaches ${JSON.stringify(reached)}` });
      }
    }
  }
  return findings;
}

/** The dashboard checks on one environment: what Grafana provisions against the rules and metrics of the same output. */
export function checkEnvironmentDashboards(result: SynthesizedEnvironment): Finding[] {
  const grafana = result.stack.grafana;
  if (!grafana) return [];
  const ruleFiles = new Map([...result.files].filter(([name]) => name.startsWith('rules/')));
  return checkSynthesizedDashboards({
    dashboards: grafana.provisionedDashboards,
    datasources: grafana.provisionedDatasources,
    ruleFiles,
    catalog: stackMetricCatalog(),
  });
}

/** The rule checks of the stack's own profile over the synthesized rule files, all files of an environment together. */
export function checkEnvironmentRules(result: SynthesizedEnvironment): Finding[] {
  const files: { name: string; content: RuleFile }[] = [];
  const findings: Finding[] = [];
  for (const [name, text] of result.files) {
    if (!name.startsWith('rules/')) continue;
    const parsed = parseRuleFileText(name, text);
    if (parsed.file) files.push({ name, content: parsed.file });
    findings.push(...parsed.findings.map(toFinding));
  }
  return [...findings, ...lintRuleFiles(files, { profile: 'stack', catalog: stackMetricCatalog() }).map(toFinding)];
}

function toFinding(f: RuleFinding): Finding {
  return { check: `rules:${f.check}`, object: f.file, path: [f.group, f.rule].filter(Boolean).join('/'), message: f.message };
}

/** Every check of synthesized output, as printable lines. In-process checks always; the real tools when asked. */
export function checkSynthesized(result: SynthesizedEnvironment, opts: CheckOptions): string[] {
  const findings: Finding[] = [...validateKubernetesSchema(result.objects), ...checkSecurityPolicy(result.objects), ...checkEnvironmentDashboards(result), ...checkEnvironmentRules(result)];
  if (opts.tools) findings.push(...checkWithTools(result));
  return findings.map((f) => `[${f.check}] ${f.object}${f.path ? ` ${f.path}` : ''}: ${f.message}`);
}
