import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError } from '../../../src/config/index.js';
import { setupFiles } from '../../../src/constructs/logging/elasticsearch-setup.js';
import { HOT_ROLES, WARM_ROLES } from '../../../src/constructs/logging/elasticsearch.js';
import { ilmPolicy } from '../../../src/constructs/logging/index-setup.js';
import { checkSecurityPolicy, validateKubernetesSchema } from '../../../src/validate/index.js';
import { type Json, environment, find, synth } from '../helpers.js';

const TLS = { secretName: 'es-transport' };
const TIERS = {
  warmAfter: '2d',
  warm: {
    replicas: 2,
    resources: { requests: { cpu: '500m', memory: '2Gi' }, limits: { cpu: '1', memory: '2Gi' } },
    storage: { type: 'persistent', size: '500Gi', storageClass: 'standard-hdd' },
  },
};
const HOT = { replicas: 3, transportTls: TLS, storage: { type: 'persistent', size: '50Gi', storageClass: 'fast-ssd' } };
const withTiers = (elasticsearch: Record<string, unknown> = {}, rest: Record<string, unknown> = {}) =>
  environment({ components: { elasticsearch: { ...HOT, tiers: TIERS, ...elasticsearch } }, ...rest });

/** The problems a configuration is refused with, one per line; empty when it is accepted. */
function problems(elasticsearch: Record<string, unknown>, rest: Record<string, unknown> = {}): string {
  try {
    environment({ components: { elasticsearch }, ...rest });
    return '';
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.message;
  }
}

