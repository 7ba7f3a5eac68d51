import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SNAPSHOT_POLICY, SNAPSHOT_REPOSITORY, snapshotPolicy, snapshotRepository } from '../../../src/constructs/logging/snapshots.js';
import { setupFiles, SETUP_SCRIPT } from '../../../src/constructs/logging/elasticsearch-setup.js';
import { ConfigError } from '../../../src/config/index.js';
import { checkSecurityPolicy, validateKubernetesSchema } from '../../../src/validate/index.js';
import { type Json, environment, find, synth } from '../helpers.js';

const SNAPSHOTS = {
  repository: { type: 's3', bucket: 'obstack-snaps', basePath: 'prod/es', clientSecret: { secretName: 'es-snapshots' } },
  schedule: '30 1 * * *',
  retention: { expireAfter: '30d', minCount: 5, maxCount: 50 },
};
const withSnapshots = (snapshots: unknown = SNAPSHOTS) => environment({ components: { elasticsearch: { snapshots } } });

describe('Elasticsearch snapshots', () => {
  it('register an s3 repository and an SLM policy on the schedule in Elasticsearch cron, with the retention', () => {
    const s = withSnapshots().components.elasticsearch.snapshots!;
    expect(snapshotRepository(s)).toEqual({ type: 's3', settings: { bucket: 'obstack-snaps', client: 'default', base_path: 'prod/es' } });
    expect(snapshotPolicy(s)).toMatchObject({
      schedule: '0 30 1 * * ?',
      repository: SNAPSHOT_REPOSITORY,
      name: '<obstack-{now/d}>',
      config: { indices: ['*'], include_global_state: true },
      retention: { expire_after: '30d', min_count: 5, max_count: 50 },
    });
    const azure = withSnapshots({ ...SNAPSHOTS, repository: { type: 'azure', bucket: 'logs-container', clientSecret: { secretName: 'es-azure' } }, schedule: '0 3 * * 1-5' });
    expect(snapshotRepository(azure.components.elasticsearch.snapshots!)).toEqual({ type: 'azure', settings: { container: 'logs-container', client: 'default' } });
    expect(snapshotPolicy(azure.components.elasticsearch.snapshots!)['schedule']).toBe('0 0 3 ? * MON,TUE,WED,THU,FRI');
  });

  it('make the setup Job PUT the repository before the policy, and let the monitoring role list snapshots', () => {
    const s = withSnapshots().components.elasticsearch.snapshots!;
    const files = setupFiles({ logs: withSnapshots().logs, shardReplicas: 0, jaegerIndexPrefix: 'obstack', snapshots: s });
    const script = files['run.sh']!;
    const repo = script.indexOf(`call PUT "/_snapshot/${SNAPSHOT_REPOSITORY}" "$SETUP_DIR/repository.json"`);
    const policy = script.indexOf(`call PUT "/_slm/policy/${SNAPSHOT_POLICY}" "$SETUP_DIR/slm-policy.json"`);
    expect(repo).toBeGreaterThan(0);
    expect(policy).toBeGreaterThan(repo);
    expect(script.trimEnd().endsWith('echo "setup done"')).toBe(true);
    expect(JSON.parse(files['repository.json']!)).toEqual(snapshotRepository(s));
    expect(JSON.parse(files['role-obstack_monitoring.json']!).cluster).toEqual(['monitor', 'read_ilm', 'monitor_snapshot']);
    // Without snapshots nothing of this is there, and the script is the one of before.
    const plain = setupFiles({ logs: withSnapshots().logs, shardReplicas: 0, jaegerIndexPrefix: 'obstack' });
    expect(plain['run.sh']).toBe(SETUP_SCRIPT);
    expect(plain['repository.json']).toBeUndefined();
    expect(JSON.parse(plain['role-obstack_monitoring.json']!).cluster).toEqual(['monitor', 'read_ilm']);
  });

  it('put the credentials into the keystore from the Secret, open the object store, and turn on the exporter collector', () => {
    const { objects } = synth(withSnapshots({ ...SNAPSHOTS, repository: { ...SNAPSHOTS.repository, endpoint: 'http://minio.storage.svc:9000' } }));
    const pod = (find(objects, 'StatefulSet', 'elasticsearch') as Json).spec.template.spec;
    expect(pod.initContainers.map((c: Json) => c.name)).toEqual(['config', 'keystore']);
    const keystore = pod.initContainers[1];
    expect(keystore.command[2]).toContain('elasticsearch-keystore add --force --stdin "$name" < "$f"');
    expect(keystore.volumeMounts).toContainEqual({ name: 'repository-credentials', mountPath: '/mnt/repository-credentials', readOnly: true });
    expect(keystore.volumeMounts).toContainEqual({ name: 'config', mountPath: '/usr/share/elasticsearch/config' });
    expect(pod.volumes).toContainEqual({
      name: 'repository-credentials',
      secret: { secretName: 'es-snapshots', items: [{ key: 's3.client.default.access_key', path: 's3.client.default.access_key' }, { key: 's3.client.default.secret_key', path: 's3.client.default.secret_key' }] },
    });
    const config = parse((find(objects, 'ConfigMap', 'elasticsearch-config') as Json).data['elasticsearch.yml']);
    expect(config).toMatchObject({ 's3.client.default.endpoint': 'minio.storage.svc:9000', 's3.client.default.protocol': 'http', 's3.client.default.path_style_access': true });
    const egress = (find(objects, 'NetworkPolicy', 'elasticsearch') as Json).spec.egress;
    expect(egress).toContainEqual({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 9000, protocol: 'TCP' }] });
    const exporter = (find(objects, 'Deployment', 'elasticsearch-exporter') as Json).spec.template.spec.containers[0];
    expect(exporter.args).toContain('--collector.snapshots');
    expect(validateKubernetesSchema(objects)).toEqual([]);
    expect(checkSecurityPolicy(objects)).toEqual([]);
  });

  it('leave Elasticsearch, its setup and its exporter as they were without snapshots', () => {
    const { objects } = synth(environment());
    const pod = (find(objects, 'StatefulSet', 'elasticsearch') as Json).spec.template.spec;
    expect(pod.initContainers.map((c: Json) => c.name)).toEqual(['config']);
    expect(pod.volumes.some((v: Json) => v.name === 'repository-credentials')).toBe(false);
    expect((find(objects, 'Deployment', 'elasticsearch-exporter') as Json).spec.template.spec.containers[0].args).not.toContain('--collector.snapshots');
    expect((find(objects, 'NetworkPolicy', 'elasticsearch') as Json).spec.egress.some((r: Json) => r.to.some((p: Json) => p.ipBlock))).toBe(false);
  });

  it('refuse what Elasticsearch could not do, naming the field', () => {
    const problems = (snapshots: unknown): string[] => {
      try {
        withSnapshots(snapshots);
        return [];
      } catch (err) {
        return (err as ConfigError).message.split('\n');
      }
    };
    expect(problems({ ...SNAPSHOTS, schedule: '0 3 1 * MON' }).join('\n')).toMatch(/components\.elasticsearch\.snapshots\.schedule.*both the day of the month and the day of the week/s);
    expect(problems({ ...SNAPSHOTS, schedule: '61 3 * * *' }).join('\n')).toMatch(/snapshots\.schedule.*minute "61"/s);
    expect(problems({ ...SNAPSHOTS, retention: { expireAfter: '30d', minCount: 10, maxCount: 5 } }).join('\n')).toMatch(/snapshots\.retention\.maxCount.*at least minCount \(10\), got 5/s);
    expect(problems({ ...SNAPSHOTS, repository: { ...SNAPSHOTS.repository, type: 'gcs', endpoint: 'https://s3.example.com' } }).join('\n')).toMatch(/repository\.endpoint.*a gcs repository has none/s);
    expect(problems({ ...SNAPSHOTS, repository: { ...SNAPSHOTS.repository, basePath: '/leading' } }).join('\n')).toMatch(/repository\.basePath/);
  });
});
