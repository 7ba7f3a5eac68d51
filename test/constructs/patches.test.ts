import { describe, expect, it } from 'vitest';
import { ConfigError, ObjectPatches, parseEnvironment, type ConfigIssue } from '../../src/config/index.js';
import { applyPatches, type PatchableObject } from '../../src/constructs/common/patches.js';
import { RECEIVERS_INPUT, type Json } from './helpers.js';

/** A Kubernetes object as the tests write it: any fields besides the ones a target reads. */
type Obj = PatchableObject & { readonly metadata: Json } & Record<string, Json>;

/** The issues of the ConfigError `fn` throws. */
function issuesOf(fn: () => unknown): readonly ConfigIssue[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

/** Applies RFC 6902 operations, parsed by the environment schema, to a document wrapped as a Kubernetes object. */
function jsonPatch(doc: Record<string, Json>, ops: unknown[]): Record<string, Json> {
  const obj: Obj = { apiVersion: 'example/v1', kind: 'Example', metadata: { name: 'doc' }, ...doc };
  const patches = ObjectPatches.parse([{ target: { kind: 'Example', name: 'doc' }, jsonPatch: ops }]);
  const [out] = applyPatches([obj], patches);
  const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = out as Obj;
  return rest;
}

describe('JSON Patch: the examples of RFC 6902, appendix A', () => {
  it('A.1 adds an object member', () => {
    expect(jsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }])).toEqual({ baz: 'qux', foo: 'bar' });
  });
  it('A.2 adds an array element', () => {
    expect(jsonPatch({ foo: ['bar', 'baz'] }, [{ op: 'add', path: '/foo/1', value: 'qux' }])).toEqual({ foo: ['bar', 'qux', 'baz'] });
  });
  it('A.3 removes an object member', () => {
    expect(jsonPatch({ baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }])).toEqual({ foo: 'bar' });
  });
  it('A.4 removes an array element', () => {
    expect(jsonPatch({ foo: ['bar', 'qux', 'baz'] }, [{ op: 'remove', path: '/foo/1' }])).toEqual({ foo: ['bar', 'baz'] });
  });
  it('A.5 replaces a value', () => {
    expect(jsonPatch({ baz: 'qux', foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 'boo' }])).toEqual({ baz: 'boo', foo: 'bar' });
  });
  it('A.6 moves a value', () => {
    const doc = { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } };
    expect(jsonPatch(doc, [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }])).toEqual({
      foo: { bar: 'baz' },
      qux: { corge: 'grault', thud: 'fred' },
    });
  });
  it('A.7 moves an array element', () => {
    expect(jsonPatch({ foo: ['all', 'grass', 'cows', 'eat'] }, [{ op: 'move', from: '/foo/1', path: '/foo/3' }])).toEqual({
      foo: ['all', 'cows', 'eat', 'grass'],
    });
  });
  it('A.8 tests values that are there', () => {
    const doc = { baz: 'qux', foo: ['a', 2, 'c'] };
    expect(jsonPatch(doc, [{ op: 'test', path: '/baz', value: 'qux' }, { op: 'test', path: '/foo/1', value: 2 }])).toEqual(doc);
  });
  it('A.9 fails a test, naming the operation', () => {
    const issues = issuesOf(() => jsonPatch({ baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'bar' }]));
    expect(issues).toEqual([{ path: 'patches[0].jsonPatch[0]', message: 'test "/baz": test failed: the value is "qux", expected "bar"' }]);
  });
  it('A.10 adds a nested member object', () => {
    expect(jsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/child', value: { grandchild: {} } }])).toEqual({ foo: 'bar', child: { grandchild: {} } });
  });
  it('A.11 ignores members an operation does not define', () => {
    expect(jsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux', xyz: 123 }])).toEqual({ foo: 'bar', baz: 'qux' });
  });
  it('A.12 refuses to add to a target that does not exist', () => {
    const issues = issuesOf(() => jsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/baz/bat', value: 'qux' }]));
    expect(issues).toEqual([{ path: 'patches[0].jsonPatch[0]', message: 'add "/baz/bat": /baz does not exist' }]);
  });
  it('A.13 (an invalid patch document) is refused by the schema, with the field', () => {
    const parsed = ObjectPatches.safeParse([{ target: { kind: 'Example', name: 'doc' }, jsonPatch: [{ op: 'add', path: '/baz' }] }]);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['0.jsonPatch.0.value']);
  });
  it('A.14 reads "~01" as "~1", not "/"', () => {
    const doc = { '/': 9, '~1': 10 };
    expect(jsonPatch(doc, [{ op: 'test', path: '/~01', value: 10 }])).toEqual(doc);
  });
  it('A.15 tells a string from a number', () => {
    const issues = issuesOf(() => jsonPatch({ '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: '10' }]));
    expect(issues[0]?.message).toBe('test "/~01": test failed: the value is 10, expected "10"');
  });
  it('A.16 appends an array value as one element with "-"', () => {
    expect(jsonPatch({ foo: ['bar'] }, [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }])).toEqual({ foo: ['bar', ['abc', 'def']] });
  });
});

describe('JSON Patch: more of the RFC', () => {
  it('copies a value, and "~1" addresses a key holding "/"', () => {
    const doc = { metadata2: { annotations: { 'example.com/a': 'x' } } };
    expect(jsonPatch(doc, [{ op: 'copy', from: '/metadata2/annotations/example.com~1a', path: '/metadata2/annotations/example.com~1b' }])).toEqual({
      metadata2: { annotations: { 'example.com/a': 'x', 'example.com/b': 'x' } },
    });
  });
  it('refuses to remove or replace what is not there, a bad index, and a move into its own child', () => {
    expect(issuesOf(() => jsonPatch({ a: 1 }, [{ op: 'remove', path: '/b' }]))[0]?.message).toBe('remove "/b": /b does not exist');
    expect(issuesOf(() => jsonPatch({ a: 1 }, [{ op: 'replace', path: '/b', value: 2 }]))[0]?.message).toBe('replace "/b": /b does not exist');
    expect(issuesOf(() => jsonPatch({ a: [1] }, [{ op: 'add', path: '/a/2', value: 2 }]))[0]?.message).toBe(
      'add "/a/2": index 2 is past the end of the list at /a (1 element)',
    );
    expect(issuesOf(() => jsonPatch({ a: [1] }, [{ op: 'remove', path: '/a/01' }]))[0]?.message).toMatch(/"01" is not an index of the list at \/a/);
    expect(issuesOf(() => jsonPatch({ a: { b: 1 } }, [{ op: 'move', from: '/a', path: '/a/c' }]))[0]?.message).toBe('move "/a/c": cannot move /a into its own child /a/c');
  });
  it('names the failing operation of a later patch, and every failing patch', () => {
    const obj: Obj = { apiVersion: 'v1', kind: 'Example', metadata: { name: 'doc' }, a: 1 };
    const patches = ObjectPatches.parse([
      { target: { kind: 'Example', name: 'doc' }, jsonPatch: [{ op: 'replace', path: '/a', value: 2 }] },
      { target: { kind: 'Example', name: 'doc' }, jsonPatch: [{ op: 'test', path: '/a', value: 2 }, { op: 'remove', path: '/zzz' }] },
      { target: { kind: 'Example', name: 'doc' }, jsonPatch: [{ op: 'test', path: '/a', value: 1 }] },
    ]);
    expect(issuesOf(() => applyPatches([obj], patches, { source: 'dev' })).map((i) => i.path)).toEqual(['patches[1].jsonPatch[1]', 'patches[2].jsonPatch[0]']);
  });
  it('refuses malformed operations in the environment file, naming each field', () => {
    const base = { name: 'test', namespace: 'obs-test', alerting: { receivers: RECEIVERS_INPUT } };
    const target = { kind: 'DaemonSet', name: 'node-exporter' };
    const issues = issuesOf(() =>
      parseEnvironment({
        ...base,
        patches: [
          { target, jsonPatch: [{ op: 'move', path: '/spec/x' }, { op: 'add', path: 'spec/x', value: 1 }, { op: 'upsert', path: '/x' }] },
          { target, merge: { spec: {} }, jsonPatch: [{ op: 'remove', path: '/spec' }] },
          { target },
          { target: { kind: 'DaemonSet' }, merge: {} },
        ],
      }),
    );
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath['patches[0].jsonPatch[0].from']).toMatch(/is required for "move"/);
    expect(byPath['patches[0].jsonPatch[1].path']).toMatch(/must be a JSON Pointer/);
    expect(byPath['patches[0].jsonPatch[2].op']).toMatch(/add/);
    expect(byPath['patches[1]']).toMatch(/has both jsonPatch and merge/);
    expect(byPath['patches[2]']).toBe('needs jsonPatch or merge');
    expect(byPath['patches[3].target.name']).toBeDefined();
  });
});

function deployment(): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'grafana', namespace: 'obs', labels: { app: 'grafana' } },
    spec: {
      replicas: 1,
      template: {
        metadata: { labels: { app: 'grafana' } },
        spec: {
          nodeSelector: { 'kubernetes.io/os': 'linux', disk: 'ssd' },
          tolerations: [{ key: 'a', operator: 'Exists' }],
          securityContext: { runAsNonRoot: true, runAsUser: 472 },
          containers: [
            {
              name: 'grafana',
              image: 'grafana/grafana:11.0.0',
              args: ['--a', '--b'],
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
              ports: [{ name: 'http', containerPort: 3000 }],
              volumeMounts: [
                { name: 'tmp', mountPath: '/tmp' },
                { name: 'data', mountPath: '/var/lib/grafana' },
              ],
              resources: { requests: { cpu: '100m' }, limits: { cpu: '500m' } },
            },
            { name: 'sidecar', image: 'busybox:1.36', env: [{ name: 'A', value: 'sidecar' }] },
          ],
          volumes: [
            { name: 'tmp', emptyDir: {} },
            { name: 'data', emptyDir: {} },
          ],
        },
      },
    },
  };
}

