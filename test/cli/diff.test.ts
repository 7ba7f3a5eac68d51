import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { diffEnvironment, diffValues } from '../../src/cli/diff.js';
import { obstack } from './run-captured.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DEV = join(ROOT, 'examples', 'environments', 'dev.yaml');

interface JsonDiff {
  environment: string;
  objects: { id: string; status: string; fields: { path: string; before?: unknown; after?: unknown }[] }[];
  files: { file: string; status: string; fields?: { path: string; before?: unknown; after?: unknown }[] }[];
}

describe('diffEnvironment (pure, over two logical file maps)', () => {
  const manifest = (replicas: number, env: string[]) =>
    stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'a', namespace: 'ns' }, spec: { replicas, template: { spec: { containers: [{ name: 'c', env: env.map((n) => ({ name: n, value: n })) }] } } } });

  it('tells objects apart by apiVersion, kind, namespace and name, whichever file holds them', () => {
    const before = new Map([['a.k8s.yaml', manifest(1, ['X'])]]);
    const moved = new Map([['b.k8s.yaml', manifest(1, ['X'])]]);
    expect(diffEnvironment(before, moved)).toEqual({ objects: [], files: [] });
    const after = new Map([['a.k8s.yaml', `${manifest(2, ['Y', 'X'])}---\n${stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'new', namespace: 'ns' } })}`]]);
    const d = diffEnvironment(before, after);
    expect(d.objects).toEqual([
      { id: 'apps/v1 Deployment ns/a', status: 'changed', fields: [
        { path: 'spec.replicas', before: 1, after: 2 },
        { path: 'spec.template.spec.containers[name=c].env[name=Y]', after: { name: 'Y', value: 'Y' } },
      ] },
      { id: 'v1 ConfigMap ns/new', status: 'added', fields: [] },
    ]);
    expect(diffEnvironment(after, before).objects.map((o) => o.status)).toEqual(['changed', 'removed']);
  });

  it('gives the changed paths of YAML and JSON files, and reports other text as changed', () => {
    const d = diffEnvironment(
      new Map([['prometheus.yml', 'global:\n  scrape_interval: 15s\n'], ['dashboards/x.json', '{"a":{"b/c":1}}'], ['notes.txt', 'a'], ['gone.yml', 'x: 1']]),
      new Map([['prometheus.yml', 'global:\n  scrape_interval: 30s\n'], ['dashboards/x.json', '{"a":{"b/c":2}}'], ['notes.txt', 'b'], ['rules/new.yaml', 'groups: []']]),
    );
    expect(d.objects).toEqual([]);
    expect(d.files).toEqual([
      { file: 'dashboards/x.json', status: 'changed', fields: [{ path: 'a["b/c"]', before: 1, after: 2 }] },
      { file: 'gone.yml', status: 'removed' },
      { file: 'notes.txt', status: 'changed' },
      { file: 'prometheus.yml', status: 'changed', fields: [{ path: 'global.scrape_interval', before: '15s', after: '30s' }] },
      { file: 'rules/new.yaml', status: 'added' },
    ]);
    expect(diffValues([1, 2], [1, 3])).toEqual([{ path: '[1]', before: 2, after: 3 }]);
  });
});

describe('obstack diff against a written dist', () => {
  let dir: string;
  let dist: string;
  let file: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'obstack-diff-'));
    dist = join(dir, 'dist');
    file = join(dir, 'dev.yaml');
    writeFileSync(file, readFileSync(DEV, 'utf8'));
    const r = await obstack(['synth', '--file', file, '--project', ROOT, '--out', dist]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('unchanged: exit 0 and "no changes"', async () => {
    const r = await obstack(['diff', '--file', file, '--project', ROOT, '--against', dist], { terminal: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`dev: no changes against ${dist}\n`);
    expect(r.stderr).toBe('synthesizing dev…\n');
  });

  it('one changed field of the environment file: exactly that field of that object, exit 1', async () => {
    const env = parse(readFileSync(DEV, 'utf8')) as { components: { prometheus: { retention: { time: string } } } };
    env.components.prometheus.retention.time = '5d';
    const changed = join(dir, 'changed', 'dev.yaml');
    mkdirSync(join(dir, 'changed'), { recursive: true });
    writeFileSync(changed, stringify(env));
    const r = await obstack(['diff', '--file', changed, '--project', ROOT, '--against', dist, '--json']);
    expect(r.code, r.stderr).toBe(1);
    const [d] = JSON.parse(r.stdout) as JsonDiff[];
    expect(d!.files).toEqual([]);
    expect(d!.objects).toEqual([
      {
        id: 'apps/v1 StatefulSet obstack-dev/prometheus',
        status: 'changed',
        fields: [{ path: 'spec.template.spec.containers[name=prometheus].args[2]', before: '--storage.tsdb.retention.time=2d', after: '--storage.tsdb.retention.time=5d' }],
      },
    ]);
    const text = await obstack(['diff', '--file', changed, '--project', ROOT, '--against', dist]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('  ~ apps/v1 StatefulSet obstack-dev/prometheus\n      spec.template.spec.containers[name=prometheus].args[2]: --storage.tsdb.retention.time=2d → --storage.tsdb.retention.time=5d\n');
  });

  it('a changed raw file: prometheus.yml with its changed path, and the checksum that rolls the pods', async () => {
    const env = parse(readFileSync(DEV, 'utf8')) as { components: { prometheus: Record<string, unknown> } };
    env.components.prometheus.scrapeInterval = '45s';
    const changed = join(dir, 'scrape', 'dev.yaml');
    mkdirSync(join(dir, 'scrape'), { recursive: true });
    writeFileSync(changed, stringify(env));
    const r = await obstack(['diff', '--file', changed, '--project', ROOT, '--against', dist, '--json']);
    expect(r.code, r.stderr).toBe(1);
    const [d] = JSON.parse(r.stdout) as JsonDiff[];
    const prom = d!.files.find((f) => f.file === 'prometheus.yml');
    expect(prom?.status).toBe('changed');
    expect(prom?.fields).toContainEqual({ path: 'global.scrape_interval', before: '30s', after: '45s' });
  });

  it('a missing dist: exit 2 with the path and what to do, nothing written', async () => {
    const missing = join(dir, 'nowhere');
    const r = await obstack(['diff', '--file', file, '--project', ROOT, '--against', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${missing}: no such folder`);
    expect(r.stderr).toContain('obstack synth');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(missing)).toBe(false);
  });

  it('an environment never written there, a wrong option or a wrong file: exit 2', async () => {
    const other = join(dir, 'other');
    mkdirSync(other, { recursive: true });
    expect((await obstack(['diff', '--file', file, '--project', ROOT, '--against', other])).code).toBe(2);
    expect((await obstack(['diff', '--nope'])).code).toBe(2);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'name: broken\ncomponents: { prometheus: { replicas: zero } }\n');
    const r = await obstack(['diff', '--file', broken, '--project', ROOT, '--against', dist]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('replicas');
  });
});
