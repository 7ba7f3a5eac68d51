import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import Handlebars from 'handlebars';
import { parse } from 'yaml';
import { knownDocument } from '../authoring/known-documents.js';
import { type RunbookContent, runbookPageName, runbookPageUrl } from '../authoring/runbook.js';
import type { RuleFile, RuleFileRule } from '../authoring/rules.js';
import { type Environment, RUNBOOKS_DIR } from '../config/index.js';
import { templateSource } from '../../templates/index.js';
import { type Delivery, deliveriesFor, parseMatcher, type ReceiverSummary, receiversOf, SEVERITIES, type Severity } from './routing.js';

/** The runbook index's file name in the runbooks folder. */
export const RUNBOOK_INDEX = 'README.md';

/** An alert as its page's content is looked up: by name, area (the rule file's stem) and static labels. */
export interface RunbookAlert {
  readonly name: string;
  readonly area: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface RunbookPagesInput {
  readonly environment: Environment;
  /** The environment's files by logical path; the rule files (`rules/*.yaml`) and `alertmanager.yml` are read. */
  readonly files: ReadonlyMap<string, string>;
  /** What a responder needs to know of an alert beyond its rule: impact, likely causes, first checks. */
  readonly content: (alert: RunbookAlert) => RunbookContent;
}

interface FoundRule {
  readonly file: string;
  readonly area: string;
  readonly group: string;
  readonly interval: string | undefined;
  readonly rule: RuleFileRule & { alert: string };
}

function ruleFileOf(text: string): RuleFile | undefined {
  const known = knownDocument(text);
  try {
    return (known?.data ?? parse(text)) as RuleFile;
  } catch {
    return undefined;
  }
}

function alertsOf(files: ReadonlyMap<string, string>): FoundRule[] {
  const out: FoundRule[] = [];
  for (const [file, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    if (!/^rules\/[^/]+\.ya?ml$/.test(file)) continue;
    const area = file.replace(/^rules\//, '').replace(/\.ya?ml$/, '');
    for (const g of ruleFileOf(text)?.groups ?? []) {
      for (const rule of g.rules ?? []) {
        if (typeof rule.alert === 'string') out.push({ file, area, group: g.name, interval: g.interval, rule: rule as RuleFileRule & { alert: string } });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// PromQL: the expression without its threshold comparison

const COMPARISONS = new Set(['Gtr', 'Lss', 'Eql', 'Neq', 'Gte', 'Lte']);
const SET_OPERATORS = new Set(['And', 'Or', 'Unless']);

/** Whether a subexpression reads no series (`10`, `(14.4 * (1 - 0.999))`): a threshold rather than a value. */
function isConstant(node: SyntaxNode): boolean {
  if (node.name === 'VectorSelector' || node.name === 'FunctionCall') return false;
  for (let child = node.firstChild; child !== null; child = child.nextSibling) if (!isConstant(child)) return false;
  return true;
}

/**
 * The queries that show the current values behind an alert: its expression
 * without the threshold comparison (`up{job="x"} == 0` → `up{job="x"}`), each
 * side of `and`/`or`/`unless` on its own, and both sides of a comparison of
 * two series. The expression itself when it compares nothing; empty when it does not parse.
 */
export function currentValueQueries(expr: string): string[] {
  const tree = parser.parse(expr);
  let broken = false;
  tree.iterate({
    enter: (n) => {
      if (n.type.isError) broken = true;
    },
  });
  const top = tree.topNode.firstChild;
  if (broken || top === null) return [];
  const text = (n: SyntaxNode): string => expr.slice(n.from, n.to).trim();
  const strip = (node: SyntaxNode): string[] => {
    if (node.name === 'ParenExpr' && node.firstChild !== null) return strip(node.firstChild);
    if (node.name !== 'BinaryExpr') return [text(node)];
    const lhs = node.firstChild;
    const rhs = node.lastChild;
    const op = lhs?.nextSibling;
    if (lhs === null || rhs === null || op === null || op === undefined) return [text(node)];
    if (SET_OPERATORS.has(op.name)) return [...strip(lhs), ...strip(rhs)];
    if (!COMPARISONS.has(op.name) || node.getChild('BoolModifier') !== null) return [text(node)];
    if (isConstant(rhs)) return [text(lhs)];
    if (isConstant(lhs)) return [text(rhs)];
    return [text(lhs), text(rhs)];
  };
  return [...new Set(strip(top))];
}

// ---------------------------------------------------------------------------
// Routing: who an alert of these labels reaches

type Match = 'yes' | 'no' | 'unknown';

/** Whether a matcher holds for an alert whose labels are known only where they are static (templated values are not). */
function matches(raw: string, labels: Readonly<Record<string, string>>): Match {
  const m = parseMatcher(raw);
  if (m === undefined) return 'unknown';
  const value = labels[m.name];
  if (value === undefined || value.includes('{{')) return 'unknown';
  let hit: boolean;
  if (m.op === '=' || m.op === '!=') hit = value === m.value;
  else {
    try {
      hit = new RegExp(`^(?:${m.value})$`).test(value);
    } catch {
      return 'unknown';
    }
  }
  return (m.op.startsWith('!') ? !hit : hit) ? 'yes' : 'no';
}

/** The matchers of one `unless` entry of a delivery (earlier routes' matchers, joined by ", "). */
function matchersOf(entry: string): string[] {
  return entry.split(/,\s*(?=[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=))/).map((m) => m.trim());
}

interface Reached {
  readonly receiver: string;
  readonly channels: readonly string[];
  /** Conditions on labels the rule does not fix (set by its expression), or empty. */
  readonly when: readonly string[];
  readonly unless: readonly string[];
}

function reachedBy(deliveries: readonly Delivery[], labels: Readonly<Record<string, string>>, receivers: readonly ReceiverSummary[]): Reached[] {
  const out: Reached[] = [];
  for (const d of deliveries) {
    const when = d.when.map((m) => [m, matches(m, labels)] as const);
    if (when.some(([, r]) => r === 'no')) continue;
    const unless: string[] = [];
    let excluded = false;
    for (const entry of d.unless) {
      const results = matchersOf(entry).map((m) => matches(m, labels));
      if (results.every((r) => r === 'yes')) excluded = true;
      else if (!results.includes('no')) unless.push(entry);
    }
    if (excluded) continue;
    const channels = receivers.find((r) => r.name === d.receiver)?.channels ?? [];
    out.push({ receiver: d.receiver, channels, when: when.filter(([, r]) => r === 'unknown').map(([m]) => m), unless });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Markdown

/** Text on one line as Markdown shows it literally (Prometheus templates such as `{{ $labels.pod_name }}` included). */
function md(text: unknown): string {
  return String(text ?? '')
    .replace(/([\\`*_[\]<>])/g, '\\$1')
    .replace(/^(\s*)([#+-]|\d+\.)/, '$1\\$2')
    .replace(/\s*\n\s*/g, ' ');
}

/** Text in a table cell: as `md`, and a `|` does not end the cell. */
function cell(text: unknown): string {
  return md(text).replace(/\|/g, '\\|');
}

/** Inline code that may itself hold backticks. */
function code(text: unknown): string {
  const s = String(text ?? '');
  const longest = Math.max(0, ...[...s.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return s.includes('`') ? `${fence} ${s} ${fence}` : `${fence}${s}${fence}`;
}

/** A fenced code block that may itself hold backticks. */
function fenced(text: string, lang: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${lang}\n${text}\n${fence}`;
}

function engine(): typeof Handlebars {
  const hb = Handlebars.create();
  hb.registerHelper('md', (v: unknown) => md(v));
  hb.registerHelper('cell', (v: unknown) => cell(v));
  hb.registerHelper('code', (v: unknown) => code(v));
  hb.registerHelper('promql', (v: unknown) => fenced(String(v), 'promql'));
  return hb;
}

let templates: { page: Handlebars.TemplateDelegate; index: Handlebars.TemplateDelegate } | undefined;

function compiled(): NonNullable<typeof templates> {
  if (templates === undefined) {
    const hb = engine();
    const opts = { strict: true, noEscape: true } as const;
    templates = {
      page: hb.compile(templateSource('runbooks/alert.md.hbs'), opts),
      index: hb.compile(templateSource('runbooks/index.md.hbs'), opts),
    };
  }
  return templates;
}

// ---------------------------------------------------------------------------
// Pages

const isSeverity = (s: string | undefined): s is Severity => (SEVERITIES as readonly string[]).includes(s ?? '');

function severityOrder(s: string): number {
  const i = (SEVERITIES as readonly string[]).indexOf(s);
  return i === -1 ? SEVERITIES.length : i;
}

function reachedView(r: Reached): Record<string, unknown> {
  return {
    receiver: r.receiver,
    channels: r.channels.length > 0 ? r.channels.join(', ') : null,
    when: r.when.length > 0 ? r.when.map(code).join(' and ') : null,
    except: r.unless.length > 0 ? r.unless.map(code).join(' or ') : null,
  };
}

function labelValue(rules: readonly FoundRule[], name: string): string | null {
  const values = [...new Set(rules.map((r) => r.rule.labels?.[name]).filter((v): v is string => v !== undefined))];
  return values.length > 0 ? values.join(', ') : null;
}

/**
 * The runbook pages of an environment, by logical path: `runbooks/<alert-name>.md`
 * for every alert whose `runbook_url` is its page under the environment's runbook
 * base (an alert that names a runbook of its own gets none), and `runbooks/README.md`,
 * every alert by severity. Each page states the alert's meaning with the
 * environment's effective texts, its impact and likely causes, first checks with
 * its PromQL, its dashboard and who its severity reaches in alertmanager.yml's routing.
 */
export function runbookPages(input: RunbookPagesInput): Map<string, string> {
  const env = input.environment;
  const base = env.alerting.runbookBaseUrl;
  const am = input.files.get('alertmanager.yml');
  const receivers = receiversOf(am);
  const deliveries = new Map(SEVERITIES.map((s) => [s, deliveriesFor(am, s)] as const));
  const alerts = alertsOf(input.files);
  const byPage = new Map<string, FoundRule[]>();
  for (const a of alerts) {
    if (a.rule.annotations?.runbook_url !== runbookPageUrl(base, a.rule.alert)) continue;
    const page = runbookPageName(a.rule.alert);
    byPage.set(page, [...(byPage.get(page) ?? []), a]);
  }
  const { page: pageTemplate, index: indexTemplate } = compiled();
  const out = new Map<string, string>();
  const evaluation = env.components.prometheus.evaluationInterval;
  for (const [page, found] of [...byPage].sort(([a], [b]) => a.localeCompare(b))) {
    const rules = [...found].sort((a, b) => severityOrder(a.rule.labels?.severity ?? '') - severityOrder(b.rule.labels?.severity ?? ''));
    const first = rules[0]!;
    const names = [...new Set(rules.map((r) => r.rule.alert))];
    const content = input.content({ name: first.rule.alert, area: first.area, labels: first.rule.labels ?? {} });
    const multiple = rules.length > 1;
    // A variant's heading: its severity, and the labels that tell it from the others (the SLO windows).
    const differing = new Set(rules.flatMap((r) => Object.entries(r.rule.labels ?? {})).filter(([k, v]) => rules.some((o) => o.rule.labels?.[k] !== v)).map(([k]) => k));
    const variants = rules.map((r) => {
      const labels: Record<string, string> = { alertname: r.rule.alert, ...r.rule.labels };
      const severity = labels.severity ?? '';
      const distinct = Object.entries(r.rule.labels ?? {})
        .filter(([k]) => k !== 'severity' && differing.has(k))
        .map(([k, v]) => `${k}="${v}"`);
      const queries = currentValueQueries(r.rule.expr);
      const reached = isSeverity(severity) ? reachedBy(deliveries.get(severity) ?? [], labels, receivers) : [];
      return {
        heading: multiple ? [severity || '(no severity)', ...distinct].join(', ') : null,
        severity: severity || null,
        summary: r.rule.annotations?.summary ?? null,
        description: r.rule.annotations?.description ?? null,
        for: r.rule.for ?? null,
        interval: r.interval ?? evaluation,
        expr: r.rule.expr,
        currentValues: queries.length === 1 && queries[0] === r.rule.expr.trim() ? null : queries,
        reached: reached.map(reachedView),
        silent: reached.length === 0 || reached.every((d) => d.channels.length === 0),
        file: r.file,
        group: r.group,
      };
    });
    const dashboards = [...new Map(rules.filter((r) => r.rule.annotations?.dashboard_uid).map((r) => [r.rule.annotations!.dashboard_uid!, r.rule.annotations?.dashboard_url ?? null])).entries()].map(([uid, url]) => ({ uid, url }));
    out.set(
      `${RUNBOOKS_DIR}/${page}`,
      pageTemplate({
        title: names.join(', '),
        environment: env.name,
        namespace: env.namespace,
        summary: first.rule.annotations?.summary ?? null,
        severity: [...new Set(rules.map((r) => r.rule.labels?.severity ?? '(none)'))].join(', '),
        service: labelValue(rules, 'service'),
        team: labelValue(rules, 'team'),
        files: [...new Set(rules.map((r) => `${r.file} (group ${r.group})`))].join(', '),
        multiple,
        variants,
        impact: content.impact,
        causes: content.causes,
        checks: content.checks ?? [],
        dashboards,
        alertmanager: am !== undefined,
      }),
    );
  }
  out.set(`${RUNBOOKS_DIR}/${RUNBOOK_INDEX}`, indexTemplate(indexView(env, alerts, deliveries, base)));
  return out;
}

function indexView(env: Environment, alerts: readonly FoundRule[], deliveries: ReadonlyMap<Severity, readonly Delivery[]>, base: string): Record<string, unknown> {
  const row = (a: FoundRule) => {
    const url = a.rule.annotations?.runbook_url;
    const own = url !== runbookPageUrl(base, a.rule.alert);
    return {
      alert: a.rule.alert,
      link: own ? (url ?? null) : runbookPageName(a.rule.alert),
      own,
      service: a.rule.labels?.service ?? null,
      team: a.rule.labels?.team ?? null,
      summary: a.rule.annotations?.summary ?? '',
    };
  };
  const unique = (rows: ReturnType<typeof row>[]) => [...new Map(rows.map((r) => [`${r.alert} ${r.link ?? ''}`, r])).values()].sort((a, b) => a.alert.localeCompare(b.alert));
  const severities = SEVERITIES.map((severity) => ({
    severity,
    reaches: [...new Set((deliveries.get(severity) ?? []).filter((d) => d.when.length === 0).map((d) => d.receiver))].join(', ') || null,
    alerts: unique(alerts.filter((a) => a.rule.labels?.severity === severity).map(row)),
  })).filter((s) => s.alerts.length > 0);
  const other = unique(alerts.filter((a) => !isSeverity(a.rule.labels?.severity)).map(row));
  return { environment: env.name, base, severities, other: other.length > 0 ? other : null };
}

/** The page content of an alert whose definition brings none: what its area, service and team tell. */
export function fallbackRunbookContent(alert: RunbookAlert): RunbookContent {
  const service = alert.labels.service;
  const team = alert.labels.team;
  const who = service !== undefined && !service.includes('{{') ? `\`${service}\`` : 'The service the alert names';
  return {
    impact: `${who} is degraded as the description above states (an alert of the \`${alert.area}\` area${team !== undefined ? `, owned by team \`${team}\`` : ''}). The alert's definition does not describe its impact yet: add \`runbook: { impact, causes, checks }\` to it.`,
    causes: ['A recent release or configuration change of the service.', 'A dependency of the service that is slow, failing or unreachable.', 'Too few replicas, or CPU and memory limits too tight for the load.'],
    checks: ['The current values below: which series are past the threshold, and since when.'],
  };
}
