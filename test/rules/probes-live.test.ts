import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type Server as TcpServer, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackRuleFiles } from '../../rules/index.js';
import { synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { BLACKBOX_EXPORTER_SOURCE } from '../../src/validate/metric-catalog-exporters.js';
import { type Json, environment } from '../constructs/helpers.js';
import { containerArgs, deploymentContainer, liveAlerts, metricTypes, startWithEnv, waitForEvaluations, waitForFiring, waitForSilence } from '../support/live-alerts.js';
import { writeOfflinePrometheus } from '../support/offline-prometheus.js';
import { type Started, freePort, startPrometheus, waitFor } from '../support/processes.js';

/**
 * The shipped probe rules on the real blackbox exporter (Debian's
 * prometheus-blackbox-exporter) run with the synthesized blackbox.yml and
 * arguments, probing small local servers, scraped by a real Prometheus with
 * the synthesized probe jobs. Only the exporter's address in those jobs
 * (its in-cluster Service) is replaced by the local one, and the `for`
 * durations are shortened through alerting.overrides.
 */
const missing = ['prometheus-blackbox-exporter', 'prometheus', 'openssl'].find((b) => {
  try {
    execFileSync('which', [b], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
});

const OVERRIDES = {
  ProbeFailed: { for: '2s' },
  ApplicationNotReady: { for: '2s' },
  ProbeSlow: { threshold: 0.3, for: '2s' },
  TlsCertificateExpiringSoon: { for: '1s' },
  TlsCertificateExpiryCritical: { for: '1s' },
  BlackboxExporterDown: { for: '2s' },
};

/** What the application's health endpoints answer, changed by the tests. */
const app = { live: 200, ready: 200, delayMs: 0 };

function listen(server: Server | TcpServer): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
}

/** A CA and a server certificate for localhost valid `days` days, signed by it, in `dir`. */
function certificates(dir: string, days: readonly number[]): { ca: string; servers: { key: string; cert: string }[] } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=obstack test CA');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n');
  const servers = days.map((d) => {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `server-${d}.key`, '-out', `server-${d}.csr`, '-subj', '/CN=localhost');
    run('x509', '-req', '-in', `server-${d}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `server-${d}.crt`, '-days', String(d), '-extfile', 'san.ext');
    return { key: readFileSync(join(dir, `server-${d}.key`), 'utf8'), cert: readFileSync(join(dir, `server-${d}.crt`), 'utf8') };
  });
  return { ca: join(dir, 'ca.crt'), servers };
}

describe.skipIf(missing !== undefined)('the probe rules on the real blackbox exporter', () => {
  let root: string;
  const servers: Array<Server | TcpServer> = [];
  let apiPort: number;
  let webPort: number;
  let tcp: TcpServer;
  let tcpPort: number;
  let tlsSoon: number;
  let tlsLater: number;
  let blackbox: Started;
  let blackboxUrl: string;
  let prometheus: Started;
  let base: string;
  let active: Json[];
  let dropped: Json[];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'obstack-probes-live-'));
    const health = (): Server =>
      createServer((req, res) => {
        const status = req.url === '/health/live' ? app.live : req.url === '/health/ready' ? app.ready : 404;
        setTimeout(() => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: status === 200 ? 'ok' : 'failing' }));
        }, app.delayMs);
      });
    const api = health();
    const web = health();
    tcp = createTcpServer((s) => s.end());
    servers.push(api, web, tcp);
    [apiPort, webPort, tcpPort] = [await listen(api), await listen(web), await listen(tcp)];
    const certs = certificates(root, [2, 30]);
    const tls = certs.servers.map((c) => createHttpsServer({ key: c.key, cert: c.cert }, (_req, res) => res.end('ok')));
    servers.push(...tls);
    [tlsSoon, tlsLater] = [await listen(tls[0]!), await listen(tls[1]!)];

    const env = environment({
      // Prometheus tells the exporter its scrape timeout; the probes get that, less half a second.
      components: { prometheus: { scrapeInterval: '2s', evaluationInterval: '1s' } },
      probes: {
        health: { services: [{ service: 'api', url: `http://127.0.0.1:${apiPort}` }] },
        tcp: [{ address: `127.0.0.1:${tcpPort}`, service: 'ledger' }],
        tls: [{ address: `localhost:${tlsSoon}` }, { address: `localhost:${tlsLater}` }],
      },
      alerting: { receivers: { pagerduty: { routingKey: { secretName: 'pd', key: 'k' } }, slack: { channel: '#a', apiUrl: { secretName: 's', key: 'k' } } }, overrides: OVERRIDES },
    });
    const rules = stackRuleFiles(env);
    const result = synthesizeEnvironment(env, { ruleFiles: { 'probes.yaml': rules['probes.yaml'] ?? '' } });

    const configMap = result.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'blackbox-exporter') as Json;
    const configFile = join(root, 'blackbox.yml');
    writeFileSync(configFile, configMap.data['blackbox.yml']);
    const container = deploymentContainer(result.objects, 'blackbox-exporter');
    const mounted = container.args.find((a: string) => a.startsWith('--config.file=')).slice('--config.file='.length);
    expect(container.volumeMounts[0].mountPath).toBe(mounted.replace(/\/blackbox\.yml$/, ''));
    const bbPort = await freePort();
    const args = containerArgs(container, `127.0.0.1:${bbPort}`).map((a) => (a.startsWith('--config.file=') ? `--config.file=${configFile}` : a));
    // The test CA is trusted the way a cluster's would be: through the system trust store the exporter reads.
    blackbox = startWithEnv('prometheus-blackbox-exporter', args, { SSL_CERT_FILE: certs.ca });
    blackboxUrl = `http://127.0.0.1:${bbPort}`;
    await waitFor(async () => ((await fetch(`${blackboxUrl}/-/healthy`)).ok ? true : undefined), 20_000, 'blackbox exporter', blackbox);

    const service = (name: string, port: number, portName: string, annotations: Record<string, string>) => ({
      targets: [`127.0.0.1:${port}`],
      labels: {
        __meta_kubernetes_namespace: 'shop',
        __meta_kubernetes_service_name: name,
        __meta_kubernetes_service_port_name: portName,
        ...Object.fromEntries(Object.entries(annotations).map(([k, v]) => [`__meta_kubernetes_service_annotation_${k.replace(/[^a-zA-Z0-9_]/g, '_')}`, v])),
      },
    });
    const discovered = [
      service('web', webPort, 'http', { 'prometheus.io/probe': 'true', 'prometheus.io/probe-port': 'http' }),
      service('web', webPort + 1, 'metrics', { 'prometheus.io/probe': 'true', 'prometheus.io/probe-port': 'http' }),
      service('quiet', webPort, 'http', {}),
    ];
    const offline = writeOfflinePrometheus(result.files, root, (job) => {
      if (job === 'probe-liveness' || job === 'probe-readiness') return discovered;
      if (job === 'blackbox-exporter') {
        return [{ targets: [`127.0.0.1:${bbPort}`], labels: { __meta_kubernetes_namespace: 'obs-test', __meta_kubernetes_service_name: 'blackbox-exporter', __meta_kubernetes_endpoint_port_name: 'http' } }];
      }
      return [];
    });
    expect(offline.findings).toEqual([]);
    const inCluster = 'blackbox-exporter.obs-test.svc.cluster.local:9115';
    const text = readFileSync(offline.configFile, 'utf8');
    expect(text).toContain(inCluster);
    writeFileSync(offline.configFile, text.replaceAll(inCluster, `127.0.0.1:${bbPort}`));
    ({ server: prometheus, base } = await startPrometheus(offline.configFile, join(root, 'data')));
    const targets = await waitFor(
      async () => {
        const body = (await (await fetch(`${base}/api/v1/targets`)).json()) as Json;
        return body.data.activeTargets.length >= 7 && body.data.activeTargets.every((t: Json) => t.health === 'up') ? body.data : undefined;
      },
      30_000,
      'every probe scraped',
      prometheus,
    );
    active = targets.activeTargets;
    dropped = targets.droppedTargets;
    await waitForEvaluations(base, 4);
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await blackbox?.stop();
    for (const s of servers) s.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("probe the declared application's and the annotated Service's liveness and readiness endpoints, and nothing else", () => {
    const health = active.filter((t) => t.scrapePool === 'probe-liveness' || t.scrapePool === 'probe-readiness');
    expect(health.map((t) => [t.labels.job, t.labels.instance, t.labels.service]).sort()).toEqual(
      [
        ['probe-liveness', `http://127.0.0.1:${apiPort}/health/live`, 'api'],
        ['probe-liveness', `http://127.0.0.1:${webPort}/health/live`, 'web'],
        ['probe-readiness', `http://127.0.0.1:${apiPort}/health/ready`, 'api'],
        ['probe-readiness', `http://127.0.0.1:${webPort}/health/ready`, 'web'],
      ].sort(),
    );
    const web = health.find((t) => t.labels.service === 'web')!;
    expect(web.labels.namespace).toBe('shop');
    expect(web.scrapeUrl).toContain('module=http_2xx');
    // The port the annotation does not name, and the Service without the annotation.
    // By the file the job reads: Prometheus 2.42 lists a target dropped by keepequal without its job label.
    const droppedHealth = dropped.filter((t) => String(t.discoveredLabels.__meta_filepath).endsWith('/probe-liveness.json'));
    expect(droppedHealth.map((t) => `${t.discoveredLabels.__meta_kubernetes_service_name}:${t.discoveredLabels.__meta_kubernetes_service_port_name}`).sort()).toEqual(['quiet:http', 'web:metrics']);
    expect(active.filter((t) => t.scrapePool === 'probe-tcp').map((t) => t.labels)).toEqual([
      expect.objectContaining({ instance: `127.0.0.1:${tcpPort}`, service: 'ledger' }),
    ]);
    expect(active.filter((t) => t.scrapePool === 'probe-tls').map((t) => t.labels.service)).toEqual(['localhost', 'localhost']);
  });

  it('read only metric names the real exporter exposes, with the types the catalog states', async () => {
    const http = await (await fetch(`${blackboxUrl}/probe?module=http_2xx&target=${encodeURIComponent(`https://localhost:${tlsLater}/`)}`)).text();
    const own = await (await fetch(`${blackboxUrl}/metrics`)).text();
    const types = metricTypes(`${http}\n${own}`);
    const wrong = Object.entries(BLACKBOX_EXPORTER_SOURCE.metrics).filter(([name, type]) => types.get(name) !== type).map(([name, type]) => `${name}: catalog ${type}, exporter ${types.get(name) ?? 'absent'}`);
    expect(wrong).toEqual([]);
  });

  it('stay silent while everything answers, except for the certificate that expires in 2 days', async () => {
    const alerts = await liveAlerts(base);
    expect(alerts.filter((a) => !a.labels.alertname?.startsWith('TlsCertificate'))).toEqual([]);
    const tls = alerts.filter((a) => a.state === 'firing').map((a) => [a.labels.alertname, a.labels.instance]).sort();
    expect(tls).toEqual([
      ['TlsCertificateExpiringSoon', `localhost:${tlsSoon}`],
      ['TlsCertificateExpiryCritical', `localhost:${tlsSoon}`],
    ]);
  });

  it('fire ProbeFailed when the liveness endpoint answers 500, and clear when it recovers', async () => {
    app.live = 500;
    try {
      await waitForFiring(base, 'ProbeFailed', { job: 'probe-liveness', service: 'api' });
      expect((await liveAlerts(base)).filter((a) => a.labels.alertname === 'ApplicationNotReady')).toEqual([]);
    } finally {
      app.live = 200;
    }
    await waitForSilence(base, 'ProbeFailed');
  }, 60_000);

  it('fire ApplicationNotReady, not ProbeFailed, when the readiness endpoint answers 503', async () => {
    app.ready = 503;
    try {
      await waitForFiring(base, 'ApplicationNotReady', { job: 'probe-readiness', service: 'web', namespace: 'shop' });
      expect((await liveAlerts(base)).filter((a) => a.labels.alertname === 'ProbeFailed')).toEqual([]);
    } finally {
      app.ready = 200;
    }
    await waitForSilence(base, 'ApplicationNotReady');
  }, 60_000);

  it('fire ProbeSlow when the endpoints take 600 ms to answer', async () => {
    app.delayMs = 600;
    try {
      await waitForFiring(base, 'ProbeSlow', { job: 'probe-liveness', service: 'api' });
    } finally {
      app.delayMs = 0;
    }
    await waitForSilence(base, 'ProbeSlow');
  }, 60_000);

  it('fire ProbeFailed when a listed TCP port stops accepting connections', async () => {
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    await waitForFiring(base, 'ProbeFailed', { job: 'probe-tcp', service: 'ledger' });
  }, 60_000);

  it('fire BlackboxExporterDown when the exporter stops', async () => {
    await blackbox.stop();
    await waitForFiring(base, 'BlackboxExporterDown', { job: 'blackbox-exporter' });
  }, 60_000);
});
