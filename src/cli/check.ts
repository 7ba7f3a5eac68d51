import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { PAGING_RECEIVERS, RECEIVERS, RULES_DIR, SERVICE_ACCOUNT_DIR, SEVERITIES, TEMPLATES_FILE, teamReceivers } from '../constructs/index.js';
import { parse } from 'yaml';
import { type AlertRoute, type Environment, matcherRegex } from '../config/index.js';
import {
  type Finding,
  amtoolCheckConfig,
  amtoolRoutesTest,
  checkSecurityPolicy,
  checkSynthesizedDashboards,
  promtoolCheckConfig,
  promtoolCheckRules,
  objectRef,
  toOfflineConfig,
  validateKubernetesObject,
} from '../validate/index.js';
import { cachedCheck } from './check-cache.js';
import { SCRAPE_SECRETS_DIR } from '../constructs/prometheus/declared-jobs.js';
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
      const offline = toOfflineConfig(prom, root, { [SERVICE_ACCOUNT_DIR]: saDir, [RULES_DIR]: rulesDir, [SCRAPE_SECRETS_DIR]: join(root, 'scrape-secrets') });
      findings.push(...offline.findings);
      // promtool opens bearer-token files (the mounted Secret keys): placeholders, only inside the scratch folder.
      for (const file of offline.placeholderFiles) {
        if (existsSync(file) || relative(root, file).startsWith('..')) continue;
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, 'placeholder\n');
      }
      const file = join(root, 'prometheus.yml');
      writeFileSync(file, offline.text);
      const res = promtoolCheckConfig(file);
      if (!res.ok) findings.push(toolFinding('promtool-check-config', 'prometheus.yml', res.output));
    }

    const am = result.files.get('alertmanager.yml');
    if (am !== undefined) {
      const file = join(root, 'alertmanager.yml');
      writeFileSync(file, am);
      // The notification templates the receivers call: amtool parses them with the config, so a broken template fails here.
      const templates = result.files.get(TEMPLATES_FILE);
      if (templates !== undefined) writeFileSync(join(root, TEMPLATES_FILE), templates);
      const res = amtoolCheckConfig(file);
      if (!res.ok) findings.push(toolFinding('amtool-check-config', 'alertmanager.yml', res.output));
      else findings.push(...checkRouting(file, routingContext(result)));
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return findings;
}

/** What the routing check needs beyond alertmanager.yml: the teams, the user routes, and Prometheus's alert relabeling. */
export interface RoutingContext {
  readonly teams?: Environment['teams'];
  readonly routes?: readonly AlertRoute[];
  /** `alerting.alert_relabel_configs` of prometheus.yml; without it, only alerts that carry a `team` label are probed. */
  readonly alertRelabelConfigs?: readonly Record<string, unknown>[];
}

function routingContext(result: SynthesizedEnvironment): RoutingContext {
  const prom = result.files.get('prometheus.yml');
  const relabel = prom === undefined ? undefined : ((parse(prom) as { alerting?: { alert_relabel_configs?: Record<string, unknown>[] } }).alerting?.alert_relabel_configs ?? []);
  return { teams: result.environment.teams, routes: result.environment.alerting.routes, ...(relabel ? { alertRelabelConfigs: relabel } : {}) };
}

/** What an alert of `team` must reach at each severity: exactly these receivers (besides the history copies), none of the environment's. */
export function teamRoutingExpectations(team: string): ReadonlyArray<{ severity: string; exactly: readonly string[] }> {
  const t = teamReceivers(team);
  return SEVERITIES.map((severity) => ({
    severity,
    exactly: severity === 'P4' ? [t.digest] : severity === 'P3' ? [t.notify] : [t.pager, t.notify],
  }));
}

/**
 * Proves with `amtool config routes test` that each severity reaches the right
 * receivers; for each team, that its alerts reach exactly its own receivers,
 * whether they carry the `team` label already or get it from Prometheus's
 * relabeling of their namespace or service. Probes that a user route
 * (`alerting.routes`) takes on purpose are left out.
 */
