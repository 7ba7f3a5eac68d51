import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEnvironments } from '../../src/cli/load-environments.js';
import type { KubernetesObject } from '../../src/cli/synthesize.js';
import { contentReferences, loadProjectContent, projectLayout, synth, withStackContent } from '../../src/project/index.js';
import { secretsToCreate } from '../../src/cli/secrets.js';
import { example } from '../constructs/helpers.js';
import { obstack } from './run-captured.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PROD = join(ROOT, 'examples', 'environments', 'prod.yaml');

interface Listed {
  environment: string;
  secrets: { name: string; namespace: string; type: string; readBy: string[]; command: string; keys: { key: string; holds: string; declaredAt: string[] }[] }[];
}

/** The prod objects, synthesized the way `obstack synth` does. */
async function prodObjects(): Promise<readonly KubernetesObject[]> {
  const own = await loadProjectContent(projectLayout(ROOT));
  const content = withStackContent(own);
  const envs = loadEnvironments([PROD], (e) => contentReferences(e, content));
  return synth({ environments: envs, content: own, tools: false }).environments[0]!.result.objects;
}

/** Every Secret name any object mentions: any `secretName`, the `name` under secretKeyRef/secretRef/secret, and imagePullSecrets. */
function mentionedSecrets(objects: readonly KubernetesObject[]): Set<string> {
  const names = new Set<string>();
  const walk = (node: unknown, parent: string): void => {
    if (Array.isArray(node)) {
      for (const item of node) {
        if (parent === 'imagePullSecrets' && typeof (item as { name?: unknown }).name === 'string') names.add((item as { name: string }).name);
        walk(item, parent);
      }
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    for (const [k, v] of Object.entries(node)) {
      if (k === 'secretName' && typeof v === 'string') names.add(v);
      if (k === 'name' && typeof v === 'string' && ['secretKeyRef', 'secretRef', 'secret'].includes(parent)) names.add(v);
      walk(v, k);
    }
  };
  for (const o of objects) walk(o, '');
  return names;
}

describe('obstack secrets', () => {
  it('names every Secret the prod objects read and none the stack generates, each key described and a kubectl line each', async () => {
    const objects = await prodObjects();
    const generated = new Set(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name));
    expect(generated.size).toBeGreaterThan(0);
    const expected = [...mentionedSecrets(objects)].filter((n) => !generated.has(n)).sort();
    expect(expected.length).toBeGreaterThanOrEqual(14);

    const r = await obstack(['secrets', '--file', PROD, '--project', ROOT, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const [listed] = JSON.parse(r.stdout) as Listed[];
    expect(listed!.environment).toBe('prod');
    const names = listed!.secrets.map((s) => s.name).sort();
    expect(names).toEqual(expected);
    for (const g of generated) expect(names).not.toContain(g);

    for (const s of listed!.secrets) {
      expect(s.namespace).toBe('obstack');
      expect(s.readBy.length, s.name).toBeGreaterThan(0);
      expect(s.keys.length, s.name).toBeGreaterThan(0);
      for (const k of s.keys) expect(k.holds, `${s.name}/${k.key}`).not.toMatch(/^$|no description/);
      expect(s.command).toContain(`kubectl create secret`);
      expect(s.command).toContain(` ${s.name} -n obstack`);
    }
    const byName = new Map(listed!.secrets.map((s) => [s.name, s]));
    // What a key holds is the schema's description of the field that names it.
    expect(byName.get('alertmanager-pagerduty')!.keys).toEqual([{ key: 'routing-key', holds: 'Events API v2 integration key', declaredAt: ['alerting.receivers.pagerduty.routingKey'] }]);
    expect(byName.get('alertmanager-pagerduty')!.command).toContain(`--from-literal=routing-key='<Events API v2 integration key>'`);
    expect(byName.get('ingest-postgres')!.readBy).toEqual(['grafana', 'ingest', 'ingest-postgres', 'postgres-exporter-ingest']);
    expect(byName.get('ingest-postgres')!.keys.map((k) => k.key)).toEqual(['monitor-password', 'password', 'reader-password', 'superuser-password']);
    expect(byName.get('grafana-admin')!.keys.map((k) => k.key)).toEqual(['admin-password', 'admin-user']);
    expect(byName.get('grafana-tls')).toMatchObject({ type: 'kubernetes.io/tls', readBy: ['grafana'] });
    expect(byName.get('grafana-tls')!.command).toBe('kubectl create secret tls grafana-tls -n obstack --cert=<path/to/tls.crt> --key=<path/to/tls.key>');
    expect(byName.get('elasticsearch-transport-tls')!.keys.map((k) => k.key)).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    // Keys named like files hold a file's content: the command reads the file rather than asking to type it.
    expect(byName.get('elasticsearch-transport-tls')!.command).toContain('--from-file=ca.crt=<path/to/ca.crt>');
    expect(byName.get('elasticsearch-transport-tls')!.command).not.toContain('--from-literal');
    expect(byName.get('elasticsearch-credentials')!.keys.map((k) => k.key)).toEqual(['elastic', 'grafana-reader', 'jaeger', 'kibana-system', 'logstash-writer', 'monitoring']);
  });

  it('prints each Secret with its keys, readers and command for people', async () => {
    const r = await obstack(['secrets', '--file', PROD, '--project', ROOT]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^prod: \d+ Secret\(s\) to create/);
    expect(r.stdout).toContain('obstack/alertmanager-slack, read by alertmanager\n  webhook-url  incoming-webhook URL  [alerting.receivers.slack.apiUrl]\n');
    expect(r.stdout).not.toContain('alertmanager-config');
    expect(r.stderr).not.toContain('kubectl');
  });

  it('reads envFrom, projected volumes and imagePullSecrets too, and leaves out Secrets the objects define', () => {
    const dev = example('dev');
    const labels = { 'app.kubernetes.io/name': 'app' };
    const pod = {
      imagePullSecrets: [{ name: 'registry' }],
      containers: [{ name: 'c', envFrom: [{ secretRef: { name: 'app-env' } }], env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'app-config', key: 'token' } } }] }],
      volumes: [
        { name: 'p', projected: { sources: [{ secret: { name: 'projected', items: [{ key: 'ca.pem', path: 'ca.pem' }] } }] } },
        { name: 'g', secret: { secretName: 'app-config' } },
      ],
    };
    const objects = [
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'app', namespace: 'team', labels }, spec: { template: { spec: pod } } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-config', namespace: 'team' } },
    ];
    const needs = secretsToCreate(dev, objects);
    expect(needs.map((n) => [n.namespace, n.name, n.type, n.keys.map((k) => k.key)])).toEqual([
      ['team', 'app-env', 'Opaque', []],
      ['team', 'projected', 'Opaque', ['ca.pem']],
      ['team', 'registry', 'kubernetes.io/dockerconfigjson', ['.dockerconfigjson']],
    ]);
    expect(needs.every((n) => n.readBy.join() === 'app')).toBe(true);
    expect(needs.find((n) => n.name === 'registry')!.command).toBe(
      'kubectl create secret docker-registry registry -n team --docker-server=<registry> --docker-username=<user> --docker-password=<password>',
    );
    expect(needs.find((n) => n.name === 'projected')!.keys[0]!.holds).toBe('(no description: read by app)');
  });
});
