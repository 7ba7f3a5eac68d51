import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { Application } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { type Environment, GitOpsConfig, loadEnvironmentFile, parseEnvironment } from '../../src/config/index.js';
import { SYNC_WAVE_ANNOTATION } from '../../src/constructs/common/sync-waves.js';
import type { KubernetesObject } from '../../src/cli/synthesize.js';
import { OutputError, readWrittenEnvironment, writeEnvironments } from '../../src/cli/write.js';
import { synth } from '../../src/project/synth.js';
import { kubectl } from './kubectl.js';

// biome-ignore lint: parsed YAML read field by field
type Json = any;

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLES = ['dev', 'staging', 'prod'] as const;
const REPO = 'https://github.com/acme/observability.git';

const example = (name: string, file = join(ROOT, 'examples', 'environments', `${name}.yaml`)): Environment => loadEnvironmentFile(file);
/** A scaffold environment as `obstack init shop` writes it. */
function scaffoldEnvironment(name: string): Environment {
  const dir = mkdtempSync(join(tmpdir(), 'obstack-scaffold-env-'));
  try {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, readFileSync(join(ROOT, 'scaffold', 'environments', `${name}.yaml`), 'utf8').replaceAll('__NAME__', 'shop'));
    return loadEnvironmentFile(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const withArgo = (env: Environment, argocd: Record<string, unknown> = {}): Environment => ({
  ...env,
  gitops: GitOpsConfig.parse({ argocd: { enabled: true, repoURL: REPO, ...argocd } }),
});
const id = (o: { kind: string; metadata: { name: string; namespace?: string } }): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** The files `kubectl apply -f <dir>` reads (with `recursive`, `-R`): kubectl's extension rule. */
function filesKubectlReads(dir: string, recursive: boolean): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return recursive ? filesKubectlReads(path, true) : [];
    return ['.yaml', '.yml', '.json'].includes(extname(name)) ? [path] : [];
  });
}

function objectsOf(text: string, what: string): KubernetesObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => o !== null)
    .map((o) => {
      expect(typeof o.apiVersion, `${what}: apiVersion`).toBe('string');
      expect(typeof o.kind, `${what}: kind`).toBe('string');
      expect(typeof o.metadata?.name, `${what}: metadata.name`).toBe('string');
      return o;
    });
}

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'obstack-gitops-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('dist/<env>/ as kubectl, kustomize and Argo CD read it', () => {
  const projects = [
    { name: 'examples', envs: EXAMPLES.map((n) => withArgo(example(n))) },
    { name: 'scaffold', envs: ['dev', 'prod'].map(scaffoldEnvironment) },
  ];

  for (const project of projects) {
    it(`holds only Kubernetes objects and a Kustomization that lists exactly them (${project.name})`, { timeout: 120_000 }, () => {
      const out = join(scratch, project.name, 'dist');
      const report = synth({ environments: project.envs, out });
      expect(report.environments.flatMap((e) => e.findings)).toEqual([]);
      for (const { result } of report.environments) {
        const env = result.environment.name;
        const dir = join(out, env);
        const expected = result.objects.map(id).sort();
        expect(readdirSync(dir).filter((f) => !f.endsWith('.k8s.yaml'))).toEqual(['Kustomization']);

        // What kubectl apply -f and -R -f would read: only Kubernetes objects, the same ones.
        for (const recursive of [false, true]) {
          const read = filesKubectlReads(dir, recursive).flatMap((f) => objectsOf(readFileSync(f, 'utf8'), f));
          expect(read.map(id).sort()).toEqual(expected);
          const local = kubectl(['label', '--local', ...(recursive ? ['-R'] : []), '-f', `${dir}/`, 'obstack.test/read=yes', '-o', 'name']);
          expect(local.stderr).toBe('');
          expect(local.status).toBe(0);
          expect(local.stdout.trim().split('\n')).toHaveLength(expected.length);
        }

        const kustomized = kubectl(['kustomize', dir]);
        expect(kustomized.stderr).toBe('');
        expect(kustomized.status).toBe(0);
        expect(objectsOf(kustomized.stdout, `kubectl kustomize ${env}`).map(id).sort()).toEqual(expected);
        const kustomization = parse(readFileSync(join(dir, 'Kustomization'), 'utf8')) as Record<string, unknown>;
        expect(Object.keys(kustomization).sort()).toEqual(['apiVersion', 'kind', 'resources']);

        // The raw files are beside it, and everything reads back as it was synthesized.
        expect(existsSync(join(out, `${env}.files`, 'prometheus.yml'))).toBe(true);
        expect(readdirSync(join(out, `${env}.files`, 'rules')).length).toBeGreaterThan(0);
        expect(readWrittenEnvironment(out, env)).toEqual(new Map(result.files));
      }
    });
  }

  it('is what fails with the old layout, so the check above has teeth', () => {
    const dir = join(scratch, 'old-layout');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.k8s.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n');
    writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 30s\n');
    const res = kubectl(['label', '--local', '-f', `${dir}/`, 'x=y', '-o', 'name']);
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain("Object 'Kind' is missing");
  });
});

