import * as units from '@grafana/grafana-foundation-sdk/units';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS } from '../src/authoring/index.js';
import {
  type DashboardContext,
  HTTP_ROUTE_LABELS,
  HTTP_STATUS_LABELS,
  httpRequestRate,
  legendOf,
  promql,
  section,
  sql,
  stackDashboard,
  statPanel,
  sumRate,
  tablePanel,
  timeseriesPanel,
} from './common/index.js';

/**
 * Refusals of any service, under whichever status label it reports
 * (`status_code`, `status`, OpenTelemetry's `http_response_status_code`;
 * dashboards/common/http.ts). A service that reports only classes such as
 * "4xx" (prometheus-fastapi-instrumentator's default) cannot tell a 401 from
 * a 404, so its refusals do not show here.
 */
const REFUSED = '401|403';
const REFUSED_NOTE = ' Services that report only status classes such as 4xx cannot show here.';

/** Authentication failures, refused and rate-limited requests, and the audit log. */
export function security(ctx: DashboardContext): DashboardBuilder {
  const audit = ctx.datasources.has('analytics');
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.security,
    title: 'Security events',
    description: 'Authentication failures, refused and rate-limited requests across services, and the audit log of the ingest service.',
    tags: ['security', 'audit'],
    datasources: audit ? ['prometheus', 'analytics'] : ['prometheus'],
  });

  section(d, 'Now', [
    statPanel({
      title: 'Auth failures (1h)',
      description: 'Requests the ingest service refused for a missing, unknown or under-scoped API key over the last hour.',
      thresholds: [[10, 'orange'], [100, 'red']],
      queries: [promql('sum(increase(ingest_auth_failures_total[1h]))')],
    }),
    statPanel({
      title: 'Rate-limited (1h)',
      description: 'Requests refused with 429 by the per-key rate limit over the last hour.',
      thresholds: [[100, 'orange']],
      queries: [promql('sum(increase(ingest_rate_limited_total[1h]))')],
    }),
    statPanel({
      title: '401/403 answers (1h)',
      description: `Requests any service refused as unauthenticated or forbidden over the last hour.${REFUSED_NOTE}`,
      thresholds: [[50, 'orange'], [500, 'red']],
      queries: [promql(httpRequestRate({ status: REFUSED, fn: 'increase', range: '1h' }))],
    }),
    statPanel({
      title: '429 answers (1h)',
      description: `Requests any service refused for exceeding a rate limit over the last hour.${REFUSED_NOTE}`,
      thresholds: [[100, 'orange']],
      queries: [promql(httpRequestRate({ status: '429', fn: 'increase', range: '1h' }))],
    }),
  ]);

  section(d, 'Refused requests', [
    timeseriesPanel({
      title: 'Authentication failures by reason',
      description: 'Refusals by the ingest service per second: unknown key, missing key, missing scope. A burst of unknown keys is someone guessing.',
      unit: units.RequestsPerSecond,
      stacked: true,
      queries: [promql(sumRate('ingest_auth_failures_total', '', ['reason']), '{{reason}}')],
    }),
    timeseriesPanel({
      title: 'Refused answers by service',
      description: `401, 403 and 429 answers per second by service and status.${REFUSED_NOTE}`,
      unit: units.RequestsPerSecond,
      queries: [promql(httpRequestRate({ status: `${REFUSED}|429` }, ['job', ...HTTP_STATUS_LABELS]), `{{job}} ${legendOf(HTTP_STATUS_LABELS)}`)],
    }),
    timeseriesPanel({
      title: 'Rate-limited requests',
      description: 'Requests refused by the ingest service\'s per-key rate limit, per second.',
      unit: units.RequestsPerSecond,
      queries: [promql(sumRate('ingest_rate_limited_total'), 'rate-limited')],
    }),
    timeseriesPanel({
      title: 'Refused routes',
      description: `Routes that refuse the most requests (401/403): the targets of probing.${REFUSED_NOTE}`,
      unit: units.RequestsPerSecond,
      queries: [promql(`topk(10, ${httpRequestRate({ status: REFUSED }, HTTP_ROUTE_LABELS)})`, legendOf(HTTP_ROUTE_LABELS))],
    }),
  ]);

  if (audit) {
    section(d, 'Audit log', [
      timeseriesPanel({
        title: 'Audit events by outcome',
        description: 'Writes and refusals the ingest service audited per hour, by outcome.',
        datasource: 'analytics',
        bars: true,
        stacked: true,
        queries: [
          sql(`
            SELECT date_trunc('hour', ts) AS time, outcome AS metric, count(*) AS value
            FROM audit_log
            WHERE $__timeFilter(ts)
            GROUP BY 1, 2 ORDER BY 1`),
        ],
      }),
      tablePanel({
        title: 'Top refused actors',
        description: 'Actors and addresses with the most failed or refused actions in the time range.',
        datasource: 'analytics',
        queries: [
          sql(
            `
            SELECT coalesce(actor, '(anonymous)') AS actor, ip_address, count(*) AS refused, max(ts) AS "last seen"
            FROM audit_log
            WHERE outcome IN ('failure', 'refused') AND $__timeFilter(ts)
            GROUP BY 1, 2 ORDER BY refused DESC LIMIT 20`,
            'table',
          ),
        ],
      }),
      tablePanel({
        title: 'Latest audit events',
        description: 'The 200 most recent audited actions: who did what to which resource, the outcome and the request id to find the logs.',
        datasource: 'analytics',
        w: 24,
        h: 10,
        queries: [
          sql(
            `
            SELECT ts AS time, actor, action, resource_type, resource_id, outcome, reason, ip_address, request_id
            FROM audit_log
            WHERE $__timeFilter(ts)
            ORDER BY ts DESC LIMIT 200`,
            'table',
          ),
        ],
      }),
    ]);
  }
  return d;
}
