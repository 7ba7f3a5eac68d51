import * as units from '@grafana/grafana-foundation-sdk/units';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS } from '../src/authoring/index.js';
import {
  type DashboardContext,
  type Query,
  labelVariable,
  promql,
  promqlInstant,
  section,
  stackDashboard,
  statPanel,
  sumRate,
  tablePanel,
  timeseriesPanel,
} from './common/index.js';

interface Component {
  readonly title: string;
  /** The scrape job (`job` label) of the component. */
  readonly job: string;
  /** The component's own signal: what breaks first when it is unwell. */
  readonly signal: { readonly title: string; readonly description: string; readonly unit: string; readonly queries: readonly Query[] };
  /** Whether its memory is a JVM heap rather than a process' resident set. */
  readonly jvm?: boolean;
}

const NS = 'namespace=~"$namespace"';

function components(ctx: DashboardContext): Component[] {
  const list: Component[] = [
    {
      title: 'Prometheus',
      job: 'prometheus',
      signal: {
        title: 'Rule evaluation failures and dropped notifications',
        description: 'Rules that failed to evaluate, and alerts Prometheus could not hand to Alertmanager, per second. Both should be zero.',
        unit: units.OpsPerSecond,
        queries: [
          promql(sumRate('prometheus_rule_evaluation_failures_total', `job="prometheus", ${NS}`, ['pod']), 'rule failures {{pod}}'),
          promql(sumRate('prometheus_notifications_dropped_total', `job="prometheus", ${NS}`, ['pod']), 'dropped notifications {{pod}}'),
        ],
      },
    },
    {
      title: 'Alertmanager',
      job: 'alertmanager',
      signal: {
        title: 'Failed notifications by integration',
        description: 'Notifications Alertmanager failed to deliver (PagerDuty, e-mail, Slack, webhook), per second.',
        unit: units.OpsPerSecond,
        queries: [promql(sumRate('alertmanager_notifications_failed_total', `job="alertmanager", ${NS}`, ['integration']), '{{integration}}')],
      },
    },
    {
      title: 'Grafana',
      job: 'grafana',
      signal: {
        title: 'Grafana 5xx answers',
        description: 'Requests Grafana answered with a server error, per second, by handler.',
        unit: units.RequestsPerSecond,
        queries: [promql(sumRate('grafana_http_request_duration_seconds_count', `job="grafana", ${NS}, status_code=~"5.."`, ['handler']), '{{handler}}')],
      },
    },
    {
      title: 'node-exporter',
      job: 'node-exporter',
      signal: {
        title: 'Scrape duration by node',
        description: 'How long each node-exporter takes to answer a scrape; a slow collector (a hung NFS mount) shows here before the scrape times out.',
        unit: units.Seconds,
        queries: [promql('max by (instance) (scrape_duration_seconds{job="node-exporter"})', '{{instance}}')],
      },
    },
    {
      title: 'kube-state-metrics',
      job: 'kube-state-metrics',
      signal: {
        title: 'Series exposed',
        description: 'Samples kube-state-metrics exposes per scrape: a sudden drop means it lost its watch on some objects; steady growth is cardinality creeping up.',
        unit: units.Short,
        queries: [promql('sum(scrape_samples_scraped{job="kube-state-metrics"})', 'samples per scrape')],
      },
    },
    {
      title: 'Ingest service',
      job: 'obstack-ingest',
      signal: {
        title: 'Write queue depth and refused writes',
        description: 'Rows waiting to be committed, and writes refused with 503 (queue full, database down) per second.',
        unit: units.Short,
        queries: [
          promql(`sum(ingest_queue_depth{job="obstack-ingest", ${NS}})`, 'queued rows'),
          promql(sumRate('ingest_queue_refused_total', `job="obstack-ingest", ${NS}`, ['reason']), 'refused/s {{reason}}'),
        ],
      },
    },
  ];
  if (ctx.datasources.has('logs')) {
    list.push(
      {
        title: 'Elasticsearch',
        job: 'elasticsearch',
        jvm: true,
        signal: {
          title: 'Cluster status',
          description: '1 for the colour the cluster reports: green is healthy, yellow has unassigned replicas, red has unassigned primaries (data is missing).',
          unit: units.Short,
          queries: [promql(`max by (color) (elasticsearch_cluster_health_status{job="elasticsearch"})`, '{{color}}')],
        },
      },
      {
        title: 'Logstash',
        job: 'logstash',
        signal: {
          title: 'Pipeline queue and throughput',
          description: 'Events waiting in each pipeline queue, and events out per second: a queue that grows while output stalls means Elasticsearch is refusing writes.',
          unit: units.Short,
          queries: [
            promql(`sum by (pipeline) (logstash_stats_pipeline_queue_events_count{job="logstash"})`, 'queued {{pipeline}}'),
            promql(sumRate('logstash_stats_pipeline_events_out', 'job="logstash"', ['pipeline']), 'out/s {{pipeline}}'),
          ],
        },
      },
    );
  }
  if (ctx.datasources.has('traces')) {
    list.push({
      title: 'Jaeger',
      job: 'jaeger',
      signal: {
        title: 'Spans received and dropped',
        description: 'Spans accepted by the OTLP receiver, and spans refused or failed on export (lost), per second.',
        unit: units.OpsPerSecond,
        queries: [
          promql(sumRate('otelcol_receiver_accepted_spans_total', 'job="jaeger"'), 'accepted'),
          promql(sumRate('otelcol_receiver_refused_spans_total', 'job="jaeger"'), 'refused'),
          promql(sumRate('otelcol_exporter_send_failed_spans_total', 'job="jaeger"'), 'export failed'),
        ],
      },
    });
  }
  return list;
}

