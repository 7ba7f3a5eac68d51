import { z } from 'zod';
import { keyNameProblem, text } from './http/schemas.js';

/**
 * The seed API's severities and the stack's: critical pages (P1), high pages
 * within the hour (P2), medium notifies the team (P3), low and info go to the
 * digest (P4). P1–P4 are taken as they are.
 */
export const SEVERITY_LEVELS = {
  critical: 'P1',
  high: 'P2',
  medium: 'P3',
  low: 'P4',
  info: 'P4',
  P1: 'P1',
  P2: 'P2',
  P3: 'P3',
  P4: 'P4',
} as const;
export type RequestedSeverity = keyof typeof SEVERITY_LEVELS;
export type StackSeverity = (typeof SEVERITY_LEVELS)[RequestedSeverity];

const LABEL_VALUE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const LABEL_NAME = /^[a-z_][a-z0-9_]{0,63}$/;
/** Labels the service sets itself: a request cannot choose its route, project or severity through them. */
const RESERVED_LABELS = new Set(['alertname', 'severity', 'component', 'project', 'team', 'source']);

const labelValue = (what: string) => z.string().regex(LABEL_VALUE, `${what} must be 1-64 characters of [A-Za-z0-9_.-], starting with a letter or digit`);

/** `POST /api/v1/monitoring/alerts`: the seed document's alert, plus an optional team, labels and an end. */
export const AlertInstanceRequest = z.strictObject({
  name: text(200).refine((s) => s.trim().length > 0, 'must not be blank'),
  description: text(2_000).optional(),
  severity: z.enum(Object.keys(SEVERITY_LEVELS) as [RequestedSeverity, ...RequestedSeverity[]], {
    message: 'must be one of critical, high, medium, low, info (or P1-P4)',
  }),
  component: labelValue('component'),
  condition: text(1_000).optional(),
  threshold: z.number().finite().optional(),
  /** How long the condition has held, in seconds (the seed's `duration_seconds`): kept as an annotation. */
  duration_seconds: z.number().int().min(0).max(7 * 86_400).optional(),
  /** The channels the sender asks for; the stack's routing tree decides who is notified, by severity and team. */
  notification_channels: z
    .array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be a channel name such as email, slack or slack-critical'))
    .max(10)
    .optional(),
  /** The team whose receivers the alert goes to (the `team` label the routing tree matches). */
  team: labelValue('team').optional(),
  labels: z
    .record(z.string(), text(256))
    // Each name is checked here, so that a refusal names the label and why (a key schema's message is not reported).
    .superRefine((l, ctx) => {
      const names = Object.keys(l);
      if (names.length > 20) ctx.addIssue({ code: 'custom', message: 'at most 20 labels' });
      for (const n of names) {
        const problem = !LABEL_NAME.test(n)
          ? 'label names must be 1-64 characters of [a-z0-9_], not starting with a digit'
          : n.startsWith('__')
            ? 'label names starting with __ are reserved'
            : keyNameProblem(n) !== undefined
              ? 'is a name objects already have (such as constructor)'
              : RESERVED_LABELS.has(n)
                ? 'is set by the service'
                : undefined;
        if (problem) ctx.addIssue({ code: 'custom', path: [n], message: problem });
      }
    })
    .optional(),
  /** Seconds after which Alertmanager resolves the alert unless it is sent again; without it, Alertmanager's resolve_timeout applies. */
  resolve_after_seconds: z.number().int().min(60).max(7 * 86_400).optional(),
});
export type AlertInstanceRequest = z.output<typeof AlertInstanceRequest>;

/** An alert as Alertmanager's API v2 takes it (`postableAlert`). */
export interface PostableAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt?: string;
  readonly generatorURL?: string;
}

const OFFSET64 = 0xcbf29ce484222325n;
const PRIME64 = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;
const SEPARATOR = 0xff;

/**
 * Alertmanager's fingerprint of a label set (prometheus/common's
 * `LabelSet.Fingerprint`): FNV-1a 64 over the labels sorted by name, each
 * name and value followed by the byte 0xff, printed as 16 hex digits. The
 * webhook names alerts by it, so the history row written when an alert is
 * sent is the row its notifications update.
 */
export function alertFingerprint(labels: Readonly<Record<string, string>>): string {
  let h = OFFSET64;
  const add = (byte: number) => {
    h ^= BigInt(byte);
    h = (h * PRIME64) & MASK64;
  };
  for (const name of Object.keys(labels).sort()) {
    for (const b of Buffer.from(name, 'utf8')) add(b);
    add(SEPARATOR);
    for (const b of Buffer.from(labels[name]!, 'utf8')) add(b);
    add(SEPARATOR);
  }
  return h.toString(16).padStart(16, '0');
}

/** The labels of the alert a request describes: the service's own, the team's and the request's extra labels. */
export function alertLabels(req: AlertInstanceRequest, project: string): Record<string, string> {
  return {
    ...(req.labels ?? {}),
    alertname: req.name.trim(),
    severity: SEVERITY_LEVELS[req.severity],
    component: req.component,
    project,
    source: 'ingest-api',
    ...(req.team ? { team: req.team } : {}),
  };
}

/** The annotations: the summary and description the notification templates show, and the request's condition, kept as sent. */
export function alertAnnotations(req: AlertInstanceRequest): Record<string, string> {
  const a: Record<string, string> = { summary: req.name.trim(), requested_severity: req.severity };
  if (req.description !== undefined) a['description'] = req.description;
  if (req.condition !== undefined) a['condition'] = req.condition;
  if (req.threshold !== undefined) a['threshold'] = String(req.threshold);
  if (req.duration_seconds !== undefined) a['duration_seconds'] = String(req.duration_seconds);
  if (req.notification_channels?.length) a['notification_channels'] = req.notification_channels.join(',');
  return a;
}

/** The alert to send, starting at `startsAt` (the first sending's start, when the alert is already firing). */
export function postableAlert(req: AlertInstanceRequest, project: string, startsAt: Date): PostableAlert {
  return {
    labels: alertLabels(req, project),
    annotations: alertAnnotations(req),
    startsAt: startsAt.toISOString(),
    ...(req.resolve_after_seconds !== undefined ? { endsAt: new Date(Date.now() + req.resolve_after_seconds * 1000).toISOString() } : {}),
  };
}
