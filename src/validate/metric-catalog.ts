import type { MetricSource, MetricType } from '../authoring/metrics.js';
import { DATABASE_AND_PROBE_SOURCES } from './metric-catalog-exporters.js';
import { CONTROL_PLANE_SOURCES } from './metric-catalog-control-plane.js';
import { THANOS_SOURCE } from './metric-catalog-thanos.js';

export type { MetricSource, MetricType };
export { DATABASE_AND_PROBE_SOURCES };
export { CONTROL_PLANE_SOURCES };
export { THANOS_SOURCE };

export interface CatalogEntry {
  readonly type: MetricType;
  readonly source: string;
}

/** Every series name known, with its type and producer. Histograms and summaries are expanded into their series. */
export type MetricCatalog = ReadonlyMap<string, CatalogEntry>;

/** Series every Prometheus has whatever it scrapes. */
export const PROMETHEUS_SYNTHETIC: MetricSource = {
  source: 'prometheus (synthetic)',
  reference: 'series Prometheus writes for every scrape and for alerting rules',
  metrics: {
    up: 'gauge',
    scrape_duration_seconds: 'gauge',
    scrape_samples_scraped: 'gauge',
    scrape_samples_post_metric_relabeling: 'gauge',
    scrape_series_added: 'gauge',
    ALERTS: 'gauge',
    ALERTS_FOR_STATE: 'gauge',
  },
};

/** Every process instrumented by a Prometheus client library (Go, prom-client) exposes these. */
const PROCESS: Readonly<Record<string, MetricType>> = {
  process_cpu_seconds_total: 'counter',
  process_resident_memory_bytes: 'gauge',
  process_virtual_memory_bytes: 'gauge',
  process_open_fds: 'gauge',
  process_max_fds: 'gauge',
  process_start_time_seconds: 'gauge',
};
const GO: Readonly<Record<string, MetricType>> = {
  go_goroutines: 'gauge',
  go_threads: 'gauge',
  go_memstats_alloc_bytes: 'gauge',
  go_memstats_heap_inuse_bytes: 'gauge',
  go_gc_duration_seconds: 'summary',
  go_info: 'info',
};

