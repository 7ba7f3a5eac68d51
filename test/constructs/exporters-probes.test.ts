import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError } from '../../src/config/index.js';
import { type Json, environment, find, synth } from './helpers.js';

const PROBES = {
  health: { services: [{ service: 'api', url: 'http://api.shop.svc:8000' }] },
  http: [{ url: 'https://shop.example.com/', egress: ['203.0.113.0/24'] }],
  tcp: [{ address: '10.0.5.5:5672', service: 'queue' }],
  tls: [{ address: 'shop.example.com:443', egress: ['203.0.113.0/24'] }],
};
const env = environment({ probes: PROBES });
const objects = synth(env).objects;
const jobs = (o = objects): Json[] => parse((find(o, 'ConfigMap', 'prometheus-config') as Json).data['prometheus.yml']).scrape_configs;
const job = (name: string): Json => jobs().find((j) => j.job_name === name);
const BLACKBOX = 'blackbox-exporter.obs-test.svc.cluster.local:9115';

describe('the blackbox exporter', () => {
  it('runs hardened, with its modules from a ConfigMap and a checksum that rolls it when they change', () => {
    const d = find(objects, 'Deployment', 'blackbox-exporter') as Json;
    const spec = d.spec.template.spec;
    expect(spec.automountServiceAccountToken).toBe(false);
    const c = spec.containers[0];
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65534, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(c.resources.limits).toEqual({ cpu: '100m', memory: '64Mi' });
    expect(d.spec.template.metadata.annotations['checksum/config']).toMatch(/^[0-9a-f]{16}$/);
    const modules = parse((find(objects, 'ConfigMap', 'blackbox-exporter') as Json).data['blackbox.yml']).modules;
    expect(Object.keys(modules).sort()).toEqual(['http_2xx', 'tcp_connect', 'tls_expiry']);
    expect(modules.tls_expiry).toMatchObject({ prober: 'tcp', tcp: { tls: true } });
    expect(modules.tls_expiry.tcp.tls_config?.insecure_skip_verify).toBeUndefined();
  });

  it("probes the applications' liveness and readiness paths: declared URLs and annotated Services", () => {
    for (const [name, path] of [['probe-liveness', '/health/live'], ['probe-readiness', '/health/ready']] as const) {
      const j = job(name);
      expect(j.params).toEqual({ module: ['http_2xx'] });
      expect(j.static_configs).toEqual([{ targets: [`http://api.shop.svc:8000${path}`], labels: { service: 'api' } }]);
      expect(j.kubernetes_sd_configs).toEqual([{ role: 'service' }]);
      expect(j.relabel_configs[0]).toEqual({ source_labels: ['__meta_kubernetes_service_annotation_prometheus_io_probe', '__address__'], regex: 'true;.*|;https?://.*', action: 'keep' });
      expect(j.relabel_configs).toContainEqual({ source_labels: ['__tmp_probe_scheme', '__address__'], regex: '(https?);([^/]+)', replacement: `$1://$2${path}`, target_label: '__param_target' });
      expect(j.relabel_configs.at(-1)).toEqual({ target_label: '__address__', replacement: BLACKBOX });
    }
  });

  it('probes the listed URLs, ports and certificates with their modules, each labelled with its service', () => {
    expect(job('probe-http')).toMatchObject({ params: { module: ['http_2xx'] }, static_configs: [{ targets: ['https://shop.example.com/'], labels: { service: 'shop.example.com' } }] });
    expect(job('probe-tcp')).toMatchObject({ params: { module: ['tcp_connect'] }, static_configs: [{ targets: ['10.0.5.5:5672'], labels: { service: 'queue' } }] });
    expect(job('probe-tls')).toMatchObject({ params: { module: ['tls_expiry'] }, static_configs: [{ targets: ['shop.example.com:443'], labels: { service: 'shop.example.com' } }] });
    expect(job('probe-tls').relabel_configs).toEqual([
      { source_labels: ['__address__'], target_label: '__param_target' },
      { source_labels: ['__param_target'], target_label: 'instance' },
      { target_label: '__address__', replacement: BLACKBOX },
    ]);
  });

  it('lets only Prometheus in, and out to annotated Services and exactly the listed targets', () => {
    const spec = (find(objects, 'NetworkPolicy', 'blackbox-exporter') as Json).spec;
    expect(spec.ingress).toEqual([{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/instance': 'test' } } }], ports: [{ port: 9115, protocol: 'TCP' }] }]);
    expect(spec.egress.slice(1)).toEqual([
      { to: [{ namespaceSelector: {} }] },
      { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } } }], ports: [{ port: 8000, protocol: 'TCP' }] },
      { to: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ port: 443, protocol: 'TCP' }] },
      { to: [{ ipBlock: { cidr: '10.0.5.5/32' } }], ports: [{ port: 5672, protocol: 'TCP' }] },
    ]);
  });

  it('leaves out the jobs with nothing to probe, and everything when probes are off', () => {
    const bare = synth(environment({ probes: { health: { annotated: false } } })).objects;
    expect(jobs(bare).map((j) => j.job_name).filter((n: string) => n.startsWith('probe-') || n === 'blackbox-exporter')).toEqual(['blackbox-exporter']);
    const off = synth(environment({ probes: { enabled: false } })).objects;
    expect(off.some((o) => o.metadata.name === 'blackbox-exporter')).toBe(false);
    expect(jobs(off).some((j) => j.job_name.startsWith('probe-') || j.job_name === 'blackbox-exporter')).toBe(false);
  });

  it('refuses a listed host outside the cluster without address blocks, and a bad URL, naming the field', () => {
    const problems = (probes: unknown): string => {
      try {
        environment({ probes });
        return '';
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        return e.message;
      }
    };
    expect(problems({ tls: [{ address: 'shop.example.com:443' }] })).toContain('probes.tls[0].egress');
    expect(problems({ http: [{ url: 'ftp://files.example.com/' }] })).toContain('probes.http[0].url');
    expect(problems({ health: { livenessPath: 'health/live' } })).toContain('probes.health.livenessPath');
    expect(problems({ tcp: [{ address: '10.0.0.1:99', egress: ['10.0.0.0/8'] }] })).toContain('is only for a host name outside the cluster');
  });
});
