import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { IMAGES } from '../../src/config/index.js';
import { synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { synthEnvironment } from '../../src/project/synth.js';
import { configReloaderContainer } from '../../src/constructs/common/config-reloader.js';
import { type Json, RECEIVERS_INPUT, environment, find } from './helpers.js';

/** The pod template as the bytes that go into the manifest: a change of any of them rolls the pods. */
function podTemplate(objects: readonly Json[], kind: string, name: string): string {
  return stringify((find(objects, kind, name) as Json).spec.template);
}

function container(objects: readonly Json[], kind: string, name: string, containerName: string): Json {
  const c = (find(objects, kind, name) as Json).spec.template.spec.containers.find((x: Json) => x.name === containerName);
  if (!c) throw new Error(`${kind}/${name} has no container ${containerName}`);
  return c;
}

const DASHBOARD = (uid: string, title: string) => ({ uid, folder: 'SRE', json: JSON.stringify({ uid, title, panels: [] }) });

describe('configuration reaches running pods by reload, not by a rollout', () => {
  it('a threshold override changes the rules ConfigMap but not a byte of the Prometheus pod template', () => {
    const base = synthEnvironment(environment()).result;
    const overridden = synthEnvironment(environment({ alerting: { receivers: RECEIVERS_INPUT, overrides: { HighErrorRate: { threshold: 0.1 } } } })).result;
    const rulesA = (find(base.objects, 'ConfigMap', 'prometheus-rules') as Json).data['application.yaml'];
    const rulesB = (find(overridden.objects, 'ConfigMap', 'prometheus-rules') as Json).data['application.yaml'];
    expect(rulesA).toContain('> 0.05');
    expect(rulesB).toContain('> 0.1');
    expect(rulesB).not.toBe(rulesA);
    expect(podTemplate(overridden.objects, 'StatefulSet', 'prometheus')).toBe(podTemplate(base.objects, 'StatefulSet', 'prometheus'));
  });

  it('a scrape interval changes prometheus.yml but not the Prometheus pod template: the sidecar reloads it too', () => {
    const a = synthesizeEnvironment(environment());
    const b = synthesizeEnvironment(environment({ components: { prometheus: { scrapeInterval: '15s' } } }));
    expect(a.files.get('prometheus.yml')).not.toBe(b.files.get('prometheus.yml'));
    expect(podTemplate(b.objects, 'StatefulSet', 'prometheus')).toBe(podTemplate(a.objects, 'StatefulSet', 'prometheus'));
    expect((find(a.objects, 'StatefulSet', 'prometheus') as Json).spec.template.metadata.annotations?.['checksum/config']).toBeUndefined();
  });

  it('a routing change changes the alertmanager-config Secret but not the Alertmanager pod template', () => {
    const a = synthesizeEnvironment(environment());
    const b = synthesizeEnvironment(environment({ alerting: { receivers: RECEIVERS_INPUT, groupBy: ['alertname', 'namespace', 'team'] } }));
    const configA = (find(a.objects, 'Secret', 'alertmanager-config') as Json).stringData['alertmanager.yml'];
    const configB = (find(b.objects, 'Secret', 'alertmanager-config') as Json).stringData['alertmanager.yml'];
    expect((parse(configB) as Json).route.group_by).toEqual(['alertname', 'namespace', 'team']);
    expect(configB).not.toBe(configA);
    expect(podTemplate(b.objects, 'StatefulSet', 'alertmanager')).toBe(podTemplate(a.objects, 'StatefulSet', 'alertmanager'));
  });

  it("a changed dashboard changes its ConfigMap but not Grafana's pod template", () => {
    const a = synthesizeEnvironment(environment(), { dashboards: [DASHBOARD('one', 'One')] });
    const b = synthesizeEnvironment(environment(), { dashboards: [DASHBOARD('one', 'One, with a new title')] });
    expect((find(b.objects, 'ConfigMap', 'grafana-dashboard-one') as Json).data['one.json']).toContain('One, with a new title');
    expect(podTemplate(b.objects, 'Deployment', 'grafana')).toBe(podTemplate(a.objects, 'Deployment', 'grafana'));
  });

  it("a datasource change changes the datasources ConfigMap but not Grafana's pod template: a sidecar reloads it", () => {
    const ds = { uid: 'loki', name: 'Loki', type: 'loki', url: 'http://loki.logs.svc.cluster.local:3100' };
    const a = synthesizeEnvironment(environment());
    const b = synthesizeEnvironment(environment({ components: { grafana: { datasources: [ds] } } }));
    expect((find(b.objects, 'ConfigMap', 'grafana-datasources') as Json).data['datasources.yaml']).toContain('uid: loki');
    expect(podTemplate(b.objects, 'Deployment', 'grafana')).toBe(podTemplate(a.objects, 'Deployment', 'grafana'));
    expect((find(a.objects, 'Deployment', 'grafana') as Json).spec.template.metadata.annotations?.['checksum/datasources']).toBeUndefined();
  });

  it("Prometheus enables /-/reload and runs a hardened reloader that POSTs to it when prometheus.yml or a rule file changes", () => {
    const { objects } = synthesizeEnvironment(environment());
    const prom = container(objects, 'StatefulSet', 'prometheus', 'prometheus');
    expect(prom.args).toContain('--web.enable-lifecycle');
    const reloader = container(objects, 'StatefulSet', 'prometheus', 'config-reloader');
    expect(reloader.image).toBe(`${IMAGES.configReloader.repository}:${IMAGES.configReloader.tag}`);
    expect(reloader.args).toEqual([
      '--volume-dir=/etc/prometheus',
      '--volume-dir=/etc/prometheus/rules',
      '--webhook-url=http://127.0.0.1:9090/-/reload',
      '--webhook-method=POST',
      '--webhook-status-code=200',
      '--web.listen-address=:9533',
    ]);
    // The same volumes the program reads, at the same paths, read-only.
    expect(reloader.volumeMounts).toEqual([
      { name: 'config', mountPath: '/etc/prometheus', readOnly: true },
      { name: 'rules', mountPath: '/etc/prometheus/rules', readOnly: true },
    ]);
    expect(prom.volumeMounts).toEqual(expect.arrayContaining(reloader.volumeMounts));
    expectHardened(reloader);
  });

  it('Alertmanager runs a hardened reloader that POSTs to its /-/reload when the config Secret changes', () => {
    const { objects } = synthesizeEnvironment(environment());
    const am = container(objects, 'StatefulSet', 'alertmanager', 'alertmanager');
    const reloader = container(objects, 'StatefulSet', 'alertmanager', 'config-reloader');
    expect(reloader.args).toContain('--webhook-url=http://127.0.0.1:9093/-/reload');
    expect(reloader.args.filter((a: string) => a.startsWith('--volume-dir='))).toEqual(['--volume-dir=/etc/alertmanager/config']);
    expect(am.args).toContain('--config.file=/etc/alertmanager/config/alertmanager.yml');
    expect(reloader.volumeMounts).toEqual([{ name: 'config', mountPath: '/etc/alertmanager/config', readOnly: true }]);
    const volumes = (find(objects, 'StatefulSet', 'alertmanager') as Json).spec.template.spec.volumes;
    expect(volumes.find((v: Json) => v.name === 'config')).toEqual({ name: 'config', secret: { secretName: 'alertmanager-config' } });
    expectHardened(reloader);
  });

  it('adds no NetworkPolicy port for the reloader: it talks to the program over 127.0.0.1', () => {
    const { objects } = synthesizeEnvironment(environment());
    for (const name of ['prometheus', 'alertmanager']) {
      const policy = find(objects, 'NetworkPolicy', name) as Json;
      expect(JSON.stringify(policy.spec)).not.toContain('9533');
    }
  });

  it('refuses a reload URL outside the pod and an empty watch list', () => {
    expect(() => configReloaderContainer({ reloadUrl: 'http://prometheus:9090/-/reload', watch: [{ volume: 'c', mountPath: '/c' }] })).toThrow(
      'reloadUrl must point at 127.0.0.1 in the pod, got "http://prometheus:9090/-/reload"',
    );
    expect(() => configReloaderContainer({ reloadUrl: 'http://127.0.0.1:9090/-/reload', watch: [] })).toThrow('watch must list at least one volume');
  });

  it('passes the security policy and schema checks with the sidecars', () => {
    const { findings } = synthEnvironment(environment());
    expect(findings).toEqual([]);
  });
});

function expectHardened(c: Json): void {
  expect(c.securityContext).toEqual({
    runAsNonRoot: true,
    runAsUser: 65534,
    runAsGroup: 65534,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  });
  expect(c.resources.requests).toEqual({ cpu: '5m', memory: '16Mi' });
  expect(c.resources.limits).toEqual({ cpu: '50m', memory: '32Mi' });
  expect(c.livenessProbe.httpGet).toEqual({ path: '/metrics', port: 'reloader', scheme: 'HTTP' });
  expect(c.readinessProbe.httpGet).toEqual({ path: '/metrics', port: 'reloader', scheme: 'HTTP' });
  expect(c.ports).toEqual([{ name: 'reloader', containerPort: 9533 }]);
}
