import { type AlertRule, type AlertTest, group, record, RuleError, type RuleGroup } from './rules.js';
import { checkRunbookContent, isRunbookContent, type RunbookContent } from './runbook.js';
import { type Duration, isDuration, LABEL_NAME, type Severity } from './types.js';

/**
 * The multi-window, multi-burn-rate alerts of the Google SRE workbook
 * (chapter 5, "Alerting on SLOs"), mapped onto our severities: the two
 * page-worthy burns page (P1, P2), the two ticket-worthy burns notify the team
 * (P3) or go to the digest (P4). A P1 inhibits the others, since all four
 * share one alert name and service.
 */
export const BURN_RATE_WINDOWS: readonly { severity: Severity; burnRate: number; long: Duration; short: Duration; for: Duration }[] = [
  { severity: 'P1', burnRate: 14.4, long: '1h', short: '5m', for: '2m' },
  { severity: 'P2', burnRate: 6, long: '6h', short: '30m', for: '15m' },
  { severity: 'P3', burnRate: 3, long: '1d', short: '2h', for: '1h' },
  { severity: 'P4', burnRate: 1, long: '3d', short: '6h', for: '3h' },
];

export interface SloDefinition {
  /** The `service` label of the alerts (what inhibition and routing match on). */
  readonly service: string;
  /** Short name of the SLO, a label value; also the alert name's stem. @default service */
  readonly name?: string;
  /** Target percentage of good events, e.g. 99.9. */
  readonly objective: number;
  /** The SLO period the error budget is counted over. */
  readonly window: Duration;
  /**
   * Selector of the counter of bad events, e.g. `http_requests_total{job="api",code=~"5.."}`;
   * or several, when services name or label the counter differently: their
   * rates are joined with `or`, so a series two selectors match counts once.
   */
  readonly errors: string | readonly string[];
  /** Selector of the counter of all events, or several (as `errors`). */
  readonly total: string | readonly string[];
  /** A runbook URL, or the content of the page obstack generates for the alerts (as `alert()`'s `runbook`). */
  readonly runbook: string | RunbookContent;
  /** uid of the dashboard that explains the SLO. */
  readonly dashboard?: string;
  /** What the SLO promises, in words, for the alert's description. */
  readonly description?: string;
  /**
   * Two concrete series used to generate the promtool cases (fast burn fires
   * all four, slow burn only the tickets, a healthy rate none): one series the
   * `errors` selector matches and one only `total` matches.
   */
  readonly testSeries?: { readonly error: string; readonly good: string };
}

const RECORD_PREFIX = 'slo:sli_error:ratio_rate';

function pascal(text: string): string {
  return text
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}

function ratio(objective: number): number {
  return Number((objective / 100).toPrecision(12));
}

/** The name of the recorded error ratio over a window. */
export function sloErrorRatioRecord(window: Duration): string {
  return `${RECORD_PREFIX}${window}`;
}

function tests(def: SloDefinition, name: string, labels: Record<string, string>): AlertTest[] {
  if (!def.testSeries) return [];
  const budget = 1 - ratio(def.objective);
  const perMinute = 1000;
  const at: Duration = '3h10m';
  const samples = 200;
  const series = (errorShare: number): Record<string, string> => {
    const bad = Number((perMinute * errorShare).toPrecision(6));
    return { [def.testSeries!.error]: `0+${bad}x${samples}`, [def.testSeries!.good]: `0+${Number((perMinute - bad).toPrecision(6))}x${samples}` };
  };
  const fired = (severities: readonly Severity[]) =>
    BURN_RATE_WINDOWS.filter((w) => severities.includes(w.severity)).map((w) => ({ ...labels, long: w.long, short: w.short, severity: w.severity }));
  return [
    { name: `every request fails: all four burn rates fire`, series: series(1), at, fires: fired(['P1', 'P2', 'P3', 'P4']) },
    { name: `budget burns 4x: only the tickets fire`, series: series(4 * budget), at, fires: fired(['P3', 'P4']) },
    { name: `budget burns 0.5x: silent`, series: series(0.5 * budget), at, fires: [] },
    { name: `no traffic at all: silent`, series: {}, at: '30m' as Duration, fires: [] },
  ].map((t) => ({ ...t, name: `${name}: ${t.name}`, evaluationInterval: '5m' as Duration }));
}

