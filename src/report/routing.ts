import { parse } from 'yaml';
import { knownDocument } from '../authoring/known-documents.js';

/** An alertmanager.yml as data: the data it was written from when this process wrote it, else parsed (once per text). */
let lastParsed: { readonly text: string; readonly file: AlertmanagerFile } | undefined;
function alertmanagerFile(text: string): AlertmanagerFile {
  const known = knownDocument(text);
  if (known) return known.data as AlertmanagerFile;
  if (lastParsed?.text !== text) lastParsed = { text, file: parse(text) as AlertmanagerFile };
  return lastParsed.file;
}

export const SEVERITIES = ['P1', 'P2', 'P3', 'P4'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A receiver of alertmanager.yml and the channels it notifies. */
export interface ReceiverSummary {
  readonly name: string;
  /** One line per channel: "PagerDuty", "email to a@example.com", "Slack #alerts", "webhook to host". Empty for a receiver that drops alerts. */
  readonly channels: readonly string[];
}

/** Where alerts of one severity go: a receiver, and the conditions (other than severity) under which they reach it. */
export interface Delivery {
  readonly receiver: string;
  /** Matchers besides severity, such as `team="payments"`; empty means every alert of the severity. */
  readonly when: readonly string[];
  /** Matchers of earlier routes that stop there: alerts matching one of these do not get here. */
  readonly unless: readonly string[];
}

interface RouteNode {
  readonly receiver?: string;
  readonly matchers?: readonly string[];
  readonly continue?: boolean;
  readonly routes?: readonly RouteNode[];
}

interface AlertmanagerFile {
  readonly route?: RouteNode;
  readonly receivers?: readonly Record<string, unknown>[];
}

/** The receivers of an alertmanager.yml, in file order. */
export function receiversOf(alertmanagerYml: string | undefined): ReceiverSummary[] {
  if (!alertmanagerYml) return [];
  const file = alertmanagerFile(alertmanagerYml);
  return (file.receivers ?? []).map((r) => ({ name: String(r.name), channels: channelsOf(r) }));
}

function channelsOf(receiver: Record<string, unknown>): string[] {
  const list = (key: string): Record<string, unknown>[] => (Array.isArray(receiver[key]) ? (receiver[key] as Record<string, unknown>[]) : []);
  const out: string[] = [];
  for (const _ of list('pagerduty_configs')) out.push('PagerDuty');
  for (const c of list('email_configs')) out.push(`email to ${String(c.to ?? '?')}`);
  for (const c of list('slack_configs')) out.push(`Slack ${String(c.channel ?? '')}`.trim());
  // Only the host of a webhook: its path or query may carry a token.
  for (const c of list('webhook_configs')) out.push(`webhook to ${hostOf(String(c.url ?? ''))}`);
  for (const key of Object.keys(receiver)) {
    if (key.endsWith('_configs') && !['pagerduty_configs', 'email_configs', 'slack_configs', 'webhook_configs'].includes(key)) {
      out.push(key.slice(0, -'_configs'.length));
    }
  }
  return out;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an address';
  }
}

type SeverityMatch = 'yes' | 'no' | 'unknown';

/** A matcher of the routing tree (`team="payments"`, `severity=~"P1|P2"`) as name, operator and value; undefined when it is not one. */
export function parseMatcher(m: string): { name: string; op: string; value: string } | undefined {
  const r = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$/.exec(m);
  return r ? { name: r[1] ?? '', op: r[2] ?? '=', value: r[3] ?? '' } : undefined;
}

function severityMatches(matchers: readonly string[], severity: Severity): SeverityMatch {
  let result: SeverityMatch = 'unknown';
  for (const raw of matchers) {
    const m = parseMatcher(raw);
    if (!m || m.name !== 'severity') continue;
    const hit = m.op === '=' || m.op === '!=' ? m.value === severity : new RegExp(`^(?:${m.value})$`).test(severity);
    const ok = m.op.startsWith('!') ? !hit : hit;
    if (!ok) return 'no';
    result = 'yes';
  }
  return result;
}

/**
 * Which receivers alerts of one severity reach, following Alertmanager's
 * routing: children in order, `continue` to go on, a route's own receiver
 * when none of its children matches. Matchers other than severity are kept
 * as conditions, since the report cannot know the alerts' other labels.
 */
export function deliveriesFor(alertmanagerYml: string | undefined, severity: Severity): Delivery[] {
  if (!alertmanagerYml) return [];
  const file = alertmanagerFile(alertmanagerYml);
  if (!file.route) return [];
  return walk(file.route, severity, [], []).deliveries;
}

function walk(route: RouteNode, severity: Severity, when: readonly string[], unless: readonly string[]): { deliveries: Delivery[] } {
  const deliveries: Delivery[] = [];
  const excluded: string[] = [];
  let matchedAlways = false;
  let anyAlways = false;
  for (const child of route.routes ?? []) {
    const matchers = child.matchers ?? [];
    if (severityMatches(matchers, severity) === 'no') continue;
    const own = matchers.filter((m) => parseMatcher(m)?.name !== 'severity').map((m) => m.trim());
    deliveries.push(...walk(child, severity, [...when, ...own], [...unless, ...excluded]).deliveries);
    if (own.length === 0) anyAlways = true;
    if (child.continue) continue;
    if (own.length === 0) {
      matchedAlways = true;
      break;
    }
    excluded.push(own.join(', '));
  }
  // A route's own receiver takes what none of its children matched.
  if (!matchedAlways && !anyAlways && route.receiver) {
    deliveries.push({ receiver: route.receiver, when, unless: [...unless, ...excluded] });
  }
  return { deliveries };
}
