import type { Environment } from '../config/index.js';
import { grafanaBaseUrl } from './dashboard-links.js';
import type { MetricSource } from './metrics.js';
import { applyOverrides } from './overrides.js';
import { type CompileOptions, compileRuleFile, RuleError, type Rule, type RuleGroup } from './rules.js';
import { runbooks } from './rule-helpers.js';

/**
 * The dashboard of the alerts that name none (or whose own an environment
 * drops): one uid for the area, or one chosen by alert name; a list is an
 * order of preference, the first the environment ships wins.
 */
export type AreaDashboard = string | readonly string[] | ((alert: string) => string | readonly string[] | undefined);

/**
 * One area of alert and recording rules, compiled to `dist/<env>.files/rules/<name>.yaml`.
 * The stack's own areas and a team's are the same thing: overrides, dashboard
 * links, runbook links, the checks and the promtool cases apply to both.
 */
export interface RuleArea {
  readonly kind: 'obstack.rule-area';
  /** The rule file's stem: `payments` → `rules/payments.yaml`. */
  readonly name: string;
  /** The groups of the area in one environment. */
  readonly rules: (env: Environment) => readonly RuleGroup[];
  /** The dashboard of alerts that name none. @default - no dashboard link */
  readonly dashboard?: AreaDashboard;
  /** The team that owns every alert of the area: each gets a `team` label and routes to the team. @default - none */
  readonly team?: string;
  /** Metric catalog entries for what the area's rules read. @default - none */
  readonly metrics?: readonly MetricSource[];
}

/** What a rule file of a project exports: an area whose name is the file's name unless given. */
export interface RuleAreaDefinition {
  /** @default - the file name without extension */
  readonly name?: string;
  readonly rules: ((env: Environment) => readonly RuleGroup[]) | readonly RuleGroup[];
  readonly dashboard?: AreaDashboard;
  readonly team?: string;
  readonly metrics?: readonly MetricSource[];
}

const AREA_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A rule area; the default export of a file in a project's `rules/` folder. */
export function defineRules(def: RuleAreaDefinition): RuleArea {
  const name = def.name ?? '';
  if (name !== '' && !AREA_NAME.test(name)) throw new RuleError(name, 'name', 'must be lower case letters, digits and "-" (it names the rule file)');
  const rules = def.rules;
  if (typeof rules !== 'function' && !Array.isArray(rules)) throw new RuleError(name || '(area)', 'rules', 'must be rule groups or a function of the environment returning them');
  return {
    kind: 'obstack.rule-area',
    name,
    rules: typeof rules === 'function' ? rules : () => rules,
    ...(def.dashboard !== undefined ? { dashboard: def.dashboard } : {}),
    ...(def.team !== undefined ? { team: def.team } : {}),
    ...(def.metrics !== undefined ? { metrics: def.metrics } : {}),
  };
}

/** Whether a value is a rule area (the default export of a rule file), whichever copy of obstack made it. */
export function isRuleArea(value: unknown): value is RuleArea {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'obstack.rule-area';
}

/**
 * The groups of an area as written (before overrides), with the area's team as a `team` label on every alert that
 * has none, and the link to its generated runbook page on every alert that brings the page's content itself.
 */
export function areaGroups(area: RuleArea, env: Environment): RuleGroup[] {
  const team = area.team;
  const runbook = runbooks(env);
  const complete = (r: Rule): Rule => {
    if (r.kind !== 'alert') return r;
    const labels = team !== undefined && r.labels.team === undefined ? { ...r.labels, team } : r.labels;
    const annotations = r.runbook !== undefined && r.annotations.runbook_url === undefined ? { ...r.annotations, runbook_url: runbook(r.name) } : r.annotations;
    return labels === r.labels && annotations === r.annotations ? r : { ...r, labels, annotations };
  };
  return area.rules(env).map((g) => (g.rules.some((r) => complete(r) !== r) ? { ...g, rules: g.rules.map(complete) } : g));
}

/**
 * The rule groups of every area in one environment, by rule file name
 * (`<area>.yaml`), with the environment's `alerting.overrides` applied
 * across all of them (a name that matches no alert is a ConfigError).
 */
export function ruleAreaGroups(env: Environment, areas: readonly RuleArea[]): Record<string, RuleGroup[]> {
  const files: Record<string, RuleGroup[]> = {};
  for (const area of areas) files[`${area.name}.yaml`] = areaGroups(area, env);
  return applyOverrides(files, env.alerting.overrides, `environment "${env.name}"`);
}

/** Options for compiling the rule areas of an environment. */
export interface CompileAreasOptions extends Pick<CompileOptions, 'withoutAnnotations'> {
  /** Uids of the dashboards the environment provisions; links to any other fall back to the area's dashboard, or go. @default - every uid is taken as provisioned */
  readonly availableDashboards?: ReadonlySet<string>;
}

/** Compiles every area of an environment into rule files by name, linking alerts to dashboards on the environment's Grafana. */
export function compileRuleAreas(env: Environment, areas: readonly RuleArea[], opts: CompileAreasOptions = {}): Record<string, string> {
  const byFile = new Map(areas.map((a) => [`${a.name}.yaml`, a]));
  const dashboardBaseUrl = grafanaBaseUrl(env);
  return Object.fromEntries(
    Object.entries(ruleAreaGroups(env, areas)).map(([file, groups]) => {
      const dashboard = byFile.get(file)?.dashboard;
      return [file, compileRuleFile(groups, { ...opts, dashboardBaseUrl, ...(dashboard !== undefined ? { defaultDashboard: dashboard } : {}) })];
    }),
  );
}