/** The stack's components (scrape jobs prometheus, alertmanager, grafana, node-exporter, kube-state-metrics, kubelet, cadvisor). */
export const STACK_SOURCES: readonly MetricSource[] = [
  {
    source: 'prometheus',
    reference: 'Prometheus 2.x /metrics',
    metrics: {
      ...PROCESS,
      ...GO,
      prometheus_build_info: 'info',
      prometheus_config_last_reload_successful: 'gauge',
      prometheus_config_last_reload_success_timestamp_seconds: 'gauge',
      prometheus_notifications_alertmanagers_discovered: 'gauge',
      prometheus_notifications_dropped_total: 'counter',
      prometheus_notifications_errors_total: 'counter',
      prometheus_notifications_sent_total: 'counter',
      prometheus_notifications_queue_length: 'gauge',
      prometheus_notifications_queue_capacity: 'gauge',
      prometheus_rule_evaluation_failures_total: 'counter',
      prometheus_rule_evaluations_total: 'counter',
      prometheus_rule_group_iterations_missed_total: 'counter',
      prometheus_rule_group_iterations_total: 'counter',
      prometheus_rule_group_last_duration_seconds: 'gauge',
      prometheus_rule_group_interval_seconds: 'gauge',
      prometheus_rule_group_rules: 'gauge',
      prometheus_tsdb_compactions_failed_total: 'counter',
      prometheus_tsdb_reloads_failures_total: 'counter',
      prometheus_tsdb_head_samples_appended_total: 'counter',
      prometheus_tsdb_head_series: 'gauge',
      prometheus_tsdb_wal_corruptions_total: 'counter',
      prometheus_tsdb_storage_blocks_bytes: 'gauge',
      prometheus_target_scrapes_sample_duplicate_timestamp_total: 'counter',
      prometheus_target_scrapes_sample_out_of_order_total: 'counter',
      prometheus_target_sync_length_seconds: 'summary',
      prometheus_sd_discovered_targets: 'gauge',
      prometheus_http_requests_total: 'counter',
      prometheus_http_request_duration_seconds: 'histogram',
      prometheus_engine_query_duration_seconds: 'summary',
      // Remote write, per queue (remote_name, url): Prometheus 3's names.
      prometheus_remote_storage_samples_total: 'counter',
      prometheus_remote_storage_samples_failed_total: 'counter',
      prometheus_remote_storage_samples_retried_total: 'counter',
      prometheus_remote_storage_samples_pending: 'gauge',
      prometheus_remote_storage_queue_highest_timestamp_seconds: 'gauge',
      prometheus_remote_storage_queue_highest_sent_timestamp_seconds: 'gauge',
      prometheus_remote_storage_shards: 'gauge',
      prometheus_remote_storage_shards_desired: 'gauge',
      prometheus_remote_storage_shards_max: 'gauge',
      prometheus_remote_storage_shards_min: 'gauge',
    },
  },
  {
    source: 'alertmanager',
    reference: 'Alertmanager 0.25 /metrics',
    metrics: {
      ...PROCESS,
      ...GO,
      alertmanager_build_info: 'info',
      alertmanager_alerts: 'gauge',
      alertmanager_alerts_received_total: 'counter',
      alertmanager_alerts_invalid_total: 'counter',
      alertmanager_notifications_total: 'counter',
      alertmanager_notifications_failed_total: 'counter',
      alertmanager_notification_latency_seconds: 'histogram',
      alertmanager_config_last_reload_successful: 'gauge',
      alertmanager_config_hash: 'gauge',
      alertmanager_cluster_members: 'gauge',
      alertmanager_cluster_failed_peers: 'gauge',
      alertmanager_cluster_health_score: 'gauge',
      alertmanager_cluster_enabled: 'gauge',
      alertmanager_silences: 'gauge',
    },
  },
  {
    source: 'grafana',
    reference: 'Grafana 10 /metrics',
    metrics: {
      ...PROCESS,
      ...GO,
      grafana_build_info: 'info',
      grafana_http_request_duration_seconds: 'histogram',
      grafana_api_response_status_total: 'counter',
      grafana_database_conn_open: 'gauge',
      grafana_alerting_active_alerts: 'gauge',
      grafana_stat_totals_dashboard: 'gauge',
    },
  },
  {
    source: 'node-exporter',
    reference: 'prometheus/node_exporter 1.x',
    metrics: {
      node_cpu_seconds_total: 'counter',
      node_load1: 'gauge',
      node_load5: 'gauge',
      node_load15: 'gauge',
      node_memory_MemAvailable_bytes: 'gauge',
      node_memory_MemTotal_bytes: 'gauge',
      node_memory_MemFree_bytes: 'gauge',
      node_memory_Buffers_bytes: 'gauge',
      node_memory_Cached_bytes: 'gauge',
      node_filesystem_avail_bytes: 'gauge',
      node_filesystem_size_bytes: 'gauge',
      node_filesystem_free_bytes: 'gauge',
      node_filesystem_files: 'gauge',
      node_filesystem_files_free: 'gauge',
      node_filesystem_readonly: 'gauge',
      node_network_receive_bytes_total: 'counter',
      node_network_transmit_bytes_total: 'counter',
      node_network_receive_errs_total: 'counter',
      node_network_transmit_errs_total: 'counter',
      node_network_receive_packets_total: 'counter',
      node_network_transmit_packets_total: 'counter',
      node_network_up: 'gauge',
      node_disk_io_time_seconds_total: 'counter',
      node_disk_read_bytes_total: 'counter',
      node_disk_written_bytes_total: 'counter',
      node_timex_sync_status: 'gauge',
      node_timex_maxerror_seconds: 'gauge',
      node_timex_offset_seconds: 'gauge',
      node_boot_time_seconds: 'gauge',
      node_uname_info: 'info',
      node_vmstat_pgmajfault: 'counter',
    },
  },
  {
    source: 'kube-state-metrics',
    reference: 'kubernetes/kube-state-metrics 2.x',
    metrics: {
      kube_pod_container_status_waiting_reason: 'gauge',
      kube_pod_container_status_restarts_total: 'counter',
      kube_pod_container_status_last_terminated_reason: 'gauge',
      kube_pod_container_status_ready: 'gauge',
      kube_pod_container_resource_limits: 'gauge',
      kube_pod_container_resource_requests: 'gauge',
      kube_pod_status_phase: 'gauge',
      kube_pod_status_ready: 'gauge',
      kube_pod_info: 'info',
      kube_pod_owner: 'info',
      kube_deployment_spec_replicas: 'gauge',
      kube_deployment_status_replicas_available: 'gauge',
      kube_deployment_status_replicas_updated: 'gauge',
      kube_statefulset_replicas: 'gauge',
      kube_statefulset_status_replicas_ready: 'gauge',
      kube_daemonset_status_desired_number_scheduled: 'gauge',
      kube_daemonset_status_current_number_scheduled: 'gauge',
      kube_daemonset_status_number_misscheduled: 'gauge',
      kube_job_failed: 'gauge',
      kube_job_status_failed: 'gauge',
      kube_cronjob_status_last_successful_time: 'gauge',
      kube_cronjob_created: 'gauge',
      kube_node_status_condition: 'gauge',
      kube_node_status_allocatable: 'gauge',
      kube_persistentvolumeclaim_info: 'info',
      kube_namespace_labels: 'info',
    },
  },
  {
    source: 'kubelet',
    reference: 'kubelet /metrics (job kubelet)',
    metrics: {
      kubelet_volume_stats_available_bytes: 'gauge',
      kubelet_volume_stats_capacity_bytes: 'gauge',
      kubelet_volume_stats_inodes: 'gauge',
      kubelet_volume_stats_inodes_free: 'gauge',
      kubelet_running_pods: 'gauge',
      kubelet_pleg_relist_duration_seconds: 'histogram',
    },
  },
  {
    source: 'cadvisor',
    reference: 'kubelet /metrics/cadvisor (job cadvisor)',
    metrics: {
      container_cpu_usage_seconds_total: 'counter',
      container_cpu_cfs_periods_total: 'counter',
      container_cpu_cfs_throttled_periods_total: 'counter',
      container_memory_working_set_bytes: 'gauge',
      container_memory_rss: 'gauge',
      container_memory_cache: 'gauge',
      container_network_receive_bytes_total: 'counter',
      container_network_transmit_bytes_total: 'counter',
      container_fs_usage_bytes: 'gauge',
    },
  },
];

