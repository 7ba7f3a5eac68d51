import { type CheckedNames, type Duration, isDuration, isSeverity, type IsLabelName, LABEL_NAME, METRIC_NAME, type Severity } from './types.js';
import { dashboardUidFromUrl, dashboardUrl } from './dashboard-links.js';
import { rememberDocument } from './known-documents.js';
import { checkRunbookContent, isRunbookContent, type RunbookContent } from './runbook.js';
import { yamlText } from '../config/yaml-text.js';

const ALERT_NAME = /^[A-Z][A-Za-z0-9]*$/;

/** Labels a test expects on an alert, besides the rule's own static labels (severity, service, …), which are added for you. */
export type ExpectedLabels = Readonly<Record<string, string>>;

/**
 * One promtool unit-test case for an alert: input series in promtool's
 * expanding notation, one evaluation time, and the alerts expected to be
 * firing then (`fires: []` proves the alert stays silent).
 */
export interface AlertTest {
  /** What the case proves, printed by promtool when it fails. */
  readonly name: string;
  /** Series selector → values, e.g. `{ 'up{job="grafana",instance="a"}': '0x15' }`. */
  readonly series: Readonly<Record<string, string>>;
  /** Step between input samples. @default '1m' */
  readonly interval?: Duration;
  /** Step between rule evaluations; a coarser one keeps week-long cases fast. @default '1m' */
  readonly evaluationInterval?: Duration;
  /** When to look at the alerts, from the first sample. */
  readonly at: Duration;
  /** Label sets of the firing alerts (only the labels the expression yields), or `[]` for none. */
  readonly fires: readonly ExpectedLabels[];
  /**
   * Expected annotations, index by index with `fires`. When given, the case
   * runs against the rule file as shipped and must state every annotation;
   * otherwise it runs against a copy without annotations.
   */
  readonly annotations?: readonly Readonly<Record<string, string>>[];
}

/** An alert as it goes into a rule file. `alert()`, `slo()` and `rawAlert()` build it. */
export interface AlertRule {
  readonly kind: 'alert';
  readonly name: string;
  readonly expr: string;
  /** The alert's threshold, when its expression has one that an environment may override. */
  readonly threshold?: number;
  /** Builds the expression for another threshold. */
  readonly exprFor?: (threshold: number) => string;
  readonly for?: Duration;
  /** How long the alert keeps firing after its condition stops holding (Prometheus's `keep_firing_for`). */
  readonly keepFiringFor?: Duration;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /**
   * Renders the texts that are functions of the alert's parameters (summary,
   * description, extra annotations) for other values, e.g. after an
   * environment overrides the threshold or `for`; absent when every text is fixed.
   */
  readonly textsFor?: (params: AlertParams) => Readonly<Record<string, string>>;
  /**
   * The alert's own runbook content, when its definition carries it: its page
   * is written from it, and its `runbook_url` (absent here) is the page's link
   * in each environment, added when the area is compiled for it.
   */
  readonly runbook?: RunbookContent;
  readonly tests: readonly AlertTest[];
}

export interface RecordingRule {
  readonly kind: 'record';
  readonly name: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
}

export type Rule = AlertRule | RecordingRule;

export interface RuleGroup {
  readonly name: string;
  readonly interval?: Duration;
  /** Most alerts or series the group may produce; 0 means no limit. */
  readonly limit?: number;
  readonly rules: readonly Rule[];
}

/** The values in effect for an alert (after an environment's overrides), which its texts may state. */
export interface AlertParams<T extends number | undefined = number | undefined, F extends Duration | undefined = Duration | undefined> {
  /** The threshold its expression compares with; `undefined` when the alert has none. */
  readonly threshold: T;
  /** How long the condition must hold; `undefined` when the alert fires at once. */
  readonly for: F;
}

/**
 * The text of an annotation: a string, or a function of the alert's effective
 * parameters so that the text follows an environment's overrides. Prometheus
 * template syntax (`{{ $labels.x }}`, `{{ $value | humanizePercentage }}`) is
 * left as it is either way.
 */
export type AlertText<P extends AlertParams = AlertParams> = string | ((params: P) => string);

/** Annotations whose names the compiler checks, each a text or a function of the parameters. */
export type CheckedTexts<A, P extends AlertParams> = {
  readonly [K in keyof A]: K extends string ? (IsLabelName<K> extends true ? AlertText<P> : never) : never;
};

