import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkWithTools } from '../../../src/cli/check.js';
import { ConfigError, type ConfigIssue } from '../../../src/config/index.js';
import { checkSecurityPolicy, validateKubernetesSchema } from '../../../src/validate/index.js';
import { type Json, environment, find, synth } from '../helpers.js';

const BUCKET = { secretName: 'thanos-bucket', key: 'objstore.yml' };
const ON = {
  enabled: true,
  objectStorage: BUCKET,
  query: { replicas: 2 },
  storeGateway: { replicas: 2, storage: { type: 'persistent', size: '20Gi' } },
  compactor: { storage: { type: 'persistent', size: '100Gi', storageClass: 'fast' }, retention: { raw: '30d', fiveMinutes: '90d', oneHour: '2y' } },
  ruler: { enabled: true },
  stores: [{ address: 'thanos-query.eu1.example.com:10901', egress: ['203.0.113.0/24'] }],
};
const env = environment({ components: { prometheus: { replicas: 2 }, thanos: ON } });
const result = synth(env);
const objects = result.objects;
const podOf = (kind: string, name: string): Json => (find(objects, kind, name) as Json).spec.template.spec;
const container = (kind: string, name: string, c: string): Json => podOf(kind, name).containers.find((x: Json) => x.name === c);
const policy = (name: string): Json => (find(objects, 'NetworkPolicy', name) as Json).spec;
const pods = (name: string) => ({ podSelector: { matchLabels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': 'test' } } });
/** The ingress rules of a policy that open `port`, by the pods they let in. */
const fromOn = (name: string, port: number): Json[] =>
  policy(name).ingress.filter((r: Json) => r.ports.some((p: Json) => p.port === port)).flatMap((r: Json) => r.from);

function refusal(thanos: unknown, more: Record<string, unknown> = {}): ConfigIssue[] {
  try {
    environment({ components: { thanos, ...more } });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).issues];
  }
  throw new Error('the environment was accepted');
}

describe('Thanos: the sidecar in every Prometheus pod', () => {
  it('runs beside Prometheus, reading its TSDB and the bucket Secret mounted as a file', () => {
    const s = container('StatefulSet', 'prometheus', 'thanos-sidecar');
    expect(s.image).toBe('quay.io/thanos/thanos:v0.39.2');
    expect(s.args).toEqual([
      'sidecar',
      '--tsdb.path=/prometheus',
      '--prometheus.url=http://127.0.0.1:9090',
      '--objstore.config-file=/etc/thanos/objstore/objstore.yml',
      '--grpc-address=0.0.0.0:10901',
      '--http-address=0.0.0.0:10902',
      '--log.format=json',
    ]);
    expect(s.volumeMounts).toEqual([{ name: 'data', mountPath: '/prometheus' }, { name: 'thanos-objstore', mountPath: '/etc/thanos/objstore', readOnly: true }]);
    // Prometheus's user: the sidecar writes its upload state into Prometheus's data folder.
    expect(s.securityContext).toMatchObject({ runAsUser: 65534, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(podOf('StatefulSet', 'prometheus').volumes).toContainEqual({ name: 'thanos-objstore', secret: { secretName: 'thanos-bucket', items: [{ key: 'objstore.yml', path: 'objstore.yml' }] } });
  });

  it('switches off Prometheus compaction (equal 2h block durations) and gives it external labels to upload under', () => {
    const args = container('StatefulSet', 'prometheus', 'prometheus').args as string[];
    expect(args).toContain('--storage.tsdb.min-block-duration=2h');
    expect(args).toContain('--storage.tsdb.max-block-duration=2h');
    const yml = parse(result.files.get('prometheus.yml')!);
    expect(yml.global.external_labels).toMatchObject({ prometheus_replica: '${POD_NAME}' });
    // Even a single Prometheus labels its blocks: the sidecar refuses to start without external labels.
    const single = parse(synth(environment({ components: { thanos: { enabled: true, objectStorage: BUCKET } } })).files.get('prometheus.yml')!);
    expect(Object.keys(single.global.external_labels ?? {}).length).toBeGreaterThan(0);
  });

  it('serves every sidecar behind one SRV name (the headless Service\'s grpc port)', () => {
    const ports = (find(objects, 'Service', 'prometheus-headless') as Json).spec.ports.map((p: Json) => [p.name, p.port]);
    expect(ports).toEqual(expect.arrayContaining([['grpc', 10901], ['http', 10902]]));
  });

  it('never writes the bucket configuration into a manifest', () => {
    const text = [...result.files.values()].join('\n');
    expect(text).not.toMatch(/access_key|secret_key|type: S3/);
    expect(objects.filter((o) => o.kind === 'Secret' && o.metadata.name === BUCKET.secretName)).toEqual([]);
  });
});

describe('Thanos Query', () => {
  const args = container('Deployment', 'thanos-query', 'thanos').args as string[];

  it('deduplicates HA replicas by prometheus_replica and reads every StoreAPI', () => {
    expect(args).toContain('--query.replica-label=prometheus_replica');
    expect(args.filter((a) => a.startsWith('--endpoint='))).toEqual([
      '--endpoint=dnssrv+_grpc._tcp.prometheus-headless.obs-test.svc.cluster.local',
      '--endpoint=dnssrv+_grpc._tcp.thanos-store-headless.obs-test.svc.cluster.local',
      '--endpoint=dnssrv+_grpc._tcp.thanos-rule-headless.obs-test.svc.cluster.local',
      '--endpoint=thanos-query.eu1.example.com:10901',
    ]);
  });

  it('is highly available: replicas, a PodDisruptionBudget, spread over nodes, non-root with a read-only root', () => {
    const d = find(objects, 'Deployment', 'thanos-query') as Json;
    expect(d.spec.replicas).toBe(2);
    expect((find(objects, 'PodDisruptionBudget', 'thanos-query') as Json).spec.maxUnavailable).toBe(1);
    expect(d.spec.template.spec.affinity.podAntiAffinity).toBeDefined();
    expect(d.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1001 });
    expect(container('Deployment', 'thanos-query', 'thanos').securityContext.readOnlyRootFilesystem).toBe(true);
  });

  it('lets only Grafana, the Ruler, the ingest service and Prometheus (its scrape) reach its HTTP port', () => {
    expect(fromOn('thanos-query', 10902)).toEqual(expect.arrayContaining([pods('grafana'), pods('thanos-rule'), pods('prometheus'), pods('ingest')]));
    expect(fromOn('thanos-query', 10902)).toHaveLength(4);
    expect(fromOn('thanos-query', 10901)).toEqual([]);
  });

  it('reaches the StoreAPIs on gRPC, and another cluster only at its address blocks', () => {
    const egress = policy('thanos-query').egress as Json[];
    expect(egress).toContainEqual({ to: [pods('prometheus')], ports: [{ port: 10901, protocol: 'TCP' }] });
    expect(egress).toContainEqual({ to: [pods('thanos-store')], ports: [{ port: 10901, protocol: 'TCP' }] });
    expect(egress).toContainEqual({ to: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ port: 10901, protocol: 'TCP' }] });
  });

  it('lets only Query reach the StoreAPIs (sidecars, Store Gateway, Ruler)', () => {
    for (const name of ['prometheus', 'thanos-store', 'thanos-rule']) expect(fromOn(name, 10901)).toEqual([pods('thanos-query')]);
  });
});

