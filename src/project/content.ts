import type { DashboardFile, Environment, MetricSource, RuleArea } from '../authoring/index.js';
import { areaGroups, compileRuleAreas, keptDashboards, ownRunbookContent, type RunbookContent } from '../authoring/index.js';
import { type EnvironmentReferences, environmentReferences } from '../authoring/references.js';
import { buildDashboards, type DashboardDefinition, environmentCompileOptions, environmentDatasources, STACK_DASHBOARDS } from '../../dashboards/index.js';
import { STACK_RULE_AREAS } from '../../rules/index.js';
import { buildCatalog, type MetricCatalog, STACK_METRIC_SOURCES } from '../validate/index.js';

/**
 * What a project adds to the stack: its own rule areas, dashboards and metric
 * catalog entries. The stack's own content is the same kinds of things, so a
 * team's alert gets the same overrides, links, checks and promtool cases.
 */
export interface ProjectContent {
  readonly ruleAreas: readonly RuleArea[];
  readonly dashboards: readonly DashboardDefinition[];
  readonly metrics: readonly MetricSource[];
  /** The files the content was compiled from (absolute paths), when it was loaded from a project's folders. */
  readonly inputs?: readonly string[];
}

/** Content that cannot be combined (two areas or dashboards of one name). */
export class ContentError extends Error {
  readonly code = 'E_CONTENT';
  constructor(message: string) {
    super(message);
    this.name = 'ContentError';
  }
}

/** Where each piece of a project's content was loaded from, for errors that name the file. */
const sources = new WeakMap<object, string>();

/** Records the file a piece of content came from. */
export function rememberSource<T extends object>(content: T, file: string): T {
  sources.set(content, file);
  return content;
}

/** The file a piece of content came from, when it was loaded from one. */
export function sourceOf(content: object): string | undefined {
  return sources.get(content);
}

function describe(content: object): string {
  return sources.get(content) ?? 'the stack';
}

/** The stack's shipped content followed by a project's; refuses an area or dashboard name used twice. */
export function withStackContent(project: Partial<ProjectContent> = {}): ProjectContent {
  // Content that is already the stack's (a project's content combined once before) is not added twice.
  const ruleAreas = [...STACK_RULE_AREAS, ...(project.ruleAreas ?? []).filter((a) => !STACK_RULE_AREAS.includes(a))];
  const dashboards = [...STACK_DASHBOARDS, ...(project.dashboards ?? []).filter((d) => !STACK_DASHBOARDS.includes(d))];
  const metrics = [...STACK_METRIC_SOURCES, ...(project.metrics ?? []).filter((m) => !STACK_METRIC_SOURCES.includes(m))];
  const areaNames = new Map<string, RuleArea>();
  for (const area of ruleAreas) {
    const before = areaNames.get(area.name);
    if (before) {
      throw new ContentError(`rule area "${area.name}" is defined twice, by ${describe(before)} and by ${describe(area)}: a rule area's name is its file name in rules/ (or its \`name\`), and the stack's areas are ${STACK_RULE_AREAS.map((a) => a.name).join(', ')}`);
    }
    areaNames.set(area.name, area);
  }
  const uids = new Map<string, DashboardDefinition>();
  for (const d of dashboards) {
    const before = uids.get(d.uid);
    if (before) throw new ContentError(`dashboard uid "${d.uid}" is used twice, by ${describe(before)} and by ${describe(d)}: uids are unique in Grafana`);
    uids.set(d.uid, d);
  }
  return { ruleAreas, dashboards, metrics };
}

/** What one environment gets of the content: its rule files, its dashboards and the metric catalog they are checked against. */
export interface EnvironmentContent {
  readonly ruleFiles: Readonly<Record<string, string>>;
  readonly dashboards: readonly DashboardFile[];
  readonly catalog: MetricCatalog;
  /** The runbook content alert definitions carry, by alert name, for their pages. */
  readonly runbookContent: ReadonlyMap<string, RunbookContent>;
}

/**
 * Builds the content for one environment: dashboards it keeps and has
 * datasources for (a team's into the team's folder), then the rule files, with
 * every alert linked to a dashboard that is really provisioned.
 */
export function environmentContent(env: Environment, content: ProjectContent, teamFolder: (team: string) => string | undefined = () => undefined): EnvironmentContent {
  const dashboards = buildDashboards(keptDashboards(env, content.dashboards), { datasources: environmentDatasources(env) }, (d) =>
    d.team !== undefined ? teamFolder(d.team) : undefined,
    environmentCompileOptions(env),
  );
  const ruleFiles = compileRuleAreas(env, content.ruleAreas, { availableDashboards: new Set(dashboards.map((d) => d.uid)) });
  const catalog = buildCatalog([...content.metrics, ...content.ruleAreas.flatMap((a) => a.metrics ?? [])]);
  const runbookContent = ownRunbookContent(content.ruleAreas.flatMap((a) => a.rules(env)));
  return { ruleFiles, dashboards, catalog, runbookContent };
}

/** The alert names and dashboard uids an environment file may refer to (overrides, drops), with a project's content. */
export function contentReferences(env: Environment, content: ProjectContent): EnvironmentReferences {
  return environmentReferences(
    Object.fromEntries(content.ruleAreas.map((a) => [`${a.name}.yaml`, areaGroups(a, env)])),
    content.dashboards.map((d) => d.uid),
  );
}
