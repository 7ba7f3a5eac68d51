import * as units from '@grafana/grafana-foundation-sdk/units';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS } from '../src/authoring/index.js';
import { type DashboardContext, promql, section, sql, stackDashboard, statPanel, tablePanel, timeseriesPanel } from './common/index.js';

const J = 'job="obstack-ingest"';
/** Error reports a minute, by the labels given (`service_name`, `level`). */
const perMinute = (by: string) => `sum by (${by}) (rate(ingest_error_reports_total{${J}}[$__rate_interval])) * 60`;

/**
 * What Grafana's read-only role may read of the error reports: the groups
 * (`error_groups`, no message and no user) and the counts of a time range
 * (`error_group_stats(from, to)`, which reads the reports as the service's
 * own role and returns numbers only). Both come from migration 5; since
 * migration 6 each group belongs to a project (the same fingerprint in two
 * projects is two groups), so the two are joined on (project, fingerprint).
 */
const STATS = 'error_group_stats($__timeFrom(), $__timeTo())';

/** The SQL of the dashboard's panels, by panel title. */
const ERROR_GROUP_SQL = {
  'Groups with reports': `SELECT count(*) AS "groups" FROM ${STATS}`,
  'New groups': `SELECT count(*) AS "new groups" FROM error_groups WHERE $__timeFilter(first_seen)`,
  'Top error groups': `
    SELECT g.project, g.service, g.type, g.culprit AS "where", g.level, s.reports, s.users AS "affected users",
           g.first_seen AS "first seen", s.last_report AS "last seen", g.fingerprint
    FROM ${STATS} AS s JOIN error_groups AS g USING (project, fingerprint)
    ORDER BY s.reports DESC, s.last_report DESC
    LIMIT 50`,
  'Groups first seen in the range': `
    SELECT g.first_seen AS "first seen", g.project, g.service, g.type, g.culprit AS "where", g.level,
           coalesce(s.reports, 0) AS reports, coalesce(s.users, 0) AS "affected users", s.last_report AS "last seen", g.fingerprint
    FROM error_groups AS g LEFT JOIN ${STATS} AS s USING (project, fingerprint)
    WHERE $__timeFilter(g.first_seen)
    ORDER BY g.first_seen DESC
    LIMIT 50`,
  'New groups per hour': `
    SELECT date_trunc('hour', first_seen) AS time, service AS metric, count(*) AS value
    FROM error_groups
    WHERE $__timeFilter(first_seen)
    GROUP BY 1, 2 ORDER BY 1`,
} as const;

type SqlPanel = keyof typeof ERROR_GROUP_SQL;
const groupSql = (title: SqlPanel, format: 'time_series' | 'table') => sql(ERROR_GROUP_SQL[title], format);

/** Error reports and error groups (fingerprints) from the ingest service: rates per service from Prometheus, groups from the analytics database. */
export function errors(ctx: DashboardContext): DashboardBuilder {
  const groups = ctx.datasources.has('analytics');
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.errors,
    title: 'Errors',
    description:
      'Error reports applications send to the ingest service (its API and Sentry SDKs), grouped by fingerprint: reports per service and level, new groups, and the groups with the most reports, first and last seen and affected users.',
    tags: ['errors', 'ingest'],
    datasources: groups ? ['prometheus', 'analytics'] : ['prometheus'],
    from: 'now-24h',
  });

  section(d, 'Now', [
    statPanel({
      title: 'Error reports a minute',
      description: 'Error reports received per minute, every service together.',
      unit: units.EventsPerMinute,
      queries: [promql(`sum(rate(ingest_error_reports_total{${J}}[$__rate_interval])) * 60 or vector(0)`)],
    }),
    statPanel({
      title: 'Fatal reports a minute',
      description: 'Reports of level fatal per minute: a process or a request died.',
      unit: units.EventsPerMinute,
      thresholds: [[0.01, 'red']],
      queries: [promql(`sum(rate(ingest_error_reports_total{${J},level="fatal"}[$__rate_interval])) * 60 or vector(0)`)],
    }),
    groups &&
      statPanel({
        title: 'Groups with reports',
        description: 'Error groups (distinct fingerprints of each project) with at least one report in the time range.',
        datasource: 'analytics',
        sparkline: false,
        queries: [groupSql('Groups with reports', 'table')],
      }),
    groups &&
      statPanel({
        title: 'New groups',
        description: 'Error groups whose first report falls in the time range.',
        datasource: 'analytics',
        sparkline: false,
        thresholds: [[1, 'orange']],
        queries: [groupSql('New groups', 'table')],
      }),
  ]);

  section(d, 'Reports', [
    timeseriesPanel({
      title: 'Error reports by service',
      description: 'Error reports per minute by reporting service (its `service` tag, else the API key that sent it); the ErrorReportSpike alert compares this with its own baseline.',
      unit: units.EventsPerMinute,
      stacked: true,
      legendCalcs: ['mean', 'max'],
      queries: [promql(perMinute('service_name'), '{{service_name}}')],
    }),
    timeseriesPanel({
      title: 'Error reports by level',
      description: 'Error reports per minute by level (fatal, error, warning, info, debug).',
      unit: units.EventsPerMinute,
      stacked: true,
      queries: [promql(perMinute('level'), '{{level}}')],
    }),
    timeseriesPanel({
      title: 'New error groups by service',
      description: 'Fingerprints seen for the first time, by the service of their first report (what the NewErrorGroup alert counts); each group is counted once, by the write that stored it.',
      unit: units.Short,
      bars: true,
      w: 24,
      queries: [promql(`sum by (service_name) (increase(ingest_new_error_groups_total{${J}}[$__rate_interval]))`, '{{service_name}}')],
    }),
  ]);

  if (groups) {
    section(d, 'Groups', [
      tablePanel({
        title: 'Top error groups',
        description:
          'The 50 groups with the most reports in the time range: their project, service and type of the first report, where it was raised (its top frame), reports and distinct users in the range, when the group was first seen ever and last seen in the range. Messages and user ids stay in the database.',
        datasource: 'analytics',
        unit: units.Short,
        w: 24,
        h: 12,
        sortBy: { field: 'reports', desc: true },
        queries: [groupSql('Top error groups', 'table')],
      }),
      tablePanel({
        title: 'Groups first seen in the range',
        description: 'Error groups whose first report falls in the time range, newest first, with their project, reports and affected users in the range.',
        datasource: 'analytics',
        unit: units.Short,
        w: 24,
        h: 10,
        queries: [groupSql('Groups first seen in the range', 'table')],
      }),
      timeseriesPanel({
        title: 'New groups per hour',
        description: 'Error groups first seen in each hour, by service: a release that brings new errors shows as a bar.',
        datasource: 'analytics',
        unit: units.Short,
        bars: true,
        stacked: true,
        w: 24,
        queries: [groupSql('New groups per hour', 'time_series')],
      }),
    ]);
  }
  return d;
}
