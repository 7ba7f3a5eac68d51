import { alert, type Environment, firesWhen, group, type RuleGroup, runbooks, silentWhen } from '../src/authoring/index.js';

/** The alerting pipeline's heartbeat and the scrape health of every job. */
export function stackRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  return [
    group({
      name: 'obstack.stack',
      rules: [
        alert({
          alert: 'Watchdog',
          expr: 'vector(1)',
          severity: 'P4',
          service: 'obstack',
          summary: 'Alerting pipeline heartbeat',
          description: "Always firing, on purpose: if a dead man's switch stops receiving it, Prometheus or Alertmanager is down.",
          runbook: runbook('Watchdog'),
          tests: [
            {
              name: 'always fires, with its runbook',
              series: {},
              at: '1m',
              fires: [{}],
              annotations: [
                {
                  summary: 'Alerting pipeline heartbeat',
                  description: "Always firing, on purpose: if a dead man's switch stops receiving it, Prometheus or Alertmanager is down.",
                  runbook_url: runbook('Watchdog'),
                },
              ],
            },
          ],
        }),
        alert({
          alert: 'TargetDown',
          threshold: 10,
          expr: (t) => `100 * (count by (job, namespace) (up == 0) / count by (job, namespace) (up)) > ${t}`,
          for: '10m',
          severity: 'P3',
          service: 'obstack',
          summary: 'Scrape targets of {{ $labels.job }} are down',
          description: '{{ printf "%.0f" $value }}% of the {{ $labels.job }} targets in {{ $labels.namespace }} cannot be scraped.',
          runbook: runbook('TargetDown'),
          tests: [
            firesWhen(
              'half of the targets of a job are down',
              { 'up{job="grafana",namespace="monitoring",instance="a"}': '0x20', 'up{job="grafana",namespace="monitoring",instance="b"}': '1x20' },
              '15m',
              { job: 'grafana', namespace: 'monitoring' },
              ),
            silentWhen('every target is up', { 'up{job="grafana",namespace="monitoring",instance="a"}': '1x20' }, '15m'),
          ],
        }),
      ],
    }),
  ];
}
