import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackRuleFiles } from '../../rules/index.js';
import { synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { writeOfflinePrometheus } from '../support/offline-prometheus.js';
import { type Started, startPrometheus, waitFor } from '../support/processes.js';
import { type Json, example } from './helpers.js';

/**
 * Runs the real Prometheus on the synthesized configuration. Debian's build
 * has no Kubernetes discovery, so each job reads a file of targets that carry
 * the same `__meta_kubernetes_*` labels Kubernetes discovery would set; the
 * relabelling under test is exactly the generated one.
 */
const pod = (ip: string, labels: Record<string, string>) => ({ targets: [`${ip}:8080`], labels: { __meta_kubernetes_pod_phase: 'Running', ...labels } });

const TARGETS: Record<string, unknown[]> = {
  'kubernetes-pods': [
    pod('10.0.0.5', {
      __meta_kubernetes_namespace: 'shop',
      __meta_kubernetes_pod_name: 'web-1',
      __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
      __meta_kubernetes_pod_annotation_prometheus_io_port: '9999',
      __meta_kubernetes_pod_annotation_prometheus_io_path: '/custom/metrics',
      __meta_kubernetes_pod_label_app_kubernetes_io_name: 'web',
    }),
    pod('10.0.0.6', { __meta_kubernetes_namespace: 'shop', __meta_kubernetes_pod_name: 'quiet-1' }),
    pod('10.0.0.11', {
      __meta_kubernetes_namespace: 'shop',
      __meta_kubernetes_pod_name: 'orders-7d9c5b8f6d-x2x4q',
      __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
      __meta_kubernetes_pod_label_app: 'orders',
      __meta_kubernetes_pod_label_team: 'payments',
      __meta_kubernetes_pod_controller_kind: 'ReplicaSet',
      __meta_kubernetes_pod_controller_name: 'orders-7d9c5b8f6d',
    }),
    pod('10.0.0.12', {
      __meta_kubernetes_namespace: 'shop',
      __meta_kubernetes_pod_name: 'billing-api-7d9c5b8f6d-k2p9z',
      __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
      __meta_kubernetes_pod_controller_kind: 'ReplicaSet',
      __meta_kubernetes_pod_controller_name: 'billing-api-7d9c5b8f6d',
    }),
    pod('10.0.0.13', {
      __meta_kubernetes_namespace: 'shop',
      __meta_kubernetes_pod_name: 'cache-0',
      __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
      __meta_kubernetes_pod_controller_kind: 'StatefulSet',
      __meta_kubernetes_pod_controller_name: 'cache',
    }),
    pod('10.0.0.14', { __meta_kubernetes_namespace: 'shop', __meta_kubernetes_pod_name: 'debug', __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true' }),
    pod('10.0.0.7', {
      __meta_kubernetes_namespace: 'obstack-dev',
      __meta_kubernetes_pod_name: 'grafana-abc',
      __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
      __meta_kubernetes_pod_label_app_kubernetes_io_managed_by: 'obstack',
    }),
    pod('10.0.0.8', {
      __meta_kubernetes_namespace: 'shop',
      __meta_kubernetes_pod_name: 'job-done',
      __meta_kubernetes_pod_phase: 'Succeeded',
      __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
    }),
  ],
  'node-exporter': [
    {
      targets: ['192.168.1.10:9100'],
      labels: {
        __meta_kubernetes_namespace: 'obstack-dev',
        __meta_kubernetes_service_name: 'node-exporter',
        __meta_kubernetes_endpoint_port_name: 'metrics',
        __meta_kubernetes_pod_name: 'node-exporter-x1',
        __meta_kubernetes_pod_node_name: 'worker-1',
      },
    },
    {
      targets: ['10.0.0.9:9100'],
      labels: { __meta_kubernetes_namespace: 'obstack-dev', __meta_kubernetes_service_name: 'other', __meta_kubernetes_endpoint_port_name: 'metrics' },
    },
  ],
};

describe('the synthesized prometheus.yml in a real Prometheus', () => {
  let root: string;
  let prometheus: Started;
  let base: string;
  let active: Json[];
  let dropped: Json[];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'obstack-prom-'));
    const env = example('dev');
    const result = synthesizeEnvironment(env, { ruleFiles: stackRuleFiles(env) });
    const offline = writeOfflinePrometheus(result.files, root, (job) => TARGETS[job] ?? []);
    expect(offline.findings).toEqual([]);
    ({ server: prometheus, base } = await startPrometheus(offline.configFile, join(root, 'data')));
    const targets = await waitFor(
      async () => {
        const body = (await (await fetch(`${base}/api/v1/targets`)).json()) as Json;
        return body.data.activeTargets.length > 0 ? body.data : undefined;
      },
      30_000,
      'Prometheus targets',
      prometheus,
    );
    active = targets.activeTargets;
    dropped = targets.droppedTargets;
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('scrapes an annotated pod on the port and path its annotations name', () => {
    const web = active.find((t) => t.labels.pod === 'web-1');
    expect(web.scrapePool).toBe('kubernetes-pods');
    expect(web.scrapeUrl).toBe('http://10.0.0.5:9999/custom/metrics');
    expect(web.labels).toMatchObject({ namespace: 'shop', app: 'web', job: 'kubernetes-pods' });
  });

  it('skips pods without the annotation, finished pods, and the stack\'s own pods (they have their own jobs)', () => {
    const droppedPods = dropped.map((t) => t.discoveredLabels.__meta_kubernetes_pod_name).filter(Boolean);
    expect(droppedPods).toEqual(expect.arrayContaining(['quiet-1', 'grafana-abc', 'job-done']));
    expect(active.filter((t) => t.scrapePool === 'kubernetes-pods')).toHaveLength(5);
  });

  it('gives every application target a service (its name label, else its controller, else the pod) and the team its label names', () => {
    const labelsOf = (pod: string) => active.find((t) => t.labels.pod === pod)?.labels;
    expect(labelsOf('web-1')).toMatchObject({ service: 'web' });
    expect(labelsOf('orders-7d9c5b8f6d-x2x4q')).toMatchObject({ service: 'orders', team: 'payments' });
    expect(labelsOf('billing-api-7d9c5b8f6d-k2p9z')).toMatchObject({ service: 'billing-api' });
    expect(labelsOf('billing-api-7d9c5b8f6d-k2p9z')?.team).toBeUndefined();
    expect(labelsOf('cache-0')).toMatchObject({ service: 'cache' });
    expect(labelsOf('debug')).toMatchObject({ service: 'debug' });
  });

  it("labels node-exporter series with the node's name and keeps only its own Service", () => {
    const nodes = active.filter((t) => t.scrapePool === 'node-exporter');
    expect(nodes).toHaveLength(1);
    expect(nodes[0].labels).toMatchObject({ instance: 'worker-1', node: 'worker-1', job: 'node-exporter', namespace: 'obstack-dev' });
  });

  it('loads the shipped rule files', async () => {
    const body = (await (await fetch(`${base}/api/v1/rules`)).json()) as Json;
    const names = body.data.groups.flatMap((g: Json) => g.rules.map((r: Json) => r.name));
    expect(names).toContain('Watchdog');
  });
});