function merge(obj: Obj, patch: Record<string, Json>): Json {
  const [out] = applyPatches([obj], ObjectPatches.parse([{ target: { kind: obj.kind, name: obj.metadata.name }, merge: patch }]));
  return out;
}

const podSpec = (patch: Record<string, Json>) => ({ spec: { template: { spec: patch } } });

describe('strategic merge', () => {
  it("merges a container's env by name: changes one, keeps the others, appends the new, leaves the other container alone", () => {
    const out = merge(deployment(), podSpec({ containers: [{ name: 'grafana', env: [{ name: 'B', value: 'changed' }, { name: 'C', value: '3' }] }] }));
    const [grafana, sidecar] = out.spec.template.spec.containers;
    expect(grafana.env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: 'changed' },
      { name: 'C', value: '3' },
    ]);
    expect(grafana.image).toBe('grafana/grafana:11.0.0');
    expect(grafana.args).toEqual(['--a', '--b']);
    expect(sidecar).toEqual(deployment().spec.template.spec.containers[1]);
  });

  it('merges volumeMounts by mountPath, ports by containerPort and volumes by name', () => {
    const out = merge(
      deployment(),
      podSpec({
        containers: [{ name: 'grafana', volumeMounts: [{ mountPath: '/tmp', readOnly: false }], ports: [{ containerPort: 3000, protocol: 'TCP' }] }],
        volumes: [{ name: 'data', emptyDir: { sizeLimit: '1Gi' } }],
      }),
    );
    const spec = out.spec.template.spec;
    expect(spec.containers[0].volumeMounts).toEqual([
      { name: 'tmp', mountPath: '/tmp', readOnly: false },
      { name: 'data', mountPath: '/var/lib/grafana' },
    ]);
    expect(spec.containers[0].ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
    expect(spec.volumes).toEqual([
      { name: 'tmp', emptyDir: {} },
      { name: 'data', emptyDir: { sizeLimit: '1Gi' } },
    ]);
  });

  it('deletes a key with null and a map with $patch: delete', () => {
    const out = merge(deployment(), podSpec({ nodeSelector: { disk: null }, securityContext: { $patch: 'delete' }, containers: [{ name: 'grafana', resources: { limits: null } }] }));
    const spec = out.spec.template.spec;
    expect(spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(spec).not.toHaveProperty('securityContext');
    expect(spec.containers[0].resources).toEqual({ requests: { cpu: '100m' } });
  });

  it('deletes a list element by its merge key with $patch: delete', () => {
    const out = merge(
      deployment(),
      podSpec({
        containers: [{ name: 'sidecar', $patch: 'delete' }, { name: 'grafana', env: [{ name: 'A', $patch: 'delete' }], volumeMounts: [{ mountPath: '/var/lib/grafana', $patch: 'delete' }] }],
        volumes: [{ name: 'data', $patch: 'delete' }],
      }),
    );
    const spec = out.spec.template.spec;
    expect(spec.containers.map((c: Json) => c.name)).toEqual(['grafana']);
    expect(spec.containers[0].env).toEqual([{ name: 'B', value: '2' }]);
    expect(spec.containers[0].volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(spec.volumes).toEqual([{ name: 'tmp', emptyDir: {} }]);
  });

  it('replaces lists without a merge key (tolerations, args) and maps or lists marked $patch: replace', () => {
    const out = merge(
      deployment(),
      podSpec({
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'monitoring', effect: 'NoSchedule' }],
        containers: [{ name: 'grafana', args: ['--c'], resources: { $patch: 'replace', limits: { memory: '1Gi' } }, env: [{ $patch: 'replace' }, { name: 'Z', value: 'z' }] }],
      }),
    );
    const grafana = out.spec.template.spec.containers[0];
    expect(out.spec.template.spec.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'monitoring', effect: 'NoSchedule' }]);
    expect(grafana.args).toEqual(['--c']);
    expect(grafana.resources).toEqual({ limits: { memory: '1Gi' } });
    expect(grafana.env).toEqual([{ name: 'Z', value: 'z' }]);
  });

  it('adds what is not there yet, and merges a Service\'s ports by port', () => {
    const out = merge(deployment(), { metadata: { annotations: { 'example.com/owner': 'team-a' } }, spec: { template: { spec: { priorityClassName: 'high' } } } });
    expect(out.metadata).toEqual({ name: 'grafana', namespace: 'obs', labels: { app: 'grafana' }, annotations: { 'example.com/owner': 'team-a' } });
    expect(out.spec.template.spec.priorityClassName).toBe('high');
    const service: Obj = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'grafana' }, spec: { ports: [{ name: 'http', port: 3000 }, { name: 'x', port: 9 }] } };
    expect(merge(service, { spec: { ports: [{ port: 3000, nodePort: 30000 }] } }).spec.ports).toEqual([{ name: 'http', port: 3000, nodePort: 30000 }, { name: 'x', port: 9 }]);
  });

  it('refuses an element without its merge key and a directive it does not support, naming the field', () => {
    const issues = issuesOf(() =>
      applyPatches(
        [deployment()],
        ObjectPatches.parse([
          { target: { kind: 'Deployment', name: 'grafana' }, merge: podSpec({ containers: [{ image: 'x:1' }] }) },
          { target: { kind: 'Deployment', name: 'grafana' }, merge: podSpec({ $retainKeys: ['containers'] }) },
        ]),
      ),
    );
    expect(issues).toEqual([
      { path: 'patches[0].merge.spec.template.spec.containers[0]', message: expect.stringMatching(/^needs "name", the merge key of containers/) },
      { path: 'patches[1].merge.spec.template.spec.$retainKeys', message: expect.stringMatching(/does not support/) },
    ]);
  });

  it('leaves its input as it was', () => {
    const input = [deployment()];
    const before = JSON.stringify(input);
    const out = applyPatches(
      input,
      ObjectPatches.parse([
        { target: { kind: 'Deployment', name: 'grafana' }, merge: podSpec({ containers: [{ name: 'grafana', env: [{ name: 'A', value: 'x' }] }] }) },
        { target: { kind: 'Deployment', name: 'grafana' }, jsonPatch: [{ op: 'add', path: '/spec/template/spec/tolerations/-', value: { operator: 'Exists' } }] },
      ]),
    );
    expect(JSON.stringify(input)).toBe(before);
    expect((out[0] as Json).spec.template.spec.tolerations).toHaveLength(2);
  });
});

