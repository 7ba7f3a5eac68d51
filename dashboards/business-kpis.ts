import * as units from '@grafana/grafana-foundation-sdk/units';
import { type DashboardBuilder, QueryVariableBuilder, VariableRefresh, VariableSort } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS } from '../src/authoring/index.js';
import { barsPanel, type DashboardContext, datasourceRef, section, sql, stackDashboard, statPanel, tablePanel, timeseriesPanel } from './common/index.js';

/**
 * The projects the `project` variable offers: every project with rollups (the
 * rollup writes rows for each project of the key file every day) or with
 * posted KPIs, from tables Grafana's read-only role may read.
 */
export const PROJECT_VARIABLE_SQL = 'SELECT project FROM daily_rollups UNION SELECT project FROM business_metrics';

/**
 * The rows of the projects selected in `$project`. Grafana writes the
 * selection, "All" as every project the variable lists, as quoted SQL strings
 * (`'a','b'`); in an array rather than `IN (…)`, the condition stays valid SQL
 * when that list is empty (a database the rollup has not run on yet).
 */
const inProjects = (column = 'project') => `${column} = ANY (ARRAY[\${project:sqlstring}]::text[])`;

/** A multi-value query variable over the analytics database's projects, "All" by default. */
function projectVariable(): QueryVariableBuilder {
  return new QueryVariableBuilder('project')
    .label('project')
    .description('Projects of the ingest service (of its API keys). Every panel counts the projects selected; user ids are per project, so a user of two projects counts twice.')
    .datasource(datasourceRef('analytics'))
    .query(PROJECT_VARIABLE_SQL)
    .definition(PROJECT_VARIABLE_SQL)
    .refresh(VariableRefresh.OnDashboardLoad)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .current({ selected: true, text: 'All', value: '$__all' });
}

/** One daily rollup (src/ingest/rollup.ts) as a series, summed over the selected projects. */
const daily = (metric: string, alias: string) =>
  sql(`
    SELECT day::timestamptz AS time, sum(value) AS "${alias}"
    FROM daily_rollups
    WHERE metric = '${metric}' AND ${inProjects()} AND $__timeFilter(day)
    GROUP BY day ORDER BY 1`);

/** Active users on the latest rolled-up day, summed over the selected projects (each project's users are its own). */
const latestDau = (alias: string) =>
  `SELECT sum(value) AS "${alias}" FROM daily_rollups WHERE metric = 'active_users' AND ${inProjects()} GROUP BY day ORDER BY day DESC LIMIT 1`;

/** Distinct users of the last 30 days: user ids are per project, so a user is a (project, user_id) pair. */
const mauNow = (alias: string) =>
  `SELECT count(DISTINCT (project, user_id)) AS "${alias}" FROM daily_active_users WHERE day > current_date - 30 AND ${inProjects()}`;

/** Users active in the 30 days up to each day of the range, from daily_active_users. */
const MAU = `
    SELECT d.day::timestamptz AS time,
           (SELECT count(DISTINCT (u.project, u.user_id)) FROM daily_active_users u
             WHERE u.day > d.day - 30 AND u.day <= d.day AND ${inProjects('u.project')}) AS "monthly active users"
    FROM (SELECT generate_series($__timeFrom()::date, $__timeTo()::date, interval '1 day')::date AS day) AS d
    ORDER BY 1`;

/** The first active day of each user of the selected projects. */
const FIRST_DAYS = `SELECT project, user_id, min(day) AS first_day FROM daily_active_users WHERE ${inProjects()} GROUP BY project, user_id`;

