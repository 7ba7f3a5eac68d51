import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadProjectContent, projectLayout } from '../../src/project/index.js';
import { SOURCE_ALIAS, writeProjectFile } from '../support/project.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'obstack.js');

let project: string;

/** The command as a user runs it, from the project's folder. */
const synth = (...args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, 'synth', ...args], { cwd: project, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** Every written file with its modification time, to tell a rewrite from no write. */
function written(dir: string, prefix = ''): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    if (d.isDirectory()) for (const [k, v] of written(join(dir, d.name), `${prefix}${d.name}/`)) out.set(k, v);
    else out.set(`${prefix}${d.name}`, statSync(join(dir, d.name)).mtimeMs);
  }
  return out;
}

beforeEach(() => {
  project = mkdtempSync(join(tmpdir(), 'obstack-up-to-date-'));
  // The record of a synth lives under the project's node_modules/.cache, as other tools' caches do.
  mkdirSync(join(project, 'node_modules'));
  mkdirSync(join(project, 'environments'));
  copyFileSync(join(ROOT, 'examples', 'environments', 'dev.yaml'), join(project, 'environments', 'dev.yaml'));
});

afterEach(() => {
  rmSync(project, { recursive: true, force: true });
});

describe('synth when nothing changed', () => {
  it('says the output is up to date and writes nothing; any change to an input, the output or --force synthesizes again', () => {
    const first = synth();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('wrote dist/dev\n');
    const before = written(join(project, 'dist'));

    const again = synth();
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('up to date: dist/dev\n');
    expect(again.stdout).not.toContain('wrote');
    expect(written(join(project, 'dist'))).toEqual(before);

    // An environment file changed: its change is in the output.
    const env = join(project, 'environments', 'dev.yaml');
    writeFileSync(env, readFileSync(env, 'utf8').replace('namespace: obstack-dev', 'namespace: obstack-dev2'));
    expect(synth().stdout).toContain('wrote dist/dev\n');
    expect(readFileSync(join(project, 'dist', 'dev', '00-namespace.k8s.yaml'), 'utf8')).toContain('name: obstack-dev2');
    expect(synth().stdout).toContain('up to date: dist/dev\n');

    // A written file edited by hand is put back.
    const config = join(project, 'dist', 'dev.files', 'prometheus.yml');
    const text = readFileSync(config, 'utf8');
    writeFileSync(config, `${text}# edited\n`);
    expect(synth().stdout).toContain('wrote dist/dev.files\n');
    expect(readFileSync(config, 'utf8')).toBe(text);

    // A file added to a written folder is removed by the synth it causes.
    writeFileSync(join(project, 'dist', 'dev', 'stray.yaml'), 'kind: ConfigMap\n');
    expect(synth().stdout).toContain('wrote dist/dev\n');
    expect(readdirSync(join(project, 'dist', 'dev'))).not.toContain('stray.yaml');

    // A new environment file is read by a synth of every environment.
    copyFileSync(join(ROOT, 'examples', 'environments', 'staging.yaml'), join(project, 'environments', 'staging.yaml'));
    expect(synth().stdout).toContain('wrote dist/staging\n');
    expect(synth().stdout).toBe('up to date: dist/dev\nup to date: dist/dev.files\nup to date: dist/staging\nup to date: dist/staging.files\n(nothing it is made from changed since it was written; --force synthesizes again)\n');

    expect(synth('--force').stdout).toContain('wrote dist/dev\n');
  });

  it('is per set of arguments: another environment or another --out synthesizes', () => {
    copyFileSync(join(ROOT, 'examples', 'environments', 'staging.yaml'), join(project, 'environments', 'staging.yaml'));
    expect(synth('--env', 'dev').stdout).toContain('wrote dist/dev\n');
    expect(synth('--env', 'staging').stdout).toContain('wrote dist/staging\n');
    expect(synth('--env', 'dev', '--out', 'other').stdout).toContain('wrote other/dev\n');
    expect(synth('--env', 'dev').stdout).toContain('up to date: dist/dev\n');
  });

  it('without node_modules in the project records nothing and always synthesizes', () => {
    rmSync(join(project, 'node_modules'), { recursive: true });
    expect(synth().stdout).toContain('wrote dist/dev\n');
    expect(synth().stdout).toContain('wrote dist/dev\n');
  });

  it('a refused synth records nothing: the next run reads the files again', () => {
    const env = join(project, 'environments', 'dev.yaml');
    const good = readFileSync(env, 'utf8');
    expect(synth().code).toBe(0);
    writeFileSync(env, good.replace('tier: development', 'tier: nonsense'));
    const refused = synth();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('tier');
    expect(synth().code).toBe(1);
  });
});

describe("a project's content as inputs", () => {
  it('lists every file its content was compiled from, helpers it imports included', async () => {
    const base = join(ROOT, 'node_modules', '.cache', 'obstack-tests');
    mkdirSync(base, { recursive: true });
    const dir = mkdtempSync(join(base, 'inputs-'));
    try {
      writeProjectFile(dir, 'package.json', JSON.stringify({ name: 'team', type: 'module' }));
      writeProjectFile(dir, 'rules/_shared.ts', "export const SERVICE = 'orders';\n");
      writeProjectFile(
        dir,
        'rules/orders.ts',
        `import { alert, defineRules, group } from 'obstack';
import { SERVICE } from './_shared';
export default defineRules({ rules: () => [group({ name: 'orders', rules: [alert({ alert: 'OrdersStopped', expr: 'sum(rate(orders_total[10m])) == 0', for: '15m', severity: 'P3', service: SERVICE, summary: 'No orders', description: 'No order for 15 minutes.', runbook: 'https://runbooks.example.com/x' })] })] });
`,
      );
      const content = await loadProjectContent(projectLayout(dir), { alias: SOURCE_ALIAS });
      // Under the alias, obstack's own sources are compiled in too; the project's files are the two.
      expect((content.inputs ?? []).filter((f) => f.startsWith(dir)).sort()).toEqual([join(dir, 'rules', '_shared.ts'), join(dir, 'rules', 'orders.ts')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