const config = (objects: readonly Json[], name: string): Json => parse((find(objects, 'ConfigMap', name) as Json).data['elasticsearch.yml'] as string);
const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('Elasticsearch hot/warm tiers', () => {
  it('give the hot nodes the master, ingest and hot roles and the warm nodes data_warm only, in one cluster', () => {
    const { objects } = synth(withTiers());
    const hot = config(objects, 'elasticsearch-config');
    const warm = config(objects, 'elasticsearch-warm-config');
    expect(hot['node.roles']).toEqual([...HOT_ROLES]);
    expect(hot['node.roles']).toEqual(['master', 'data_hot', 'data_content', 'ingest']);
    expect(warm['node.roles']).toEqual([...WARM_ROLES]);
    expect(warm['node.roles']).toEqual(['data_warm']);
    // One cluster: same name, found through the hot (master-eligible) nodes, bootstrapped by them only.
    expect(warm['cluster.name']).toBe(hot['cluster.name']);
    expect(warm['discovery.seed_hosts']).toEqual(['elasticsearch-headless.obs-test.svc.cluster.local']);
    expect(hot['discovery.seed_hosts']).toEqual(warm['discovery.seed_hosts']);
    expect(hot['cluster.initial_master_nodes']).toEqual(['elasticsearch-0', 'elasticsearch-1', 'elasticsearch-2']);
    expect(warm).not.toHaveProperty('cluster.initial_master_nodes');
    expect(warm).not.toHaveProperty('discovery.type');
    for (const key of ['xpack.security.transport.ssl.enabled', 'xpack.security.transport.ssl.certificate', 'xpack.security.transport.ssl.certificate_authorities']) {
      expect(warm[key]).toEqual(hot[key]);
    }

    const hotSet = find(objects, 'StatefulSet', 'elasticsearch') as Json;
    const warmSet = find(objects, 'StatefulSet', 'elasticsearch-warm') as Json;
    expect(hotSet.spec.replicas).toBe(3);
    expect(warmSet.spec.replicas).toBe(2);
    expect(warmSet.spec.serviceName).toBe('elasticsearch-warm-headless');
    const warmPod = warmSet.spec.template.spec;
    // The same transport certificate as the hot nodes, its own config and heap (50% of 2Gi), its own volumes.
    expect(warmPod.volumes).toContainEqual({ name: 'transport-tls', secret: { secretName: 'es-transport' } });
    expect(warmPod.volumes).toContainEqual({ name: 'config-source', configMap: { name: 'elasticsearch-warm-config' } });
    expect(warmPod.containers[0].env).toContainEqual({ name: 'ES_JAVA_OPTS', value: '-Xms1024m -Xmx1024m' });
    expect(warmPod.containers[0].resources.limits).toEqual({ cpu: '1', memory: '2Gi' });
    expect(warmSet.spec.volumeClaimTemplates[0].spec).toMatchObject({ storageClassName: 'standard-hdd', resources: { requests: { storage: '500Gi' } } });
    expect(hotSet.spec.volumeClaimTemplates[0].spec).toMatchObject({ storageClassName: 'fast-ssd', resources: { requests: { storage: '50Gi' } } });
    expect(warmPod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector.matchLabels).toEqual(warmSet.spec.selector.matchLabels);

    // Neither StatefulSet, nor the hot nodes' Services and budget, selects the other set's pods.
    const hotLabels = hotSet.spec.template.metadata.labels;
    const warmLabels = warmSet.spec.template.metadata.labels;
    expect(matches(hotSet.spec.selector.matchLabels, warmLabels)).toBe(false);
    expect(matches(warmSet.spec.selector.matchLabels, hotLabels)).toBe(false);
    expect(matches((find(objects, 'Service', 'elasticsearch') as Json).spec.selector, warmLabels)).toBe(false);
    expect(matches((find(objects, 'PodDisruptionBudget', 'elasticsearch') as Json).spec.selector.matchLabels, warmLabels)).toBe(false);
    expect((find(objects, 'PodDisruptionBudget', 'elasticsearch-warm') as Json).spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: warmSet.spec.selector.matchLabels } });
  });

  it('open the transport port between both sets, and nothing more to the warm nodes', () => {
    const { objects } = synth(withTiers());
    const hotSelector = (find(objects, 'StatefulSet', 'elasticsearch') as Json).spec.selector.matchLabels;
    const warmSelector = (find(objects, 'StatefulSet', 'elasticsearch-warm') as Json).spec.selector.matchLabels;
    const hot = (find(objects, 'NetworkPolicy', 'elasticsearch') as Json).spec;
    const warm = (find(objects, 'NetworkPolicy', 'elasticsearch-warm') as Json).spec;
    const transport = [{ port: 9300, protocol: 'TCP' }];
    expect(hot.ingress).toContainEqual({ from: [{ podSelector: { matchLabels: warmSelector } }], ports: transport });
    expect(hot.egress).toContainEqual({ to: [{ podSelector: { matchLabels: warmSelector } }], ports: transport });
    expect(warm.podSelector.matchLabels).toEqual(warmSelector);
    const both = [{ podSelector: { matchLabels: hotSelector } }, { podSelector: { matchLabels: warmSelector } }];
    expect(warm.ingress).toEqual([{ from: both, ports: transport }]);
    expect(warm.egress.slice(1)).toEqual([{ to: both, ports: transport }]);
    // Clients (Logstash, Kibana, the exporter) reach the hot nodes' HTTP port only.
    expect(warm.ingress.flatMap((r: Json) => r.ports.map((p: Json) => p.port))).not.toContain(9200);
  });

  it('give the warm nodes the keystore of the snapshot repository and its egress, since they write their shards', () => {
    const snapshots = {
      repository: { type: 's3', bucket: 'obstack-snaps', clientSecret: { secretName: 'es-snapshots' } },
      schedule: '30 1 * * *',
      retention: { expireAfter: '30d', minCount: 5, maxCount: 50 },
    };
    const { objects } = synth(withTiers({ snapshots }));
    const warmPod = (find(objects, 'StatefulSet', 'elasticsearch-warm') as Json).spec.template.spec;
    expect(warmPod.initContainers.map((c: Json) => c.name)).toEqual(['config', 'keystore']);
    expect(warmPod.volumes.find((v: Json) => v.name === 'repository-credentials').secret.secretName).toBe('es-snapshots');
    expect((find(objects, 'NetworkPolicy', 'elasticsearch-warm') as Json).spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 443, protocol: 'TCP' }] });
  });

  it('add a warm phase to every ILM policy: migrate, merge to one segment, read-only, lower priority', () => {
    const policy = ilmPolicy(30, 'application logs', '2d').policy;
    expect(policy.phases.warm).toEqual({
      min_age: '2d',
      actions: { migrate: {}, forcemerge: { max_num_segments: 1 }, readonly: {}, set_priority: { priority: 50 } },
    });
    expect(policy.phases.hot.actions.set_priority).toEqual({ priority: 100 });
    expect(policy.phases.delete.min_age).toBe('30d');
    expect(Object.keys(policy.phases)).toEqual(['hot', 'warm', 'delete']);
    expect(() => ilmPolicy(2, 'audit logs', '48h')).toThrow(/warmAfter must be below the retention of audit logs \(2d\), got 48h/);

    const env = withTiers();
    const files = setupFiles({ logs: env.logs, shardReplicas: 1, jaegerIndexPrefix: 'obstack', warmAfter: '2d' });
    for (const name of ['ilm-obstack-logs.json', 'ilm-obstack-audit.json', 'ilm-obstack-deadletter.json']) {
      expect(JSON.parse(files[name]!).policy.phases.warm.min_age).toBe('2d');
    }
    expect(JSON.parse(files['ilm-obstack-audit.json']!).policy.phases.delete.min_age).toBe('365d');
    // The templates pin no allocation: data streams start on data_hot and ILM's migrate moves them.
    for (const [name, text] of Object.entries(files)) {
      if (name.startsWith('template-')) expect(text, name).not.toMatch(/routing\.allocation|_tier_preference/);
    }
    // The setup Job the stack synthesizes sends these policies.
    const { objects } = synth(env);
    const setup = (find(objects, 'ConfigMap', 'elasticsearch-setup') as Json).data;
    expect(JSON.parse(setup['ilm-obstack-logs.json']).policy.phases.warm.actions.migrate).toEqual({});
  });

  it('leave the policies without a warm phase or priorities when there are no tiers', () => {
    const policy = ilmPolicy(30, 'application logs').policy;
    expect(policy.phases).not.toHaveProperty('warm');
    expect(policy.phases.hot.actions).toEqual({ rollover: { max_age: '1d', max_primary_shard_size: '50gb' } });
  });

  it('refuse what Elasticsearch could not do with tiers, naming the field', () => {
    const es = { ...HOT, tiers: TIERS };
    expect(problems(es)).toBe('');
    expect(problems({ ...es, tiers: { ...TIERS, warmAfter: '30d' } })).toMatch(/components\.elasticsearch\.tiers\.warmAfter.*below logs\.retentionDays \(30d\), got 30d/s);
    expect(problems({ ...es, tiers: { ...TIERS, warmAfter: '100d' } }, { logs: { retentionDays: 200, auditRetentionDays: 90 } })).toMatch(
      /components\.elasticsearch\.tiers\.warmAfter.*below logs\.auditRetentionDays \(90d\), got 100d/s,
    );
    expect(problems({ ...es, tiers: { ...TIERS, warmAfter: '2 days' } })).toMatch(/components\.elasticsearch\.tiers\.warmAfter.*age in days or hours/s);
    expect(problems({ ...es, tiers: { ...TIERS, warm: { ...TIERS.warm, replicas: 1 } } })).toMatch(/components\.elasticsearch\.tiers\.warm\.replicas.*at least 2 when elasticsearch\.replicas > 1 \(got 1\)/s);
    // One hot node keeps no replicas, so one warm node is enough there.
    expect(problems({ replicas: 1, transportTls: TLS, tiers: { ...TIERS, warm: { ...TIERS.warm, replicas: 1 } } })).toBe('');
    expect(problems({ replicas: 1, tiers: TIERS })).toMatch(/components\.elasticsearch\.transportTls.*required when elasticsearch\.tiers is set/s);
    expect(problems({ ...es, tiers: { ...TIERS, warm: { ...TIERS.warm, cpu: 2 } } })).toMatch(/components\.elasticsearch\.tiers\.warm/);
  });

  it('require persistent warm volumes in a production environment', () => {
    const prod = (tiers: unknown) => problems({ ...HOT, tiers }, { tier: 'production' });
    expect(prod({ ...TIERS, warm: { ...TIERS.warm, storage: { type: 'ephemeral' } } })).toMatch(/components\.elasticsearch\.tiers\.warm\.storage\.type.*"persistent" in a production environment/s);
    expect(prod(TIERS)).not.toMatch(/tiers\.warm\.storage/);
  });

  it('pass the Kubernetes schema and the security policy', () => {
    const { objects } = synth(withTiers());
    expect(validateKubernetesSchema(objects)).toEqual([]);
    expect(checkSecurityPolicy(objects)).toEqual([]);
    const dev = synth(environment({ components: { elasticsearch: { transportTls: TLS, tiers: { ...TIERS, warm: { ...TIERS.warm, replicas: 1, storage: { type: 'ephemeral' } } } } } }));
    expect(validateKubernetesSchema(dev.objects)).toEqual([]);
    expect(checkSecurityPolicy(dev.objects)).toEqual([]);
  });

  it('change nothing outside Elasticsearch, and only roles and their checksum in it, compared with the same environment without tiers', () => {
    const plain = synth(environment({ components: { elasticsearch: HOT } })).objects as Json[];
    const tiered = synth(withTiers()).objects as Json[];
    const key = (o: Json) => `${o.kind}/${o.metadata.name}`;
    const before = new Map(plain.map((o) => [key(o), JSON.stringify(o)]));
    const after = new Map(tiered.map((o) => [key(o), JSON.stringify(o)]));
    // The setup Job is named after its files, which now hold warm phases.
    const added = [...after.keys()].filter((k) => !before.has(k) && !k.startsWith('Job/elasticsearch-setup-')).sort();
    expect(added).toEqual([
      'ConfigMap/elasticsearch-warm-config',
      'NetworkPolicy/elasticsearch-warm',
      'PodDisruptionBudget/elasticsearch-warm',
      'Service/elasticsearch-warm-headless',
      'StatefulSet/elasticsearch-warm',
    ]);
    expect([...before.keys()].filter((k) => !after.has(k) && !k.startsWith('Job/elasticsearch-setup-'))).toEqual([]);
    const changed = [...before.keys()].filter((k) => after.has(k) && after.get(k) !== before.get(k)).sort();
    expect(changed).toEqual(['ConfigMap/elasticsearch-config', 'ConfigMap/elasticsearch-setup', 'NetworkPolicy/elasticsearch', 'StatefulSet/elasticsearch']);
    // The hot config gains exactly node.roles; the hot pods only the new config's checksum.
    const { ['node.roles']: roles, ...rest } = config(tiered, 'elasticsearch-config');
    expect(roles).toEqual([...HOT_ROLES]);
    expect(rest).toEqual(config(plain, 'elasticsearch-config'));
    const strip = (o: Json) => JSON.stringify({ ...o, spec: { ...o.spec, template: { ...o.spec.template, metadata: { labels: o.spec.template.metadata.labels } } } });
    expect(strip(find(tiered, 'StatefulSet', 'elasticsearch'))).toBe(strip(find(plain, 'StatefulSet', 'elasticsearch')));
  });
});
