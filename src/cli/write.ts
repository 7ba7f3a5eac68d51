import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ARGOCD_APPLICATION, ARGOCD_DIR, ARGOCD_ROOT, ARGOCD_ROOT_FILE, FILES_SUFFIX, diskPathOf } from './layout.js';

/** Output that cannot be written as asked; nothing was changed. The CLI prints it without a stack trace. */
export class OutputError extends Error {
  readonly code = 'E_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'OutputError';
  }
}

/** Every file under a folder, by path relative to it with "/" separators. */
function filesUnder(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? filesUnder(join(dir, d.name), `${prefix}${d.name}/`) : d.isFile() ? [`${prefix}${d.name}`] : []))
    .sort();
}

/**
 * What argocd.apps/ holds after this run: the Applications of environments not
 * in the run stay, those in it are replaced (or removed when Argo CD is off),
 * and the root stays while any Application does. Every environment of the run
 * that writes the root must write the same one.
 */
function argoFolder(out: string, environments: ReadonlyMap<string, ReadonlyMap<string, string>>): Map<string, string> {
  const dir = join(out, ARGOCD_DIR);
  const result = new Map<string, string>();
  for (const name of filesUnder(dir)) {
    if (name.includes('/') || name === ARGOCD_ROOT_FILE) continue;
    if (!environments.has(name.replace(/\.yaml$/, ''))) result.set(name, readFileSync(join(dir, name), 'utf8'));
  }
  let root: { env: string; text: string } | undefined;
  for (const [env, files] of environments) {
    const app = files.get(ARGOCD_APPLICATION);
    if (app !== undefined) result.set(`${env}.yaml`, app);
    const text = files.get(ARGOCD_ROOT);
    if (text === undefined) continue;
    if (root !== undefined && root.text !== text) {
      throw new OutputError(
        `environments ${root.env} and ${env} write different Argo CD roots (${ARGOCD_DIR}/${ARGOCD_ROOT_FILE} is shared): ` +
          'give them the same gitops.argocd repoURL, targetRevision, project, namespace and automated settings, and paths in one folder',
      );
    }
    root ??= { env, text };
  }
  if (result.size === 0) return result;
  const existing = existsSync(join(dir, ARGOCD_ROOT_FILE)) ? readFileSync(join(dir, ARGOCD_ROOT_FILE), 'utf8') : undefined;
  const others = [...result.keys()].map((name) => name.replace(/\.yaml$/, '')).filter((env) => !environments.has(env));
  if (root !== undefined && existing !== undefined && root.text !== existing && others.length > 0) {
    throw new OutputError(
      `environment ${root.env} writes a different Argo CD root (${ARGOCD_DIR}/${ARGOCD_ROOT_FILE}) than the one ${others.join(', ')} share: ` +
        `synthesize ${[...environments.keys(), ...others].join(', ')} together to change it (or delete the Application of an environment that is gone)`,
    );
  }
  const kept = root?.text ?? existing;
  if (kept !== undefined) result.set(ARGOCD_ROOT_FILE, kept);
  return result;
}

/**
 * Writes each environment's files to a staging folder next to `outDir`, then
 * swaps each of its folders in with a rename: `<env>/` (the manifests and the
 * Kustomization), `<env>.files/` (raw configs, rules, dashboards) and, when
 * Argo CD is on, `argocd.apps/` (see layout.ts). Nothing in `outDir` changes
 * until every file has been written, and a failure leaves it as it was; a
 * folder this run has nothing for (an older layout's, a component turned
 * off) is removed. Returns the folders written.
 */
export function writeEnvironments(outDir: string, environments: ReadonlyMap<string, ReadonlyMap<string, string>>): string[] {
  const out = resolve(outDir);
  const argo = argoFolder(out, environments);
  const staging = join(dirname(out), `.obstack-tmp-${basename(out)}-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  const stage = (rel: string, content: string): void => {
    const path = join(staging, 'new', rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  };
  try {
    const folders = new Set<string>();
    for (const [env, files] of environments) {
      folders.add(env).add(`${env}${FILES_SUFFIX}`);
      mkdirSync(join(staging, 'new', env), { recursive: true });
      for (const [logical, content] of files) {
        const rel = diskPathOf(env, logical);
        if (!rel.startsWith(`${ARGOCD_DIR}/`)) stage(rel, content);
      }
    }
    if (argo.size > 0 || existsSync(join(out, ARGOCD_DIR))) folders.add(ARGOCD_DIR);
    for (const [name, content] of argo) stage(`${ARGOCD_DIR}/${name}`, content);

    mkdirSync(out, { recursive: true });
    mkdirSync(join(staging, 'old'), { recursive: true });
    const written: string[] = [];
    for (const folder of folders) {
      const target = join(out, folder);
      const next = join(staging, 'new', folder);
      if (existsSync(target)) renameSync(target, join(staging, 'old', folder));
      if (!existsSync(next)) continue;
      renameSync(next, target);
      written.push(target);
    }
    return written;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Reads a written environment back into the logical map of
 * SynthesizedEnvironment.files, the inverse of writeEnvironments (an older
 * layout, with raw files inside `<env>/`, reads to the same paths). An
 * environment never written reads as an empty map.
 */
export function readWrittenEnvironment(outDir: string, env: string): Map<string, string> {
  const out = resolve(outDir);
  const files = new Map<string, string>();
  for (const folder of [env, `${env}${FILES_SUFFIX}`]) {
    for (const rel of filesUnder(join(out, folder))) files.set(rel, readFileSync(join(out, folder, rel), 'utf8'));
  }
  const app = join(out, diskPathOf(env, ARGOCD_APPLICATION));
  const root = join(out, diskPathOf(env, ARGOCD_ROOT));
  if (existsSync(app)) {
    files.set(ARGOCD_APPLICATION, readFileSync(app, 'utf8'));
    if (existsSync(root)) files.set(ARGOCD_ROOT, readFileSync(root, 'utf8'));
  }
  return files;
}