describe('Store Gateway and Compactor', () => {
  it('are StatefulSets with volume claims, reading the bucket over HTTPS', () => {
    const store = find(objects, 'StatefulSet', 'thanos-store') as Json;
    expect(store.spec.replicas).toBe(2);
    expect(store.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('20Gi');
    expect(find(objects, 'PodDisruptionBudget', 'thanos-store')).toBeDefined();
    const compact = find(objects, 'StatefulSet', 'thanos-compact') as Json;
    expect(compact.spec.volumeClaimTemplates[0].spec).toMatchObject({ storageClassName: 'fast', resources: { requests: { storage: '100Gi' } } });
    for (const name of ['thanos-store', 'thanos-compact']) {
      expect(policy(name).egress).toContainEqual({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 443, protocol: 'TCP' }] });
    }
  });

  it('runs one Compactor that waits, downsamples and enforces each retention', () => {
    const compact = find(objects, 'StatefulSet', 'thanos-compact') as Json;
    expect(compact.spec.replicas).toBe(1);
    expect(objects.some((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'thanos-compact')).toBe(false);
    const args = container('StatefulSet', 'thanos-compact', 'thanos').args as string[];
    expect(args).toEqual(expect.arrayContaining(['compact', '--wait', '--retention.resolution-raw=30d', '--retention.resolution-5m=90d', '--retention.resolution-1h=2y']));
    expect(args).not.toContain('--downsampling.disable');
    // Merging replicas in the bucket is experimental in Thanos and cannot be undone: only on request.
    expect(args.filter((a) => a.startsWith('--deduplication.'))).toEqual([]);
  });

  it('merges the replicas in the bucket only when the environment asks', () => {
    const merged = synth(environment({ components: { prometheus: { replicas: 2 }, thanos: { ...ON, compactor: { ...ON.compactor, deduplicateReplicas: true } } } }));
    const spec = (find(merged.objects, 'StatefulSet', 'thanos-compact') as Json).spec.template.spec;
    const args = spec.containers.find((c: Json) => c.name === 'thanos').args as string[];
    expect(args.filter((a) => a.startsWith('--deduplication.'))).toEqual(['--deduplication.replica-label=prometheus_replica', '--deduplication.func=penalty']);
  });
});

