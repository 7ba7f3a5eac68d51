import { type Environment, type SecretRef, matcherRegex } from '../../config/index.js';

export const SECRETS_DIR = '/etc/alertmanager/secrets';

/** Receivers of the routing tree. Their names are the contract that tests and runbooks rely on. */
export const RECEIVERS = {
  /** P1 and P2: PagerDuty. */
  pager: 'pager',
  /** P1 to P3: e-mail and Slack. */
  team: 'team',
  /** P4: a digest at the environment's digest interval (daily by default); pages nobody. */
  digest: 'digest',
  /** Every alert, for the alert history (webhook), when a webhook is configured. */
  history: 'history',
  /** The Watchdog: always firing, on purpose, and delivered nowhere unless a dead man's switch is set. */
  blackhole: 'null',
  /** AlertNotAcknowledged (`escalation="true"`): PagerDuty as critical and the environment's channels, unless `alerting.escalateTo` names another. */
  escalation: 'escalation',
} as const;

/** The notification templates file, next to alertmanager.yml (Alertmanager reads a relative path from the config's folder). */
export const TEMPLATES_FILE = 'obstack.tmpl';

/**
 * The label of AlertNotAcknowledged (rules/alertmanager.ts), and the route
 * that sends it to the escalation receiver. A contract with the ingest
 * service's acknowledgement: do not rename.
 */
export const ESCALATION_LABEL = 'escalation';

/** Receivers that wake someone up. */
export const PAGING_RECEIVERS: readonly string[] = [RECEIVERS.pager, RECEIVERS.escalation];

export const SEVERITIES = ['P1', 'P2', 'P3', 'P4'] as const;
export type Severity = (typeof SEVERITIES)[number];

type Alerting = Environment['alerting'];
type Teams = Environment['teams'];
/** The channels of one receiver: the environment's, a team's or an extra receiver's (same shapes). */
type Channels = Alerting['receivers'];

/**
 * The receivers of one team. Their names are a contract like RECEIVERS:
 * `team-<name>-pager` (P1, P2), `team-<name>` (P1 to P3), `team-<name>-digest`
 * (P4) and, when the team has a webhook, `team-<name>-webhook` (every alert of the team).
 */
export function teamReceivers(team: string): { pager: string; notify: string; digest: string; webhook: string } {
  return { pager: `team-${team}-pager`, notify: `team-${team}`, digest: `team-${team}-digest`, webhook: `team-${team}-webhook` };
}

/** The Alertmanager receiver of `alerting.extraReceivers.<name>`. */
export function extraReceiver(name: string): string {
  return `extra-${name}`;
}

/** The label that says which team an alert belongs to; Prometheus sets it from the alert's namespace or service. */
export const TEAM_LABEL = 'team';

/** The in-pod file of a Secret key, mounted by the Alertmanager construct. */
export function secretFile(ref: SecretRef): string {
  return `${SECRETS_DIR}/${ref.secretName}/${ref.key}`;
}

/** The stack's own alert history (the ingest service's webhook), wired by the stack. */
export interface HistoryWebhook {
  readonly url: string;
  readonly bearerToken: SecretRef;
}

/** Every Secret key the configuration reads from a file, for mounting. */
export function referencedSecrets(alerting: Alerting, history?: HistoryWebhook, teams: Teams = {}): SecretRef[] {
  return [
    ...allChannels(alerting, teams).flatMap((r) => [r.pagerduty?.routingKey, r.email?.authPassword, r.slack?.apiUrl, r.webhook?.bearerToken]),
    history?.bearerToken,
  ].filter((x): x is SecretRef => x !== undefined);
}

/** Every set of channels the configuration delivers to: the environment's, each team's, each extra receiver's. */
export function allChannels(alerting: Alerting, teams: Teams = {}): Channels[] {
  return [alerting.receivers, ...Object.values(teams).map((t) => t.receivers), ...Object.values(alerting.extraReceivers)];
}

function emailConfigs(r: Channels): Record<string, unknown>[] {
  if (!r.email) return [];
  const e = r.email;
  return e.to.map((to) => ({
    to,
    from: e.from,
    smarthost: e.smarthost,
    require_tls: e.requireTls,
    send_resolved: true,
    ...(e.authUsername ? { auth_username: e.authUsername } : {}),
    ...(e.authPassword ? { auth_password_file: secretFile(e.authPassword) } : {}),
    headers: { Subject: tmpl('obstack.email.subject') },
    html: tmpl('obstack.email.html'),
    text: tmpl('obstack.email.text'),
  }));
}

/** A call of one of the templates of templates/alertmanager/obstack.tmpl. */
function tmpl(name: string): string {
  return `{{ template "${name}" . }}`;
}

function slackConfigs(r: Channels): Record<string, unknown>[] {
  if (!r.slack) return [];
  return [
    {
      api_url_file: secretFile(r.slack.apiUrl),
      channel: r.slack.channel,
      send_resolved: true,
      title: tmpl('obstack.slack.title'),
      title_link: tmpl('obstack.slack.titlelink'),
      text: tmpl('obstack.slack.text'),
      color: tmpl('obstack.slack.color'),
      fallback: tmpl('obstack.title'),
    },
  ];
}

