import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, type ConfigIssue, STACK_DATASOURCE_NAMES, STACK_DATASOURCE_UIDS } from '../../src/config/index.js';
import { DATASOURCE_UIDS } from '../../src/constructs/index.js';
import { type Json, environment, find, synth } from './helpers.js';

const LOKI = {
  name: 'Loki',
  uid: 'team-loki',
  type: 'loki',
  url: 'http://loki-gateway.logging.svc.cluster.local:3100',
  jsonData: { httpHeaderName1: 'X-Scope-OrgID', maxLines: 1000 },
  secureJsonData: { httpHeaderValue1: { secretName: 'loki-tenant', key: 'org-id' } },
};
const TEMPO = {
  name: 'Tempo (SaaS)',
  uid: 'tempo',
  type: 'tempo',
  url: 'https://tempo.example.com/api',
  isDefault: true,
  basicAuth: { user: 'obstack', password: { secretName: 'tempo-saas', key: 'token' } },
  egress: ['198.51.100.0/24'],
};
const WAREHOUSE = { name: 'Warehouse', uid: 'warehouse', type: 'grafana-postgresql-datasource', url: 'http://192.0.2.10:5432' };

function withDatasources(datasources: unknown[]) {
  return environment({ components: { grafana: { datasources } } });
}

function refusal(datasources: unknown[]): ConfigIssue[] {
  try {
    withDatasources(datasources);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).issues];
  }
  throw new Error('the environment was accepted');
}

describe('components.grafana.datasources: the refusals', () => {
  it("refuses a uid or a name of the stack's own datasources", () => {
    const issues = refusal([{ ...LOKI, uid: 'prometheus' }, { ...WAREHOUSE, name: 'Logs' }]);
    expect(issues).toContainEqual(expect.objectContaining({ path: 'components.grafana.datasources[0].uid', message: '"prometheus" is the uid of a datasource the stack provisions; choose another' }));
    expect(issues).toContainEqual(expect.objectContaining({ path: 'components.grafana.datasources[1].name', message: '"Logs" is the name of a datasource the stack provisions; choose another' }));
  });

  it('refuses two datasources with one uid, and two defaults', () => {
    const issues = refusal([{ ...TEMPO }, { ...WAREHOUSE, uid: 'tempo', isDefault: true }]);
    expect(issues).toContainEqual(expect.objectContaining({ path: 'components.grafana.datasources[1].uid', message: expect.stringContaining('also the uid of components.grafana.datasources[0]') }));
    expect(issues).toContainEqual(expect.objectContaining({ path: 'components.grafana.datasources[1].isDefault', message: 'only one datasource can be the default; components.grafana.datasources[0] already is' }));
  });

  it('refuses a secret written inline, in secureJsonData, in basicAuth, or in the URL', () => {
    const issues = refusal([
      { ...LOKI, secureJsonData: { httpHeaderValue1: 'tenant-1' } },
      { ...TEMPO, basicAuth: { user: 'obstack', password: 's3cret' } },
      { ...WAREHOUSE, url: 'http://user:pw@192.0.2.10:5432' },
    ]);
    const inline = 'must be a reference to a Kubernetes Secret ({ secretName, key }); credentials are never written inline';
    expect(issues).toContainEqual(expect.objectContaining({ path: 'components.grafana.datasources[0].secureJsonData.httpHeaderValue1', message: inline }));
    expect(issues).toContainEqual(expect.objectContaining({ path: 'components.grafana.datasources[1].basicAuth.password', message: inline }));
    expect(issues).toContainEqual(expect.objectContaining({ path: 'components.grafana.datasources[2].url', message: expect.stringContaining('without user or password') }));
  });

  it('refuses a host outside the cluster without the address blocks a NetworkPolicy needs', () => {
    const { egress: _, ...tempo } = TEMPO;
    const issues = refusal([tempo]);
    expect(issues).toContainEqual(expect.objectContaining({ path: 'components.grafana.datasources[0].egress', message: expect.stringMatching(/^is required: "tempo.example.com" is outside the cluster/) }));
    expect(refusal([{ ...LOKI, egress: ['10.0.0.0/8'] }])).toContainEqual(expect.objectContaining({ path: 'components.grafana.datasources[0].egress', message: expect.stringContaining('is only for a URL whose host is a name outside the cluster') }));
  });

  it('refuses browser access', () => {
    expect(refusal([{ ...LOKI, access: 'direct' }])).toContainEqual(expect.objectContaining({ path: 'components.grafana.datasources[0].access', message: expect.stringContaining('must be "proxy"') }));
  });
});