/** `for` as the texts see it: always a duration when the alert has one (an override can change it, never remove it). */
type ForParam<F> = [F] extends [Duration] ? Duration : Duration | undefined;

interface AlertFields<L, A, F extends Duration | undefined, P extends AlertParams> {
  /** UpperCamelCase, unique across the stack. */
  readonly alert: string;
  readonly for?: F;
  /** How long the alert keeps firing after its condition stops holding, so that a flapping condition does not resolve and re-fire it. */
  readonly keepFiringFor?: Duration;
  readonly severity: Severity;
  /** The component or service the alert is about: the `service` label inhibition matches on. */
  readonly service: string;
  /** One line; a string, or a function of the effective `{ threshold, for }` when it states them. */
  readonly summary: AlertText<P>;
  /** What is wrong and what it breaks; a function of `{ threshold, for }` when it states them, so that overrides change it. */
  readonly description: AlertText<P>;
  /**
   * Where a responder reads what to do (annotation `runbook_url`): a URL
   * (`runbooks(env)('Name')` links the page obstack generates; any other URL is
   * kept and no page is generated), or the content of the generated page itself,
   * which is then linked from `runbook_url`.
   */
  readonly runbook: string | RunbookContent;
  /** uid of the dashboard that explains the alert (annotation `dashboard_uid`). */
  readonly dashboard?: string;
  /** Extra static labels; names are checked by the compiler. */
  readonly labels?: L & CheckedNames<L>;
  /** Extra annotations, texts or functions of `{ threshold, for }`; names are checked by the compiler. */
  readonly annotations?: CheckedTexts<A, P>;
  /** promtool unit tests: at least one case that fires and one that stays silent. */
  readonly tests?: readonly AlertTest[];
}

/**
 * An alert as written in rules/. The expression is a string, or a function of
 * `threshold` when the alert has one (so that an environment can override it);
 * the texts are strings, or functions of the effective `{ threshold, for }`.
 */
export type AlertDefinition<L = {}, A = {}, F extends Duration | undefined = Duration | undefined> =
  | (AlertFields<L, A, F, AlertParams<undefined, ForParam<F>>> & { readonly expr: string; readonly threshold?: undefined })
  | (AlertFields<L, A, F, AlertParams<number, ForParam<F>>> & { readonly expr: (threshold: number) => string; readonly threshold: number });

export interface RecordingDefinition<L = {}> {
  readonly record: string;
  readonly expr: string;
  readonly labels?: L & CheckedNames<L>;
}

/** A rule that cannot be compiled; names the rule and the field. */
export class RuleError extends Error {
  readonly code = 'E_RULE';
  constructor(
    readonly rule: string,
    readonly field: string,
    message: string,
  ) {
    super(`rule ${rule}: ${field} ${message}`);
    this.name = 'RuleError';
  }
}

function checkNames(rule: string, field: string, names: Readonly<Record<string, unknown>> | undefined): void {
  for (const name of Object.keys(names ?? {})) {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) {
      throw new RuleError(rule, `${field}.${name}`, 'is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, no leading "__")');
    }
  }
}

function checkTests(rule: string, tests: readonly AlertTest[]): void {
  for (const t of tests) {
    const where = `tests["${t.name}"]`;
    if (!isDuration(t.at)) throw new RuleError(rule, `${where}.at`, `must be a duration such as "15m", got "${t.at}"`);
    if (t.interval !== undefined && !isDuration(t.interval)) throw new RuleError(rule, `${where}.interval`, `must be a duration, got "${t.interval}"`);
    if (t.name.trim() === '') throw new RuleError(rule, 'tests', 'need a name saying what each case proves');
    for (const labels of t.fires) checkNames(rule, `${where}.fires`, labels);
    if (t.annotations !== undefined && t.annotations.length !== t.fires.length) {
      throw new RuleError(rule, `${where}.annotations`, `must have one entry per expected alert (${t.fires.length}), got ${t.annotations.length}`);
    }
  }
}

type TextFn = (params: AlertParams) => string;