/**
 * The exact alertmanager.yml of an environment. The routing tree follows the
 * severities: P1 and P2 page and notify the team, P3 notifies the team, P4
 * goes to the digest only. A firing P1 mutes lower severities of the same
 * alert and service; a P2 mutes P3 and P4 likewise.
 *
 * In order: the Watchdog goes nowhere; every alert is copied to the history;
 * AlertNotAcknowledged (`escalation="true"`) goes to the escalation receiver
 * and no further; `alerting.routes` are tried; then each team's subtree (matched on its
 * `team` label, the same severity policy with the team's receivers); then the
 * environment's own tree for every alert that belongs to no team.
 */
export function buildAlertmanagerConfig(alerting: Alerting, history?: HistoryWebhook, teams: Teams = {}): Record<string, unknown> {
  const r = alerting.receivers;
  const receivers: Record<string, unknown>[] = [{ name: RECEIVERS.blackhole }];
  receivers.push(...severityReceivers(r, { pager: RECEIVERS.pager, notify: RECEIVERS.team, digest: RECEIVERS.digest }));

  const routes: Record<string, unknown>[] = [{ receiver: RECEIVERS.blackhole, matchers: ['alertname="Watchdog"'] }];
  // Every alert of a known severity is copied to the alert history, then routed on.
  const historyConfigs = [
    ...(history ? [webhookConfig(history.url, history.bearerToken)] : []),
    ...(r.webhook ? [webhookConfig(r.webhook.url, r.webhook.bearerToken)] : []),
  ];
  if (historyConfigs.length > 0) {
    receivers.push({ name: RECEIVERS.history, webhook_configs: historyConfigs });
    routes.push({ receiver: RECEIVERS.history, matchers: ['severity=~"P1|P2|P3|P4"'], continue: true });
  }

  // Escalation comes right after the history copy: an unacknowledged P1 must not be taken by a user or team route.
  if (alerting.escalateTo === undefined) receivers.push(escalationReceiver(r));
  routes.push({
    receiver: alerting.escalateTo === undefined ? RECEIVERS.escalation : extraReceiver(alerting.escalateTo),
    matchers: [`${ESCALATION_LABEL}="true"`],
    group_by: [...new Set([...alerting.groupBy, 'escalated_alertname'])],
    group_wait: '10s',
    repeat_interval: '15m',
  });

  const teamNames = Object.keys(teams).sort();
  for (const name of teamNames) {
    const team = teams[name];
    if (!team) continue;
    const names = teamReceivers(name);
    receivers.push(...severityReceivers(team.receivers, names));
    if (team.receivers.webhook) receivers.push({ name: names.webhook, webhook_configs: [webhookConfig(team.receivers.webhook.url, team.receivers.webhook.bearerToken)] });
  }
  for (const [name, extra] of Object.entries(alerting.extraReceivers).sort(([a], [b]) => a.localeCompare(b))) {
    receivers.push({
      name: extraReceiver(name),
      ...nonEmpty({
        pagerduty_configs: extra.pagerduty ? [pagerdutyConfig(extra.pagerduty.routingKey)] : [],
        email_configs: emailConfigs(extra),
        slack_configs: slackConfigs(extra),
        webhook_configs: extra.webhook ? [webhookConfig(extra.webhook.url, extra.webhook.bearerToken)] : [],
      }),
    });
  }

  const teamTree = (name: string): Record<string, unknown>[] => {
    const team = teams[name];
    const names = teamReceivers(name);
    return [
      ...(team?.receivers.webhook ? [{ receiver: names.webhook, matchers: ['severity=~"P1|P2|P3|P4"'], continue: true }] : []),
      ...severityRoutes(alerting, names),
    ];
  };
  for (const route of alerting.routes) {
    const matchers = Object.entries(route.matchers).map(([label, value]) => routeMatcher(label, value));
    routes.push(
      route.receiver in teams
        ? { receiver: teamReceivers(route.receiver).notify, matchers, ...(route.continue ? { continue: true } : {}), routes: teamTree(route.receiver) }
        : { receiver: extraReceiver(route.receiver), matchers, ...(route.continue ? { continue: true } : {}) },
    );
  }
  for (const name of teamNames) {
    // An alert of the team without a known severity still reaches the team rather than nobody.
    routes.push({ receiver: teamReceivers(name).notify, matchers: [routeMatcher(TEAM_LABEL, name)], routes: teamTree(name) });
  }
  routes.push(...severityRoutes(alerting, { ...(r.pagerduty ? { pager: RECEIVERS.pager } : {}), notify: RECEIVERS.team, digest: RECEIVERS.digest }));

  return {
    templates: [TEMPLATES_FILE],
    route: {
      // An alert without a known severity still reaches people rather than nobody.
      receiver: RECEIVERS.team,
      group_by: [...alerting.groupBy],
      group_wait: alerting.timing.groupWait,
      group_interval: alerting.timing.groupInterval,
      repeat_interval: alerting.timing.repeatInterval,
      routes,
    },
    inhibit_rules: [
      { source_matchers: ['severity="P1"'], target_matchers: ['severity=~"P2|P3|P4"'], equal: ['alertname', 'service'] },
      { source_matchers: ['severity="P2"'], target_matchers: ['severity=~"P3|P4"'], equal: ['alertname', 'service'] },
    ],
    receivers,
  };
}