export function checkRouting(alertmanagerFile: string, context: RoutingContext = {}): Finding[] {
  const findings: Finding[] = [];
  const takenByUserRoute = (labels: Record<string, string>): boolean => (context.routes ?? []).some((r) => routeMatches(r, labels));
  for (const exp of ROUTING_EXPECTATIONS) {
    const probe = { alertname: 'RoutingProbe', service: 'probe', severity: exp.severity };
    if (takenByUserRoute(probe)) continue;
    const reached = amtoolRoutesTest(alertmanagerFile, probe);
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
  for (const [team, t] of Object.entries(context.teams ?? {})) {
    const own = teamReceivers(team);
    // Copies that every alert of a known severity gets, wherever it is routed.
    const copies = new Set<string>([RECEIVERS.history, own.webhook]);
    const probes: Array<{ what: string; labels: Record<string, string> }> = [{ what: `team="${team}"`, labels: { team } }];
    if (context.alertRelabelConfigs) {
      for (const ns of t.namespaces) probes.push({ what: `namespace="${ns}"`, labels: { namespace: ns } });
      for (const svc of t.services) probes.push({ what: `service="${svc}"`, labels: { service: svc } });
    }
    for (const { what, labels } of probes) {
      for (const exp of teamRoutingExpectations(team)) {
        let alert: Record<string, string> | undefined = { alertname: 'RoutingProbe', ...labels, severity: exp.severity };
        if (!('team' in labels)) {
          try {
            alert = relabelAlert(alert, context.alertRelabelConfigs ?? []);
          } catch (e) {
            findings.push({ check: 'alert-routing', object: 'prometheus.yml', message: (e as Error).message });
            break;
          }
          if (alert?.team !== team) {
            findings.push({ check: 'alert-routing', object: 'prometheus.yml', message: `an alert with ${what} must get team="${team}" from Prometheus's alert relabeling but gets ${alert ? JSON.stringify(alert.team ?? '') : 'dropped'}` });
            break;
          }
        }
        if (takenByUserRoute(alert)) continue;
        const reached = amtoolRoutesTest(alertmanagerFile, alert);
        const delivered = reached.filter((r) => !copies.has(r)).sort();
        if (JSON.stringify(delivered) !== JSON.stringify([...exp.exactly].sort())) {
          findings.push({
            check: 'alert-routing',
            object: 'alertmanager.yml',
            message: `a ${exp.severity} alert with ${what} must reach exactly ${JSON.stringify([...exp.exactly].sort())} of team "${team}" but reaches ${JSON.stringify(reached)}`,
          });
        }
      }
    }
  }
  return findings;
}

/** Whether every matcher of a user route holds for the labels (a missing label is empty, as in Alertmanager). */
function routeMatches(route: AlertRoute, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(route.matchers).every(([label, value]) => {
    const re = matcherRegex(value);
    const actual = labels[label] ?? '';
    return re === undefined ? actual === value : new RegExp(`^(?:${re})$`).test(actual);
  });
}

/**
 * Prometheus's relabeling of an alert's labels, for the actions alert relabeling
 * uses here (replace, keep, drop, labeldrop, labelkeep); undefined when the alert
 * is dropped. The teams' live test holds it against the real Prometheus.
 */
export function relabelAlert(input: Readonly<Record<string, string>>, configs: readonly Record<string, unknown>[]): Record<string, string> | undefined {
  const labels: Record<string, string> = { ...input };
  for (const c of configs) {
    const action = String(c.action ?? 'replace');
    const regex = new RegExp(`^(?:${String(c.regex ?? '(.*)')})$`);
    const source = ((c.source_labels as string[] | undefined) ?? []).map((l) => labels[l] ?? '').join(String(c.separator ?? ';'));
    switch (action) {
      case 'replace': {
        const m = regex.exec(source);
        const target = c.target_label as string | undefined;
        if (!m || !target) break;
        const value = String(c.replacement ?? '$1').replace(/\$(?:\{(\w+)\}|(\d+))/g, (_, a: string | undefined, b: string | undefined) => m[Number(a ?? b)] ?? '');
        if (value === '') delete labels[target];
        else labels[target] = value;
        break;
      }
      case 'keep':
        if (!regex.test(source)) return undefined;
        break;
      case 'drop':
        if (regex.test(source)) return undefined;
        break;
      case 'labeldrop':
      case 'labelkeep':
        for (const name of Object.keys(labels)) if (regex.test(name) === (action === 'labeldrop')) delete labels[name];
        break;
      default:
        throw new Error(`alert relabeling action "${action}" is not understood by the routing check`);
    }
  }
  return labels;
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
    catalog: result.catalog,
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
    findings.push(...parsed.findings.filter(blocks).map(toFinding));
  }
  return [...findings, ...lintRuleFiles(files, { profile: 'stack', catalog: result.catalog }).filter(blocks).map(toFinding)];
}

/** Errors and warnings refuse a synth; an info-level note is style, left to `obstack check rules`. */
const blocks = (f: RuleFinding): boolean => f.level !== 'info';

function toFinding(f: RuleFinding): Finding {
  return { check: `rules:${f.check}`, object: f.file, path: [f.group, f.rule].filter(Boolean).join('/'), message: f.message };
}

/**
 * The in-process checks of one environment, each through the check cache (check-cache.ts) keyed by
 * exactly what it reads: each object (and its index, which names an object without a name), all
 * objects for the policy (it looks across them), the rule files with the catalog, and the dashboards
 * with their datasources, the rule files and the catalog.
 */
function inProcessFindings(result: SynthesizedEnvironment): Finding[] {
  const objectTexts = result.objects.map((o) => JSON.stringify(o));
  const ruleFiles = JSON.stringify([...result.files].filter(([name]) => name.startsWith('rules/')));
  const catalog = JSON.stringify([...result.catalog]);
  const grafana = result.stack.grafana;
  const dashboards = grafana ? JSON.stringify([grafana.provisionedDashboards, grafana.provisionedDatasources]) : '';
  return [
    ...result.objects.flatMap((o, i) => cachedCheck('kubernetes-schema', `${objectRef(o, i)}\n${objectTexts[i]!}`, () => validateKubernetesObject(o, i))),
    ...cachedCheck('security-policy', objectTexts.join('\n'), () => checkSecurityPolicy(result.objects)),
    ...cachedCheck('dashboards', `${dashboards}\n${ruleFiles}\n${catalog}`, () => checkEnvironmentDashboards(result)),
    ...cachedCheck('rules', `${ruleFiles}\n${catalog}`, () => checkEnvironmentRules(result)),
  ];
}

/** Every check of synthesized output, as printable lines. In-process checks always; the real tools when asked. */
export function checkSynthesized(result: SynthesizedEnvironment, opts: CheckOptions): string[] {
  const findings: Finding[] = inProcessFindings(result);
  if (opts.tools) findings.push(...checkWithTools(result));
  return findings.map((f) => `[${f.check}] ${f.object}${f.path ? ` ${f.path}` : ''}: ${f.message}`);
}
