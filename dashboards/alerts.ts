import * as units from '@grafana/grafana-foundation-sdk/units';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS } from '../src/authoring/index.js';
import { type DashboardContext, promql, promqlInstant, section, sql, stackDashboard, statPanel, sumRate, tablePanel, timeseriesPanel } from './common/index.js';

const SEVERITIES = [
  ['P1', 'red'],
  ['P2', 'orange'],
  ['P3', 'yellow'],
  ['P4', 'blue'],
] as const;

/** What is firing now (Prometheus' ALERTS), how notifications fare, and the history the ingest service keeps. */
export function alerts(ctx: DashboardContext): DashboardBuilder {
  const history = ctx.datasources.has('analytics');
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.alerts,
    title: 'Alerts',
    description: 'Alerts firing now by severity, notification delivery, and the alert history kept by the ingest service.',
    tags: ['alerts'],
    datasources: history ? ['prometheus', 'analytics'] : ['prometheus'],
  });

  section(
    d,
    'Firing now',
    SEVERITIES.map(([severity, color]) =>
      statPanel({
        title: `${severity} firing`,
        description: `Alerts of severity ${severity} firing now.`,
        sparkline: false,
        background: true,
        thresholds: [[1, color]],
        queries: [promql(`count(ALERTS{alertstate="firing", severity="${severity}"}) or vector(0)`)],
      }),
    ),
  );
  section(d, 'Alerts', [
    tablePanel({
      title: 'Firing alerts',
      description: 'Every alert firing now, with its labels (Watchdog fires always and proves the pipeline works).',
      w: 24,
      h: 9,
      queries: [promqlInstant('ALERTS{alertstate="firing"}')],
      transformations: [{ id: 'organize', options: { excludeByName: { Time: true, Value: true, __name__: true, alertstate: true } } }],
    }),
    timeseriesPanel({
      title: 'Firing and pending by severity',
      description: 'Alerts firing over time by severity, and alerts pending (condition true, `for` not yet elapsed).',
      unit: units.Short,
      queries: [promql('count by (severity) (ALERTS{alertstate="firing"})', 'firing {{severity}}'), promql('count(ALERTS{alertstate="pending"})', 'pending')],
    }),
    timeseriesPanel({
      title: 'Notifications by integration',
      description: 'Notifications Alertmanager sent, and failed to send, per second, by integration (PagerDuty, e-mail, Slack, webhook).',
      unit: units.OpsPerSecond,
      queries: [
        promql(sumRate('alertmanager_notifications_total', 'job="alertmanager"', ['integration']), 'sent {{integration}}'),
        promql(sumRate('alertmanager_notifications_failed_total', 'job="alertmanager"', ['integration']), 'failed {{integration}}'),
      ],
    }),
    timeseriesPanel({
      title: 'Alerts received by the history webhook',
      description: 'Firing and resolved notifications the ingest service received from Alertmanager, per second.',
      unit: units.OpsPerSecond,
      w: 24,
      queries: [promql(sumRate('ingest_alert_notifications_total', 'job="obstack-ingest"', ['status']), '{{status}}')],
    }),
  ]);
  if (history) {
    section(d, 'History', [
      tablePanel({
        title: 'Latest alerts',
        description: 'The 100 most recent alerts in the time range, with how long they fired and whether someone acknowledged them.',
        datasource: 'analytics',
        w: 24,
        h: 10,
        queries: [
          sql(
            `
            SELECT starts_at AS "started", alertname, severity, status,
                   coalesce(ends_at, now()) - starts_at AS "duration",
                   labels->>'service' AS service, receiver, notifications, acknowledged_by
            FROM alerts
            WHERE $__timeFilter(starts_at)
            ORDER BY starts_at DESC
            LIMIT 100`,
            'table',
          ),
        ],
      }),
      timeseriesPanel({
        title: 'Alerts started per day by severity',
        description: 'How many alerts started each day, by severity: alert fatigue shows as a rising P3/P4 count.',
        datasource: 'analytics',
        bars: true,
        stacked: true,
        queries: [
          sql(`
            SELECT date_trunc('day', starts_at) AS time, coalesce(severity, 'none') AS metric, count(*) AS value
            FROM alerts
            WHERE $__timeFilter(starts_at)
            GROUP BY 1, 2 ORDER BY 1`),
        ],
      }),
      tablePanel({
        title: 'Noisiest alerts',
        description: 'Alerts that fired most often in the time range, with their mean time to resolve.',
        datasource: 'analytics',
        queries: [
          sql(
            `
            SELECT alertname, count(*) AS fired,
                   avg(ends_at - starts_at) FILTER (WHERE status = 'resolved') AS "mean time to resolve"
            FROM alerts
            WHERE $__timeFilter(starts_at)
            GROUP BY alertname ORDER BY fired DESC LIMIT 20`,
            'table',
          ),
        ],
      }),
    ]);
  }
  return d;
}
