import { z } from 'zod';
import { closestName } from './closest-name.js';
import { DnsLabel } from './primitives.js';
// Types only: schema.ts builds its fields from the functions below, so a value import would be a cycle.
import type { Receivers as ReceiversSchema } from './schema.js';

/** The channels of `alerting.receivers` (pagerduty, email, slack, webhook), without its environment-wide rules. */
type ChannelShape = (typeof ReceiversSchema)['shape'];

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Values of an alert's `service` label that a team may own. */
const SERVICE = /^[a-zA-Z0-9]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?$/;
/** A Grafana folder that is one directory (Grafana titles a folder after its directory). */
const FOLDER = /^[^\s/\\:\p{Cc}](?:[^/\\:\p{Cc}]*[^\s/\\:\p{Cc}])?$/u;
/** RE2 (Alertmanager, Prometheus) has no lookaround and no backreferences. */
const NOT_RE2 = /\(\?[=!<]|\\[1-9]/;

/** A team's name: a DNS label, since it goes into receiver names and the `team` label. */
export const TeamName = DnsLabel;

/** A matcher value: a literal, or `/regex/` (anchored, RE2 syntax). */
export const MatcherValue = z.string().superRefine((v, ctx) => {
  const re = matcherRegex(v);
  if (re === undefined) return;
  if (NOT_RE2.test(re)) {
    ctx.addIssue({ code: 'custom', message: `is not an RE2 regular expression (no lookaround, no backreferences): ${v}` });
    return;
  }
  try {
    new RegExp(re);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `is not a valid regular expression: ${(e as Error).message}` });
  }
});

/** The regular expression of a `/regex/` matcher value, or undefined for a literal. */
export function matcherRegex(value: string): string | undefined {
  return value.length >= 2 && value.startsWith('/') && value.endsWith('/') ? value.slice(1, -1) : undefined;
}

/** One user route: alerts matching every matcher go to a team's tree or to a named extra receiver. */
export const AlertRoute = z.strictObject({
  matchers: z
    .record(z.string().regex(LABEL_NAME, 'must be a label name'), MatcherValue)
    .refine((m) => Object.keys(m).length > 0, 'needs at least one matcher: a route without one would take every alert')
    .describe('label → value, or label → "/regex/" (anchored); every matcher must hold'),
  receiver: z.string().min(1).describe('a team name (its severity policy applies) or a name in alerting.extraReceivers'),
  continue: z.boolean().default(false).describe('whether a matching alert also goes on to the routes after this one'),
});
export type AlertRoute = z.output<typeof AlertRoute>;

export const AlertRoutes = z
  .array(AlertRoute)
  .default([])
  .describe('routes tried in order before the teams and the default tree; the first that matches (and does not continue) wins');

/** Named receivers that are not teams, for `alerting.routes`: a route delivers every alert it matches to all their channels. */
export function extraReceiversSchema(channels: ChannelShape) {
  return z
    .record(
      TeamName,
      z.strictObject(channels).refine((r) => Object.values(r).some((c) => c !== undefined), 'needs at least one of pagerduty, email, slack, webhook'),
    )
    .default({})
    .describe('receivers that alerting.routes may name besides teams; Alertmanager receiver "extra-<name>"');
}

/** The `teams` field: team name → what it owns, where its alerts go, and its Grafana folder. */
export function teamsSchema(channels: ChannelShape) {
  const receivers = z.strictObject(channels).superRefine((r, ctx) => {
    if (!r.pagerduty) {
      ctx.addIssue({
        code: 'custom',
        path: ['pagerduty'],
        message:
          "is required: the team's P1 and P2 alerts page, and there is no implicit fallback to the environment's pager. " +
          "If the platform on-call has agreed to take this team's pages, give it the environment's routing key here",
      });
    }
    if (!r.email && !r.slack) {
      ctx.addIssue({ code: 'custom', path: [], message: "needs email or slack: the team's P1 to P3 alerts notify it and its P4 alerts go to a digest" });
    }
  });
  const team = z.strictObject({
    namespaces: z.array(DnsLabel).default([]).describe("alerts with one of these `namespace` labels are this team's"),
    services: z
      .array(z.string().regex(SERVICE, 'must be a service label value: letters, digits, "-", "_" and "."'))
      .default([])
      .describe("alerts with one of these `service` labels are this team's (a service wins over a namespace)"),
    receivers: receivers.describe('same shapes and Secret rules as alerting.receivers'),
    grafana: z
      .strictObject({
        folder: z
          .string()
          .max(100, 'must be at most 100 characters')
          .regex(FOLDER, 'must be a folder name: no "/", "\\", ":" or control characters, no surrounding spaces')
          .refine((f) => f !== '.' && f !== '..', 'must not be "." or ".."')
          .optional()
          .describe("Grafana folder of the team's dashboards; default: the team name"),
      })
      .optional(),
  });
  return z.record(TeamName, team).default({}).describe('application teams: their alerts carry a `team` label and reach their own receivers');
}