/** One row per component of the stack: up, resources, restarts and the signal that component fails on first. */
export function stackHealth(ctx: DashboardContext): DashboardBuilder {
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.stackHealth,
    title: 'Stack health',
    description: 'Is the observability stack itself healthy? One row per component.',
    tags: ['stack'],
    datasources: ['prometheus'],
  }).withVariable(labelVariable({ name: 'namespace', series: 'up{job="prometheus"}', multi: false }));

  section(d, 'Scrape health', [
    tablePanel({
      title: 'Targets up by job',
      description: 'Targets of each scrape job that answered their last scrape, out of all targets of the job.',
      w: 12,
      queries: [promqlInstant('sum by (job) (up)'), promqlInstant('count by (job) (up)')],
      transformations: [
        { id: 'merge', options: {} },
        { id: 'organize', options: { excludeByName: { Time: true }, renameByName: { 'Value #A': 'up', 'Value #B': 'targets' } } },
      ],
    }),
    timeseriesPanel({
      title: 'Scrape duration by job',
      description: 'Slowest scrape of each job; a scrape that approaches the scrape interval starts to be skipped.',
      unit: units.Seconds,
      w: 12,
      queries: [promql('max by (job) (scrape_duration_seconds)', '{{job}}')],
    }),
    timeseriesPanel({
      title: 'Container restarts (1h)',
      description: 'Restarts of the stack\'s containers over the last hour: a crash loop shows here before anywhere else.',
      unit: units.Short,
      w: 24,
      queries: [promql(`sum by (pod, container) (increase(kube_pod_container_status_restarts_total{${NS}}[1h])) > 0`, '{{pod}}/{{container}}')],
    }),
  ]);

  for (const c of components(ctx)) {
    const job = `job="${c.job}"`;
    section(d, c.title, [
      statPanel({
        title: `${c.title} up`,
        description: `Targets of the ${c.job} job that answered their last scrape, out of all of them.`,
        w: 4,
        h: 6,
        sparkline: false,
        background: true,
        baseColor: 'red',
        thresholds: [[1, 'green']],
        queries: [promql(`sum(up{${job}}) / count(up{${job}})`)],
        unit: units.PercentUnit,
      }),
      timeseriesPanel({
        title: `${c.title} CPU`,
        description: 'CPU seconds used per second, by pod.',
        unit: units.Short,
        w: 6,
        h: 6,
        queries: [promql(c.jvm ? `sum by (pod) (rate(container_cpu_usage_seconds_total{container!="", pod=~"${c.job}.*", ${NS}}[$__rate_interval]))` : sumRate('process_cpu_seconds_total', job, ['pod']), '{{pod}}')],
      }),
      timeseriesPanel({
        title: `${c.title} memory`,
        description: c.jvm ? 'Working set of the containers, by pod.' : 'Resident memory of the process, by pod.',
        unit: units.BytesIEC,
        w: 6,
        h: 6,
        queries: [
          promql(
            c.jvm ? `sum by (pod) (container_memory_working_set_bytes{container!="", pod=~"${c.job}.*", ${NS}})` : `sum by (pod) (process_resident_memory_bytes{${job}})`,
            '{{pod}}',
          ),
        ],
      }),
      timeseriesPanel({ ...c.signal, w: 8, h: 6 }),
    ]);
  }
  return d;
}
