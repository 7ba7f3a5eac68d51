import {
  alert,
  type Duration,
  durationSeconds,
  type Environment,
  firesWhen,
  formatDuration,
  group,
  isDuration,
  type RuleGroup,
  runbooks,
  silentWhen,
} from '../src/authoring/index.js';
import { jobDown } from './common.js';

const A0 = 'job="alertmanager",namespace="monitoring",pod="alertmanager-0"';
const A1 = 'job="alertmanager",namespace="monitoring",pod="alertmanager-1"';

/** Alertmanager watching itself: delivery, configuration and its gossip cluster. */
export function alertmanagerRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  const service = 'alertmanager';
  return [
    group({
      name: 'obstack.alertmanager',
      rules: [
        alert({
          alert: 'AlertmanagerFailedNotifications',
          threshold: 0.01,
          expr: (t) =>
            `sum by (integration, pod) (rate(alertmanager_notifications_failed_total{job="alertmanager"}[5m])) / sum by (integration, pod) (rate(alertmanager_notifications_total{job="alertmanager"}[5m])) > ${t}`,
          for: '5m',
          severity: 'P2',
          service,
          summary: 'Alertmanager fails to send {{ $labels.integration }} notifications',
          description: '{{ $labels.pod }} failed {{ $value | humanizePercentage }} of its {{ $labels.integration }} notifications.',
          runbook: runbook('AlertmanagerFailedNotifications'),
          tests: [
            firesWhen(
              'half of the Slack notifications fail',
              {
                [`alertmanager_notifications_failed_total{${A0},integration="slack"}`]: '0+5x20',
                [`alertmanager_notifications_total{${A0},integration="slack"}`]: '0+10x20',
              },
              '15m',
              { integration: 'slack', pod: 'alertmanager-0' },
            ),
            silentWhen(
              'every notification is sent',
              {
                [`alertmanager_notifications_failed_total{${A0},integration="slack"}`]: '0x20',
                [`alertmanager_notifications_total{${A0},integration="slack"}`]: '0+10x20',
              },
              '15m',
            ),
          ],
        }),
        alert({
          alert: 'AlertmanagerConfigReloadFailed',
          expr: 'max_over_time(alertmanager_config_last_reload_successful{job="alertmanager"}[5m]) == 0',
          for: '10m',
          severity: 'P3',
          service,
          summary: 'Alertmanager configuration reload failed',
          description: '{{ $labels.pod }} runs an old configuration: the last reload failed.',
          runbook: runbook('AlertmanagerConfigReloadFailed'),
          tests: [
            firesWhen('the last reload failed', { [`alertmanager_config_last_reload_successful{${A0}}`]: '0x30' }, '20m', {
              job: 'alertmanager',
              namespace: 'monitoring',
              pod: 'alertmanager-0',
            }),
            silentWhen('the last reload succeeded', { [`alertmanager_config_last_reload_successful{${A0}}`]: '1x30' }, '20m'),
          ],
        }),
        alert({
          alert: 'AlertmanagerMembersInconsistent',
          expr:
            'max_over_time(alertmanager_cluster_members{job="alertmanager"}[5m]) < on (namespace, job) group_left () count by (namespace, job) (max_over_time(alertmanager_cluster_members{job="alertmanager"}[5m]))',
          for: '15m',
          severity: 'P3',
          service,
          summary: 'Alertmanager cluster members do not see each other',
          description: '{{ $labels.pod }} sees {{ $value }} cluster members, fewer than the replicas that run: notifications may be sent twice.',
          runbook: runbook('AlertmanagerMembersInconsistent'),
          tests: [
            firesWhen(
              'two replicas each see only themselves',
              { [`alertmanager_cluster_members{${A0}}`]: '1x30', [`alertmanager_cluster_members{${A1}}`]: '1x30' },
              '25m',
              [
                { job: 'alertmanager', namespace: 'monitoring', pod: 'alertmanager-0' },
                { job: 'alertmanager', namespace: 'monitoring', pod: 'alertmanager-1' },
              ],
            ),
            silentWhen('both replicas see each other', { [`alertmanager_cluster_members{${A0}}`]: '2x30', [`alertmanager_cluster_members{${A1}}`]: '2x30' }, '25m'),
          ],
        }),
        jobDown(runbook, { alert: 'AlertmanagerDown', job: 'alertmanager', service, severity: 'P2', what: 'Alertmanager' }),
        alertNotAcknowledged(env, runbook('AlertNotAcknowledged')),
      ],
    }),
  ];
}

/**
 * The escalation of a P1 nobody acknowledged within `alerting.escalateAfter`.
 * A contract with the ingest service's acknowledgement and alertmanager.yml's
 * escalation route (`escalation="true"`), so its name, expression and labels
 * do not change: acknowledging an alert silences the alert itself and
 * `AlertNotAcknowledged{escalated_alertname="<its name>", <its other labels>}`.
 * It keeps every label of the alert it escalates (the `service` label too),
 * so that the second silence matches it.
 */
function alertNotAcknowledged(env: Environment, runbook: string) {
  const after = env.alerting.escalateAfter;
  if (!isDuration(after)) throw new Error(`alerting.escalateAfter must be a duration such as "30m", got "${after}"`);
  const seconds = durationSeconds(after);
  // Samples each minute until well past the escalation; the cases look 2 minutes either side of it.
  const minutes = Math.ceil(seconds / 60) + 5;
  const p1 = `ALERTS{alertname="ApiDown",alertstate="firing",severity="P1",service="api",namespace="shop"}`;
  return alert({
    alert: 'AlertNotAcknowledged',
    expr: 'label_replace(ALERTS{alertstate="firing",severity="P1",alertname!~"Watchdog|AlertNotAcknowledged"}, "escalated_alertname", "$1", "alertname", "(.+)")',
    for: after as Duration,
    severity: 'P1',
    // The escalated alert's own service: a rule's label would replace it, and the acknowledgement's silence would miss.
    service: '{{ $labels.service }}',
    labels: { escalation: 'true' },
    summary: (p) => `{{ $labels.escalated_alertname }} has not been acknowledged for ${p.for}`,
    description: (p) =>
      `The P1 alert {{ $labels.escalated_alertname }}{{ with $labels.service }} of {{ . }}{{ end }}{{ with $labels.namespace }} in {{ . }}{{ end }} has fired for ${p.for} and nobody acknowledged it: it is escalated. Acknowledge it to stop the escalation.`,
    runbook,
    tests: [
      firesWhen(`a P1 fires unacknowledged for ${formatDuration(seconds + 120)}`, { [p1]: `1x${minutes}` }, formatDuration(seconds + 120), {
        alertstate: 'firing',
        escalated_alertname: 'ApiDown',
        escalation: 'true',
        namespace: 'shop',
        service: 'api',
      }),
      ...(seconds > 120
        ? [silentWhen(`a P1 has fired for ${formatDuration(seconds - 120)} only`, { [p1]: `1x${minutes}` }, formatDuration(seconds - 120))]
        : []),
      silentWhen(
        'only a P2, a pending P1 and the Watchdog fire',
        {
          'ALERTS{alertname="ApiSlow",alertstate="firing",severity="P2",service="api"}': `1x${minutes}`,
          'ALERTS{alertname="ApiDown",alertstate="pending",severity="P1",service="api"}': `1x${minutes}`,
          'ALERTS{alertname="Watchdog",alertstate="firing",severity="P1",service="obstack"}': `1x${minutes}`,
        },
        formatDuration(seconds + 120),
      ),
    ],
  });
}
