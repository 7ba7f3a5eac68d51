import { type Server, createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeOfflinePrometheus } from '../support/offline-prometheus.js';
import { type Started, startPrometheus, waitFor } from '../support/processes.js';
import { type Json, environment, synth } from './helpers.js';

/**
 * The real Prometheus on the synthesized configuration of an environment that
 * declares a static target and a ServiceMonitor. Both point at a small HTTP
 * server on 127.0.0.1; the monitor's targets come through a file carrying the
 * `__meta_kubernetes_*` labels Kubernetes discovery would set (Debian's
 * Prometheus has no Kubernetes discovery), so the relabelling under test is
 * exactly the generated one.
 */
const METRICS = '# HELP demo_requests_total Requests.\n# TYPE demo_requests_total counter\ndemo_requests_total 7\n';

function endpoint(address: string, over: Record<string, string>): Json {
  return {
    targets: [address],
    labels: {
      __meta_kubernetes_namespace: 'shop',
      __meta_kubernetes_service_name: 'web',
      __meta_kubernetes_service_label_app_kubernetes_io_name: 'web',
      __meta_kubernetes_service_labelpresent_app_kubernetes_io_name: 'true',
      __meta_kubernetes_endpoint_port_name: 'metrics',
      __meta_kubernetes_pod_name: 'web-1',
      __meta_kubernetes_pod_container_name: 'app',
      __meta_kubernetes_pod_phase: 'Running',
      __meta_kubernetes_pod_label_version: 'v2',
      ...over,
    },
  };
}

describe('declared scrape targets in a real Prometheus', () => {
  let root: string;
  let server: Server;
  let prometheus: Started;
  let base: string;
  let active: Json[];
  let dropped: Json[];
  const paths: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(METRICS);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const target = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    const env = environment({
      scrape: {
        static: [{ job: 'edge', targets: [target], labels: { team: 'network', site: 'ams' }, path: '/static/metrics', interval: '1s' }],
        serviceMonitors: [
          {
            name: 'web',
            namespaces: ['shop'],
            selector: { matchLabels: { 'app.kubernetes.io/name': 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['batch'] }] },
            endpoints: [
              {
                port: 'metrics',
                path: '/monitor/metrics',
                interval: '1s',
                relabelings: [{ source_labels: ['__meta_kubernetes_pod_label_version'], target_label: 'version' }],
              },
            ],
          },
        ],
      },
    });
    root = mkdtempSync(join(tmpdir(), 'obstack-scrape-live-'));
    const monitorTargets = [
      endpoint(target, {}),
      endpoint('10.9.0.1:8080', { __meta_kubernetes_endpoint_port_name: 'http', __meta_kubernetes_pod_name: 'other-port' }),
      endpoint('10.9.0.2:8080', { __meta_kubernetes_service_label_app_kubernetes_io_name: 'api', __meta_kubernetes_pod_name: 'other-service' }),
      endpoint('10.9.0.3:8080', { __meta_kubernetes_pod_phase: 'Succeeded', __meta_kubernetes_pod_name: 'finished' }),
      endpoint('10.9.0.4:8080', { __meta_kubernetes_service_label_tier: 'batch', __meta_kubernetes_service_labelpresent_tier: 'true', __meta_kubernetes_pod_name: 'batch-tier' }),
    ];
    const offline = writeOfflinePrometheus(synth(env).files, root, (job) => (job === 'serviceMonitor/web/0' ? monitorTargets : []));
    expect(offline.findings).toEqual([]);
    ({ server: prometheus, base } = await startPrometheus(offline.configFile, join(root, 'data')));
    const query = async (q: string): Promise<Json[]> => ((await (await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as Json).data.result;
    // Both jobs have scraped once their samples are queryable.
    await waitFor(
      async () => ((await query('demo_requests_total')).length === 2 ? true : undefined),
      30_000,
      'both declared jobs scraped',
      prometheus,
    );
    const targets = ((await (await fetch(`${base}/api/v1/targets`)).json()) as Json).data;
    active = targets.activeTargets;
    dropped = targets.droppedTargets;
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await new Promise((resolve) => server?.close(resolve));
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const series = async (job: string): Promise<Json> => {
    const body = (await (await fetch(`${base}/api/v1/query?query=${encodeURIComponent(`demo_requests_total{job="${job}"}`)}`)).json()) as Json;
    expect(body.data.result).toHaveLength(1);
    return body.data.result[0];
  };

  it('scrapes a static target on its path, its series carrying the declared labels', async () => {
    const edge = active.find((t) => t.scrapePool === 'edge');
    expect(edge.health).toBe('up');
    expect(edge.scrapeUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/static\/metrics$/);
    const s = await series('edge');
    expect(s.metric).toEqual({ __name__: 'demo_requests_total', job: 'edge', instance: edge.labels.instance, team: 'network', site: 'ams' });
    expect(s.value[1]).toBe('7');
    expect(paths).toContain('/static/metrics');
  });

  it("scrapes the ServiceMonitor's selected endpoint with the Operator's labels and the declared relabeling", async () => {
    const web = active.filter((t) => t.scrapePool === 'serviceMonitor/web/0');
    expect(web).toHaveLength(1);
    expect(web[0].health).toBe('up');
    const s = await series('web');
    expect(s.metric).toEqual({
      __name__: 'demo_requests_total',
      job: 'web',
      instance: web[0].labels.instance,
      namespace: 'shop',
      service: 'web',
      pod: 'web-1',
      container: 'app',
      endpoint: 'metrics',
      version: 'v2',
    });
    expect(paths).toContain('/monitor/metrics');
  });

  it('drops endpoints on another port, of another Service, of finished pods, and those the matchExpressions exclude', () => {
    const droppedPods = dropped
      .filter((t) => t.discoveredLabels.job === 'serviceMonitor/web/0')
      .map((t) => t.discoveredLabels.__meta_kubernetes_pod_name)
      .sort();
    expect(droppedPods).toEqual(['batch-tier', 'finished', 'other-port', 'other-service']);
  });
});
