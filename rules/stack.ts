import { alert, type Environment, type RuleGroup } from '../src/authoring/index.js';

/** The stack watching itself: a dead man's switch and the failures that would leave it blind or mute. */
export function stackRules(env: Environment): RuleGroup[] {
  const runbook = (name: string): string => `${env.alerting.runbookBaseUrl}#${name.toLowerCase()}`;
  return [
    {
      name: 'obstack.stack',
      rules: [
        alert({
          alert: 'Watchdog',
          expr: 'vector(1)',
          severity: 'P4',
          service: 'obstack',
          summary: 'Alerting pipeline heartbeat',
          description:
            'Always firing, on purpose: if a dead man\'s switch stops receiving it, Prometheus or Alertmanager is down.',
          runbook: runbook('Watchdog'),
        }),
        alert({
          alert: 'TargetDown',
          expr: '100 * (count by (job, namespace) (up == 0) / count by (job, namespace) (up)) > 10',
          for: '10m',
          severity: 'P3',
          service: 'obstack',
          summary: 'Scrape targets of {{ $labels.job }} are down',
          description: '{{ printf "%.0f" $value }}% of the {{ $labels.job }} targets in {{ $labels.namespace }} cannot be scraped.',
          runbook: runbook('TargetDown'),
        }),
        alert({
          alert: 'PrometheusRuleEvaluationFailures',
          expr: 'increase(prometheus_rule_evaluation_failures_total[5m]) > 0',
          for: '15m',
          severity: 'P2',
          service: 'prometheus',
          summary: 'Prometheus fails to evaluate rules',
          description: '{{ $labels.pod }} failed {{ printf "%.0f" $value }} rule evaluations in 5 minutes; alerts may not fire.',
          runbook: runbook('PrometheusRuleEvaluationFailures'),
        }),
        alert({
          alert: 'PrometheusNotConnectedToAlertmanagers',
          expr: 'max_over_time(prometheus_notifications_alertmanagers_discovered[5m]) < 1',
          for: '10m',
          severity: 'P1',
          service: 'prometheus',
          summary: 'Prometheus cannot reach any Alertmanager',
          description: '{{ $labels.pod }} has discovered no Alertmanager; no alert is delivered.',
          runbook: runbook('PrometheusNotConnectedToAlertmanagers'),
        }),
        alert({
          alert: 'AlertmanagerFailedNotifications',
          expr:
            'sum by (integration, pod) (rate(alertmanager_notifications_failed_total[5m])) / sum by (integration, pod) (rate(alertmanager_notifications_total[5m])) > 0.01',
          for: '5m',
          severity: 'P2',
          service: 'alertmanager',
          summary: 'Alertmanager fails to send {{ $labels.integration }} notifications',
          description: '{{ $labels.pod }} failed {{ $value | humanizePercentage }} of its {{ $labels.integration }} notifications.',
          runbook: runbook('AlertmanagerFailedNotifications'),
        }),
        alert({
          alert: 'KubePodCrashLooping',
          expr: 'max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}[5m]) >= 1',
          for: '15m',
          severity: 'P3',
          service: 'kubernetes',
          summary: 'Pod {{ $labels.namespace }}/{{ $labels.pod }} is crash looping',
          description: 'Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} has been in CrashLoopBackOff for 15 minutes.',
          runbook: runbook('KubePodCrashLooping'),
        }),
      ],
    },
  ];
}
