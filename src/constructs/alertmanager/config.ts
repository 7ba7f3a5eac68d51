import type { Environment, SecretRef } from '../../config/index.js';

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
} as const;

/** Receivers that wake someone up. */
export const PAGING_RECEIVERS: readonly string[] = [RECEIVERS.pager];

export const SEVERITIES = ['P1', 'P2', 'P3', 'P4'] as const;
export type Severity = (typeof SEVERITIES)[number];

type Alerting = Environment['alerting'];

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
export function referencedSecrets(alerting: Alerting, history?: HistoryWebhook): SecretRef[] {
  const r = alerting.receivers;
  return [r.pagerduty?.routingKey, r.email?.authPassword, r.slack?.apiUrl, r.webhook?.bearerToken, history?.bearerToken].filter(
    (x): x is SecretRef => x !== undefined,
  );
}

function emailConfigs(r: Alerting['receivers']): Record<string, unknown>[] {
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
  }));
}

function slackConfigs(r: Alerting['receivers']): Record<string, unknown>[] {
  if (!r.slack) return [];
  return [{ api_url_file: secretFile(r.slack.apiUrl), channel: r.slack.channel, send_resolved: true }];
}

/**
 * The exact alertmanager.yml of an environment. The routing tree follows the
 * severities: P1 and P2 page and notify the team, P3 notifies the team, P4
 * goes to the digest only. A firing P1 mutes lower severities of the same
 * alert and service; a P2 mutes P3 and P4 likewise.
 */
export function buildAlertmanagerConfig(alerting: Alerting, history?: HistoryWebhook): Record<string, unknown> {
  const r = alerting.receivers;
  const receivers: Record<string, unknown>[] = [{ name: RECEIVERS.blackhole }];
  if (r.pagerduty) {
    receivers.push({
      name: RECEIVERS.pager,
      pagerduty_configs: [
        {
          routing_key_file: secretFile(r.pagerduty.routingKey),
          send_resolved: true,
          severity: '{{ if eq .CommonLabels.severity "P1" }}critical{{ else }}error{{ end }}',
        },
      ],
    });
  }
  receivers.push({ name: RECEIVERS.team, ...nonEmpty({ email_configs: emailConfigs(r), slack_configs: slackConfigs(r) }) });
  // The digest is one message per interval: e-mail where there is one, otherwise Slack.
  receivers.push({
    name: RECEIVERS.digest,
    ...(r.email ? { email_configs: emailConfigs(r) } : { slack_configs: slackConfigs(r) }),
  });

  const routes: Record<string, unknown>[] = [{ receiver: RECEIVERS.blackhole, matchers: ['alertname="Watchdog"'] }];
  const webhook = (url: string, token: SecretRef | undefined): Record<string, unknown> => ({
    url,
    send_resolved: true,
    ...(token ? { http_config: { authorization: { credentials_file: secretFile(token) } } } : {}),
  });
  // Every alert of a known severity is copied to the alert history, then routed on.
  const historyConfigs = [
    ...(history ? [webhook(history.url, history.bearerToken)] : []),
    ...(r.webhook ? [webhook(r.webhook.url, r.webhook.bearerToken)] : []),
  ];
  if (historyConfigs.length > 0) {
    receivers.push({ name: RECEIVERS.history, webhook_configs: historyConfigs });
    routes.push({ receiver: RECEIVERS.history, matchers: ['severity=~"P1|P2|P3|P4"'], continue: true });
  }
  if (r.pagerduty) {
    routes.push({
      receiver: RECEIVERS.pager,
      matchers: ['severity=~"P1|P2"'],
      continue: true,
      group_wait: '10s',
      repeat_interval: '1h',
    });
  }
  routes.push({ receiver: RECEIVERS.team, matchers: ['severity=~"P1|P2|P3"'] });
  routes.push({
    receiver: RECEIVERS.digest,
    matchers: ['severity="P4"'],
    group_by: ['...'],
    group_wait: '5m',
    group_interval: alerting.digestInterval,
    repeat_interval: alerting.digestInterval,
  });

  return {
    route: {
      // An alert without a known severity still reaches people rather than nobody.
      receiver: RECEIVERS.team,
      group_by: [...alerting.groupBy],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '4h',
      routes,
    },
    inhibit_rules: [
      { source_matchers: ['severity="P1"'], target_matchers: ['severity=~"P2|P3|P4"'], equal: ['alertname', 'service'] },
      { source_matchers: ['severity="P2"'], target_matchers: ['severity=~"P3|P4"'], equal: ['alertname', 'service'] },
    ],
    receivers,
  };
}

function nonEmpty(o: Record<string, unknown[]>): Record<string, unknown[]> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v.length > 0));
}