/**
 * Compiles an SLO into two groups: recording rules of the error ratio over
 * every window the alerts use (plus the SLO window and the remaining budget),
 * and the four burn-rate alerts `<Name>ErrorBudgetBurn`.
 */
export function slo(def: SloDefinition): RuleGroup[] {
  const name = def.name ?? def.service;
  const alertName = `${pascal(name)}ErrorBudgetBurn`;
  if (!(def.objective > 0 && def.objective < 100)) throw new RuleError(alertName, 'objective', `must be a percentage between 0 and 100 (exclusive), got ${def.objective}`);
  if (!isDuration(def.window)) throw new RuleError(alertName, 'window', `must be a duration such as "30d", got "${def.window}"`);
  for (const field of ['errors', 'total', 'service'] as const) {
    const values: readonly string[] = typeof def[field] === 'string' ? [def[field] as string] : (def[field] as readonly string[]);
    if (values.length === 0 || values.some((v) => typeof v !== 'string' || v.trim() === '')) throw new RuleError(alertName, field, 'must not be empty');
  }
  const runbook: unknown = def.runbook;
  const ownRunbook = isRunbookContent(runbook) ? checkRunbookContent(alertName, runbook) : undefined;
  if (ownRunbook === undefined && (typeof runbook !== 'string' || runbook.trim() === '')) throw new RuleError(alertName, 'runbook', 'must not be empty');
  if (!LABEL_NAME.test(name.replace(/[-.]/g, '_'))) throw new RuleError(alertName, 'name', `must be a simple name, got "${name}"`);
  const objective = ratio(def.objective);
  const selector = { slo: name, service: def.service };
  const matchers = `{slo="${name}"}`;
  const windows = [...new Set<Duration>([...BURN_RATE_WINDOWS.flatMap((w) => [w.short, w.long]), def.window])];
  const recordings = windows.map((w) =>
    record({ record: sloErrorRatioRecord(w), expr: `sum(${rates(def.errors, w)}) / sum(${rates(def.total, w)})`, labels: selector }),
  );
  recordings.push(
    record({ record: 'slo:objective:ratio', expr: `vector(${objective})`, labels: selector }),
    record({
      record: 'slo:error_budget_remaining:ratio',
      expr: `1 - ${sloErrorRatioRecord(def.window)}${matchers} / (1 - ${objective})`,
      labels: selector,
    }),
  );
  const labels = { slo: name, service: def.service };
  const alertTests = tests(def, name, { slo: name });
  const alerts: AlertRule[] = BURN_RATE_WINDOWS.map((w, i) => ({
    kind: 'alert',
    name: alertName,
    expr: `${sloErrorRatioRecord(w.long)}${matchers} > (${w.burnRate} * (1 - ${objective}))\nand\n${sloErrorRatioRecord(w.short)}${matchers} > (${w.burnRate} * (1 - ${objective}))`,
    for: w.for,
    labels: { long: w.long, short: w.short, ...labels, severity: w.severity },
    annotations: {
      summary: `${name} burns its error budget ${w.burnRate}x too fast`,
      description: `${def.description ? `${def.description} ` : ''}Over the last ${w.long} (and ${w.short}) {{ $value | humanizePercentage }} of events failed; the objective is ${def.objective}% over ${def.window}, so at this rate the budget is gone in ${budgetLeftText(def.window, w.burnRate)}.`,
      ...(ownRunbook === undefined ? { runbook_url: def.runbook as string } : {}),
      ...(def.dashboard ? { dashboard_uid: def.dashboard } : {}),
    },
    ...(ownRunbook !== undefined ? { runbook: ownRunbook } : {}),
    tests: i === 0 ? alertTests : [],
  }));
  return [group({ name: `slo:${name}:recordings`, rules: recordings }), group({ name: `slo:${name}:alerts`, rules: alerts })];
}

/** `rate(a[w])`, or `rate(a[w]) or rate(b[w])` for several selectors. */
function rates(selectors: string | readonly string[], w: Duration): string {
  return (typeof selectors === 'string' ? [selectors] : selectors).map((s) => `rate(${s}[${w}])`).join(' or ');
}

function budgetLeftText(window: Duration, burnRate: number): string {
  const days = Number(window.match(/^(\d+)d$/)?.[1] ?? NaN);
  if (Number.isNaN(days)) return `${window} / ${burnRate}`;
  const hours = (days * 24) / burnRate;
  return hours >= 48 ? `${Math.round(hours / 24)} days` : `${Math.round(hours)} hours`;
}