/** The default escalation: the environment's PagerDuty as critical, and its team channels (e-mail, Slack). */
function escalationReceiver(r: Channels): Record<string, unknown> {
  return {
    name: RECEIVERS.escalation,
    ...nonEmpty({
      pagerduty_configs: r.pagerduty ? [pagerdutyConfig(r.pagerduty.routingKey, 'critical')] : [],
      email_configs: emailConfigs(r),
      slack_configs: slackConfigs(r),
    }),
  };
}

/** The pager (when there is PagerDuty), notify and digest receivers of one set of channels. */
function severityReceivers(r: Channels, names: { pager: string; notify: string; digest: string }): Record<string, unknown>[] {
  return [
    ...(r.pagerduty ? [{ name: names.pager, pagerduty_configs: [pagerdutyConfig(r.pagerduty.routingKey)] }] : []),
    { name: names.notify, ...nonEmpty({ email_configs: emailConfigs(r), slack_configs: slackConfigs(r) }) },
    // The digest is one message per interval: e-mail where there is one, otherwise Slack.
    { name: names.digest, ...(r.email ? { email_configs: emailConfigs(r) } : { slack_configs: slackConfigs(r) }) },
  ];
}

/** The severity policy: P1 and P2 page (and go on), P1 to P3 notify, P4 goes to the digest. */
function severityRoutes(alerting: Alerting, names: { pager?: string; notify: string; digest: string }): Record<string, unknown>[] {
  return [
    ...(names.pager
      ? [{ receiver: names.pager, matchers: ['severity=~"P1|P2"'], continue: true, group_wait: '10s', repeat_interval: '1h' }]
      : []),
    { receiver: names.notify, matchers: ['severity=~"P1|P2|P3"'] },
    {
      receiver: names.digest,
      matchers: ['severity="P4"'],
      group_by: ['...'],
      group_wait: alerting.timing.digestWait,
      group_interval: alerting.digestInterval,
      repeat_interval: alerting.digestInterval,
    },
  ];
}

/**
 * A PagerDuty integration: the incident's description is the group's title
 * and the leading alert's summary; details and links carry what a responder
 * needs (runbook, dashboard, graph, silence); every alert of the group is
 * written out under `firing` and `resolved`.
 */
function pagerdutyConfig(routingKey: SecretRef, severity?: 'critical'): Record<string, unknown> {
  return {
    routing_key_file: secretFile(routingKey),
    send_resolved: true,
    severity: severity ?? '{{ if eq .CommonLabels.severity "P1" }}critical{{ else }}error{{ end }}',
    description: tmpl('obstack.pagerduty.description'),
    client: 'obstack Alertmanager',
    client_url: tmpl('obstack.alerts.url'),
    details: {
      summary: tmpl('obstack.pagerduty.summary'),
      severity: tmpl('obstack.pagerduty.severity'),
      service: tmpl('obstack.pagerduty.service'),
      team: tmpl('obstack.pagerduty.team'),
      value: tmpl('obstack.pagerduty.value'),
      started: tmpl('obstack.pagerduty.started'),
      runbook: tmpl('obstack.pagerduty.runbook'),
      dashboard: tmpl('obstack.pagerduty.dashboard'),
      graph: tmpl('obstack.pagerduty.graph'),
      silence: tmpl('obstack.pagerduty.silence'),
      firing: tmpl('obstack.pagerduty.firing'),
      resolved: tmpl('obstack.pagerduty.resolved'),
    },
    links: [
      { href: tmpl('obstack.pagerduty.runbook.href'), text: tmpl('obstack.pagerduty.runbook.text') },
      { href: tmpl('obstack.pagerduty.dashboard.href'), text: tmpl('obstack.pagerduty.dashboard.text') },
      { href: tmpl('obstack.pagerduty.graph'), text: 'Graph in Prometheus' },
      { href: tmpl('obstack.pagerduty.silence'), text: 'Silence' },
    ],
  };
}

/**
 * A webhook. Alertmanager has no templates for webhooks: the JSON it posts
 * already carries each alert's annotations (summary, runbook_url,
 * dashboard_url), its generatorURL and the externalURL, from which the
 * receiving program builds the same links as the other notifications.
 */
function webhookConfig(url: string, token: SecretRef | undefined): Record<string, unknown> {
  return {
    url,
    send_resolved: true,
    ...(token ? { http_config: { authorization: { credentials_file: secretFile(token) } } } : {}),
  };
}

/** An Alertmanager matcher from `alerting.routes`: a literal, or `/regex/` (anchored by Alertmanager). */
export function routeMatcher(label: string, value: string): string {
  const re = matcherRegex(value);
  const quoted = (v: string): string => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
  return re === undefined ? `${label}=${quoted(value)}` : `${label}=~${quoted(re)}`;
}

function nonEmpty(o: Record<string, unknown[]>): Record<string, unknown[]> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v.length > 0));
}
