import type { MetricSource } from '../authoring/metrics.js';

/*
 * Thanos's components (src/constructs/thanos/), scraped as jobs thanos-sidecar,
 * thanos-query, thanos-store, thanos-compact and thanos-rule. Names and types
 * as the Thanos mixin's alerts and dashboards read them. Their HTTP series
 * (http_requests_total, http_request_duration_seconds) and the Ruler's
 * prometheus_rule_* series have the names the catalog already holds for the
 * ingest service and Prometheus, so they are not repeated here.
 */
export const THANOS_SOURCE: MetricSource = {
  source: 'thanos',
  reference: 'Thanos 0.39 /metrics (jobs thanos-sidecar, thanos-query, thanos-store, thanos-compact, thanos-rule); the thanos mixin',
  metrics: {
    thanos_sidecar_prometheus_up: 'gauge',
    thanos_shipper_uploads_total: 'counter',
    thanos_shipper_upload_failures_total: 'counter',
    thanos_objstore_bucket_operations_total: 'counter',
    thanos_objstore_bucket_operation_failures_total: 'counter',
    thanos_objstore_bucket_operation_duration_seconds: 'histogram',
    thanos_objstore_bucket_last_successful_upload_time: 'gauge',
    thanos_compact_halted: 'gauge',
    thanos_compact_group_compactions_total: 'counter',
    thanos_compact_group_compactions_failures_total: 'counter',
    thanos_compact_downsample_total: 'counter',
    thanos_compact_downsample_failures_total: 'counter',
    thanos_compact_blocks_cleaned_total: 'counter',
    thanos_blocks_meta_synced: 'gauge',
    thanos_bucket_store_series_gate_duration_seconds: 'histogram',
    thanos_query_concurrent_gate_queries_in_flight: 'gauge',
    thanos_query_concurrent_gate_queries_max: 'gauge',
    thanos_query_store_apis_dns_lookups_total: 'counter',
    thanos_query_store_apis_dns_failures_total: 'counter',
    thanos_store_nodes_grpc_connections: 'gauge',
    thanos_alert_sender_alerts_dropped_total: 'counter',
    thanos_alert_sender_alerts_sent_total: 'counter',
    thanos_alert_queue_alerts_dropped_total: 'counter',
    thanos_rule_loaded_rules: 'gauge',
    thanos_rule_evaluation_with_warnings_total: 'counter',
    grpc_server_started_total: 'counter',
    grpc_server_handled_total: 'counter',
    grpc_client_started_total: 'counter',
    grpc_client_handled_total: 'counter',
  },
};
