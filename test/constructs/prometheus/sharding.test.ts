import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, IMAGES, type Environment, type EnvironmentInput } from '../../../src/config/index.js';
import { Prometheus, SHARD_LABEL } from '../../../src/constructs/index.js';
import { environmentFragment, size } from '../../../src/sizing/model.js';
import { type Json, environment } from '../helpers.js';


/** An environment with `prometheus` merged into the defaults' Prometheus settings. */
function env(prometheus: Record<string, unknown>, more: Partial<Record<keyof EnvironmentInput, unknown>> = {}): Environment {
  const { components, ...rest } = more as { components?: Record<string, unknown> };
  return environment({ components: { prometheus, ...components }, ...rest });
}

/** Thanos on: the layer that sees every shard. */
const THANOS = { thanos: { enabled: true, objectStorage: { secretName: 'bucket', key: 'objstore.yml' } } };

/** The Prometheus construct alone, in a chart of its own, as the stack builds it. */
function build(e: Environment, props: { evaluateRules?: boolean } = {}): { prometheus: Prometheus; objects: Json[] } {
  const chart = new Chart(Testing.app(), 'test', { namespace: e.namespace });
  const prometheus = new Prometheus(chart, 'Prometheus', {
    namespace: e.namespace,
    instance: e.name,
    settings: e.components.prometheus,
    image: IMAGES.prometheus,
    scrape: e.scrape,
    controlPlane: e.controlPlane,
    ...props,
  });
  prometheus.alertTo({ peerAddresses: ['alertmanager-0.alertmanager-cluster.obs-test.svc.cluster.local:9093'] });
  return { prometheus, objects: chart.toJson() as Json[] };
}

const ofKind = (objects: Json[], kind: string): Json[] => objects.filter((o) => o.kind === kind);
const config = (p: Prometheus, shard: number): Json => parse(p.renderConfig(shard));

const HASHMOD = (index: number, count: number) => [
  { source_labels: ['__address__'], modulus: count, target_label: '__tmp_hash', action: 'hashmod' },
  { source_labels: ['__tmp_hash'], regex: String(index), action: 'keep' },
];

const sharded = (more: Record<string, unknown> = {}) =>
  env(
    { shards: 3, replicas: 2, storage: { type: 'persistent', size: '50Gi' }, remoteWrite: [{ name: 'store', url: 'http://receive.store.svc:19291/api/v1/receive' }], ...more },
    { components: THANOS, scrape: { static: [{ job: 'edge', targets: ['10.0.0.1:9100', '10.0.0.2:9100'] }], additionalScrapeConfigs: [{ job_name: 'raw', static_configs: [{ targets: ['10.0.0.3:80'] }] }] } },
  );

describe('Prometheus with one shard (the default)', () => {
  it('is the single StatefulSet prometheus with no hashmod, no shard label and the same names as ever', () => {
    const e = env({});
    expect(e.components.prometheus.shards).toBe(1);
    const { prometheus, objects } = build(e);
    expect(ofKind(objects, 'StatefulSet').map((o) => o.metadata.name)).toEqual(['prometheus']);
    expect(ofKind(objects, 'ConfigMap').map((o) => o.metadata.name)).toEqual(['prometheus-config', 'prometheus-rules']);
    expect(ofKind(objects, 'Service').map((o) => o.metadata.name)).toEqual(['prometheus-headless', 'prometheus']);
    const text = prometheus.renderConfig();
    expect(text).not.toContain('hashmod');
    expect(text).not.toContain('prometheus_shard');
    expect(config(prometheus, 0).global.external_labels).toBeUndefined();
    expect(prometheus.url).toBe('http://prometheus.obs-test.svc.cluster.local:9090');
    expect(() => prometheus.renderConfig(1)).toThrow('shard must be from 0 to 0, got 1');
  });
});