describe('Thanos Ruler', () => {
  it('evaluates the same rule ConfigMap against Query and sends to every Alertmanager replica', () => {
    const args = container('StatefulSet', 'thanos-rule', 'thanos').args as string[];
    expect(args).toContain('--query=dnssrv+_http._tcp.thanos-query.obs-test.svc.cluster.local');
    expect(args).toContain('--alertmanagers.url=http://alertmanager-0.alertmanager-cluster.obs-test.svc.cluster.local:9093');
    expect(args).toContain('--alert.label-drop=prometheus_replica');
    expect(podOf('StatefulSet', 'thanos-rule').volumes).toContainEqual({ name: 'rules', configMap: { name: 'prometheus-rules' } });
    expect(fromOn('alertmanager', 9093)).toContainEqual(pods('thanos-rule'));
  });

  it('relabels alerts as Prometheus does', () => {
    const relabel = parse((find(objects, 'ConfigMap', 'thanos-rule-alert-relabel') as Json).data['relabel.yaml']);
    expect(relabel).toEqual(parse(result.files.get('prometheus.yml')!).alerting.alert_relabel_configs);
  });
});

describe('Grafana with Thanos', () => {
  const datasource = (r: typeof result) =>
    parse((find(r.objects, 'ConfigMap', 'grafana-datasources') as Json).data['datasources.yaml']).datasources.find((d: Json) => d.uid === 'prometheus');

  it('queries Thanos Query under the same uid, and Prometheus without Thanos', () => {
    expect(datasource(result)).toMatchObject({ uid: 'prometheus', url: 'http://thanos-query.obs-test.svc.cluster.local:10902', jsonData: { prometheusType: 'Thanos' } });
    expect(datasource(synth(environment()))).toMatchObject({ uid: 'prometheus', url: 'http://prometheus.obs-test.svc.cluster.local:9090' });
    expect(policy('grafana').egress).toContainEqual({ to: [pods('thanos-query')], ports: [{ port: 10902, protocol: 'TCP' }] });
  });
});

describe('Thanos: the checks', () => {
  it('passes the Kubernetes schema and the security policy', () => {
    expect(validateKubernetesSchema(objects)).toEqual([]);
    expect(checkSecurityPolicy(objects)).toEqual([]);
  });

  it("passes promtool and amtool on the environment's files, Thanos jobs included", () => {
    const jobs = (parse(result.files.get('prometheus.yml')!).scrape_configs as Json[]).map((j) => j.job_name);
    expect(jobs).toEqual(expect.arrayContaining(['thanos-sidecar', 'thanos-query', 'thanos-store', 'thanos-compact', 'thanos-rule']));
    expect(checkWithTools(result)).toEqual([]);
  }, 120_000);
});

describe('components.thanos: the refusals', () => {
  it('refuses Thanos without a bucket, naming the field', () => {
    expect(refusal({ enabled: true })).toContainEqual(expect.objectContaining({ path: 'components.thanos.objectStorage', message: expect.stringMatching(/^is required when thanos.enabled/) }));
  });

  it('refuses the bucket configuration written inline', () => {
    expect(refusal({ enabled: true, objectStorage: 'type: S3' })).toContainEqual(expect.objectContaining({ path: 'components.thanos.objectStorage' }));
  });

  it('refuses a Prometheus retention shorter than three blocks, and a remote store without address blocks', () => {
    const issues = refusal({ enabled: true, objectStorage: BUCKET, stores: [{ address: 'thanos.eu1.example.com:10901' }] }, { prometheus: { retention: { time: '4h' } } });
    expect(issues).toContainEqual(expect.objectContaining({ path: 'components.prometheus.retention.time', message: expect.stringContaining('at least 6h') }));
    expect(issues).toContainEqual(expect.objectContaining({ path: 'components.thanos.stores[0].egress' }));
  });

  it('is off by default: no Thanos object without components.thanos.enabled', () => {
    expect(synth(environment()).objects.filter((o) => o.metadata.name.startsWith('thanos'))).toEqual([]);
  });
});