/** The components being added: Elasticsearch, Logstash and Jaeger, through the exporters named here. */
export const LOGS_AND_TRACES_SOURCES: readonly MetricSource[] = [
  {
    source: 'elasticsearch',
    reference: 'prometheus-community/elasticsearch_exporter (job elasticsearch)',
    metrics: {
      elasticsearch_cluster_health_up: 'gauge',
      elasticsearch_cluster_health_status: 'gauge',
      elasticsearch_cluster_health_number_of_nodes: 'gauge',
      elasticsearch_cluster_health_number_of_data_nodes: 'gauge',
      elasticsearch_cluster_health_unassigned_shards: 'gauge',
      elasticsearch_cluster_health_active_shards: 'gauge',
      elasticsearch_cluster_health_relocating_shards: 'gauge',
      elasticsearch_filesystem_data_available_bytes: 'gauge',
      elasticsearch_filesystem_data_size_bytes: 'gauge',
      elasticsearch_jvm_memory_used_bytes: 'gauge',
      elasticsearch_jvm_memory_max_bytes: 'gauge',
      elasticsearch_jvm_gc_collection_seconds_count: 'counter',
      elasticsearch_jvm_gc_collection_seconds_sum: 'counter',
      // A counter without the _total suffix: the catalog, not the name, says so.
      elasticsearch_thread_pool_rejected_count: 'counter',
      elasticsearch_thread_pool_completed_count: 'counter',
      elasticsearch_indices_docs: 'gauge',
      elasticsearch_indices_store_size_bytes: 'gauge',
      elasticsearch_indices_indexing_index_total: 'counter',
      elasticsearch_breakers_tripped: 'counter',
      // The snapshot collector (--collector.snapshots, on when the environment takes snapshots).
      elasticsearch_snapshot_stats_latest_snapshot_timestamp_seconds: 'gauge',
      elasticsearch_snapshot_stats_number_of_snapshots: 'gauge',
      elasticsearch_snapshot_stats_snapshot_total_shards: 'gauge',
      elasticsearch_snapshot_stats_snapshot_failed_shards: 'gauge',
    },
  },
  {
    // Decision: Logstash is watched through kuskoman/logstash-exporter (v1 naming, logstash_info_* and logstash_stats_*).
    // Its counters carry no _total suffix; they are typed here so that rate() over them is accepted.
    source: 'logstash',
    reference: 'kuskoman/logstash-exporter v1 (job logstash)',
    metrics: {
      logstash_info_up: 'gauge',
      logstash_info_status: 'gauge',
      logstash_info_node: 'info',
      logstash_info_pipeline_workers: 'gauge',
      logstash_stats_jvm_mem_heap_used_percent: 'gauge',
      logstash_stats_jvm_mem_heap_used_bytes: 'gauge',
      logstash_stats_jvm_mem_heap_max_bytes: 'gauge',
      logstash_stats_pipeline_up: 'gauge',
      logstash_stats_pipeline_events_in: 'counter',
      logstash_stats_pipeline_events_out: 'counter',
      logstash_stats_pipeline_events_filtered: 'counter',
      logstash_stats_pipeline_reloads_failures: 'counter',
      logstash_stats_pipeline_reloads_successes: 'counter',
      // The exporter declares it a counter, but it is the current queue length: a gauge.
      logstash_stats_pipeline_queue_events_count: 'gauge',
      logstash_stats_pipeline_queue_max_size_in_bytes: 'gauge',
      logstash_stats_pipeline_dead_letter_queue_size_in_bytes: 'gauge',
      logstash_stats_pipeline_dead_letter_queue_dropped_events: 'counter',
      logstash_stats_pipeline_plugin_documents_non_retryable_failures: 'counter',
      logstash_stats_pipeline_plugin_documents_successes: 'counter',
      logstash_stats_pipeline_plugin_bulk_requests_errors: 'counter',
      logstash_stats_process_cpu_percent: 'gauge',
      logstash_stats_reload_failures: 'counter',
    },
  },
  {
    // Jaeger v2 is an OpenTelemetry Collector; its internal telemetry goes through the OTel Prometheus exporter,
    // which appends _total to monotonic sums (otelcol_receiver_accepted_spans → otelcol_receiver_accepted_spans_total).
    source: 'jaeger',
    reference: 'Jaeger v2 / OpenTelemetry Collector internal telemetry (job jaeger, port 8888)',
    metrics: {
      otelcol_receiver_accepted_spans_total: 'counter',
      otelcol_receiver_refused_spans_total: 'counter',
      otelcol_exporter_sent_spans_total: 'counter',
      otelcol_exporter_send_failed_spans_total: 'counter',
      otelcol_exporter_enqueue_failed_spans_total: 'counter',
      otelcol_exporter_queue_size: 'gauge',
      otelcol_exporter_queue_capacity: 'gauge',
      otelcol_processor_dropped_spans_total: 'counter',
      otelcol_processor_incoming_items_total: 'counter',
      otelcol_processor_outgoing_items_total: 'counter',
      otelcol_process_uptime_seconds_total: 'counter',
      otelcol_process_memory_rss_bytes: 'gauge',
    },
  },
];

