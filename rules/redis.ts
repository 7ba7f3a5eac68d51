import { alert, type Environment, firesWhen, group, humanDuration, humanNumber, type RuleGroup, runbooks, silentWhen } from '../src/authoring/index.js';

// Labels as redis_exporter writes them (job redis-<name>, see src/constructs/exporters/redis-exporter.ts).
const R = 'job="redis-cache",instance="10.0.0.6:9121"';
const RL = { job: 'redis-cache', instance: '10.0.0.6:9121' };

/** Redis, from oliver006/redis_exporter: any exporter Prometheus scrapes (the stack runs one per server, job `redis-<name>`). */
export function redisRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  const service = 'redis';
  return [
    group({
      name: 'obstack.redis',
      rules: [
        alert({
          alert: 'RedisExporterDown',
          expr: 'up{job=~"redis-.+"} == 0',
          for: '5m',
          severity: 'P3',
          service,
          summary: 'The Redis exporter {{ $labels.job }} cannot be scraped',
          description: ({ for: f }) => `Prometheus has failed to scrape {{ $labels.instance }} (job {{ $labels.job }}) for ${humanDuration(f)}: the cache's alerts cannot fire.`,
          runbook: runbook('RedisExporterDown'),
          tests: [
            firesWhen('the exporter fails every scrape', { [`up{${R}}`]: '0x20' }, '10m', RL),
            silentWhen('the exporter is up', { [`up{${R}}`]: '1x20' }, '10m'),
          ],
        }),
        alert({
          alert: 'RedisDown',
          expr: 'redis_up == 0',
          for: '2m',
          severity: 'P2',
          service,
          summary: 'Redis behind {{ $labels.job }} does not answer',
          description: ({ for: f }) =>
            `The exporter {{ $labels.instance }} has not been able to reach its Redis server for ${humanDuration(f)}: the server is down, refuses the login, or is unreachable. Sessions, caches and queues kept there are unavailable.`,
          runbook: runbook('RedisDown'),
          tests: [
            firesWhen('the exporter cannot reach Redis', { [`redis_up{${R}}`]: '0x10' }, '5m', RL),
            silentWhen('Redis answers', { [`redis_up{${R}}`]: '1x10' }, '5m'),
            silentWhen('Redis was away for one minute', { [`redis_up{${R}}`]: '1x3 0 1x6' }, '5m'),
          ],
        }),
        alert({
          alert: 'RedisTooManyConnections',
          threshold: 80,
          expr: (t) => `100 * redis_connected_clients / redis_config_maxclients > ${t}`,
          for: '5m',
          severity: 'P3',
          service,
          summary: ({ threshold }) => `Redis behind {{ $labels.job }} uses more than ${humanNumber(threshold)}% of its client slots`,
          description: '{{ printf "%.0f" $value }}% of maxclients are connected: once they are all taken, Redis refuses new clients. Look for connection leaks or pools sized beyond the server.',
          runbook: runbook('RedisTooManyConnections'),
          tests: [
            firesWhen('9000 of 10000 clients are connected', { [`redis_connected_clients{${R}}`]: '9000x10', [`redis_config_maxclients{${R}}`]: '10000x10' }, '8m', RL),
            silentWhen('100 of 10000 clients are connected', { [`redis_connected_clients{${R}}`]: '100x10', [`redis_config_maxclients{${R}}`]: '10000x10' }, '8m'),
          ],
        }),
        alert({
          alert: 'RedisRejectedConnections',
          expr: 'increase(redis_rejected_connections_total[5m]) > 0',
          severity: 'P3',
          service,
          summary: 'Redis behind {{ $labels.job }} refuses clients',
          description: 'Redis refused {{ printf "%.0f" $value }} connections in the last 5 minutes because maxclients was reached: the applications that were refused fail or fall back.',
          runbook: runbook('RedisRejectedConnections'),
          tests: [
            firesWhen('connections are refused', { [`redis_rejected_connections_total{${R}}`]: '0x3 4x5' }, '5m', RL),
            silentWhen('no connection is refused', { [`redis_rejected_connections_total{${R}}`]: '3x20' }, '15m'),
          ],
        }),
        alert({
          alert: 'RedisMemoryHigh',
          threshold: 90,
          // Without maxmemory (0) Redis has no limit of its own to approach; the container's limit is the kubernetes rules' business.
          expr: (t) => `100 * redis_memory_used_bytes / (redis_memory_max_bytes > 0) > ${t}`,
          for: '10m',
          severity: 'P3',
          service,
          summary: ({ threshold }) => `Redis behind {{ $labels.job }} uses more than ${humanNumber(threshold)}% of its maxmemory`,
          description:
            '{{ printf "%.0f" $value }}% of maxmemory is used: at the limit Redis evicts keys, or refuses writes under the noeviction policy.',
          runbook: runbook('RedisMemoryHigh'),
          tests: [
            firesWhen('95% of maxmemory is used', { [`redis_memory_used_bytes{${R}}`]: '950x15', [`redis_memory_max_bytes{${R}}`]: '1000x15' }, '12m', RL),
            silentWhen('half of maxmemory is used', { [`redis_memory_used_bytes{${R}}`]: '500x15', [`redis_memory_max_bytes{${R}}`]: '1000x15' }, '12m'),
            silentWhen('no maxmemory is set', { [`redis_memory_used_bytes{${R}}`]: '950x15', [`redis_memory_max_bytes{${R}}`]: '0x15' }, '12m'),
          ],
        }),
        alert({
          alert: 'RedisRdbSaveFailed',
          expr: 'redis_rdb_last_bgsave_status == 0',
          for: '5m',
          severity: 'P3',
          service,
          summary: 'Redis behind {{ $labels.job }} cannot save its snapshot',
          description:
            'The last background save (RDB) failed: a restart would lose every write since the last good snapshot, and with stop-writes-on-bgsave-error Redis refuses writes.',
          runbook: runbook('RedisRdbSaveFailed'),
          tests: [
            firesWhen('the last save failed', { [`redis_rdb_last_bgsave_status{${R}}`]: '0x10' }, '8m', RL),
            silentWhen('the last save succeeded', { [`redis_rdb_last_bgsave_status{${R}}`]: '1x10' }, '8m'),
          ],
        }),
      ],
    }),
  ];
}
