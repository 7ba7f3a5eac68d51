import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import * as es from '@grafana/grafana-foundation-sdk/elasticsearch';
import { DataqueryBuilder as PromQueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { datasourceRef } from './datasources.js';

/** A query of a panel; panel factories give each its refId. */
export type Query = Builder<Dataquery> & { refId(refId: string): unknown };

/** A PromQL range query. `legend` is Grafana's legend format (`{{route}}`). */
export function promql(expr: string, legend?: string): PromQueryBuilder {
  const q = new PromQueryBuilder().datasource(datasourceRef('prometheus')).expr(expr).range();
  return legend === undefined ? q : q.legendFormat(legend);
}

/** A PromQL instant query in table format, for stats and tables. */
export function promqlInstant(expr: string, legend?: string): PromQueryBuilder {
  const q = new PromQueryBuilder().datasource(datasourceRef('prometheus')).expr(expr).instant().format(PromQueryFormat.Table);
  return legend === undefined ? q : q.legendFormat(legend);
}

/** A query of Grafana's PostgreSQL datasource (the SDK has no builder for it). */
export interface SqlQuery extends Dataquery {
  refId?: string;
  hide?: boolean;
  rawSql: string;
  format: 'time_series' | 'table';
  rawQuery: true;
  editorMode: 'code';
  datasource: ReturnType<typeof datasourceRef>;
}

export class SqlQueryBuilder implements Builder<Dataquery> {
  private readonly internal: SqlQuery;

  constructor(rawSql: string, format: 'time_series' | 'table') {
    this.internal = {
      rawSql: rawSql.trim().replace(/\n\s+/g, '\n  '),
      format,
      rawQuery: true,
      editorMode: 'code',
      datasource: datasourceRef('analytics'),
      _implementsDataqueryVariant() {},
    };
  }

  build(): SqlQuery {
    return this.internal;
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }
}

/** SQL on the analytics database, with Grafana's macros (`$__timeFilter(ts)`, `$__timeFrom()`). */
export function sql(rawSql: string, format: 'time_series' | 'table' = 'time_series'): SqlQueryBuilder {
  return new SqlQueryBuilder(rawSql, format);
}

/** A query of Grafana's Jaeger datasource (the SDK has no builder for it). */
export interface JaegerQuery extends Dataquery {
  refId?: string;
  hide?: boolean;
  queryType: 'search' | 'traceId';
  query?: string;
  service?: string;
  operation?: string;
  tags?: string;
  minDuration?: string;
  maxDuration?: string;
  limit?: number;
  datasource: ReturnType<typeof datasourceRef>;
}

export class JaegerQueryBuilder implements Builder<Dataquery> {
  private readonly internal: JaegerQuery;

  constructor(fields: Omit<JaegerQuery, 'datasource' | '_implementsDataqueryVariant'>) {
    this.internal = { ...fields, datasource: datasourceRef('traces'), _implementsDataqueryVariant() {} };
  }

  build(): JaegerQuery {
    return this.internal;
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }
}

/** Jaeger's trace search (a table of traces: id, start, duration, root operation). */
export function jaegerSearch(fields: Omit<JaegerQuery, 'datasource' | 'queryType' | '_implementsDataqueryVariant'>): JaegerQueryBuilder {
  return new JaegerQueryBuilder({ queryType: 'search', ...fields });
}

/** One trace by id. */
export function jaegerTrace(traceId: string): JaegerQueryBuilder {
  return new JaegerQueryBuilder({ queryType: 'traceId', query: traceId });
}

/** Log fields of the Elastic Common Schema, as the ingest service and Filebeat write them. */
export const LOG_FIELDS = {
  time: '@timestamp',
  level: 'log.level',
  service: 'service.name',
  message: 'message',
  traceId: 'trace.id',
} as const;

/** Count of log lines over time, split by a keyword field. */
export function logCountBy(luceneQuery: string, field: string, size = 10): es.DataqueryBuilder {
  return new es.DataqueryBuilder()
    .datasource(datasourceRef('logs'))
    .query(luceneQuery)
    .timeField(LOG_FIELDS.time)
    .metrics([new es.CountBuilder().id('1')])
    .bucketAggs([
      new es.TermsBuilder().id('2').field(field).settings({ size: String(size), order: es.TermsOrder.Desc, orderBy: '_count', min_doc_count: '1' }),
      new es.DateHistogramBuilder().id('3').field(LOG_FIELDS.time).settings({ interval: 'auto', min_doc_count: '0' }),
    ]);
}

/** The raw log lines a Lucene query matches, newest first. */
export function logLines(luceneQuery: string, limit = 500): es.DataqueryBuilder {
  return new es.DataqueryBuilder()
    .datasource(datasourceRef('logs'))
    .query(luceneQuery)
    .timeField(LOG_FIELDS.time)
    .metrics([new es.LogsBuilder().id('1').settings({ limit: String(limit) })])
    .bucketAggs([]);
}