describe('Prometheus in three shards', () => {
  const { prometheus, objects } = build(sharded());

  it('is three StatefulSets, each with the replicas, its own volume claims, ConfigMap, Service and PodDisruptionBudget', () => {
    const sets = ofKind(objects, 'StatefulSet');
    expect(sets.map((s) => s.metadata.name)).toEqual(['prometheus-shard-0', 'prometheus-shard-1', 'prometheus-shard-2']);
    sets.forEach((s, i) => {
      expect(s.spec.replicas).toBe(2);
      expect(s.spec.serviceName).toBe('prometheus-headless');
      expect(s.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/instance': 'test', [SHARD_LABEL]: String(i) });
      expect(s.spec.template.metadata.labels[SHARD_LABEL]).toBe(String(i));
      expect(s.spec.volumeClaimTemplates.map((c: Json) => c.spec.resources.requests.storage)).toEqual(['50Gi']);
      expect(s.spec.template.spec.volumes).toContainEqual({ name: 'config', configMap: { name: `prometheus-shard-${i}-config` } });
      // Spread among its own replicas, not kept away from the other shards' pods.
      expect(s.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector.matchLabels[SHARD_LABEL]).toBe(String(i));
    });
    expect(ofKind(objects, 'PodDisruptionBudget').map((p) => [p.metadata.name, p.spec.selector.matchLabels[SHARD_LABEL], p.spec.maxUnavailable])).toEqual([
      ['prometheus-shard-0', '0', 1],
      ['prometheus-shard-1', '1', 1],
      ['prometheus-shard-2', '2', 1],
    ]);
    const services = ofKind(objects, 'Service');
    expect(services.map((s) => s.metadata.name)).toEqual(['prometheus-shard-0', 'prometheus-shard-1', 'prometheus-shard-2', 'prometheus-headless']);
    // The headless Service reaches every shard's pods (self-scraping, a sidecar's discovery); one NetworkPolicy covers them all.
    expect(services.find((s) => s.metadata.name === 'prometheus-headless').spec.selector).toEqual({ 'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/instance': 'test' });
    expect(ofKind(objects, 'NetworkPolicy').map((n) => n.spec.podSelector.matchLabels)).toEqual([{ 'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/instance': 'test' }]);
    expect(ofKind(objects, 'ConfigMap').map((c) => c.metadata.name)).toEqual(['prometheus-shard-0-config', 'prometheus-shard-1-config', 'prometheus-shard-2-config', 'prometheus-rules']);
  });

  it('ends every job of shard i, the stack\'s, the control plane\'s and the declared ones, with hashmod 3 keeping i', () => {
    for (const i of [0, 1, 2]) {
      const jobs: Json[] = config(prometheus, i).scrape_configs;
      expect(jobs.map((j) => j.job_name)).toEqual(expect.arrayContaining(['kubelet', 'cadvisor', 'apiserver', 'etcd', 'kubernetes-pods', 'edge', 'raw']));
      for (const j of jobs) expect(j.relabel_configs.slice(-2), j.job_name).toEqual(HASHMOD(i, 3));
    }
    // After the address rewrite of the annotated pods, so a pod found once per container port lands on one shard.
    const pods: Json[] = config(prometheus, 0).scrape_configs.find((j: Json) => j.job_name === 'kubernetes-pods').relabel_configs;
    const rewrite = pods.findIndex((r) => r.target_label === '__address__');
    expect(rewrite).toBeGreaterThanOrEqual(0);
    expect(rewrite).toBeLessThan(pods.length - 2);
    // A declared job keeps its own fields; only the relabelling is added.
    const edge = config(prometheus, 2).scrape_configs.find((j: Json) => j.job_name === 'edge');
    expect(edge.static_configs).toEqual([{ targets: ['10.0.0.1:9100', '10.0.0.2:9100'] }]);
    expect(edge.relabel_configs).toEqual(HASHMOD(2, 3));
  });

  it('labels every series with the cluster, the shard and the replica (its pod name), and keeps shard and replica off alerts', () => {
    for (const i of [0, 1, 2]) {
      const c = config(prometheus, i);
      expect(c.global.external_labels).toEqual({ cluster: 'test', prometheus_shard: String(i), prometheus_replica: '${POD_NAME}' });
      expect(c.alerting.alert_relabel_configs).toEqual([{ regex: 'prometheus_shard|prometheus_replica', action: 'labeldrop' }]);
    }
    const pod = ofKind(objects, 'StatefulSet')[0].spec.template.spec.containers[0];
    expect(pod.env).toEqual([{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]);
    // An environment's own cluster label wins over the environment name.
    expect(config(build(sharded({ externalLabels: { cluster: 'eu-1' } })).prometheus, 0).global.external_labels.cluster).toBe('eu-1');
  });

  it('has no single URL to query, and says what to query instead; each shard has its own', () => {
    expect(() => prometheus.url).toThrow(/3 shards.*Thanos Query/);
    expect(prometheus.shardUrl(1)).toBe('http://prometheus-shard-1.obs-test.svc.cluster.local:9090');
    expect(prometheus.shardNames).toEqual(['prometheus-shard-0', 'prometheus-shard-1', 'prometheus-shard-2']);
    const args: string[] = ofKind(objects, 'StatefulSet')[2].spec.template.spec.containers[0].args;
    expect(args).toContain('--web.external-url=http://prometheus-shard-2.obs-test.svc.cluster.local:9090');
  });

  it('loads no rule file when told not to, and still writes the rules ConfigMap for the evaluator that does', () => {
    const { prometheus: p, objects: o } = build(sharded(), { evaluateRules: false });
    p.addRuleFile('stack.yaml', 'groups: []\n');
    expect(config(p, 0).rule_files).toBeUndefined();
    const pod = ofKind(o, 'StatefulSet')[0].spec.template.spec;
    expect(pod.volumes.map((v: Json) => v.name)).not.toContain('rules');
    expect(pod.containers[0].volumeMounts.map((m: Json) => m.name)).not.toContain('rules');
    expect(JSON.stringify(pod.containers[1])).not.toContain('/etc/prometheus/rules');
    expect(ofKind(o, 'ConfigMap').map((c) => c.metadata.name)).toContain('prometheus-rules');
    expect(config(prometheus, 0).rule_files).toEqual(['/etc/prometheus/rules/*.yaml']);
  });

  it('adds a sidecar, its volumes, Prometheus arguments and headless-Service ports to every shard (extendPod)', () => {
    const e = sharded();
    const chart = new Chart(Testing.app(), 'test', { namespace: e.namespace });
    const p = new Prometheus(chart, 'Prometheus', { namespace: e.namespace, instance: e.name, settings: e.components.prometheus, image: IMAGES.prometheus });
    p.extendPod({
      containers: [{ name: 'sidecar', image: 'example/sidecar:1' }],
      volumes: [{ name: 'bucket', secret: { secretName: 'bucket' } }],
      args: ['--storage.tsdb.min-block-duration=2h'],
      servicePorts: [{ name: 'grpc', port: 10901 }],
    });
    const o = chart.toJson() as Json[];
    for (const s of ofKind(o, 'StatefulSet')) {
      const spec = s.spec.template.spec;
      expect(spec.containers.map((c: Json) => c.name)).toEqual(['prometheus', 'config-reloader', 'sidecar']);
      expect(spec.containers[0].args).toContain('--storage.tsdb.min-block-duration=2h');
      expect(spec.volumes.map((v: Json) => v.name)).toContain('bucket');
    }
    expect(o.find((x) => x.metadata.name === 'prometheus-headless').spec.ports.map((x: Json) => x.name)).toEqual(['web', 'grpc']);
  });
});

describe('the environment refuses', () => {
  const problems = (input: Record<string, unknown>, more: Partial<Record<keyof EnvironmentInput, unknown>> = {}): string[] => {
    try {
      env(input, more);
    } catch (e) {
      if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
      throw e;
    }
    return [];
  };

  it('more than one shard without Thanos, even with remote write, naming components.prometheus.shards and why', () => {
    const [p] = problems({ shards: 2 });
    expect(p).toMatch(/^components\.prometheus\.shards: is 2, but each shard scrapes only its part of the targets/);
    expect(p).toContain('components.thanos');
    expect(problems({ shards: 2, remoteWrite: [{ name: 'store', url: 'http://receive.store.svc:19291/api/v1/receive' }] })).toEqual([
      expect.stringMatching(/^components\.prometheus\.shards: is 2, .*nothing in the stack would query it/),
    ]);
    expect(problems({ shards: 2 }, { components: { prometheus: { shards: 2 }, thanos: { enabled: true, objectStorage: { secretName: 'b', key: 'objstore.yml' } } } })).toEqual([]);
  });

  it('an ingress to one shard, a shard count out of range, and external labels obstack writes', () => {
    const rw = [{ name: 'store', url: 'http://receive.store.svc:19291/api/v1/receive' }];
    expect(problems({ shards: 2, remoteWrite: rw, ingress: { enabled: true, host: 'prom.example.com' } }, { components: THANOS })).toEqual([
      expect.stringMatching(/^components\.prometheus\.ingress\.enabled: must be false when shards is 2/),
    ]);
    expect(problems({ shards: 0 })).toEqual([expect.stringMatching(/^components\.prometheus\.shards: must be at least 1/)]);
    expect(problems({ shards: 1.5 })).toEqual([expect.stringMatching(/^components\.prometheus\.shards: must be a whole number/)]);
    expect(problems({ externalLabels: { prometheus_replica: 'a', prometheus_shard: 'b', team: 'ok' } })).toEqual([
      expect.stringMatching(/^components\.prometheus\.externalLabels\.prometheus_replica: is written by obstack/),
      expect.stringMatching(/^components\.prometheus\.externalLabels\.prometheus_shard: is written by obstack/),
    ]);
  });
});

describe('obstack size', () => {
  it('writes shards into the environment fragment only when one Prometheus is not enough', () => {
    const base = { series: 200_000, scrapeIntervalSeconds: 30, retentionSeconds: 15 * 86_400 };
    const one = environmentFragment(size(base), '15d') as Json;
    expect(one.components.prometheus.shards).toBeUndefined();
    const big = size({ ...base, series: 5_000_000 });
    expect(big.prometheus.shards).toBeGreaterThan(1);
    const fragment = environmentFragment(big, '15d') as Json;
    expect(fragment.components.prometheus.shards).toBe(big.prometheus.shards);
    // Merged as is, the environment asks for the layer that sees every shard.
    expect(() => env(fragment.components.prometheus)).toThrow(ConfigError);
    expect(env(fragment.components.prometheus, { components: THANOS }).components.prometheus.shards).toBe(big.prometheus.shards);
  });
});

