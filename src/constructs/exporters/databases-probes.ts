import type { Construct } from 'constructs';
import { type Environment, IMAGES, parseTarget } from '../../config/index.js';
import { MONITOR_ROLE, type IngestPostgres } from '../ingest/postgres.js';
import { flowTo } from './address-flow.js';
import { BlackboxExporter } from './blackbox-exporter.js';
import { PostgresExporter } from './postgres-exporter.js';
import { RedisExporter } from './redis-exporter.js';

/** The exporters of the databases and caches, and the blackbox exporter, each present when the environment asks for it. */
export interface DatabasesAndProbes {
  readonly postgres: readonly PostgresExporter[];
  readonly redis: readonly RedisExporter[];
  readonly blackbox?: BlackboxExporter;
}

/**
 * Adds a postgres_exporter per PostgreSQL server (the ingest service's own
 * when it runs in the cluster, and each `exporters.postgres.databases`
 * entry), a redis_exporter per `exporters.redis.instances` entry, and the
 * blackbox exporter when `probes.enabled`. The ingest database lets its
 * exporter in; Prometheus is wired by the caller.
 */
export function addDatabasesAndProbes(scope: Construct, env: Environment, ingestDatabase: IngestPostgres | undefined): DatabasesAndProbes {
  const common = { namespace: env.namespace, instance: env.name };
  const where = { namespace: env.namespace, clusterDomain: env.clusterDomain };
  const pg = env.exporters.postgres;
  const postgres: PostgresExporter[] = [];
  const ingestDb = env.components.ingest.database;
  if (pg.ingest && ingestDatabase && ingestDb.type === 'in-cluster') {
    // A pg_monitor role of its own: it reads every session's activity and the statistics, and no table.
    const exporter = new PostgresExporter(scope, 'PostgresExporterIngest', {
      ...common,
      name: 'ingest',
      image: pg.image ?? IMAGES.postgresExporter,
      resources: pg.resources,
      target: { address: `${ingestDatabase.host(env.clusterDomain)}:${ingestDatabase.port}`, database: 'ingest', user: MONITOR_ROLE, password: ingestDb.monitorPassword, sslMode: 'disable' },
      databaseFlow: { peers: [{ pods: ingestDatabase.selector }], ports: [{ port: ingestDatabase.port }] },
    });
    ingestDatabase.allowFrom(exporter);
    postgres.push(exporter);
  }
  for (const db of pg.databases) {
    const address = parseTarget(db.address);
    if (!address) throw new Error(`exporters.postgres.databases "${db.name}": address must be host:port, got "${db.address}"`);
    postgres.push(
      new PostgresExporter(scope, `PostgresExporter-${db.name}`, {
        ...common,
        name: db.name,
        image: pg.image ?? IMAGES.postgresExporter,
        resources: pg.resources,
        target: { address: db.address, database: db.database, user: db.user, password: db.password, sslMode: db.sslMode },
        databaseFlow: flowTo(address, where, db.egress),
      }),
    );
  }
  const rd = env.exporters.redis;
  const redis = rd.instances.map((r) => {
    const address = parseTarget(r.address);
    if (!address) throw new Error(`exporters.redis.instances "${r.name}": address must be host:port, got "${r.address}"`);
    return new RedisExporter(scope, `RedisExporter-${r.name}`, {
      ...common,
      name: r.name,
      image: rd.image ?? IMAGES.redisExporter,
      resources: rd.resources,
      target: { address: r.address, tls: r.tls, ...(r.user !== undefined ? { user: r.user } : {}), ...(r.password ? { password: r.password } : {}) },
      redisFlow: flowTo(address, where, r.egress),
    });
  });
  const blackbox = env.probes.enabled
    ? new BlackboxExporter(scope, 'BlackboxExporter', { ...common, settings: env.probes, image: env.probes.image ?? IMAGES.blackboxExporter, clusterDomain: env.clusterDomain })
    : undefined;
  return { postgres, redis, ...(blackbox ? { blackbox } : {}) };
}
