import { alert, type Environment, firesWhen, group, type RuleGroup, runbooks, silentWhen } from '../src/authoring/index.js';
import { jobDown } from './common.js';

const G = 'job="grafana",namespace="monitoring",handler="/api/dashboards/uid/:uid"';

/** Grafana watching itself. */
export function grafanaRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  const service = 'grafana';
  return [
    group({
      name: 'obstack.grafana',
      rules: [
        jobDown(runbook, { alert: 'GrafanaDown', job: 'grafana', service, severity: 'P3', what: 'Grafana' }),
        alert({
          alert: 'GrafanaRequestsFailing',
          threshold: 50,
          expr: (t) =>
            `100 * sum by (namespace, job, handler) (rate(grafana_http_request_duration_seconds_count{job="grafana",status_code=~"5.."}[5m])) / sum by (namespace, job, handler) (rate(grafana_http_request_duration_seconds_count{job="grafana"}[5m])) > ${t}`,
          for: '5m',
          severity: 'P3',
          service,
          summary: 'Grafana answers {{ $labels.handler }} with errors',
          description: '{{ printf "%.0f" $value }}% of the requests to {{ $labels.handler }} fail with a 5xx.',
          runbook: runbook('GrafanaRequestsFailing'),
          tests: [
            firesWhen(
              'most requests fail',
              {
                [`grafana_http_request_duration_seconds_count{${G},status_code="500"}`]: '0+9x20',
                [`grafana_http_request_duration_seconds_count{${G},status_code="200"}`]: '0+1x20',
              },
              '15m',
              { job: 'grafana', namespace: 'monitoring', handler: '/api/dashboards/uid/:uid' },
            ),
            silentWhen(
              'requests succeed',
              {
                [`grafana_http_request_duration_seconds_count{${G},status_code="500"}`]: '0x20',
                [`grafana_http_request_duration_seconds_count{${G},status_code="200"}`]: '0+10x20',
              },
              '15m',
            ),
          ],
        }),
      ],
    }),
  ];
}
