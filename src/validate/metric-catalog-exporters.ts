import type { MetricSource } from '../authoring/metrics.js';

/*
 * The exporters the stack runs for databases, caches and probes. The names
 * and types are those the real exporters expose (test/rules/postgres-redis-live.test.ts
 * and test/rules/probes-live.test.ts compare them with Debian's builds).
 */

export const POSTGRES_EXPORTER_SOURCE: MetricSource = {
  source: 'postgres-exporter',
  reference: 'prometheus-community/postgres_exporter 0.11 to 0.17 (jobs postgres-<name>)',
  metrics: {
    pg_up: 'gauge',
    pg_settings_max_connections: 'gauge',
    pg_stat_activity_count: 'gauge',
    pg_stat_activity_max_tx_duration: 'gauge',
    pg_stat_database_numbackends: 'gauge',
    pg_stat_database_deadlocks: 'counter',
    pg_stat_database_blks_hit: 'counter',
    pg_stat_database_blks_read: 'counter',
    pg_stat_database_xact_commit: 'counter',
    pg_stat_database_xact_rollback: 'counter',
    pg_stat_database_tup_fetched: 'counter',
    pg_stat_database_tup_inserted: 'counter',
    pg_stat_database_tup_updated: 'counter',
    pg_stat_database_tup_deleted: 'counter',
    pg_stat_database_temp_bytes: 'counter',
    pg_locks_count: 'gauge',
    pg_database_size_bytes: 'gauge',
  },
};

export const REDIS_EXPORTER_SOURCE: MetricSource = {
  source: 'redis-exporter',
  reference: 'oliver006/redis_exporter 1.45 to 1.74 (jobs redis-<name>)',
  metrics: {
    redis_up: 'gauge',
    redis_connected_clients: 'gauge',
    redis_blocked_clients: 'gauge',
    redis_config_maxclients: 'gauge',
    redis_rejected_connections_total: 'counter',
    redis_memory_used_bytes: 'gauge',
    redis_memory_max_bytes: 'gauge',
    redis_rdb_last_bgsave_status: 'gauge',
    redis_keyspace_hits_total: 'counter',
    redis_keyspace_misses_total: 'counter',
    redis_commands_processed_total: 'counter',
    redis_evicted_keys_total: 'counter',
    redis_expired_keys_total: 'counter',
    redis_db_keys: 'gauge',
  },
};

export const BLACKBOX_EXPORTER_SOURCE: MetricSource = {
  source: 'blackbox-exporter',
  reference: 'prometheus/blackbox_exporter 0.23 to 0.27: probe jobs probe-* (/probe) and its own job blackbox-exporter',
  metrics: {
    probe_success: 'gauge',
    probe_duration_seconds: 'gauge',
    probe_http_status_code: 'gauge',
    probe_http_duration_seconds: 'gauge',
    probe_ssl_earliest_cert_expiry: 'gauge',
    blackbox_exporter_config_last_reload_successful: 'gauge',
  },
};

/** The sources above, in catalog order. */
export const DATABASE_AND_PROBE_SOURCES: readonly MetricSource[] = [POSTGRES_EXPORTER_SOURCE, REDIS_EXPORTER_SOURCE, BLACKBOX_EXPORTER_SOURCE];
