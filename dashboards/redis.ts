import * as units from '@grafana/grafana-foundation-sdk/units';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS } from '../src/authoring/index.js';
import { type DashboardContext, labelVariable, promql, ratio, section, sel, stackDashboard, statPanel, sumRate, timeseriesPanel } from './common/index.js';

const S = sel('job=~"$job"');

/** Redis servers, from redis_exporter: availability, clients, memory, hit ratio, commands, evictions and persistence. */
export function redis(_ctx: DashboardContext): DashboardBuilder {
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.redis,
    title: 'Redis',
    description: 'The Redis servers the stack watches (redis_exporter, one job per server): clients against maxclients, memory against maxmemory, keyspace hits, commands, evictions and snapshots.',
    tags: ['cache', 'redis'],
    datasources: ['prometheus'],
  }).withVariable(labelVariable({ name: 'job', label: 'server', series: 'redis_up' }));

  section(d, 'Now', [
    statPanel({
      title: 'Up',
      description: 'Whether each exporter reaches its server (RedisDown).',
      sparkline: false,
      baseColor: 'red',
      thresholds: [[1, 'green']],
      valueText: { 0: ['down', 'red'], 1: ['up', 'green'] },
      queries: [promql(`min by (job) (redis_up{${S}})`, '{{job}}')],
    }),
    statPanel({
      title: 'Clients used',
      description: 'Connected clients against maxclients (RedisTooManyConnections at 80%).',
      unit: units.PercentUnit,
      thresholds: [[0.8, 'orange'], [0.95, 'red']],
      queries: [promql(ratio(`sum by (job) (redis_connected_clients{${S}})`, `sum by (job) (redis_config_maxclients{${S}})`), '{{job}}')],
    }),
    statPanel({
      title: 'Memory used',
      description: 'Memory against maxmemory, where one is set (RedisMemoryHigh at 90%).',
      unit: units.PercentUnit,
      thresholds: [[0.8, 'orange'], [0.9, 'red']],
      queries: [promql(ratio(`sum by (job) (redis_memory_used_bytes{${S}})`, `sum by (job) (redis_memory_max_bytes{${S}} > 0)`), '{{job}}')],
    }),
    statPanel({
      title: 'Hit ratio',
      description: 'Share of key lookups that found their key.',
      unit: units.PercentUnit,
      baseColor: 'red',
      thresholds: [[0.5, 'orange'], [0.8, 'green']],
      queries: [promql(ratio(sumRate('redis_keyspace_hits_total', S), `${sumRate('redis_keyspace_hits_total', S)} + ${sumRate('redis_keyspace_misses_total', S)}`))],
    }),
  ]);

  section(d, 'Clients and commands', [
    timeseriesPanel({
      title: 'Clients',
      description: 'Connected and blocked clients, and maxclients.',
      unit: units.Short,
      queries: [
        promql(`sum by (job) (redis_connected_clients{${S}})`, 'connected {{job}}'),
        promql(`sum by (job) (redis_blocked_clients{${S}})`, 'blocked {{job}}'),
        promql(`max by (job) (redis_config_maxclients{${S}})`, 'maxclients {{job}}'),
      ],
    }),
    timeseriesPanel({
      title: 'Rejected connections',
      description: 'Connections refused per second because maxclients was reached (RedisRejectedConnections).',
      unit: units.OpsPerSecond,
      queries: [promql(sumRate('redis_rejected_connections_total', S, ['job']), '{{job}}')],
    }),
    timeseriesPanel({
      title: 'Commands',
      description: 'Commands processed per second.',
      unit: units.OpsPerSecond,
      queries: [promql(sumRate('redis_commands_processed_total', S, ['job']), '{{job}}')],
    }),
  ]);

  section(d, 'Memory and keys', [
    timeseriesPanel({
      title: 'Memory',
      description: 'Memory used and maxmemory.',
      unit: units.BytesIEC,
      queries: [promql(`sum by (job) (redis_memory_used_bytes{${S}})`, 'used {{job}}'), promql(`sum by (job) (redis_memory_max_bytes{${S}} > 0)`, 'max {{job}}')],
    }),
    timeseriesPanel({
      title: 'Evicted and expired keys',
      description: 'Keys evicted to stay under maxmemory, and keys that expired, per second.',
      unit: units.OpsPerSecond,
      queries: [promql(sumRate('redis_evicted_keys_total', S), 'evicted'), promql(sumRate('redis_expired_keys_total', S), 'expired')],
    }),
    timeseriesPanel({
      title: 'Keys',
      description: 'Keys per database.',
      unit: units.Short,
      queries: [promql(`sum by (job, db) (redis_db_keys{${S}})`, '{{job}} {{db}}')],
    }),
    timeseriesPanel({
      title: 'Last snapshot',
      description: 'Whether the last RDB save succeeded (1) or failed (0) (RedisRdbSaveFailed).',
      unit: units.Short,
      queries: [promql(`min by (job) (redis_rdb_last_bgsave_status{${S}})`, '{{job}}')],
    }),
  ]);
  return d;
}