/** Renders every text of an alert for one set of parameters; names the field a function fails or returns nothing in. */
function renderTexts(rule: string, texts: Readonly<Record<string, AlertText<never>>>, params: AlertParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, text] of Object.entries(texts)) {
    let value: unknown = text;
    if (typeof text === 'function') {
      try {
        value = (text as TextFn)(params);
      } catch (e) {
        throw new RuleError(rule, field, `could not be rendered for threshold ${String(params.threshold)} and for ${String(params.for)}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (typeof value !== 'string' || value.trim() === '') throw new RuleError(rule, field, 'must not be empty');
    out[field] = value;
  }
  return out;
}

/** Defines an alert; refuses what types cannot catch (names, empty texts, durations built at run time). */
export function alert<
  const L extends Record<string, string> = {},
  const A extends Record<string, unknown> = {},
  const F extends Duration | undefined = undefined,
>(def: AlertDefinition<L, A, F>): AlertRule {
  const name = def.alert;
  if (!ALERT_NAME.test(name)) throw new RuleError(name, 'alert', 'must be UpperCamelCase letters and digits');
  const runbook: unknown = def.runbook;
  const ownRunbook = isRunbookContent(runbook) ? checkRunbookContent(name, runbook) : undefined;
  if (ownRunbook === undefined && (typeof runbook !== 'string' || runbook.trim() === '')) throw new RuleError(name, 'runbook', 'must not be empty');
  if (typeof def.service !== 'string' || def.service.trim() === '') throw new RuleError(name, 'service', 'must not be empty');
  for (const field of ['summary', 'description'] as const) {
    const text: unknown = def[field];
    if (typeof text === 'function') continue;
    if (typeof text !== 'string' || text.trim() === '') throw new RuleError(name, field, 'must not be empty');
  }
  if (!isSeverity(def.severity)) throw new RuleError(name, 'severity', `must be one of P1, P2, P3, P4, got "${String(def.severity)}"`);
  if (def.for !== undefined && !isDuration(def.for)) throw new RuleError(name, 'for', `must be a duration such as "5m", got "${def.for}"`);
  if (def.keepFiringFor !== undefined && !isDuration(def.keepFiringFor)) throw new RuleError(name, 'keepFiringFor', `must be a duration such as "5m", got "${def.keepFiringFor}"`);
  const labels: Readonly<Record<string, string>> = def.labels ?? {};
  const extra: Readonly<Record<string, AlertText<never>>> = def.annotations ?? {};
  checkNames(name, 'labels', labels);
  checkNames(name, 'annotations', extra);
  for (const reserved of ['severity', 'service', 'alertname']) {
    if (reserved in labels) throw new RuleError(name, `labels.${reserved}`, 'is set by the field of that name');
  }
  for (const reserved of ['summary', 'description', 'runbook_url', 'dashboard_uid']) {
    if (reserved in extra) throw new RuleError(name, `annotations.${reserved}`, 'is set by the field of that name');
  }
  let expr: string;
  let threshold: { threshold: number; exprFor: (t: number) => string } | undefined;
  if (typeof def.expr === 'function') {
    if (typeof def.threshold !== 'number' || !Number.isFinite(def.threshold)) {
      throw new RuleError(name, 'threshold', 'must be a finite number when expr is a function of the threshold');
    }
    expr = def.expr(def.threshold);
    threshold = { threshold: def.threshold, exprFor: def.expr };
  } else {
    if (def.threshold !== undefined) throw new RuleError(name, 'threshold', 'needs expr to be a function of the threshold');
    expr = def.expr;
  }
  if (expr.trim() === '') throw new RuleError(name, 'expr', 'must not be empty');
  const tests = def.tests ?? [];
  checkTests(name, tests);
  // Texts that are functions are kept, so that an override of threshold or `for` renders them again.
  const texts: Record<string, AlertText<never>> = { summary: def.summary, description: def.description };
  for (const [key, text] of Object.entries(extra)) texts[`annotations.${key}`] = text;
  const dynamic = Object.fromEntries(Object.entries(texts).filter(([, t]) => typeof t === 'function'));
  const annotationName = (field: string) => field.replace(/^annotations\./, '');
  const textsFor =
    Object.keys(dynamic).length === 0
      ? undefined
      : (params: AlertParams) => Object.fromEntries(Object.entries(renderTexts(name, dynamic, params)).map(([field, text]) => [annotationName(field), text]));
  const rendered = renderTexts(name, texts, { threshold: threshold?.threshold, for: def.for });
  const { summary, description, ...renderedExtra } = Object.fromEntries(Object.entries(rendered).map(([field, text]) => [annotationName(field), text]));
  return {
    kind: 'alert',
    name,
    expr,
    ...threshold,
    ...(def.for ? { for: def.for } : {}),
    ...(def.keepFiringFor ? { keepFiringFor: def.keepFiringFor } : {}),
    labels: { ...labels, severity: def.severity, service: def.service },
    annotations: {
      summary: summary!,
      description: description!,
      ...(ownRunbook === undefined ? { runbook_url: def.runbook as string } : {}),
      ...(def.dashboard ? { dashboard_uid: def.dashboard } : {}),
      ...renderedExtra,
    },
    ...(textsFor ? { textsFor } : {}),
    ...(ownRunbook !== undefined ? { runbook: ownRunbook } : {}),
    tests,
  };
}

/** Defines a recording rule. Names follow the `level:metric:operations` convention. */
export function record<const L extends Record<string, string> = {}>(def: RecordingDefinition<L>): RecordingRule {
  if (!METRIC_NAME.test(def.record)) throw new RuleError(def.record, 'record', 'is not a valid metric name');
  if (def.expr.trim() === '') throw new RuleError(def.record, 'expr', 'must not be empty');
  const labels: Readonly<Record<string, string>> = def.labels ?? {};
  checkNames(def.record, 'labels', labels);
  return { kind: 'record', name: def.record, expr: def.expr, labels };
}

/** An alert kept exactly as an existing rule file has it (what `obstack import-rules` emits when a rule does not fit `alert()`). */
export interface RawAlertDefinition {
  readonly alert: string;
  readonly expr: string;
  readonly for?: Duration;
  readonly keepFiringFor?: Duration;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly tests?: readonly AlertTest[];
}

/** An alert with free labels and annotations, for migrated rules; `obstack check rules` still lints it. */
export function rawAlert(def: RawAlertDefinition): AlertRule {
  // Prometheus takes any text as an alert's name (it becomes the alertname label's value); `alert()` asks for UpperCamelCase.
  if (typeof def.alert !== 'string' || def.alert.trim() === '') throw new RuleError(String(def.alert), 'alert', 'must not be empty');
  if (def.expr.trim() === '') throw new RuleError(def.alert, 'expr', 'must not be empty');
  if (def.for !== undefined && !isDuration(def.for)) throw new RuleError(def.alert, 'for', `must be a duration such as "5m", got "${def.for}"`);
  if (def.keepFiringFor !== undefined && !isDuration(def.keepFiringFor)) throw new RuleError(def.alert, 'keepFiringFor', `must be a duration such as "5m", got "${def.keepFiringFor}"`);
  checkNames(def.alert, 'labels', def.labels);
  checkNames(def.alert, 'annotations', def.annotations);
  checkTests(def.alert, def.tests ?? []);
  return {
    kind: 'alert',
    name: def.alert,
    expr: def.expr,
    ...(def.for ? { for: def.for } : {}),
    ...(def.keepFiringFor ? { keepFiringFor: def.keepFiringFor } : {}),
    labels: { ...def.labels },
    annotations: { ...def.annotations },
    tests: def.tests ?? [],
  };
}

/** A rule group; its name must be unique within a rule file. */
export function group(def: RuleGroup): RuleGroup {
  if (def.name.trim() === '') throw new RuleError('(group)', 'name', 'must not be empty');
  if (def.interval !== undefined && !isDuration(def.interval)) throw new RuleError(def.name, 'interval', `must be a duration, got "${def.interval}"`);
  return def;
}

export function isAlert(rule: Rule): rule is AlertRule {
  return rule.kind === 'alert';
}

/** A rule as Prometheus's rule file holds it. */
export interface RuleFileRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleFileGroup {
  name: string;
  interval?: string;
  limit?: number;
  rules: RuleFileRule[];
}

/** A Prometheus rule file, parsed. */
export interface RuleFile {
  groups: RuleFileGroup[];
}

export interface CompileOptions {
  /** Leave annotations out (the copy promtool tests run against when a case does not state them). */
  readonly withoutAnnotations?: boolean;
  /** Grafana's URL: an alert's dashboard becomes a `dashboard_url` annotation a responder can open. */
  readonly dashboardBaseUrl?: string;
  /**
   * The dashboard of alerts that name none, or whose own the environment does
   * not ship: the area's, or one chosen by alert name; a list is an order of
   * preference, the first one shipped wins.
   */
  readonly defaultDashboard?: string | readonly string[] | ((alert: string) => string | readonly string[] | undefined);
  /**
   * The uids of the dashboards the environment ships. When given, an alert
   * whose own dashboard is not among them links to `defaultDashboard` instead
   * when that one is, and otherwise to no dashboard at all (never to a missing one).
   * @default - every dashboard an alert names is taken to exist
   */
  readonly availableDashboards?: ReadonlySet<string>;
}

function alertAnnotations(r: Extract<Rule, { kind: 'alert' }>, opts: CompileOptions): Record<string, string> {
  const annotations: Record<string, string> = { ...r.annotations };
  const available = (uid: string | undefined): uid is string => uid !== undefined && (opts.availableDashboards?.has(uid) ?? true);
  const own = annotations.dashboard_uid;
  const chosen = typeof opts.defaultDashboard === 'function' ? opts.defaultDashboard(r.name) : opts.defaultDashboard;
  const fallbacks: readonly string[] = chosen === undefined ? [] : typeof chosen === 'string' ? [chosen] : chosen;
  const uid = available(own) ? own : fallbacks.find((f) => available(f));
  if (uid === undefined) delete annotations.dashboard_uid;
  else annotations.dashboard_uid = uid;
  // A link written by hand (rawAlert) stays unless it points at a dashboard the environment does not ship.
  const url = annotations.dashboard_url;
  const linked = url === undefined ? undefined : dashboardUidFromUrl(url);
  if (linked !== undefined && !available(linked)) delete annotations.dashboard_url;
  if (uid !== undefined && opts.dashboardBaseUrl !== undefined) annotations.dashboard_url = dashboardUrl(opts.dashboardBaseUrl, uid);
  return annotations;
}

function toFileRule(r: Rule, opts: CompileOptions): RuleFileRule {
  const labels = Object.keys(r.labels).length > 0 ? { labels: { ...r.labels } } : {};
  if (r.kind === 'record') return { record: r.name, expr: r.expr, ...labels };
  const all = alertAnnotations(r, opts);
  const annotations = !opts.withoutAnnotations && Object.keys(all).length > 0 ? { annotations: all } : {};
  return { alert: r.name, expr: r.expr, ...(r.for ? { for: r.for } : {}), ...(r.keepFiringFor ? { keep_firing_for: r.keepFiringFor } : {}), ...labels, ...annotations };
}

/**
 * Rule groups as a parsed rule file. Refuses two groups of one name, and an
 * alert defined twice with the same labels and expression; alerts that share a
 * name with other conditions (one alert, several ways to fire) are kept.
 */
export function toRuleFile(groups: readonly RuleGroup[], opts: CompileOptions = {}): RuleFile {
  const groupNames = new Set<string>();
  const identities = new Set<string>();
  return {
    groups: groups.map((g) => {
      if (groupNames.has(g.name)) throw new RuleError(g.name, 'group', 'is defined twice in one file');
      groupNames.add(g.name);
      return {
        name: g.name,
        ...(g.interval ? { interval: g.interval } : {}),
        ...(g.limit ? { limit: g.limit } : {}),
        rules: g.rules.map((r) => {
          if (r.kind === 'alert') {
            const identity = JSON.stringify([r.name, Object.entries(r.labels).sort(), r.expr.replace(/\s+/g, ' ').trim()]);
            if (identities.has(identity)) throw new RuleError(r.name, 'alert', 'is defined twice with the same labels and expression');
            identities.add(identity);
          }
          return toFileRule(r, opts);
        }),
      };
    }),
  };
}

/** Serializes a parsed rule file as YAML. */
export function stringifyRuleFile(file: RuleFile): string {
  return rememberDocument(yamlText(file), file);
}

/** Compiles rule groups into the text of a Prometheus rule file. */
export function compileRuleFile(groups: readonly RuleGroup[], opts: CompileOptions = {}): string {
  return stringifyRuleFile(toRuleFile(groups, opts));
}
