import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { obstack } from './run-captured.js';
import type { Json } from '../constructs/helpers.js';
import { snapshotTree } from '../support/tree.js';

const NAMESPACE = 'obstack-patches';

/** Writes `<name>.yaml`: a small environment plus the given patches. */
function environmentFile(dir: string, name: string, patches: unknown[]): string {
  const file = join(dir, `${name}.yaml`);
  const env = {
    name,
    namespace: NAMESPACE,
    alerting: {
      receivers: {
        pagerduty: { routingKey: { secretName: 'alertmanager-pagerduty', key: 'routing-key' } },
        slack: { channel: '#alerts', apiUrl: { secretName: 'alertmanager-slack', key: 'webhook-url' } },
      },
    },
    patches,
  };
  writeFileSync(file, stringify(env));
  return file;
}

/** Runs the command with stdout and stderr captured; `run` may return a number or a promise of one. */
function objectIn(file: string, kind: string, name: string): Json {
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Json);
  const obj = docs.find((d) => d.kind === kind && d.metadata.name === name);
  if (!obj) throw new Error(`no ${kind}/${name} in ${file}`);
  return obj;
}

const TOLERATION = { key: 'dedicated', operator: 'Equal', value: 'monitoring', effect: 'NoSchedule' };

describe('obstack synth with patches', () => {
  let work: string;
  let dist: string;
  let before: Record<string, string>;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'obstack-patches-'));
    dist = join(work, 'dist');
    const file = environmentFile(work, 'patched', [
      {
        target: { kind: 'DaemonSet', name: 'node-exporter', namespace: NAMESPACE },
        jsonPatch: [
          { op: 'test', path: '/spec/template/spec/tolerations/0/operator', value: 'Exists' },
          { op: 'add', path: '/spec/template/spec/tolerations/-', value: TOLERATION },
        ],
      },
      {
        target: { kind: 'Deployment', name: 'grafana' },
        merge: { metadata: { annotations: { 'example.com/owner': 'team-observability' } } },
      },
    ]);
    const result = await obstack(['synth', '--file', file, '--out', dist]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    before = snapshotTree(dist);
  }, 60_000);

  it('writes a toleration added to node-exporter and an annotation added to Grafana, and nothing else changes', () => {
    const nodeExporter = objectIn(join(dist, 'patched', 'node-exporter.k8s.yaml'), 'DaemonSet', 'node-exporter');
    expect(nodeExporter.spec.template.spec.tolerations).toEqual([{ operator: 'Exists' }, TOLERATION]);
    expect(nodeExporter.spec.template.spec.containers[0].name).toBe('node-exporter');
    const grafana = objectIn(join(dist, 'patched', 'grafana.k8s.yaml'), 'Deployment', 'grafana');
    expect(grafana.metadata.annotations).toEqual({ 'example.com/owner': 'team-observability', 'argocd.argoproj.io/sync-wave': '3' });
    expect(grafana.metadata.labels['app.kubernetes.io/name']).toBe('grafana');
    expect(grafana.spec.template.metadata.annotations).toBeUndefined();
  });

  it('refuses a patch that makes Grafana run as root, with the security-policy finding, and leaves dist/ as it was', async () => {
    const file = environmentFile(work, 'root-user', [
      {
        target: { kind: 'Deployment', name: 'grafana' },
        merge: { spec: { template: { spec: { containers: [{ name: 'grafana', securityContext: { runAsUser: 0 } }] } } } },
      },
    ]);
    const result = await obstack(['synth', '--file', file, '--out', dist]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `[numeric-user] Deployment/${NAMESPACE}/grafana spec.template.spec.containers[0].securityContext.runAsUser: container "grafana" runs as uid 0 (root)`,
    );
    expect(result.stderr).toContain('synth refused: nothing was written');
    expect(result.stdout).toBe('');
    expect(snapshotTree(dist)).toEqual(before);
  }, 60_000);

  it('refuses a patch that writes a field Kubernetes does not know, with the schema finding', async () => {
    const file = environmentFile(work, 'unknown-field', [
      { target: { kind: 'Deployment', name: 'grafana' }, jsonPatch: [{ op: 'add', path: '/spec/template/spec/containers/0/livenessProbee', value: { periodSeconds: 5 } }] },
    ]);
    const result = await obstack(['synth', '--file', file, '--out', dist]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`[unknown-field] Deployment/${NAMESPACE}/grafana spec.template.spec.containers[0].livenessProbee: unknown field "livenessProbee"`);
    expect(snapshotTree(dist)).toEqual(before);
  }, 60_000);

  it('refuses a patch whose target names nothing, naming the patch and the closest object, without a stack trace', async () => {
    const file = environmentFile(work, 'no-target', [
      { target: { kind: 'Deployment', name: 'grafana' }, merge: { metadata: { labels: { team: 'a' } } } },
      { target: { kind: 'DaemonSet', name: 'node-exportr' }, merge: { spec: { template: { spec: { nodeSelector: { pool: 'monitoring' } } } } } },
    ]);
    const result = await obstack(['synth', '--file', file, '--out', dist]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'no-target is not a valid environment (1 problem):\n' +
        '  patches[1].target: matches no generated object DaemonSet/node-exportr; the closest that exists is DaemonSet/node-exporter\n',
    );
    expect(snapshotTree(dist)).toEqual(before);
  }, 60_000);

  it('refuses a patch on the content of a ConfigMap the stack also writes and checks as a file', async () => {
    const file = environmentFile(work, 'config-content', [
      { target: { kind: 'ConfigMap', name: 'prometheus-config' }, jsonPatch: [{ op: 'replace', path: '/data/prometheus.yml', value: 'global: {}\n' }] },
    ]);
    const result = await obstack(['synth', '--file', file, '--out', dist]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ {2}patches\[0\]\.jsonPatch: may not change the content \(data\) of a ConfigMap/m);
    expect(snapshotTree(dist)).toEqual(before);
  }, 60_000);
});
