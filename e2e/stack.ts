import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { TestPostgres } from '../test/ingest/helpers/postgres.js';
import { freePort } from '../test/support/processes.js';
import { APP, InstrumentedApp } from './app.js';
import { annotatedPodTarget, type DiscoveredTarget, endpointTarget, localAlertmanagerConfig, localPrometheusConfig } from './configs.js';
import { type Child, onCleanup, startChild, until } from './processes.js';
import { NotificationSink } from './sink.js';
import type { E2eSynth } from './synth.js';

const REPO = resolve(import.meta.dirname, '..');

/** The run's API keys of the ingest service, fresh each run. */
export interface Keys {
  readonly ingest: string;
  readonly read: string;
  readonly admin: string;
  readonly alertmanager: string;
}

/** Everything the run started, with where it answers. */
export interface Stack {
  readonly sink: NotificationSink;
  readonly app: InstrumentedApp;
  readonly pg: TestPostgres;
  ingest: Child;
  readonly ingestBase: string;
  readonly ingestPort: number;
  readonly keys: Keys;
  readonly prometheus: string;
  readonly alertmanager: string;
  /** Receivers of the running Alertmanager configuration that deliver somewhere (have at least one channel). */
  readonly deliveringReceivers: ReadonlySet<string>;
  readonly alertmanagerConfig: Record<string, unknown>;
  /** What was changed in prometheus.yml besides Kubernetes discovery. */
  readonly prometheusChanges: readonly string[];
  readonly startIngest: () => Promise<Child>;
}

const key = (name: string) => `e2e-${name}-${randomBytes(16).toString('hex')}`;

async function ready(base: string, path: string): Promise<true | undefined> {
  const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(2_000) });
  await res.arrayBuffer();
  return res.ok ? true : undefined;
}

/**
 * Starts the run's programs on 127.0.0.1, each on a free port: the
 * notification sink, the instrumented application, PostgreSQL, the ingest
 * service, Alertmanager and Prometheus on the synthesized configuration.
 * Each is registered for cleanup as soon as it is started.
 */
export async function startStack(synth: E2eSynth, root: string): Promise<Stack> {
  const sink = new NotificationSink();
  await sink.start();
  onCleanup('notification sink', () => sink.stop());
  const app = new InstrumentedApp();
  await app.start();
  onCleanup('application', () => app.stop());

  const pg = await TestPostgres.create();
  onCleanup('PostgreSQL', () => pg.destroy());

  const keys: Keys = { ingest: key('app'), read: key('read'), admin: key('admin'), alertmanager: key('alertmanager') };
  const [ingestPort, amPort, promPort] = [await freePort(), await freePort(), await freePort()];
  const ingestBase = `http://127.0.0.1:${ingestPort}`;
  const alertmanager = `http://127.0.0.1:${amPort}`;
  const prometheus = `http://127.0.0.1:${promPort}`;

  const startIngest = async (): Promise<Child> => {
    const child = startChild('ingest service', process.execPath, ['--import', 'tsx', join(REPO, 'src/ingest/server.ts')], {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(ingestPort),
      DATABASE_URL: pg.url,
      INGEST_ERASURE_KEY: 'e2e-erasure-key-0123456789abcdefghij',
      INGEST_API_KEYS: JSON.stringify([
        { name: 'checkout', key: keys.ingest, scopes: ['ingest'] },
        { name: 'dashboards', key: keys.read, scopes: ['read'] },
        { name: 'ops', key: keys.admin, scopes: ['admin'] },
        { name: 'alertmanager', key: keys.alertmanager, scopes: ['ingest'] },
      ]),
      ALERTMANAGER_URL: alertmanager,
      INGEST_PROMETHEUS_URL: prometheus,
      INGEST_RATE_LIMIT_PER_SECOND: '0',
      INGEST_DB_TIMEOUT_MS: '1000',
      OTEL_TRACES_SAMPLER_ARG: '0',
      LOG_LEVEL: 'warn',
    }, REPO);
    await until('the ingest service to be ready', 60_000, async () => {
      if (child.exited) throw new Error(`the ingest service exited:\n${child.output()}`);
      return ready(ingestBase, '/health/ready');
    }, { detail: () => child.output() });
    return child;
  };
  const ingest = await startIngest();

  const am = await localAlertmanagerConfig(synth.files, join(root, 'alertmanager'), sink, { base: ingestBase, key: keys.alertmanager });
  const amChild = startChild('Alertmanager', 'prometheus-alertmanager', [
    `--config.file=${am.configFile}`,
    `--storage.path=${join(root, 'alertmanager', 'data')}`,
    `--web.listen-address=127.0.0.1:${amPort}`,
    `--web.external-url=${alertmanager}`,
    '--cluster.listen-address=',
  ]);
  await until('Alertmanager to be ready', 30_000, async () => {
    if (amChild.exited) throw new Error(`Alertmanager exited:\n${amChild.output()}`);
    return ready(alertmanager, '/-/ready');
  }, { detail: () => amChild.output() });
  const amConfig = parse(readFileSync(am.configFile, 'utf8')) as Record<string, unknown>;
  const deliveringReceivers = new Set(
    ((amConfig['receivers'] ?? []) as Record<string, unknown>[]).filter((r) => Object.keys(r).some((k) => k.endsWith('_configs'))).map((r) => String(r['name'])),
  );

  const namespace = synth.environment.namespace;
  const targets = (job: string): DiscoveredTarget[] => {
    switch (job) {
      case 'kubernetes-pods':
        return [annotatedPodTarget('127.0.0.1', app.port, APP.namespace, APP.pod, APP.service)];
      case 'obstack-ingest':
        return [endpointTarget(`127.0.0.1:${ingestPort}`, namespace, 'ingest', 'http', 'ingest-0')];
      case 'prometheus':
        return [endpointTarget(`127.0.0.1:${promPort}`, namespace, 'prometheus-headless', 'web', 'prometheus-0')];
      case 'alertmanager':
        return [endpointTarget(`127.0.0.1:${amPort}`, namespace, 'alertmanager-cluster', 'web', 'alertmanager-0')];
      default:
        return [];
    }
  };
  const prom = localPrometheusConfig(synth.files, join(root, 'prometheus'), `127.0.0.1:${amPort}`, targets);
  const promChild = startChild('Prometheus', 'prometheus', [
    `--config.file=${prom.configFile}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    `--storage.tsdb.path=${join(root, 'prometheus', 'data')}`,
  ]);
  await until('Prometheus to be ready', 30_000, async () => {
    if (promChild.exited) throw new Error(`Prometheus exited:\n${promChild.output()}`);
    return ready(prometheus, '/-/ready');
  }, { detail: () => promChild.output() });

  return {
    sink,
    app,
    pg,
    ingest,
    ingestBase,
    ingestPort,
    keys,
    prometheus,
    alertmanager,
    deliveringReceivers,
    alertmanagerConfig: amConfig,
    prometheusChanges: prom.changes,
    startIngest,
  };
}