describe('components.grafana.datasources: what Grafana provisions', () => {
  const result = synth(withDatasources([LOKI, TEMPO, WAREHOUSE]));
  const provisioning = parse((find(result.objects, 'ConfigMap', 'grafana-datasources') as Json).data['datasources.yaml']);
  const byUid = (uid: string): Json => provisioning.datasources.find((d: Json) => d.uid === uid);
  const container = (find(result.objects, 'Deployment', 'grafana') as Json).spec.template.spec.containers[0];

  it('provisions each declared datasource after the stack\'s, secrets as $__env references', () => {
    expect(byUid('team-loki')).toEqual({
      uid: 'team-loki',
      name: 'Loki',
      type: 'loki',
      access: 'proxy',
      url: LOKI.url,
      isDefault: false,
      editable: false,
      jsonData: LOKI.jsonData,
      secureJsonData: { httpHeaderValue1: '$__env{GF_DS_TEAM_LOKI_HTTP_HEADER_VALUE1}' },
    });
    expect(byUid('tempo')).toMatchObject({ basicAuth: true, basicAuthUser: 'obstack', secureJsonData: { basicAuthPassword: '$__env{GF_DS_TEMPO_BASIC_AUTH_PASSWORD}' }, isDefault: true });
    expect(provisioning.datasources.map((d: Json) => d.uid).slice(0, 1)).toEqual(['prometheus']);
    expect(provisioning.datasources.map((d: Json) => d.uid).slice(-3)).toEqual(['team-loki', 'tempo', 'warehouse']);
  });

  it('reads each secret from its Secret key into the environment the provisioning file names', () => {
    expect(container.env).toContainEqual({ name: 'GF_DS_TEAM_LOKI_HTTP_HEADER_VALUE1', valueFrom: { secretKeyRef: { name: 'loki-tenant', key: 'org-id' } } });
    expect(container.env).toContainEqual({ name: 'GF_DS_TEMPO_BASIC_AUTH_PASSWORD', valueFrom: { secretKeyRef: { name: 'tempo-saas', key: 'token' } } });
    expect(JSON.stringify(result.objects)).not.toMatch(/tenant-1|s3cret/);
  });

  it('leaves one default: a declared default takes it from Prometheus', () => {
    expect(provisioning.datasources.filter((d: Json) => d.isDefault).map((d: Json) => d.uid)).toEqual(['tempo']);
    const plain = parse((find(synth(withDatasources([LOKI])).objects, 'ConfigMap', 'grafana-datasources') as Json).data['datasources.yaml']);
    expect(plain.datasources.filter((d: Json) => d.isDefault).map((d: Json) => d.uid)).toEqual(['prometheus']);
  });

  it("lets Grafana reach each URL's port only: an in-cluster namespace, an IP address, the declared blocks of an outside host", () => {
    const egress: Json[] = (find(result.objects, 'NetworkPolicy', 'grafana') as Json).spec.egress;
    expect(egress).toContainEqual({ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'logging' } } }], ports: [{ port: 3100, protocol: 'TCP' }] });
    expect(egress).toContainEqual({ to: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ port: 443, protocol: 'TCP' }] });
    expect(egress).toContainEqual({ to: [{ ipBlock: { cidr: '192.0.2.10/32' } }], ports: [{ port: 5432, protocol: 'TCP' }] });
    // The one rule open to every address is the Kubernetes API server's (the sidecars watch ConfigMaps), on its ports only.
    const open = egress.filter((r) => r.to.some((p: Json) => p.ipBlock?.cidr === '0.0.0.0/0'));
    expect(open).toEqual([{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 443, protocol: 'TCP' }, { port: 6443, protocol: 'TCP' }] }]);
  });

  it('reloads a changed declared datasource without rolling the pods; only a Secret it adds or drops changes Grafana\'s environment', () => {
    const template = (r: typeof result): string => JSON.stringify((find(r.objects, 'Deployment', 'grafana') as Json).spec.template);
    expect(template(synth(withDatasources([LOKI, TEMPO, { ...WAREHOUSE, url: 'http://192.0.2.11:5432' }])))).toBe(template(result));
    expect(template(synth(withDatasources([LOKI, TEMPO])))).toBe(template(result));
    expect(template(synth(withDatasources([LOKI, WAREHOUSE])))).not.toBe(template(result));
  });
});

describe('the uids and names the schema reserves', () => {
  it("are the stack's datasources (DATASOURCE_UIDS and the names it provisions)", () => {
    expect([...STACK_DATASOURCE_UIDS].sort()).toEqual(Object.values(DATASOURCE_UIDS).sort());
    const provisioning = parse((find(synth(environment()).objects, 'ConfigMap', 'grafana-datasources') as Json).data['datasources.yaml']);
    expect(provisioning.datasources.map((d: Json) => d.name).sort()).toEqual([...STACK_DATASOURCE_NAMES].sort());
  });
});
