import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { secretsToCreate } from '../../src/cli/secrets.js';
import { ConfigError } from '../../src/config/index.js';
import { type Json, environment, find, synth } from './helpers.js';

const DATABASES = {
  postgres: {
    databases: [
      { name: 'shop', address: 'shop-db.shop.svc:5432', database: 'shop', user: 'monitor', password: { secretName: 'shop-db-monitoring', key: 'password' } },
      { name: 'billing', address: 'billing.example.net:5432', user: 'monitor', password: { secretName: 'billing-db', key: 'monitor' }, egress: ['198.51.100.0/28'] },
    ],
  },
  redis: { instances: [{ name: 'sessions', address: '10.1.2.3:6379', password: { secretName: 'sessions-redis', key: 'password' } }] },
};

const env = environment({ exporters: DATABASES });
const out = synth(env);
const objects = out.objects;
const prometheusYml = (): Json => parse((find(objects, 'ConfigMap', 'prometheus-config') as Json).data['prometheus.yml']);
const pod = (name: string): Json => (find(objects, 'Deployment', name) as Json).spec.template.spec;
const policy = (name: string): Json => (find(objects, 'NetworkPolicy', name) as Json).spec;
const PROMETHEUS_PODS = { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/instance': 'test' } } };

describe('the PostgreSQL and Redis exporters', () => {
  it("run one exporter per server: the ingest service's database and each declared one", () => {
    const names = objects.filter((o) => o.kind === 'Deployment' && /^(postgres|redis)-exporter-/.test(o.metadata.name)).map((o) => o.metadata.name);
    expect(names.sort()).toEqual(['postgres-exporter-billing', 'postgres-exporter-ingest', 'postgres-exporter-shop', 'redis-exporter-sessions']);
  });

  it('run hardened: numeric non-root user, read-only root, no token, no capabilities, requests and limits', () => {
    for (const name of ['postgres-exporter-ingest', 'postgres-exporter-shop', 'redis-exporter-sessions']) {
      const spec = pod(name);
      expect(spec.automountServiceAccountToken).toBe(false);
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      const c = spec.containers[0];
      expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      expect(c.securityContext.runAsUser).toBeGreaterThan(0);
      expect(c.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
      expect(c.resources.limits).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
      expect(c.livenessProbe.httpGet.path).not.toBe('/metrics');
    }
  });

  it('read passwords only from Secrets: the manifests hold the address and user, never a password', () => {
    const shop = pod('postgres-exporter-shop').containers[0];
    expect(shop.env).toEqual([
      { name: 'DATA_SOURCE_URI', value: 'shop-db.shop.svc:5432/shop?sslmode=require' },
      { name: 'DATA_SOURCE_USER', value: 'monitor' },
      { name: 'DATA_SOURCE_PASS', valueFrom: { secretKeyRef: { name: 'shop-db-monitoring', key: 'password' } } },
    ]);
    const ingest = pod('postgres-exporter-ingest').containers[0];
    // Its own pg_monitor role, not the owner of the data.
    expect(ingest.env).toContainEqual({ name: 'DATA_SOURCE_USER', value: 'postgres_exporter' });
    expect(ingest.env).toContainEqual({ name: 'DATA_SOURCE_PASS', valueFrom: { secretKeyRef: { name: 'ingest-postgres', key: 'monitor-password' } } });
    expect(ingest.env).toContainEqual({ name: 'DATA_SOURCE_URI', value: 'ingest-postgres.obs-test.svc.cluster.local:5432/ingest?sslmode=disable' });
    const sessions = pod('redis-exporter-sessions').containers[0];
    expect(sessions.env).toContainEqual({ name: 'REDIS_ADDR', value: 'redis://10.1.2.3:6379' });
    expect(sessions.env).toContainEqual({ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'sessions-redis', key: 'password' } } });
  });

  it('are listed by `obstack secrets` with the Secrets they read', () => {
    const needs = secretsToCreate(env, objects);
    const keysOf = (name: string) => needs.find((n) => n.name === name)?.keys.map((k) => k.key);
    expect(keysOf('shop-db-monitoring')).toEqual(['password']);
    expect(keysOf('billing-db')).toEqual(['monitor']);
    expect(keysOf('sessions-redis')).toEqual(['password']);
    expect(needs.find((n) => n.name === 'shop-db-monitoring')?.readBy).toEqual(['postgres-exporter-shop']);
    expect(needs.find((n) => n.name === 'ingest-postgres')?.readBy).toContain('postgres-exporter-ingest');
  });

  it('let only Prometheus in, and out only to their own server', () => {
    for (const name of ['postgres-exporter-shop', 'postgres-exporter-billing', 'postgres-exporter-ingest', 'redis-exporter-sessions']) {
      expect(policy(name).ingress).toEqual([{ from: [PROMETHEUS_PODS], ports: [{ port: name.startsWith('redis') ? 9121 : 9187, protocol: 'TCP' }] }]);
    }
    // The first egress rule of every policy is DNS.
    expect(policy('postgres-exporter-shop').egress.slice(1)).toEqual([
      { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } } }], ports: [{ port: 5432, protocol: 'TCP' }] },
    ]);
    expect(policy('postgres-exporter-billing').egress.slice(1)).toEqual([{ to: [{ ipBlock: { cidr: '198.51.100.0/28' } }], ports: [{ port: 5432, protocol: 'TCP' }] }]);
    expect(policy('redis-exporter-sessions').egress.slice(1)).toEqual([{ to: [{ ipBlock: { cidr: '10.1.2.3/32' } }], ports: [{ port: 6379, protocol: 'TCP' }] }]);
    expect(policy('postgres-exporter-ingest').egress.slice(1)).toEqual([
      { to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingest-postgres', 'app.kubernetes.io/instance': 'test' } } }], ports: [{ port: 5432, protocol: 'TCP' }] },
    ]);
    // The ingest database lets its exporter in, beside the ingest service.
    const dbIngress = policy('ingest-postgres').ingress.flatMap((r: Json) => r.from.map((f: Json) => f.podSelector?.matchLabels['app.kubernetes.io/name']));
    expect(dbIngress).toEqual(expect.arrayContaining(['ingest', 'postgres-exporter-ingest']));
  });

  it('are scraped by Prometheus as jobs postgres-<name> and redis-<name>', () => {
    const jobs = prometheusYml().scrape_configs.map((j: Json) => j.job_name);
    expect(jobs).toEqual(expect.arrayContaining(['postgres-ingest', 'postgres-shop', 'postgres-billing', 'redis-sessions']));
    const shop = prometheusYml().scrape_configs.find((j: Json) => j.job_name === 'postgres-shop');
    expect(shop.relabel_configs[0]).toEqual({ source_labels: ['__meta_kubernetes_service_name'], regex: 'postgres-exporter-shop', action: 'keep' });
  });

  it("watch no ingest database when it is external or switched off", () => {
    const external = environment({
      components: { ingest: { database: { type: 'external', url: { secretName: 'ingest-db', key: 'url' } } } },
    });
    expect(synth(external).objects.some((o) => o.metadata.name === 'postgres-exporter-ingest')).toBe(false);
    const off = environment({ exporters: { postgres: { ingest: false } } });
    expect(synth(off).objects.some((o) => o.metadata.name === 'postgres-exporter-ingest')).toBe(false);
  });
});

