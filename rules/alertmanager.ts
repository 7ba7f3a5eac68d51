import { alert, type Environment, firesWhen, group, type RuleGroup, runbooks, silentWhen } from '../src/authoring/index.js';
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
      ],
    }),
  ];
}
