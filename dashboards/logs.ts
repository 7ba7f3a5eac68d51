import * as units from '@grafana/grafana-foundation-sdk/units';
import { type DashboardBuilder, QueryVariableBuilder, VariableRefresh, VariableSort } from '@grafana/grafana-foundation-sdk/dashboard';
import * as es from '@grafana/grafana-foundation-sdk/elasticsearch';
import { DASHBOARD_UIDS, dashboardUrl } from '../src/authoring/index.js';
import {
  type DashboardContext,
  datasourceRef,
  logCountBy,
  LOG_FIELDS,
  logLines,
  logsPanel,
  section,
  stackDashboard,
  statPanel,
  tablePanel,
  textVariable,
  timeseriesPanel,
} from './common/index.js';

/** Lucene filter of the variables: the selected services and levels, and the free-text search. */
const FILTER = `${LOG_FIELDS.service}:($service) AND ${LOG_FIELDS.level}:($level) AND ($search)`;
const ERRORS = `${LOG_FIELDS.service}:($service) AND ${LOG_FIELDS.level}:(error OR critical OR fatal) AND ($search)`;
/** Opens the trace of a log line on the traces dashboard; Grafana fills in the value and the time range. */
const TRACE_LINK = `${dashboardUrl('', DASHBOARD_UIDS.traces)}?var-trace_id=\${__value.raw}&\${__url_time_range}`;

function termsVariable(name: string, label: string, field: string): QueryVariableBuilder {
  const query = JSON.stringify({ find: 'terms', field });
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(datasourceRef('logs'))
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('*')
    .current({ selected: true, text: 'All', value: '$__all' });
}

/** Log volume by level and service, the latest errors, and every line linked to its trace. */
export function logs(_ctx: DashboardContext): DashboardBuilder {
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.logs,
    title: 'Logs',
    description: 'Structured logs in Elasticsearch: volume by level and service, the latest errors, and a link from each line to its trace.',
    tags: ['logs', 'elasticsearch'],
    datasources: ['logs'],
    from: 'now-1h',
  })
    .withVariable(termsVariable('service', 'service', LOG_FIELDS.service))
    .withVariable(termsVariable('level', 'level', LOG_FIELDS.level))
    .withVariable(textVariable('search', 'search (Lucene)', '*'));

  section(d, 'Volume', [
    statPanel({
      title: 'Errors in range',
      description: 'Log lines at error level or above in the time range.',
      datasource: 'logs',
      sparkline: true,
      thresholds: [[1, 'orange'], [100, 'red']],
      queries: [
        new es.DataqueryBuilder()
          .datasource(datasourceRef('logs'))
          .query(ERRORS)
          .timeField(LOG_FIELDS.time)
          .metrics([new es.CountBuilder().id('1')])
          .bucketAggs([new es.DateHistogramBuilder().id('2').field(LOG_FIELDS.time).settings({ interval: 'auto' })]),
      ],
      w: 4,
      h: 8,
    }),
    timeseriesPanel({
      title: 'Log lines by level',
      description: 'Log lines per interval, by level.',
      datasource: 'logs',
      bars: true,
      stacked: true,
      unit: units.Short,
      w: 10,
      queries: [logCountBy(FILTER, LOG_FIELDS.level)],
    }),
    timeseriesPanel({
      title: 'Log lines by service',
      description: 'Log lines per interval, by service (top 10).',
      datasource: 'logs',
      bars: true,
      stacked: true,
      unit: units.Short,
      w: 10,
      queries: [logCountBy(FILTER, LOG_FIELDS.service)],
    }),
  ]);

  section(d, 'Errors', [
    timeseriesPanel({
      title: 'Errors by service',
      description: 'Error-level log lines per interval, by service.',
      datasource: 'logs',
      bars: true,
      stacked: true,
      unit: units.Short,
      w: 24,
      queries: [logCountBy(ERRORS, LOG_FIELDS.service)],
    }),
    tablePanel({
      title: 'Latest errors',
      description: 'The latest error-level lines; click a trace id to open its trace.',
      datasource: 'logs',
      w: 24,
      h: 10,
      queries: [
        new es.DataqueryBuilder()
          .datasource(datasourceRef('logs'))
          .query(ERRORS)
          .timeField(LOG_FIELDS.time)
          .metrics([new es.RawDataBuilder().id('1').settings({ size: '100' })])
          .bucketAggs([]),
      ],
      transformations: [
        {
          id: 'organize',
          options: {
            indexByName: { [LOG_FIELDS.time]: 0, [LOG_FIELDS.service]: 1, [LOG_FIELDS.level]: 2, [LOG_FIELDS.message]: 3, [LOG_FIELDS.traceId]: 4 },
          },
        },
      ],
      links: [{ title: 'Open trace', url: TRACE_LINK }],
    }),
  ]);

  section(d, 'Lines', [
    logsPanel({
      title: 'Log lines',
      description: 'The latest lines matching the selection; each line\'s trace.id opens its trace (a data link of the Elasticsearch datasource).',
      w: 24,
      h: 14,
      queries: [logLines(FILTER)],
    }),
  ]);
  return d;
}