describe('the exporters in the environment schema', () => {
  const problems = (exporters: unknown, extra: Record<string, unknown> = {}): string[] => {
    try {
      environment({ exporters, ...extra });
      return [];
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return e.message.split('\n');
    }
  };

  it('refuse a host outside the cluster without address blocks, naming the field', () => {
    const lines = problems({ postgres: { databases: [{ name: 'ext', address: 'db.example.net:5432', user: 'm', password: { secretName: 's', key: 'k' } }] } });
    expect(lines.join('\n')).toContain('exporters.postgres.databases[0].egress');
    expect(lines.join('\n')).toContain('"db.example.net" is outside the cluster');
  });

  it('refuse an inline password and two exporters of one name', () => {
    expect(problems({ redis: { instances: [{ name: 'a', address: '10.0.0.1:6379', password: 'hunter2' }] } }).join('\n')).toContain('exporters.redis.instances[0].password');
    const twice = problems({ redis: { instances: [{ name: 'a', address: '10.0.0.1:6379' }, { name: 'a', address: '10.0.0.2:6379' }] } }).join('\n');
    expect(twice).toContain('exporters.redis.instances[1].name');
    expect(twice).toContain('"a" names two entries');
  });

  it("refuse a declared scrape job that takes an exporter's job name", () => {
    const lines = problems(DATABASES, { scrape: { static: [{ job: 'redis-sessions', targets: ['10.0.0.9:9121'] }] } }).join('\n');
    expect(lines).toContain('scrape.static[0].job');
    expect(lines).toContain('the scrape job of the exporter of exporters.redis.instances[0].name');
  });
});
