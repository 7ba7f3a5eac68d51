import type { Environment } from '../src/config/index.js';
import { RECEIVERS, teamReceivers } from '../src/constructs/alertmanager/config.js';
import { type Notification, notificationText } from './sink.js';

/** An alert as Alertmanager's API v2 lists it. */
export interface AmAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly fingerprint: string;
  readonly receivers: readonly { name: string }[];
  readonly status: { state: 'active' | 'suppressed' | 'unprocessed'; silencedBy: string[]; inhibitedBy: string[] };
}

/** Every alert Alertmanager holds (active, silenced and inhibited). */
export async function alertmanagerAlerts(base: string): Promise<AmAlert[]> {
  const res = await fetch(`${base}/api/v2/alerts`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`Alertmanager answered ${res.status} to GET /api/v2/alerts`);
  return (await res.json()) as AmAlert[];
}

/** An alert's name and severity, as the run prints it. */
export const describe = (labels: Record<string, string>) => `${labels['alertname']}${labels['severity'] ? `/${labels['severity']}` : ''}`;

/**
 * The receivers the routing policy documented in
 * src/constructs/alertmanager/config.ts gives an alert: the Watchdog none
 * but the blackhole; every alert of a severity the history; an escalation
 * the escalation receiver only; a team's alert its webhook and, by severity,
 * its pager and channels (P1, P2), channels (P3) or digest (P4); any other
 * alert the environment's receivers the same way.
 */
export function policyReceivers(labels: Readonly<Record<string, string>>, env: Environment, escalationReceiver: string | undefined): string[] {
  if (labels['alertname'] === 'Watchdog') return [RECEIVERS.blackhole];
  const severity = labels['severity'] ?? '';
  const known = ['P1', 'P2', 'P3', 'P4'].includes(severity);
  const out: string[] = [];
  const hasHistory = env.components.ingest.enabled || env.alerting.receivers.webhook !== undefined;
  if (known && hasHistory) out.push(RECEIVERS.history);
  if (escalationReceiver !== undefined && labels['escalation'] === 'true') return [...out, escalationReceiver];
  const teamName = labels['team'];
  const team = teamName !== undefined ? env.teams[teamName] : undefined;
  const names = team && teamName ? teamReceivers(teamName) : { pager: RECEIVERS.pager, notify: RECEIVERS.team, digest: RECEIVERS.digest, webhook: undefined };
  const pages = team ? team.receivers.pagerduty !== undefined : env.alerting.receivers.pagerduty !== undefined;
  if (team?.receivers.webhook && known && names.webhook) out.push(names.webhook);
  if (severity === 'P1' || severity === 'P2') out.push(...(pages ? [names.pager] : []), names.notify);
  else if (severity === 'P4') out.push(names.digest);
  else out.push(names.notify);
  return out;
}

/** All the strings of a JSON body (so that escapes such as \u0026 read as the characters), or the decoded e-mail. */
function plainText(n: Notification): string {
  if (n.channel === 'email') return notificationText(n).replace(/&amp;/g, '&').replace(/&#34;/g, '"').replace(/&#39;/g, "'");
  try {
    const strings: string[] = [];
    const walk = (v: unknown): void => {
      if (typeof v === 'string') strings.push(v);
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(JSON.parse(n.body));
    return strings.join('\n');
  } catch {
    return n.body;
  }
}

const cache = new WeakMap<Notification, string>();
/** The text of a notification as a reader sees it. */
export function textOf(n: Notification): string {
  let t = cache.get(n);
  if (t === undefined) {
    t = plainText(n);
    cache.set(n, t);
  }
  return t;
}

const ESCALATION = 'AlertNotAcknowledged';

/**
 * Whether a notification is about an alert name: the name appears as a whole
 * word (HighErrorRate is not IngestHighErrorRate). An escalation carries the
 * name of the alert it escalates, so it counts only for AlertNotAcknowledged.
 */
export function isAbout(n: Notification, alertname: string): boolean {
  const text = textOf(n);
  if (alertname !== ESCALATION && new RegExp(`(?<![A-Za-z0-9_])${ESCALATION}(?![A-Za-z0-9_])`).test(text)) return false;
  return new RegExp(`(?<![A-Za-z0-9_])${alertname}(?![A-Za-z0-9_])`).test(text);
}

/** The receivers that got a notification about an alert name. */
export function deliveredTo(notifications: readonly Notification[], alertname: string): Set<string> {
  return new Set(notifications.filter((n) => isAbout(n, alertname)).map((n) => n.receiver));
}