describe('Argo CD objects', () => {
  const envs = EXAMPLES.map((n) => withArgo(example(n)));
  let out: string;
  beforeAll(() => {
    out = join(scratch, 'argo', 'dist');
    const report = synth({ environments: envs, out });
    expect(report.ok).toBe(true);
  }, 120_000);

  it('writes an Application per environment and a root, valid against the Argo CD schema', () => {
    expect(readdirSync(join(out, 'argocd.apps')).sort()).toEqual(['dev.yaml', 'prod.yaml', 'root.yaml', 'staging.yaml']);
    for (const env of envs) {
      const app = parse(readFileSync(join(out, 'argocd.apps', `${env.name}.yaml`), 'utf8')) as Json;
      expect(() => new Application(app).validate()).not.toThrow();
      expect(app).toMatchObject({
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name: `obstack-${env.name}`, namespace: 'argocd' },
        spec: {
          project: 'default',
          source: { repoURL: REPO, targetRevision: 'HEAD', path: `dist/${env.name}` },
          destination: { server: 'https://kubernetes.default.svc', namespace: env.namespace },
          syncPolicy: { automated: { prune: true, selfHeal: true } },
        },
      });
      expect(app.spec.syncPolicy.syncOptions).toEqual(
        expect.arrayContaining(['ServerSideApply=true', 'CreateNamespace=false']),
      );
      // The path it syncs is the written folder, and Argo CD finds its Kustomization there.
      expect(existsSync(join(out, '..', `dist/${env.name}`, 'Kustomization'))).toBe(true);
    }
    const root = parse(readFileSync(join(out, 'argocd.apps', 'root.yaml'), 'utf8')) as Json;
    expect(() => new Application(root).validate()).not.toThrow();
    expect(root).toMatchObject({
      metadata: { name: 'obstack', namespace: 'argocd' },
      spec: { source: { repoURL: REPO, path: 'dist/argocd.apps', directory: { exclude: 'root.yaml' } }, destination: { namespace: 'argocd' } },
    });
    const read = kubectl(['label', '--local', '-R', '-f', join(out, 'argocd.apps'), 'x=y', '-o', 'name']);
    expect(read.status).toBe(0);
    expect(read.stdout.trim().split('\n').sort()).toEqual(['obstack', 'obstack-dev', 'obstack-prod', 'obstack-staging'].map((n) => `application.argoproj.io/${n}`));
  });

  it('is checked by a schema that refuses a broken Application', () => {
    const app = parse(readFileSync(join(out, 'argocd.apps', 'dev.yaml'), 'utf8')) as { spec: Record<string, unknown> };
    delete app.spec.destination;
    expect(() => new Application(app as never).validate()).toThrow(/destination/);
  });

  it('takes the configured path, revision, project, namespace and sync policy', () => {
    const env = withArgo(example('prod'), { path: 'deploy/obstack/prod', targetRevision: 'v1.2.0', project: 'observability', namespace: 'gitops', automated: { prune: false } });
    const report = synth({ environments: [env] });
    const app = parse(report.environments[0]?.result.files.get('argocd/application.yaml') ?? '') as Json;
    expect(app).toMatchObject({
      metadata: { namespace: 'gitops' },
      spec: { project: 'observability', source: { path: 'deploy/obstack/prod', targetRevision: 'v1.2.0' }, syncPolicy: { automated: { prune: false, selfHeal: true } } },
    });
    const root = parse(report.environments[0]?.result.files.get('argocd/root.yaml') ?? '') as Json;
    expect(root).toMatchObject({ spec: { source: { path: 'deploy/obstack/argocd.apps' } } });
  });

  it('is written for none when Argo CD is off, and removed for an environment that turns it off', () => {
    const [dev, staging, prod] = EXAMPLES.map((n) => example(n));
    expect(dev?.gitops.argocd.enabled).toBe(false);
    const written = new Map([[dev?.name ?? '', synth({ environments: [dev as Environment] }).environments[0]?.result.files ?? new Map()]]);
    expect([...(written.get('dev')?.keys() ?? [])].filter((k) => k.startsWith('argocd/'))).toEqual([]);
    writeEnvironments(out, written);
    expect(readdirSync(join(out, 'argocd.apps')).sort()).toEqual(['prod.yaml', 'root.yaml', 'staging.yaml']);
    const off = (e: Environment | undefined) => synth({ environments: [e as Environment] }).environments[0]?.result.files ?? new Map<string, string>();
    writeEnvironments(out, new Map([['staging', off(staging)], ['prod', off(prod)]]));
    expect(existsSync(join(out, 'argocd.apps'))).toBe(false);
  });

  it('refuses environments that would write different roots, and changes nothing', () => {
    const target = join(scratch, 'conflict', 'dist');
    writeEnvironments(target, new Map([['dev', new Map([['a.k8s.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n']])]]));
    const files = (env: Environment) => synth({ environments: [env] }).environments[0]?.result.files ?? new Map<string, string>();
    const dev = files(withArgo(example('dev')));
    const prod = files(withArgo(example('prod'), { repoURL: 'git@github.com:acme/other.git' }));
    expect(() => writeEnvironments(target, new Map([['dev', dev], ['prod', prod]]))).toThrow(OutputError);
    expect(() => writeEnvironments(target, new Map([['dev', dev], ['prod', prod]]))).toThrow(/dev and prod write different Argo CD roots/);
    expect(readdirSync(target)).toEqual(['dev']);
    expect(readdirSync(join(target, 'dev'))).toEqual(['a.k8s.yaml']);

    // One environment alone may not change the root the others written before share.
    writeEnvironments(target, new Map([['dev', dev]]));
    const before = readFileSync(join(target, 'argocd.apps', 'root.yaml'), 'utf8');
    const error = (() => {
      try {
        writeEnvironments(target, new Map([['prod', prod]]));
      } catch (e) {
        return e as Error;
      }
      throw new Error('written');
    })();
    expect(error).toBeInstanceOf(OutputError);
    expect(error.message).toBe(
      'environment prod writes a different Argo CD root (argocd.apps/root.yaml) than the one dev share: synthesize prod, dev together to change it (or delete the Application of an environment that is gone)',
    );
    expect(readdirSync(target).sort()).toEqual(['argocd.apps', 'dev', 'dev.files']);
    expect(readFileSync(join(target, 'argocd.apps', 'root.yaml'), 'utf8')).toBe(before);
    // Together, they are refused for disagreeing; with the same root, prod joins dev's.
    writeEnvironments(target, new Map([['prod', files(withArgo(example('prod')))]]));
    expect(readdirSync(join(target, 'argocd.apps')).sort()).toEqual(['dev.yaml', 'prod.yaml', 'root.yaml']);
  });
});