/** What the environment-wide checks below need of an environment (structural, so schema.ts can call them). */
interface TeamsView {
  readonly teams: Readonly<Record<string, { readonly namespaces: readonly string[]; readonly services: readonly string[] }>>;
  readonly alerting: { readonly routes: readonly AlertRoute[]; readonly extraReceivers: Readonly<Record<string, unknown>> };
}

/**
 * What no single field can check: a namespace or service has one owner, a
 * team owns something, receiver names do not collide, routes name a receiver
 * that exists, and no route to an extra receiver swallows pages.
 */
export function refineTeams(env: TeamsView, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string): void => ctx.addIssue({ code: 'custom', path, message });
  for (const kind of ['namespaces', 'services'] as const) {
    const owner = new Map<string, string>();
    for (const [name, team] of Object.entries(env.teams)) {
      team[kind].forEach((item, i) => {
        const first = owner.get(item);
        if (first !== undefined && first !== name) {
          issue(['teams', name, kind, i], `${kind === 'namespaces' ? 'namespace' : 'service'} "${item}" is owned by two teams, "${first}" and "${name}"`);
        } else owner.set(item, name);
      });
    }
  }
  const teamNames = Object.keys(env.teams);
  for (const name of teamNames) {
    const team = env.teams[name];
    if (team && team.namespaces.length === 0 && team.services.length === 0) {
      issue(['teams', name], 'owns nothing: give it namespaces or services, or its alerts can never be told apart from anyone else\'s');
    }
    for (const suffix of ['pager', 'digest', 'webhook']) {
      if (name.endsWith(`-${suffix}`) && teamNames.includes(name.slice(0, -suffix.length - 1))) {
        issue(['teams', name], `clashes with team "${name.slice(0, -suffix.length - 1)}": both would have a receiver named "team-${name}"`);
      }
    }
  }
  const extras = Object.keys(env.alerting.extraReceivers);
  for (const name of extras) {
    if (teamNames.includes(name)) issue(['alerting', 'extraReceivers', name], `is also a team's name; a route's receiver must name one or the other`);
  }
  const known = [...teamNames, ...extras];
  env.alerting.routes.forEach((route, i) => {
    if (!known.includes(route.receiver)) {
      const near = closestName(route.receiver, known);
      issue(
        ['alerting', 'routes', i, 'receiver'],
        `is "${route.receiver}", neither a team nor an extra receiver` +
          (near ? `; did you mean "${near}"?` : known.length > 0 ? ` (known: ${known.map((k) => `"${k}"`).join(', ')})` : ': define it under teams or alerting.extraReceivers'),
      );
      return;
    }
    const extra = env.alerting.extraReceivers[route.receiver] as { pagerduty?: unknown } | undefined;
    if (extra && !extra.pagerduty && !route.continue && routeMayTakePages(route)) {
      issue(
        ['alerting', 'routes', i],
        `would stop P1 and P2 alerts at "${route.receiver}", which pages nobody: set continue: true, or a severity matcher that excludes P1 and P2`,
      );
    }
  });
}

function routeMayTakePages(route: AlertRoute): boolean {
  const severity = route.matchers.severity;
  if (severity === undefined) return true;
  const re = matcherRegex(severity);
  const matches = (v: string): boolean => (re === undefined ? v === severity : new RegExp(`^(?:${re})$`).test(v));
  return matches('P1') || matches('P2');
}

/** The Grafana folder of a team's dashboards: `teams.<name>.grafana.folder`, or the team name as written. */
export function teamFolder(env: { readonly teams: Readonly<Record<string, { readonly grafana?: { readonly folder?: string | undefined } | undefined }>> }, teamName: string): string {
  const team = env.teams[teamName];
  if (!team) {
    const near = closestName(teamName, Object.keys(env.teams));
    throw new Error(`no team "${teamName}" in this environment${near ? `; did you mean "${near}"?` : ''}`);
  }
  return team.grafana?.folder ?? teamName;
}
