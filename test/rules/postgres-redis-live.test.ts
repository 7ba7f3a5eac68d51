import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackRuleFiles } from '../../rules/index.js';
import { synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { POSTGRES_EXPORTER_SOURCE, REDIS_EXPORTER_SOURCE } from '../../src/validate/metric-catalog-exporters.js';
import { environment } from '../constructs/helpers.js';
import { TestPostgres, postgresUnavailable } from '../ingest/helpers/postgres.js';
import { containerArgs, containerEnv, deploymentContainer, metricTypes, queryValue, startWithEnv, waitForEvaluations, waitForFiring, waitForSilence } from '../support/live-alerts.js';
import { writeOfflinePrometheus } from '../support/offline-prometheus.js';
import { type Started, freePort, start, startPrometheus, waitFor } from '../support/processes.js';

/**
 * The shipped PostgreSQL and Redis rules on the metrics of the real
 * exporters (Debian's prometheus-postgres-exporter and
 * prometheus-redis-exporter), run with the arguments and environment of the
 * synthesized Deployments against a real PostgreSQL and Redis, scraped by a
 * real Prometheus with the synthesized jobs. Each condition is provoked for
 * real; only the `for` durations (and one threshold) are shortened, through
 * the environment's alerting.overrides as a user would.
 */
const REDIS_PASSWORD = 'redis-test-password';
const MAXCLIENTS = 20;
const missing = postgresUnavailable() ?? (['prometheus-postgres-exporter', 'prometheus-redis-exporter', 'redis-server', 'prometheus'].find((b) => {
  try {
    execFileSync('which', [b], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
}) ? 'the Debian packages prometheus-postgres-exporter, prometheus-redis-exporter and redis-server are needed' : undefined);

const OVERRIDES = {
  PostgresDown: { for: '2s' },
  PostgresExporterDown: { for: '2s' },
  PostgresTooManyConnections: { for: '2s' },
  PostgresLongRunningTransaction: { threshold: 3, for: '1s' },
  RedisDown: { for: '2s' },
  RedisExporterDown: { for: '2s' },
  RedisTooManyConnections: { for: '2s' },
  RedisMemoryHigh: { for: '2s' },
};

const metaTarget = (address: string, service: string) => ({
  targets: [address],
  labels: {
    __meta_kubernetes_namespace: 'obs-test',
    __meta_kubernetes_service_name: service,
    __meta_kubernetes_endpoint_port_name: 'metrics',
    __meta_kubernetes_pod_name: `${service}-0`,
  },
});

describe.skipIf(missing !== undefined)('the PostgreSQL and Redis rules on the real exporters', () => {
  let root: string;
  let postgres: TestPostgres;
  let redis: Started;
  let redisPort: number;
  let pgExporter: Started;
  let redisExporter: Started;
  let pgExporterUrl: string;
  let redisExporterUrl: string;
  let prometheus: Started;
  let base: string;
  const redisCli = (...args: string[]): string => execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(redisPort), '--no-auth-warning', '-a', REDIS_PASSWORD, ...args], { encoding: 'utf8' }).trim();

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'obstack-db-live-'));
    postgres = await TestPostgres.create();
    redisPort = await freePort();
    redis = start('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', root, '--requirepass', REDIS_PASSWORD, '--maxclients', String(MAXCLIENTS)]);
    await waitFor(async () => (redisCli('PING') === 'PONG' ? true : undefined), 10_000, 'Redis', redis);

    const env = environment({
      // postgres_exporter takes a little over a second to report a server that refuses connections: the scrape timeout is the interval.
      components: { prometheus: { scrapeInterval: '2s', evaluationInterval: '1s' } },
      exporters: {
        postgres: {
          databases: [{ name: 'shop', address: `127.0.0.1:${postgres.port}`, user: 'postgres', password: { secretName: 'shop-postgres', key: 'monitoring' }, sslMode: 'disable' }],
        },
        redis: { instances: [{ name: 'cache', address: `127.0.0.1:${redisPort}`, password: { secretName: 'cache-redis', key: 'password' } }] },
      },
      alerting: { receivers: { pagerduty: { routingKey: { secretName: 'pd', key: 'k' } }, slack: { channel: '#a', apiUrl: { secretName: 's', key: 'k' } } }, overrides: OVERRIDES },
    });
    const rules = stackRuleFiles(env);
    const result = synthesizeEnvironment(env, { ruleFiles: { 'postgres.yaml': rules['postgres.yaml'] ?? '', 'redis.yaml': rules['redis.yaml'] ?? '' } });
    const secrets = { 'shop-postgres/monitoring': 'unused-with-trust-auth', 'cache-redis/password': REDIS_PASSWORD };

    const pgPort = await freePort();
    const pgContainer = deploymentContainer(result.objects, 'postgres-exporter-shop');
    pgExporter = startWithEnv('prometheus-postgres-exporter', containerArgs(pgContainer, `127.0.0.1:${pgPort}`), containerEnv(pgContainer, secrets));
    pgExporterUrl = `http://127.0.0.1:${pgPort}`;
    const redisExporterPort = await freePort();
    const redisContainer = deploymentContainer(result.objects, 'redis-exporter-cache');
    redisExporter = startWithEnv(
      'prometheus-redis-exporter',
      containerArgs(redisContainer, ''),
      containerEnv(redisContainer, secrets, { REDIS_EXPORTER_WEB_LISTEN_ADDRESS: `127.0.0.1:${redisExporterPort}` }),
    );
    redisExporterUrl = `http://127.0.0.1:${redisExporterPort}`;
    await waitFor(async () => ((await (await fetch(`${pgExporterUrl}/metrics`)).text()).includes('pg_up 1') ? true : undefined), 20_000, 'postgres_exporter', pgExporter);
    await waitFor(async () => ((await (await fetch(`${redisExporterUrl}/metrics`)).text()).includes('redis_up 1') ? true : undefined), 20_000, 'redis_exporter', redisExporter);

    const offline = writeOfflinePrometheus(result.files, root, (job) => {
      if (job === 'postgres-shop') return [metaTarget(`127.0.0.1:${pgPort}`, 'postgres-exporter-shop')];
      if (job === 'redis-cache') return [metaTarget(`127.0.0.1:${redisExporterPort}`, 'redis-exporter-cache')];
      return [];
    });
    expect(offline.findings).toEqual([]);
    ({ server: prometheus, base } = await startPrometheus(offline.configFile, join(root, 'data')));
    await waitFor(async () => ((await queryValue(base, 'min(pg_up) + min(redis_up)')) === 2 ? true : undefined), 30_000, 'both exporters scraped', prometheus);
    await waitForEvaluations(base, 4);
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await pgExporter?.stop();
    await redisExporter?.stop();
    await redis?.stop();
    await postgres?.destroy();
    rmSync(root, { recursive: true, force: true });
  });

  it('scrape the exporters through the synthesized jobs, labelled with their job and Service', async () => {
    expect(await queryValue(base, 'pg_up{job="postgres-shop",service="postgres-exporter-shop",namespace="obs-test"}')).toBe(1);
    expect(await queryValue(base, 'redis_up{job="redis-cache",service="redis-exporter-cache"}')).toBe(1);
  });

  it('read only metric names the real exporters expose, with the types the catalog states', async () => {
    for (const [url, source] of [[pgExporterUrl, POSTGRES_EXPORTER_SOURCE], [redisExporterUrl, REDIS_EXPORTER_SOURCE]] as const) {
      const types = metricTypes(await (await fetch(`${url}/metrics`)).text());
      const wrong = Object.entries(source.metrics).filter(([name, type]) => types.get(name) !== type).map(([name, type]) => `${name}: catalog ${type}, exporter ${types.get(name) ?? 'absent'}`);
      expect(wrong, source.source).toEqual([]);
    }
  });

  it('stay silent while both servers are healthy and idle', async () => {
    const firing = (await (await fetch(`${base}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string> }[] } };
    expect(firing.data.alerts.map((a) => a.labels.alertname)).toEqual([]);
  });

  it('fire PostgresTooManyConnections when 85 of 100 connections are open, and clear when they close', async () => {
    const clients = Array.from({ length: 85 }, () => new pg.Client({ host: '127.0.0.1', port: postgres.port, user: 'postgres', database: 'postgres' }));
    try {
      await Promise.all(clients.map((c) => c.connect()));
      await waitForFiring(base, 'PostgresTooManyConnections', { job: 'postgres-shop' });
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    }
    await waitForSilence(base, 'PostgresTooManyConnections');
  }, 60_000);

  it('fire PostgresLongRunningTransaction for a session left idle in transaction, and clear when it commits', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: postgres.port, user: 'postgres', database: 'postgres' });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT txid_current()');
      await waitForFiring(base, 'PostgresLongRunningTransaction', { job: 'postgres-shop', datname: 'postgres' });
      await client.query('COMMIT');
      await waitForSilence(base, 'PostgresLongRunningTransaction');
    } finally {
      await client.end();
    }
  }, 60_000);

  it('fire PostgresDeadlocks when two transactions deadlock', async () => {
    const connect = async () => {
      const c = new pg.Client({ host: '127.0.0.1', port: postgres.port, user: 'postgres', database: 'postgres' });
      await c.connect();
      return c;
    };
    const [a, b] = [await connect(), await connect()];
    try {
      await a.query('CREATE TABLE IF NOT EXISTS lockers (id int PRIMARY KEY); INSERT INTO lockers VALUES (1), (2) ON CONFLICT DO NOTHING');
      await a.query("SET deadlock_timeout = '100ms'");
      await a.query('BEGIN');
      await b.query('BEGIN');
      await a.query('UPDATE lockers SET id = id WHERE id = 1');
      await b.query('UPDATE lockers SET id = id WHERE id = 2');
      const outcomes = await Promise.allSettled([a.query('UPDATE lockers SET id = id WHERE id = 2'), b.query('UPDATE lockers SET id = id WHERE id = 1')]);
      expect(outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason.code)).toContain('40P01');
      await a.query('ROLLBACK');
      await b.query('ROLLBACK');
      await waitForFiring(base, 'PostgresDeadlocks', { job: 'postgres-shop', datname: 'postgres' });
    } finally {
      await a.end();
      await b.end();
    }
  }, 60_000);

  it('fire RedisTooManyConnections when 17 of 20 client slots are taken, and clear when they close', async () => {
    const sockets = await openSockets(redisPort, 17);
    try {
      await waitForFiring(base, 'RedisTooManyConnections', { job: 'redis-cache' });
    } finally {
      for (const s of sockets) s.destroy();
    }
    await waitForSilence(base, 'RedisTooManyConnections');
  }, 60_000);

  it('fire RedisRejectedConnections when clients beyond maxclients are refused', async () => {
    const sockets = await openSockets(redisPort, MAXCLIENTS + 5);
    await new Promise((r) => setTimeout(r, 300));
    for (const s of sockets) s.destroy();
    await waitForFiring(base, 'RedisRejectedConnections', { job: 'redis-cache' });
    expect(await queryValue(base, 'max(redis_rejected_connections_total{job="redis-cache"})')).toBeGreaterThan(0);
  }, 60_000);

  it('fire RedisMemoryHigh when maxmemory is just above the memory used, and clear when maxmemory is unset', async () => {
    const used = Number(/used_memory:(\d+)/.exec(redisCli('INFO', 'memory'))?.[1]);
    expect(used).toBeGreaterThan(0);
    expect(redisCli('CONFIG', 'SET', 'maxmemory', String(Math.ceil(used / 0.95)))).toBe('OK');
    await waitForFiring(base, 'RedisMemoryHigh', { job: 'redis-cache' });
    expect(redisCli('CONFIG', 'SET', 'maxmemory', '0')).toBe('OK');
    await waitForSilence(base, 'RedisMemoryHigh');
  }, 60_000);

  it('fire PostgresDown and RedisDown when the servers stop, then the exporter alerts when the exporters stop', async () => {
    await postgres.stop('fast');
    await redis.stop();
    await waitForFiring(base, 'PostgresDown', { job: 'postgres-shop' });
    await waitForFiring(base, 'RedisDown', { job: 'redis-cache' });
    await pgExporter.stop();
    await redisExporter.stop();
    await waitForFiring(base, 'PostgresExporterDown', { job: 'postgres-shop' });
    await waitForFiring(base, 'RedisExporterDown', { job: 'redis-cache' });
  }, 60_000);
});

/** Opens `n` TCP connections to Redis and waits until each is accepted or refused. */
async function openSockets(port: number, n: number): Promise<Socket[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Socket>((resolve) => {
          const s = connect(port, '127.0.0.1');
          s.on('error', () => undefined);
          s.once('connect', () => setTimeout(() => resolve(s), 50));
          s.once('close', () => resolve(s));
        }),
    ),
  );
}