/** Daily and monthly active users, sessions, feature use, ratings and growth, from the ingest service's rollups, for the selected projects. */
export function businessKpis(_ctx: DashboardContext): DashboardBuilder {
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.businessKpis,
    title: 'Business KPIs',
    description:
      'Engagement and growth from the analytics database: active users, sessions, feature use, satisfaction and the KPIs applications post, for the projects chosen in the project variable.',
    tags: ['business', 'analytics'],
    datasources: ['analytics'],
    from: 'now-30d',
  }).withVariable(projectVariable());

  section(d, 'Today', [
    statPanel({
      title: 'Daily active users',
      description: 'Distinct users with an event on the latest rolled-up day, summed over the selected projects.',
      datasource: 'analytics',
      queries: [sql(latestDau('DAU'), 'table')],
    }),
    statPanel({
      title: 'Monthly active users',
      description: 'Distinct users with an event in the last 30 days, in the selected projects.',
      datasource: 'analytics',
      queries: [sql(mauNow('MAU'), 'table')],
    }),
    statPanel({
      title: 'DAU / MAU',
      description: 'Stickiness: the share of monthly users who come back on a given day.',
      datasource: 'analytics',
      unit: units.PercentUnit,
      queries: [sql(`SELECT (${latestDau('dau')}) / nullif((${mauNow('mau')}), 0) AS "DAU/MAU"`, 'table')],
    }),
    statPanel({
      title: 'Average rating',
      description: 'Average conversation rating over the time range.',
      datasource: 'analytics',
      decimals: 2,
      baseColor: 'red',
      thresholds: [[3, 'orange'], [4, 'green']],
      queries: [
        sql(
          `SELECT sum(value) FILTER (WHERE metric = 'rating_sum') / nullif(sum(value) FILTER (WHERE metric = 'rating_count'), 0) AS "rating"
           FROM daily_rollups WHERE metric IN ('rating_sum', 'rating_count') AND ${inProjects()} AND $__timeFilter(day)`,
          'table',
        ),
      ],
    }),
  ]);

  section(d, 'Users', [
    timeseriesPanel({
      title: 'Daily active users',
      description: 'Distinct users with an event each day, summed over the selected projects.',
      datasource: 'analytics',
      bars: true,
      queries: [daily('active_users', 'daily active users')],
    }),
    timeseriesPanel({ title: 'Monthly active users', description: 'Distinct users over the 30 days up to each day.', datasource: 'analytics', queries: [sql(MAU)] }),
    timeseriesPanel({
      title: 'New users per day',
      description: 'Users seen for the first time each day.',
      datasource: 'analytics',
      bars: true,
      queries: [
        sql(`
          SELECT first_day::timestamptz AS time, count(*) AS "new users"
          FROM (${FIRST_DAYS}) AS f
          WHERE $__timeFilter(first_day)
          GROUP BY first_day ORDER BY 1`),
      ],
    }),
    timeseriesPanel({
      title: 'User growth',
      description: 'Users ever seen, by day: the slope is the growth rate.',
      datasource: 'analytics',
      queries: [
        sql(`
          SELECT first_day::timestamptz AS time, sum(count(*)) OVER (ORDER BY first_day) AS "users"
          FROM (${FIRST_DAYS}) AS f
          GROUP BY first_day ORDER BY 1`),
      ],
    }),
  ]);

  section(d, 'Sessions', [
    timeseriesPanel({ title: 'Sessions per day', description: 'Sessions started each day.', datasource: 'analytics', bars: true, queries: [daily('sessions', 'sessions')] }),
    timeseriesPanel({
      title: 'Average session duration',
      description: 'Mean length of the sessions that ended each day.',
      datasource: 'analytics',
      unit: units.Seconds,
      queries: [
        sql(`
          SELECT day::timestamptz AS time,
                 sum(value) FILTER (WHERE metric = 'session_duration_sum_s') / nullif(sum(value) FILTER (WHERE metric = 'session_duration_count'), 0) AS "average session"
          FROM daily_rollups
          WHERE metric IN ('session_duration_sum_s', 'session_duration_count') AND ${inProjects()} AND $__timeFilter(day)
          GROUP BY day ORDER BY 1`),
      ],
    }),
    timeseriesPanel({ title: 'Page views per day', description: 'Page views each day.', datasource: 'analytics', bars: true, queries: [daily('page_views', 'page views')] }),
    timeseriesPanel({
      title: 'Satisfaction ratings',
      description: 'Average rating each day and the number of ratings.',
      datasource: 'analytics',
      queries: [
        sql(`
          SELECT day::timestamptz AS time,
                 sum(value) FILTER (WHERE metric = 'rating_sum') / nullif(sum(value) FILTER (WHERE metric = 'rating_count'), 0) AS "average rating",
                 sum(value) FILTER (WHERE metric = 'rating_count') AS "ratings"
          FROM daily_rollups
          WHERE metric IN ('rating_sum', 'rating_count') AND ${inProjects()} AND $__timeFilter(day)
          GROUP BY day ORDER BY 1`),
      ],
    }),
  ]);

  section(d, 'Features', [
    barsPanel({
      title: 'Feature use',
      description: 'Uses of each feature over the time range, summed over the selected projects (the table below splits them by project).',
      datasource: 'analytics',
      queries: [
        sql(
          `SELECT dimension AS feature, sum(value) AS uses
           FROM daily_rollups WHERE metric = 'feature_uses' AND ${inProjects()} AND $__timeFilter(day)
           GROUP BY dimension ORDER BY uses DESC LIMIT 20`,
          'table',
        ),
      ],
    }),
    tablePanel({
      title: 'Feature adoption',
      description: 'For each project and feature: uses, and the most users it had on one day, in the time range.',
      datasource: 'analytics',
      queries: [
        sql(
          `SELECT project, dimension AS feature,
                  sum(value) FILTER (WHERE metric = 'feature_uses') AS uses,
                  max(value) FILTER (WHERE metric = 'feature_users') AS "peak daily users"
           FROM daily_rollups
           WHERE metric IN ('feature_uses', 'feature_users') AND ${inProjects()} AND $__timeFilter(day)
           GROUP BY project, dimension ORDER BY uses DESC NULLS LAST, project, feature`,
          'table',
        ),
      ],
    }),
  ]);

  section(d, 'KPIs and quality', [
    tablePanel({
      title: 'Posted KPIs against target',
      description: 'The latest value of each KPI of each selected project posted to /api/v1/monitoring/business-metrics, with its target.',
      datasource: 'analytics',
      queries: [
        sql(
          `SELECT DISTINCT ON (project, name) project, name AS kpi, value, target, value / nullif(target, 0) AS achieved, ts AS "updated"
           FROM business_metrics WHERE ${inProjects()} ORDER BY project, name, ts DESC`,
          'table',
        ),
      ],
    }),
    timeseriesPanel({
      title: 'Error rate seen by users',
      description: 'Share of requests (request events) answered with a 5xx each day, over the selected projects.',
      datasource: 'analytics',
      unit: units.PercentUnit,
      queries: [
        sql(`
          SELECT day::timestamptz AS time,
                 sum(value) FILTER (WHERE metric = 'request_errors') / nullif(sum(value) FILTER (WHERE metric = 'requests'), 0) AS "error rate"
          FROM daily_rollups
          WHERE metric IN ('requests', 'request_errors') AND ${inProjects()} AND $__timeFilter(day)
          GROUP BY day ORDER BY 1`),
      ],
    }),
  ]);
  return d;
}