// ─── COORDINATED NAMES ────────────────────────────────────────────────────────
// The metrics of the ingest service (src/ingest/telemetry/service-metrics.ts) and
// the metric names applications follow (the service conventions of the
// requirements). Rules in rules/ingest.ts, rules/application.ts and
// rules/slos.ts read these names; change them here and there together.
// test/ingest/metric-catalog.test.ts holds this list against the service's
// own /metrics.
export const INGEST_SOURCE: MetricSource = {
  source: 'obstack-ingest',
  reference: 'src/ingest/telemetry (job obstack-ingest; business_kpi_* from /metrics/business, job obstack-ingest-business); prom-client default metrics included',
  metrics: {
    ...PROCESS,
    nodejs_eventloop_lag_seconds: 'gauge',
    nodejs_heap_size_used_bytes: 'gauge',
    http_requests_total: 'counter',
    http_request_duration_seconds: 'histogram',
    ingest_events_total: 'counter',
    ingest_batch_size: 'histogram',
    ingest_db_write_duration_seconds: 'histogram',
    ingest_db_write_rows: 'histogram',
    ingest_queue_depth: 'gauge',
    ingest_queue_refused_total: 'counter',
    ingest_custom_metric_refused_total: 'counter',
    ingest_auth_failures_total: 'counter',
    ingest_rate_limited_total: 'counter',
    ingest_requests_refused_total: 'counter',
    ingest_source_rate_limited_total: 'counter',
    ingest_api_key_reloads_total: 'counter',
    ingest_error_reports_total: 'counter',
    ingest_new_error_groups_total: 'counter',
    ingest_sentry_items_total: 'counter',
    ingest_alert_notifications_total: 'counter',
    ingest_db_up: 'gauge',
    business_kpi_value: 'gauge',
    business_kpi_target: 'gauge',
  },
};

