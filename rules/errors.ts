import { alert, DASHBOARD_UIDS, type Environment, firesWhen, group, humanDuration, humanNumber, type RuleGroup, runbooks, silentWhen } from '../src/authoring/index.js';

/**
 * Error reports the ingest service receives from applications
 * (`POST /api/v1/errors` and the Sentry endpoints), per reporting service:
 * the metrics carry it as `service_name`, because the scrape job's own
 * `service` label names the ingest service. The alerts' `service` label is
 * the reporting service, so routing and teams work per application.
 */
const J = 'job="obstack-ingest"';
const REPORTS = `ingest_error_reports_total{${J}}`;
const NEW_GROUPS = `ingest_new_error_groups_total{${J}}`;
/** How long one new group keeps its alert: a group seen once gives one alert, which resolves by itself. */
const NEW_GROUP_WINDOW = '10m';
/** Fewer reports a minute than this never page, whatever the service's baseline. */
const SPIKE_FLOOR_PER_MINUTE = 10;
/** The baseline: the service's rate over these hours, ending this long ago, so that a spike does not raise its own baseline at once. */
const BASELINE = { window: '3h', offset: '30m' } as const;

const ON = 'job="obstack-ingest",instance="ingest-0:3000",service="ingest"';
const series = (name: string, service: string, values: string) => ({ [`${name}{${ON},service_name="${service}"}`]: values });
const fired = (service: string) => ({ service_name: service, service });
/** "1 new error group", "more than 3 new error groups". */
const groups = (threshold: number) => (threshold === 0 ? 'a new error group' : `more than ${humanNumber(threshold)} new error groups`);

export function errorRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  const perService = (expr: string) => `sum by (service_name) (${expr})`;
  return [
    group({
      name: 'obstack.errors',
      rules: [
        alert({
          alert: 'NewErrorGroup',
          threshold: 0,
          // A service's series starts at its first new group (the counter exists only once incremented), and increase()
          // does not count a series' first sample: a series that was not there a window ago counts with its value.
          expr: (t) =>
            `${perService(`(${NEW_GROUPS} unless ${NEW_GROUPS} offset ${NEW_GROUP_WINDOW}) or increase(${NEW_GROUPS}[${NEW_GROUP_WINDOW}])`)} > ${t}`,
          severity: 'P3',
          service: '{{ $labels.service_name }}',
          summary: ({ threshold }) => `{{ $labels.service_name }} reported ${groups(threshold)}`,
          description: ({ threshold }) =>
            `{{ $labels.service_name }} reported ${groups(threshold)} in the last ${humanDuration(NEW_GROUP_WINDOW)}: an error whose fingerprint (type and top frames) the ingest service had not seen before. The Errors dashboard lists it with its first report, count and affected users; the alert resolves by itself.`,
          runbook: runbook('NewErrorGroup'),
          dashboard: DASHBOARD_UIDS.errors,
          tests: [
            firesWhen('a service reports its first new group since the ingest pod started', series('ingest_new_error_groups_total', 'chat-api', '_x10 1x20'), '12m', fired('chat-api')),
            firesWhen('a service with groups before reports another', series('ingest_new_error_groups_total', 'chat-api', '4x10 5x20'), '12m', fired('chat-api')),
            silentWhen('no new group appears', series('ingest_new_error_groups_total', 'chat-api', '4x30'), '20m'),
            silentWhen('the one new group was seen more than 10 minutes ago', series('ingest_new_error_groups_total', 'chat-api', '_x5 1x30'), '25m'),
          ],
        }),
        alert({
          alert: 'ErrorReportSpike',
          threshold: 5,
          expr: (t) =>
            `(${perService(`rate(${REPORTS}[5m])`)} * 60 > ${SPIKE_FLOOR_PER_MINUTE})` +
            ` and (${perService(`rate(${REPORTS}[5m])`)} > ${t} * (${perService(`rate(${REPORTS}[${BASELINE.window}] offset ${BASELINE.offset})`)} or ${perService(`rate(${REPORTS}[5m])`)} * 0))`,
          for: '5m',
          severity: 'P2',
          service: '{{ $labels.service_name }}',
          summary: '{{ $labels.service_name }} reports {{ $value | humanize }} errors a minute',
          description: ({ threshold, for: f }) =>
            `{{ $labels.service_name }} has sent more than ${humanNumber(SPIKE_FLOOR_PER_MINUTE)} error reports a minute for ${humanDuration(f)}, more than ${humanNumber(threshold)} times its rate of the ${humanDuration(BASELINE.window)} before the last ${humanDuration(BASELINE.offset)} (or any rate, for a service with no reports then). Its users meet errors; the Errors dashboard shows which groups grew.`,
          runbook: runbook('ErrorReportSpike'),
          dashboard: DASHBOARD_UIDS.errors,
          tests: [
            firesWhen('a service goes from 1 report a minute to 100', series('ingest_error_reports_total', 'chat-api', '0+1x240 240+100x20'), '255m', fired('chat-api')),
            firesWhen('a service with no reports before sends 100 a minute', series('ingest_error_reports_total', 'billing', '_x240 0+100x20'), '255m', fired('billing')),
            silentWhen('a quiet service sends a few reports at once', series('ingest_error_reports_total', 'chat-api', '0x240 0+3x3 9x17'), '255m'),
            silentWhen('a busy service keeps its usual 50 reports a minute', series('ingest_error_reports_total', 'chat-api', '0+50x260'), '255m'),
            silentWhen('the rate doubles, under the factor', series('ingest_error_reports_total', 'chat-api', '0+20x240 4800+40x20'), '255m'),
          ],
        }),
      ],
    }),
  ];
}
