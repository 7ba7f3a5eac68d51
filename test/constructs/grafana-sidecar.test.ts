import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { IMAGES } from '../../src/config/index.js';
import { synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { synthEnvironment } from '../../src/project/synth.js';
import { CONFIGMAP_LIMIT_BYTES, DASHBOARD_LABEL, DATASOURCE_LABEL, FOLDER_ANNOTATION } from '../../src/constructs/index.js';
import { provisioningSidecar } from '../../src/constructs/grafana/sidecar.js';
import { type Json, environment, example, find } from './helpers.js';

/** The Grafana Deployment's pod template as JSON: any byte of difference rolls the pods. */
function podTemplate(objects: readonly Json[]): string {
  return JSON.stringify((find(objects, 'Deployment', 'grafana') as Json).spec.template);
}

function podSpec(objects: readonly Json[]): Json {
  return (find(objects, 'Deployment', 'grafana') as Json).spec.template.spec;
}

function container(objects: readonly Json[], name: string, init = false): Json {
  const list = init ? podSpec(objects).initContainers : podSpec(objects).containers;
  const c = list.find((x: Json) => x.name === name);
  if (!c) throw new Error(`grafana has no ${init ? 'init ' : ''}container ${name}`);
  return c;
}

function envOf(c: Json): Record<string, Json> {
  return Object.fromEntries(c.env.map((e: Json) => [e.name, e.value ?? e.valueFrom]));
}

const LOKI = { uid: 'loki', name: 'Loki', type: 'loki', url: 'http://loki.logs.svc.cluster.local:3100' };
const DASHBOARD = (uid: string, folder: string) => ({ uid, folder, json: JSON.stringify({ uid, title: uid, panels: [] }) });

describe('Grafana without restarts: dashboards and datasources come in through sidecars', () => {
  it('leaves the pod template byte-identical when a shipped dashboard is dropped', () => {
    const base = synthEnvironment(environment()).result.objects;
    const dropped = synthEnvironment(environment({ dashboards: { drop: ['obstack-nodes'] } })).result.objects;
    // The drop did take effect: one ConfigMap fewer.
    expect(base.some((o) => o.kind === 'ConfigMap' && o.metadata.name === 'grafana-dashboard-obstack-nodes')).toBe(true);
    expect(dropped.some((o) => o.kind === 'ConfigMap' && o.metadata.name === 'grafana-dashboard-obstack-nodes')).toBe(false);
    expect(podTemplate(dropped)).toBe(podTemplate(base));
  });

  it('leaves the pod template byte-identical when a dashboard is added in a new folder', () => {
    const a = synthesizeEnvironment(environment(), { dashboards: [DASHBOARD('one', 'SRE')] }).objects;
    const b = synthesizeEnvironment(environment(), { dashboards: [DASHBOARD('one', 'SRE'), DASHBOARD('two', 'Search & Discovery')] }).objects;
    expect((find(b, 'ConfigMap', 'grafana-dashboard-two') as Json).metadata.annotations[FOLDER_ANNOTATION]).toBe('Search & Discovery');
    expect(podTemplate(b)).toBe(podTemplate(a));
  });

  it('leaves the pod template byte-identical when a datasource is added or changed, and has no checksum annotation', () => {
    const a = synthesizeEnvironment(environment()).objects;
    const added = synthesizeEnvironment(environment({ components: { grafana: { datasources: [LOKI] } } })).objects;
    const changed = synthesizeEnvironment(environment({ components: { prometheus: { scrapeInterval: '15s' } } })).objects;
    const file = (objects: readonly Json[]): Json => parse((find(objects, 'ConfigMap', 'grafana-datasources') as Json).data['datasources.yaml']);
    expect(file(added).datasources.map((d: Json) => d.uid)).toContain('loki');
    expect(file(changed).datasources.find((d: Json) => d.uid === 'prometheus').jsonData.timeInterval).toBe('15s');
    expect(file(a).datasources.find((d: Json) => d.uid === 'prometheus').jsonData.timeInterval).not.toBe('15s');
    expect(podTemplate(added)).toBe(podTemplate(a));
    expect(podTemplate(changed)).toBe(podTemplate(a));
    expect((find(a, 'Deployment', 'grafana') as Json).spec.template.metadata.annotations).toBeUndefined();
  });

  it('labels every dashboard ConfigMap for the sidecar and annotates its folder, keeping the ConfigMap names', () => {
    const { objects } = synthesizeEnvironment(environment(), { dashboards: [DASHBOARD('one', 'SRE'), DASHBOARD('two', 'Business')] });
    const one = find(objects, 'ConfigMap', 'grafana-dashboard-one') as Json;
    expect(one.metadata.labels[DASHBOARD_LABEL]).toBe('true');
    expect(one.metadata.annotations[FOLDER_ANNOTATION]).toBe('SRE');
    expect(Object.keys(one.data)).toEqual(['one.json']);
    expect((find(objects, 'ConfigMap', 'grafana-dashboard-two') as Json).metadata.annotations[FOLDER_ANNOTATION]).toBe('Business');
    const datasources = find(objects, 'ConfigMap', 'grafana-datasources') as Json;
    expect(datasources.metadata.labels[DATASOURCE_LABEL]).toBe('true');
    // Only these carry the labels the sidecars select on.
    expect(objects.filter((o) => o.metadata.labels?.[DATASOURCE_LABEL] === 'true').map((o) => o.metadata.name)).toEqual(['grafana-datasources']);
    expect(objects.filter((o) => o.metadata.labels?.[DASHBOARD_LABEL] === 'true').map((o) => o.metadata.name).sort()).toEqual([
      'grafana-dashboard-one',
      'grafana-dashboard-two',
    ]);
  });

  it('still refuses a dashboard over the 1 MiB a ConfigMap holds', () => {
    const big = { uid: 'big', folder: 'SRE', json: JSON.stringify({ uid: 'big', blob: 'x'.repeat(CONFIGMAP_LIMIT_BYTES) }) };
    expect(() => synthesizeEnvironment(environment(), { dashboards: [big] })).toThrow(/dashboard "big" is \d+ bytes; a ConfigMap holds at most 1 MiB/);
  });

  it('shares emptyDirs between the sidecars and Grafana, which reads them read-only', () => {
    const { objects } = synthesizeEnvironment(environment(), { dashboards: [DASHBOARD('one', 'SRE')] });
    const volumes = podSpec(objects).volumes;
    const volume = (name: string): Json => volumes.find((v: Json) => v.name === name);
    expect(volume('dashboards').emptyDir).toBeDefined();
    expect(volume('datasources').emptyDir).toBeDefined();
    expect(volume('dashboard-providers')).toEqual({ name: 'dashboard-providers', configMap: { name: 'grafana-providers' } });
    // No volume names a dashboard or the datasources ConfigMap.
    expect(JSON.stringify(volumes)).not.toContain('grafana-dashboard-');
    expect(JSON.stringify(volumes)).not.toContain('grafana-datasources');
    expect(volumes.some((v: Json) => v.projected && JSON.stringify(v.projected).includes('configMap') && !v.projected.sources.some((s: Json) => s.serviceAccountToken))).toBe(false);

    const grafana = container(objects, 'grafana');
    expect(grafana.volumeMounts).toEqual(
      expect.arrayContaining([
        { name: 'dashboards', mountPath: '/var/lib/grafana/dashboards', readOnly: true },
        { name: 'datasources', mountPath: '/etc/grafana/provisioning/datasources', readOnly: true },
      ]),
    );
    for (const name of ['dashboards-sidecar', 'init-dashboards']) {
      const c = container(objects, name, name.startsWith('init'));
      expect(c.volumeMounts).toContainEqual({ name: 'dashboards', mountPath: '/var/lib/grafana/dashboards' });
      expect(envOf(c).FOLDER).toBe('/var/lib/grafana/dashboards');
    }
    for (const name of ['datasources-sidecar', 'init-datasources']) {
      const c = container(objects, name, name.startsWith('init'));
      expect(c.volumeMounts).toContainEqual({ name: 'datasources', mountPath: '/etc/grafana/provisioning/datasources' });
      expect(envOf(c).FOLDER).toBe('/etc/grafana/provisioning/datasources');
    }
  });

  it('has Grafana read one folder per Grafana folder and drop a dashboard whose file is gone', () => {
    const { objects } = synthesizeEnvironment(environment());
    const providers = parse((find(objects, 'ConfigMap', 'grafana-providers') as Json).data['dashboards.yaml']);
    expect(providers.providers).toEqual([
      {
        name: 'obstack',
        type: 'file',
        disableDeletion: false,
        allowUiUpdates: false,
        updateIntervalSeconds: 30,
        options: { path: '/var/lib/grafana/dashboards', foldersFromFilesStructure: true },
      },
    ]);
    const datasources = parse((find(objects, 'ConfigMap', 'grafana-datasources') as Json).data['datasources.yaml']);
    expect(datasources.prune).toBe(true);
  });

  it('configures the dashboards sidecar to watch labelled ConfigMaps of the namespace, with no credentials', () => {
    const { objects } = synthesizeEnvironment(environment());
    const c = container(objects, 'dashboards-sidecar');
    expect(c.image).toBe(`${IMAGES.k8sSidecar.repository}:${IMAGES.k8sSidecar.tag}`);
    expect(envOf(c)).toEqual({
      METHOD: 'WATCH',
      LABEL: DASHBOARD_LABEL,
      LABEL_VALUE: 'true',
      RESOURCE: 'configmap',
      NAMESPACE: 'obs-test',
      FOLDER: '/var/lib/grafana/dashboards',
      FOLDER_ANNOTATION: FOLDER_ANNOTATION,
      HEALTH_PORT: '8084',
      LOG_FORMAT: 'JSON',
    });
    expect(envOf(container(objects, 'init-dashboards', true)).METHOD).toBe('LIST');
  });

  it('configures the datasources sidecar to POST the reload to Grafana in the pod, as the admin from the Secret', () => {
    const { objects } = synthesizeEnvironment(
      environment({ components: { grafana: { admin: { secretName: 'gf-admin', userKey: 'u', passwordKey: 'p' } } } }),
    );
    const c = container(objects, 'datasources-sidecar');
    const env = envOf(c);
    expect(env).toMatchObject({
      METHOD: 'WATCH',
      LABEL: DATASOURCE_LABEL,
      LABEL_VALUE: 'true',
      RESOURCE: 'configmap',
      NAMESPACE: 'obs-test',
      FOLDER: '/etc/grafana/provisioning/datasources',
      REQ_URL: 'http://127.0.0.1:3000/api/admin/provisioning/datasources/reload',
      REQ_METHOD: 'POST',
      REQ_SKIP_INIT: 'true',
      HEALTH_PORT: '8082',
    });
    expect(env.REQ_USERNAME).toEqual({ secretKeyRef: { name: 'gf-admin', key: 'u' } });
    expect(env.REQ_PASSWORD).toEqual({ secretKeyRef: { name: 'gf-admin', key: 'p' } });
    // Never a literal credential.
    for (const e of c.env) if (e.name.startsWith('REQ_USER') || e.name.startsWith('REQ_PASS')) expect(e.value).toBeUndefined();
    expect(env.FOLDER_ANNOTATION).toBeUndefined();
    // The init copy makes no request: Grafana is not running yet and reads the files when it starts.
    const init = envOf(container(objects, 'init-datasources', true));
    expect(init.METHOD).toBe('LIST');
    for (const name of ['REQ_URL', 'REQ_METHOD', 'REQ_SKIP_INIT', 'REQ_USERNAME', 'REQ_PASSWORD']) expect(init[name], name).toBeUndefined();
    expect(env.REQ_BASIC_AUTH_ENCODING).toBe('utf-8');
  });

  it('hardens every sidecar: non-root, read-only root, no escalation, no capabilities, requests and limits', () => {
    const { objects } = synthesizeEnvironment(environment());
    const sidecars = [...podSpec(objects).initContainers, ...podSpec(objects).containers.filter((c: Json) => c.name !== 'grafana')];
    expect(sidecars.map((c: Json) => c.name)).toEqual(['init-dashboards', 'init-datasources', 'dashboards-sidecar', 'datasources-sidecar']);
    for (const c of sidecars) {
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
      expect(c.resources).toEqual({ requests: { cpu: '10m', memory: '64Mi' }, limits: { cpu: '200m', memory: '256Mi' } });
      // It writes only to its folder and a /tmp of its own.
      const writable = c.volumeMounts.filter((m: Json) => m.readOnly !== true).map((m: Json) => m.name);
      expect(writable.sort()).toEqual([c.name.includes('dashboards') ? 'dashboards' : 'datasources', 'sidecar-tmp'].sort());
    }
    for (const [name, port] of [['dashboards-sidecar', 8084], ['datasources-sidecar', 8082]] as const) {
      const c = container(objects, name);
      const portName = c.ports[0].name;
      expect(c.ports).toEqual([{ name: portName, containerPort: port }]);
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: portName, scheme: 'HTTP' });
      expect(c.readinessProbe.tcpSocket).toEqual({ port: portName });
    }
  });

  it('mounts the ServiceAccount token into the sidecars only, from a projected volume, with automount off', () => {
    const { objects } = synthesizeEnvironment(environment());
    const spec = podSpec(objects);
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.serviceAccountName).toBe('grafana');
    expect((find(objects, 'ServiceAccount', 'grafana') as Json).automountServiceAccountToken).toBe(false);
    const token = spec.volumes.find((v: Json) => v.projected?.sources.some((s: Json) => s.serviceAccountToken));
    expect(token.projected.sources).toEqual([
      { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ]);
    const mounting = [...spec.initContainers, ...spec.containers].filter((c: Json) => c.volumeMounts.some((m: Json) => m.name === token.name));
    expect(mounting.map((c: Json) => c.name).sort()).toEqual(['dashboards-sidecar', 'datasources-sidecar', 'init-dashboards', 'init-datasources']);
    for (const c of mounting) {
      expect(c.volumeMounts).toContainEqual({ name: token.name, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true });
    }
  });

  it('grants exactly get, list and watch on configmaps of its own namespace to its ServiceAccount', () => {
    const { objects } = synthesizeEnvironment(environment());
    const role = find(objects, 'Role', 'grafana') as Json;
    expect(role.metadata.namespace).toBe('obs-test');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }]);
    const binding = find(objects, 'RoleBinding', 'grafana') as Json;
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'grafana' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'grafana', namespace: 'obs-test' }]);
    // Nothing cluster-wide and nothing on Secrets.
    const grafanaRbac = objects.filter((o) => ['ClusterRole', 'ClusterRoleBinding'].includes(o.kind) && o.metadata.labels?.['app.kubernetes.io/name'] === 'grafana');
    expect(grafanaRbac).toEqual([]);
    expect(JSON.stringify(role)).not.toContain('secrets');
  });

  it('lets Grafana reach the Kubernetes API server in its NetworkPolicy, as Prometheus does', () => {
    const { objects } = synthesizeEnvironment(environment());
    const egress = (find(objects, 'NetworkPolicy', 'grafana') as Json).spec.egress;
    const prometheusApi = (find(objects, 'NetworkPolicy', 'prometheus') as Json).spec.egress.find((r: Json) =>
      r.ports?.some((p: Json) => p.port === 6443),
    );
    expect(prometheusApi).toBeDefined();
    expect(egress).toContainEqual(prometheusApi);
  });

  it('refuses a reload URL that leaves the pod', () => {
    expect(() =>
      provisioningSidecar({
        name: 'x',
        label: 'l',
        namespace: 'n',
        volume: 'v',
        folder: '/f',
        method: 'WATCH',
        healthPort: 8082,
        healthPortName: 'h',
        reload: { url: 'http://grafana:3000/api/admin/provisioning/datasources/reload', user: { secretName: 's', key: 'u' }, password: { secretName: 's', key: 'p' } },
      }),
    ).toThrow('reload url must point at 127.0.0.1 in the pod, got "http://grafana:3000/api/admin/provisioning/datasources/reload"');
  });

  it('passes the schema and security-policy checks in dev, staging and prod', () => {
    for (const name of ['dev', 'staging', 'prod'] as const) {
      expect(synthEnvironment(example(name)).findings, name).toEqual([]);
    }
  });
});