export const APPLICATION_CONVENTIONS: MetricSource = {
  source: 'applications (service conventions)',
  reference: 'requirements 001/002: metrics the monitored applications expose, scraped through prometheus.io/scrape annotations',
  metrics: {
    http_requests_total: 'counter',
    http_request_duration_seconds: 'histogram',
    http_request_size_bytes: 'histogram',
    http_response_size_bytes: 'histogram',
    // prometheus-fastapi-instrumentator's fine-bucket histogram, and OpenTelemetry's http.server.request.duration.
    http_request_duration_highr_seconds: 'histogram',
    http_server_request_duration_seconds: 'histogram',
    websocket_connections_active: 'gauge',
    websocket_messages_total: 'counter',
    websocket_connection_attempts_total: 'counter',
    websocket_connection_failures_total: 'counter',
    database_queries_total: 'counter',
    database_query_duration_seconds: 'histogram',
    database_connections_active: 'gauge',
    database_connections_max: 'gauge',
    ai_requests_total: 'counter',
    ai_response_duration_seconds: 'histogram',
    ai_model_usage_total: 'counter',
    ai_tokens_total: 'counter',
    ai_cost_dollars_total: 'counter',
    ai_daily_budget_dollars: 'gauge',
    rag_queries_total: 'counter',
    cache_hits_total: 'counter',
    cache_misses_total: 'counter',
    file_uploads_total: 'counter',
    file_upload_size_bytes: 'histogram',
    auth_login_attempts_total: 'counter',
    chat_messages_sent_total: 'counter',
    active_users: 'gauge',
    ...PROCESS,
  },
};
// ─── END OF COORDINATED NAMES ─────────────────────────────────────────────────

/** Every source of the stack's catalog, in the order a name is first taken from. */
export const STACK_METRIC_SOURCES: readonly MetricSource[] = [PROMETHEUS_SYNTHETIC, ...STACK_SOURCES, ...CONTROL_PLANE_SOURCES, ...LOGS_AND_TRACES_SOURCES, ...DATABASE_AND_PROBE_SOURCES, THANOS_SOURCE, INGEST_SOURCE, APPLICATION_CONVENTIONS];

/** Builds a catalog from sources; a histogram or summary adds its `_bucket`/`_sum`/`_count` series. */
export function buildCatalog(sources: readonly MetricSource[]): MetricCatalog {
  const out = new Map<string, CatalogEntry>();
  const add = (name: string, type: MetricType, source: string) => {
    if (!out.has(name)) out.set(name, { type, source });
  };
  for (const s of sources) {
    for (const [name, type] of Object.entries(s.metrics)) {
      if (type === 'histogram' || type === 'summary') {
        add(`${name}_count`, 'counter', s.source);
        add(`${name}_sum`, 'counter', s.source);
        add(type === 'histogram' ? `${name}_bucket` : name, type === 'histogram' ? 'counter' : 'gauge', s.source);
      } else {
        add(name, type, s.source);
      }
    }
  }
  return out;
}

/** What the stack's rules may read: its components, the coming logs/traces components, the ingest service and the applications. */
export function stackMetricCatalog(): MetricCatalog {
  return buildCatalog(STACK_METRIC_SOURCES);
}
