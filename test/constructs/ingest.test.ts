import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkSynthesized } from '../../src/cli/check.js';
import { type Json, environment, example, find, synth } from './helpers.js';

describe('IngestService', () => {
  it('deploys the service, its PostgreSQL and the rollup and retention jobs, passing schema and policy checks', () => {
    for (const name of ['dev', 'staging', 'prod'] as const) {
      const result = synth(example(name));
      expect(checkSynthesized(result, { tools: false }), name).toEqual([]);
      find(result.objects, 'Deployment', 'ingest');
      find(result.objects, 'StatefulSet', 'ingest-postgres');
      expect((find(result.objects, 'CronJob', 'ingest-rollup') as Json).spec.jobTemplate.spec.template.spec.containers[0].args).toEqual([
        'src/ingest/jobs.ts',
        'rollup',
      ]);
      find(result.objects, 'CronJob', 'ingest-retention');
    }
  });

  it('takes API keys and the database password from Secrets, never inline', () => {
    const { objects } = synth(example('dev'));
    const deploy = find(objects, 'Deployment', 'ingest') as Json;
    const env: Json[] = deploy.spec.template.spec.containers[0].env;
    const byName = Object.fromEntries(env.map((e) => [e.name, e]));
    expect(byName.PGPASSWORD.valueFrom.secretKeyRef).toEqual({ name: 'ingest-postgres', key: 'password' });
    expect(byName.DATABASE_URL.value).toBe('postgres://ingest@ingest-postgres.obstack-dev.svc.cluster.local:5432/ingest');
    expect(byName.DATABASE_URL.value).not.toContain(':@');
    expect(byName.INGEST_API_KEYS_FILE.value).toBe('/etc/ingest/keys/keys.json');
    const keys = deploy.spec.template.spec.volumes.find((v: Json) => v.name === 'api-keys');
    expect(keys.secret.secretName).toBe('ingest-api-keys');
    expect(byName.OTEL_TRACES_SAMPLER.value).toBe('parentbased_traceidratio');
    expect(byName.OTEL_TRACES_SAMPLER_ARG.value).toBe('0.1');
  });

  it('uses an external database URL from a Secret and deploys no PostgreSQL when asked', () => {
    const env = environment({
      components: { ingest: { database: { type: 'external', url: { secretName: 'analytics-db', key: 'url' } } } },
    });
    const { objects } = synth(env);
    expect(objects.some((o) => o.metadata.name === 'ingest-postgres')).toBe(false);
    const container = (find(objects, 'Deployment', 'ingest') as Json).spec.template.spec.containers[0];
    const url = container.env.find((e: Json) => e.name === 'DATABASE_URL');
    expect(url.valueFrom.secretKeyRef).toEqual({ name: 'analytics-db', key: 'url' });
  });

  it('lets only the service reach its database, and applications from any namespace reach the service', () => {
    const { objects } = synth(example('dev'));
    const dbPolicy = find(objects, 'NetworkPolicy', 'ingest-postgres') as Json;
    const from = (name: string) => ({
      from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': 'dev' } } }],
      ports: [{ port: 5432, protocol: 'TCP' }],
    });
    // The service, its metrics exporter, and Grafana for the business dashboards; nothing else.
    expect(dbPolicy.spec.ingress).toEqual([from('ingest'), from('postgres-exporter-ingest'), from('grafana')]);
    const policy = find(objects, 'NetworkPolicy', 'ingest') as Json;
    expect(policy.spec.ingress).toContainEqual({ from: [{ namespaceSelector: {} }], ports: [{ port: 8080, protocol: 'TCP' }] });
  });

  it("gives Grafana the analytics tables through the read-only role, its password from a Secret", () => {
    const { objects } = synth(example('dev'));
    const ds = parse((find(objects, 'ConfigMap', 'grafana-datasources') as Json).data['datasources.yaml']) as Json;
    const analytics = ds.datasources.find((d: Json) => d.uid === 'analytics-postgres');
    expect(analytics).toMatchObject({ type: 'grafana-postgresql-datasource', user: 'grafana_reader', url: 'ingest-postgres.obstack-dev.svc.cluster.local:5432' });
    expect(analytics.secureJsonData.password).toBe('$__env{GF_DS_ANALYTICS_POSTGRES_PASSWORD}');
    const env = (find(objects, 'Deployment', 'grafana') as Json).spec.template.spec.containers[0].env;
    expect(env.find((e: Json) => e.name === 'GF_DS_ANALYTICS_POSTGRES_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'ingest-postgres', key: 'reader-password' });
    const init = find(objects, 'ConfigMap', 'ingest-postgres-init') as Json;
    expect(init.data['10-reader-role.sh']).toContain("CREATE ROLE grafana_reader LOGIN PASSWORD :'reader_password';");
  });

  it('is scraped by Prometheus as job obstack-ingest', () => {
    const prom = synth(example('dev')).files.get('prometheus.yml') ?? '';
    expect(prom).toContain('job_name: obstack-ingest');
  });

  it('scales with an autoscaler and a disruption budget in prod', () => {
    const { objects } = synth(example('prod'));
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'ingest') as Json;
    expect(hpa.spec.minReplicas).toBe(2);
    expect(hpa.spec.maxReplicas).toBe(6);
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'ingest' });
    find(objects, 'PodDisruptionBudget', 'ingest');
    const db = find(objects, 'StatefulSet', 'ingest-postgres') as Json;
    expect(db.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('50Gi');
  });
});
