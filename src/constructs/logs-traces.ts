import type { Construct } from 'constructs';
import { type Environment, IMAGES } from '../config/index.js';
import type { Grafana } from './grafana/grafana.js';
import { Elasticsearch } from './logging/elasticsearch.js';
import { ElasticsearchExporter } from './logging/elasticsearch-exporter.js';
import { ElasticsearchSetup } from './logging/elasticsearch-setup.js';
import { Filebeat } from './logging/filebeat.js';
import { Kibana } from './logging/kibana.js';
import { LOGSTASH_METRICS_PORT, Logstash } from './logging/logstash.js';
import { templateSource } from '../../templates/index.js';
import { LOGS_INDEX_PATTERN } from './logging/index-setup.js';
import type { Prometheus } from './prometheus/prometheus.js';
import { Jaeger } from './tracing/jaeger.js';

/** Uids of the logs and traces datasources (the same as DATASOURCE_UIDS in stack.ts). */
export const LOGS_DATASOURCE_UID = 'elasticsearch-logs';
export const TRACES_DATASOURCE_UID = 'jaeger';

/** The logs and traces half of the stack; a member is absent when its component is disabled. */
export interface LogsAndTraces {
  readonly elasticsearch?: Elasticsearch;
  readonly elasticsearchSetup?: ElasticsearchSetup;
  readonly elasticsearchExporter?: ElasticsearchExporter;
  readonly logstash?: Logstash;
  readonly filebeat?: Filebeat;
  readonly kibana?: Kibana;
  readonly jaeger?: Jaeger;
}

/** Creates the logs and traces components of an environment and wires them to one another. */
export function addLogsAndTraces(scope: Construct, env: Environment): LogsAndTraces {
  const c = env.components;
  const common = { namespace: env.namespace, instance: env.name };
  const elasticsearch = c.elasticsearch.enabled
    ? new Elasticsearch(scope, 'Elasticsearch', {
        ...common,
        settings: c.elasticsearch,
        image: c.elasticsearch.image ?? IMAGES.elasticsearch,
        clusterDomain: env.clusterDomain,
      })
    : undefined;
  const elasticsearchSetup = elasticsearch
    ? new ElasticsearchSetup(scope, 'ElasticsearchSetup', { ...common, elasticsearch, logs: env.logs, jaegerIndexPrefix: c.jaeger.indexPrefix })
    : undefined;
  const jaeger = c.jaeger.enabled
    ? new Jaeger(scope, 'Jaeger', {
        ...common,
        settings: c.jaeger,
        traces: env.traces,
        image: c.jaeger.image ?? IMAGES.jaeger,
        clusterDomain: env.clusterDomain,
        ...(c.jaeger.storage === 'elasticsearch' && elasticsearch ? { elasticsearch } : {}),
      })
    : undefined;
  const elasticsearchExporter = elasticsearch
    ? new ElasticsearchExporter(scope, 'ElasticsearchExporter', {
        ...common,
        image: c.elasticsearch.exporter.image ?? IMAGES.elasticsearchExporter,
        resources: c.elasticsearch.exporter.resources,
        elasticsearch,
      })
    : undefined;
  let logstash: Logstash | undefined;
  if (c.logstash.enabled && elasticsearch) {
    logstash = new Logstash(scope, 'Logstash', {
      ...common,
      settings: c.logstash,
      logs: env.logs,
      image: c.logstash.image ?? IMAGES.logstash,
      exporterImage: c.logstash.exporter.image ?? IMAGES.logstashExporter,
      pipelineTemplate: templateSource('logstash/pipeline.conf.hbs'),
    });
    logstash.shipTo(elasticsearch);
  }
  const filebeat =
    c.filebeat.enabled && logstash
      ? new Filebeat(scope, 'Filebeat', { ...common, settings: c.filebeat, image: c.filebeat.image ?? IMAGES.filebeat, logstash, clusterDomain: env.clusterDomain })
      : undefined;
  const kibana =
    c.kibana.enabled && elasticsearch
      ? new Kibana(scope, 'Kibana', { ...common, settings: c.kibana, image: c.kibana.image ?? IMAGES.kibana, elasticsearch, clusterDomain: env.clusterDomain })
      : undefined;
  return { elasticsearch, elasticsearchSetup, elasticsearchExporter, logstash, filebeat, kibana, jaeger };
}

/** Wires the logs and traces components to the metrics half: scrape jobs and Grafana datasources. */
export function wireLogsAndTraces(parts: LogsAndTraces, to: { prometheus?: Prometheus; grafana?: Grafana }): void {
  const { elasticsearch, elasticsearchExporter, logstash, jaeger } = parts;
  const { grafana, prometheus } = to;
  if (prometheus) {
    if (elasticsearchExporter) {
      prometheus.scrape(elasticsearchExporter);
      elasticsearchExporter.allowFrom(prometheus);
    }
    if (logstash) {
      prometheus.scrape(logstash);
      logstash.allowFrom(prometheus, [{ port: LOGSTASH_METRICS_PORT }]);
    }
    if (jaeger) {
      prometheus.scrape(jaeger);
      jaeger.allowScrapeFrom(prometheus);
    }
  }
  if (grafana && jaeger) {
    const tracesToLogs = elasticsearch ? {
        // A span opens the logs that carry its trace id.
        tracesToLogsV2: {
          datasourceUid: LOGS_DATASOURCE_UID,
          spanStartTimeShift: '-5m',
          spanEndTimeShift: '5m',
          filterByTraceID: false,
          filterBySpanID: false,
          customQuery: true,
          query: 'trace.id:"${__trace.traceId}"',
        },
      } : {};
    grafana.addDatasource(jaeger, {
      uid: TRACES_DATASOURCE_UID,
      name: 'Traces',
      type: 'jaeger',
      jsonData: {
        ...tracesToLogs,
        nodeGraph: { enabled: true },
      },
    });
  }
  if (grafana && elasticsearch) {
    grafana.addDatasource(elasticsearch, {
      uid: LOGS_DATASOURCE_UID,
      name: 'Logs',
      type: 'elasticsearch',
      basicAuthUser: 'grafana_reader',
      basicAuthPassword: elasticsearch.users.grafana,
      jsonData: {
        index: LOGS_INDEX_PATTERN,
        timeField: '@timestamp',
        logMessageField: 'message',
        logLevelField: 'log.level',
        maxConcurrentShardRequests: 5,
        // A log line's trace.id opens the trace in the Jaeger datasource.
        ...(jaeger
          ? { dataLinks: [{ field: 'trace.id', url: '${__value.raw}', datasourceUid: TRACES_DATASOURCE_UID, urlDisplayLabel: 'View trace' }] }
          : {}),
      },
    });
  }
}