describe('targets and what a patch may not change', () => {
  const objects: Obj[] = [
    deployment(),
    { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'node-exporter', namespace: 'obs' }, spec: {} },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'prometheus-config', namespace: 'obs' }, data: { 'prometheus.yml': 'global: {}\n' } },
  ];
  const apply = (patches: unknown[]) => applyPatches(objects, ObjectPatches.parse(patches), { source: 'dev' });

  it('refuses a target that names nothing, suggesting the closest kind/name that exists', () => {
    const issues = issuesOf(() =>
      apply([
        { target: { kind: 'DaemonSet', name: 'node-exportr' }, merge: {} },
        { target: { kind: 'Deploymnet', name: 'grafana' }, merge: {} },
        { target: { kind: 'DaemonSet', name: 'node-exporter', namespace: 'other' }, merge: {} },
        { target: { kind: 'Deployment', name: 'kibana' }, merge: {} },
        { target: { kind: 'CronJob', name: 'grafana' }, merge: {} },
      ]),
    );
    expect(issues).toEqual([
      { path: 'patches[0].target', message: 'matches no generated object DaemonSet/node-exportr; the closest that exists is DaemonSet/node-exporter' },
      { path: 'patches[1].target', message: 'matches no generated object Deploymnet/grafana; the closest that exists is Deployment/grafana' },
      { path: 'patches[2].target', message: 'matches no generated object: DaemonSet/obs/node-exporter (apps/v1) exists, but not with namespace "other"' },
      { path: 'patches[3].target', message: 'matches no generated object Deployment/kibana; the Deployment objects are grafana' },
      { path: 'patches[4].target', message: 'matches no generated object CronJob/grafana: no object is of kind CronJob; the kinds are ConfigMap, DaemonSet, Deployment' },
    ]);
  });

  it('says which environment, as a ConfigError block', () => {
    try {
      apply([{ target: { kind: 'DaemonSet', name: 'nope' }, merge: {} }]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).message).toMatch(/^dev is not a valid environment \(1 problem\):\n {2}patches\[0\]\.target: matches no generated object/);
    }
  });

  it('refuses renaming an object and changing what a ConfigMap holds, but lets its metadata change', () => {
    const issues = issuesOf(() =>
      apply([
        { target: { kind: 'DaemonSet', name: 'node-exporter' }, jsonPatch: [{ op: 'replace', path: '/metadata/name', value: 'ne' }] },
        { target: { kind: 'ConfigMap', name: 'prometheus-config' }, merge: { data: { 'prometheus.yml': 'global: { scrape_interval: 1s }\n' } } },
      ]),
    );
    expect(issues.map((i) => i.path)).toEqual(['patches[0].jsonPatch', 'patches[1].merge']);
    expect(issues[0]?.message).toMatch(/^may not change metadata.name \("node-exporter" to "ne"\)/);
    expect(issues[1]?.message).toMatch(/^may not change the content \(data\) of a ConfigMap: .*promtool/);
    const [, , cm] = apply([{ target: { kind: 'ConfigMap', name: 'prometheus-config' }, merge: { metadata: { annotations: { a: 'b' } } } }]);
    expect((cm as Json).metadata.annotations).toEqual({ a: 'b' });
    expect((cm as Json).data).toEqual({ 'prometheus.yml': 'global: {}\n' });
  });
});