describe('obstack synth with Argo CD', () => {
  it('refuses two environments that disagree on the root: exit 1, one message, nothing written', { timeout: 120_000 }, () => {
    const dir = mkdtempSync(join(scratch, 'cli-'));
    const files = (['dev', 'prod'] as const).map((name, i) => {
      const file = join(dir, `${name}.yaml`);
      const text = readFileSync(join(ROOT, 'examples', 'environments', `${name}.yaml`), 'utf8');
      writeFileSync(file, `${text}\ngitops:\n  argocd:\n    enabled: true\n    repoURL: https://github.com/acme/repo-${i}.git\n`);
      return file;
    });
    const out = join(dir, 'dist');
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'obstack.js'), 'synth', '--file', files[0] ?? '', '--file', files[1] ?? '', '--out', out], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('environments dev and prod write different Argo CD roots (argocd.apps/root.yaml is shared)');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });
});

describe('gitops.argocd in an environment file', () => {
  const input = (argocd: Record<string, unknown>) => ({
    name: 'test',
    namespace: 'obs-test',
    alerting: { receivers: { pagerduty: { routingKey: { secretName: 'pd', key: 'k' } }, slack: { channel: '#alerts', apiUrl: { secretName: 's', key: 'u' } } } },
    gitops: { argocd },
  });
  const refusal = (argocd: Record<string, unknown>): string => {
    try {
      parseEnvironment(input(argocd), 'test.yaml');
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('accepted');
  };

  it('is off by default, with the documented defaults', () => {
    const env = parseEnvironment(input({}), 'test.yaml');
    expect(env.gitops.argocd).toEqual({ enabled: false, targetRevision: 'HEAD', project: 'default', namespace: 'argocd', automated: { prune: true, selfHeal: true } });
  });

  it('needs a git URL without credentials', () => {
    expect(refusal({ enabled: true })).toContain('gitops.argocd.repoURL: is required when gitops.argocd.enabled is true');
    for (const url of ['https://user:secret@github.com/acme/obs.git', 'https://ghp_token@github.com/acme/obs.git', 'ftp://example.com/obs.git', 'not a url']) {
      expect(refusal({ enabled: true, repoURL: url })).toContain('gitops.argocd.repoURL: must be a git URL without credentials');
    }
    for (const url of [REPO, 'git@github.com:acme/obs.git', 'ssh://git@git.example.com:2222/acme/obs.git']) {
      expect(parseEnvironment(input({ enabled: true, repoURL: url }), 'test.yaml').gitops.argocd.repoURL).toBe(url);
    }
  });
});

describe('sync waves', () => {
  const envs = EXAMPLES.map((n) => synth({ environments: [example(n)] }).environments[0]?.result);
  const waveOf = (o: KubernetesObject): number => Number((o.metadata as { annotations?: Record<string, string> }).annotations?.[SYNC_WAVE_ANNOTATION]);

  it('go on every object: namespace, then what pods need, then stateful components, then the rest', () => {
    for (const result of envs) {
      if (!result) throw new Error('no result');
      const objects = result.objects;
      for (const o of objects) expect(Number.isInteger(waveOf(o)), id(o)).toBe(true);
      const wavesOf = (kinds: string[]) => objects.filter((o) => kinds.includes(o.kind)).map(waveOf);
      const statefulPods = objects.filter((o) => o.kind === 'StatefulSet').map((s) => (s as Json).spec.serviceName as string);
      const stsServices = objects.filter((o) => o.kind === 'Service' && statefulPods.includes(o.metadata.name));
      expect(stsServices.length).toBeGreaterThan(0);
      const namespace = wavesOf(['Namespace']);
      const config = wavesOf(['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ServiceAccount', 'ConfigMap', 'Secret', 'NetworkPolicy']);
      const stateful = [...wavesOf(['StatefulSet', 'PodDisruptionBudget']), ...stsServices.map(waveOf)];
      const rest = wavesOf(['Deployment', 'DaemonSet', 'Job', 'CronJob', 'Ingress']);
      expect(namespace).toEqual([0]);
      expect(new Set(config)).toEqual(new Set([1]));
      expect(new Set(stateful)).toEqual(new Set([2]));
      expect(new Set(rest)).toEqual(new Set([3]));
      expect(Math.max(...namespace)).toBeLessThan(Math.min(...config));
      expect(Math.max(...config)).toBeLessThan(Math.min(...stateful));
      expect(Math.max(...stateful)).toBeLessThan(Math.min(...rest));
      // The manifests on disk carry them too.
      expect(result.files.get('00-namespace.k8s.yaml')).toContain(`${SYNC_WAVE_ANNOTATION}: "0"`);
    }
    expect(envs[2]?.objects.some((o) => o.kind === 'PodDisruptionBudget' && waveOf(o) === 2)).toBe(true);
  });

  it('leave a wave set by a patch as it is', () => {
    const env = example('dev');
    const patched: Environment = { ...env, patches: [{ target: { kind: 'Deployment', name: 'grafana' }, merge: { metadata: { annotations: { [SYNC_WAVE_ANNOTATION]: '7' } } } }] };
    const objects = synth({ environments: [patched] }).environments[0]?.result.objects ?? [];
    expect(objects.filter((o) => o.kind === 'Deployment' && o.metadata.name === 'grafana').map(waveOf)).toEqual([7]);
    expect(objects.filter((o) => o.kind === 'Deployment' && o.metadata.name === 'kibana').map(waveOf)).toEqual([3]);
  });
});

describe('writeEnvironments', () => {
  it('replaces an older layout whole: no raw file is left among the manifests', () => {
    const out = join(scratch, 'stale', 'dist');
    mkdirSync(join(out, 'dev', 'rules'), { recursive: true });
    writeFileSync(join(out, 'dev', 'prometheus.yml'), 'old\n');
    writeFileSync(join(out, 'dev', 'rules', 'node.yaml'), 'old\n');
    writeFileSync(join(out, 'dev', 'a.k8s.yaml'), 'old\n');
    // An older layout reads back to the same logical paths, so a diff against it lines up.
    expect([...readWrittenEnvironment(out, 'dev').keys()].sort()).toEqual(['a.k8s.yaml', 'prometheus.yml', 'rules/node.yaml']);
    const files = new Map([
      ['b.k8s.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n'],
      ['Kustomization', 'resources: [b.k8s.yaml]\n'],
      ['prometheus.yml', 'new\n'],
      ['rules/node.yaml', 'new\n'],
    ]);
    writeEnvironments(out, new Map([['dev', files]]));
    expect(readdirSync(join(out, 'dev')).sort()).toEqual(['Kustomization', 'b.k8s.yaml']);
    expect(readFileSync(join(out, 'dev.files', 'rules', 'node.yaml'), 'utf8')).toBe('new\n');
    expect(readWrittenEnvironment(out, 'dev')).toEqual(files);
    writeEnvironments(out, new Map([['dev', new Map([['b.k8s.yaml', 'x\n']])]]));
    expect(existsSync(join(out, 'dev.files'))).toBe(false);
    expect(readWrittenEnvironment(join(scratch, 'nowhere'), 'dev').size).toBe(0);
  });
});
