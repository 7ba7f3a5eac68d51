import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defineMetrics, isRuleArea, type MetricSource, type RuleArea } from '../authoring/index.js';
import { type DashboardDefinition, isDashboardDefinition } from '../../dashboards/index.js';
import { type ProjectContent, rememberSource } from './content.js';

/**
 * Where a project keeps its environments and content, relative to its root.
 * Read from the `obstack` key of the project's package.json; a folder set to
 * `null` is not read.
 */
export interface ProjectLayout {
  readonly root: string;
  readonly environments: string;
  readonly rules: string | null;
  readonly dashboards: string | null;
  readonly metrics: string | null;
}

const DEFAULT_LAYOUT = { environments: 'environments', rules: 'rules', dashboards: 'dashboards', metrics: 'metrics' } as const;

/** A project that cannot be loaded: a file that exports the wrong thing, or does not compile. */
export class ProjectError extends Error {
  readonly code = 'E_PROJECT';
  constructor(message: string) {
    super(message);
    this.name = 'ProjectError';
  }
}

/** The layout of the project at `root` (its package.json's `obstack` key over the defaults). */
export function projectLayout(root: string): ProjectLayout {
  const dir = resolve(root);
  let settings: Record<string, unknown> = {};
  const pkg = join(dir, 'package.json');
  if (existsSync(pkg)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(pkg, 'utf8'));
    } catch (e) {
      throw new ProjectError(`${pkg} is not valid JSON: ${(e as Error).message}`);
    }
    const key = (parsed as { obstack?: unknown }).obstack;
    if (key !== undefined) {
      if (typeof key !== 'object' || key === null || Array.isArray(key)) throw new ProjectError(`package.json: "obstack" must be an object of folders, e.g. { "environments": "environments" }`);
      settings = key as Record<string, unknown>;
    }
  }
  const folder = (name: keyof typeof DEFAULT_LAYOUT, nullable: boolean): string | null => {
    const v = name in settings ? settings[name] : DEFAULT_LAYOUT[name];
    if (v === null && nullable) return null;
    if (typeof v !== 'string' || v === '') throw new ProjectError(`package.json: obstack.${name} must be a folder path${nullable ? ' or null' : ''}, got ${JSON.stringify(v)}`);
    return v;
  };
  const unknown = Object.keys(settings).filter((k) => !(k in DEFAULT_LAYOUT));
  if (unknown.length > 0) throw new ProjectError(`package.json: obstack has unknown key(s) ${unknown.map((k) => `"${k}"`).join(', ')}; known: ${Object.keys(DEFAULT_LAYOUT).join(', ')}`);
  return { root: dir, environments: folder('environments', false) as string, rules: folder('rules', true), dashboards: folder('dashboards', true), metrics: folder('metrics', true) };
}

const SOURCE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

/** The content files of a folder: top-level sources, not declarations, tests, or helpers named `_*`. */
function contentFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && SOURCE_EXTENSIONS.includes(extname(e.name)))
    .map((e) => e.name)
    .filter((n) => !n.startsWith('_') && !n.startsWith('.') && !/\.d\.m?ts$/.test(n) && !/\.(test|spec)\.[mc]?[jt]s$/.test(n))
    .sort()
    .map((n) => join(dir, n));
}

export interface LoadOptions {
  /**
   * Module paths for bare imports, e.g. `{ obstack: '<checkout>/src/index.ts' }`
   * to load a project against a source checkout rather than an installed package.
   * @default - bare imports resolve from the project's node_modules
   */
  readonly alias?: Readonly<Record<string, string>>;
}

/**
 * Compiles the project's content files (TypeScript or JavaScript) with esbuild
 * into ES modules under node_modules/.cache/obstack, so that their imports of
 * `obstack` and other packages resolve from the project's own node_modules,
 * and imports them. No TypeScript loader is needed at run time.
 */
async function importAll(root: string, files: readonly string[], opts: LoadOptions): Promise<{ modules: Map<string, unknown>; inputs: string[] }> {
  const out = new Map<string, unknown>();
  const inputs: string[] = [];
  if (files.length === 0) return { modules: out, inputs };
  const { build } = await import('esbuild');
  const cache = join(root, 'node_modules', '.cache', 'obstack', `${process.pid}-${Date.now()}`);
  mkdirSync(cache, { recursive: true });
  try {
    let result;
    try {
      result = await build({
        entryPoints: files.map((f) => ({ in: f, out: relative(root, f).replace(/\.[mc]?[jt]s$/, '') })),
        absWorkingDir: root,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        ...(opts.alias ? { alias: { ...opts.alias } } : {}),
        outdir: cache,
        outExtension: { '.js': '.mjs' },
        sourcemap: 'inline',
        logLevel: 'silent',
        metafile: true,
      });
    } catch (e) {
      const errors = (e as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors ?? [];
      const lines = errors.map((m) => `  ${m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : ''}${m.text}`);
      throw new ProjectError(`the project's content does not compile:\n${lines.join('\n') || String(e)}`);
    }
    // Every file the bundles were made of; packages stay external and are not among them.
    for (const input of Object.keys(result.metafile.inputs)) if (!input.includes(':')) inputs.push(resolve(root, input));
    for (const [outFile, meta] of Object.entries(result.metafile.outputs)) {
      if (!meta.entryPoint) continue;
      const source = resolve(root, meta.entryPoint);
      const mod = (await import(pathToFileURL(resolve(root, outFile)).href)) as { default?: unknown };
      out.set(source, mod.default);
    }
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
  return { modules: out, inputs };
}

function describeExport(value: unknown): string {
  if (value === undefined) return 'no default export';
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value === 'object' ? `an object with keys ${Object.keys(value).slice(0, 5).join(', ')}` : `a ${typeof value}`;
}

/** Loads a project's rule areas, dashboards and metric catalog entries from its folders. */
export async function loadProjectContent(layout: ProjectLayout, opts: LoadOptions = {}): Promise<ProjectContent> {
  const rel = (f: string) => relative(process.cwd(), f) || f;
  const folders = {
    rules: layout.rules === null ? [] : contentFiles(join(layout.root, layout.rules)),
    dashboards: layout.dashboards === null ? [] : contentFiles(join(layout.root, layout.dashboards)),
    metrics: layout.metrics === null ? [] : contentFiles(join(layout.root, layout.metrics)),
  };
  const { modules, inputs } = await importAll(layout.root, [...folders.rules, ...folders.dashboards, ...folders.metrics], opts);
  const problems: string[] = [];

  const ruleAreas: RuleArea[] = [];
  for (const file of folders.rules) {
    const value = modules.get(file);
    if (!isRuleArea(value)) {
      problems.push(`${rel(file)}: must export default defineRules({ rules: (env) => [group(…)] }), found ${describeExport(value)} (name helper files _${basename(file)})`);
      continue;
    }
    const stem = basename(file, extname(file));
    const area = value.name === '' ? { ...value, name: stem } : value;
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(area.name)) {
      problems.push(`${rel(file)}: the area's name "${area.name}" must be lower case letters, digits and "-" (it names dist/<env>.files/rules/${area.name}.yaml)`);
      continue;
    }
    ruleAreas.push(rememberSource(area, rel(file)));
  }

  const dashboards: DashboardDefinition[] = [];
  for (const file of folders.dashboards) {
    const value = modules.get(file);
    if (!isDashboardDefinition(value)) {
      problems.push(`${rel(file)}: must export default defineDashboard({ uid, requires, build }), found ${describeExport(value)} (name helper files _${basename(file)})`);
      continue;
    }
    dashboards.push(rememberSource(value, rel(file)));
  }

  const metrics: MetricSource[] = [];
  for (const file of folders.metrics) {
    const value = modules.get(file);
    const list = Array.isArray(value) ? value : [value];
    for (const [i, entry] of list.entries()) {
      try {
        if (typeof entry !== 'object' || entry === null) throw new Error(`must export default defineMetrics({ source, reference, metrics }) or a list of them, found ${describeExport(entry)}`);
        metrics.push(rememberSource(defineMetrics(entry as MetricSource), rel(file)));
      } catch (e) {
        problems.push(`${rel(file)}${list.length > 1 ? `[${i}]` : ''}: ${(e as Error).message}`);
      }
    }
  }
  if (problems.length > 0) throw new ProjectError(`the project's content cannot be used (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return { ruleAreas, dashboards, metrics, inputs };
}

/** A path as errors show it: relative to the current folder when it lies below it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** The environment files of a project, by name; `names` picks some. */
export function environmentFiles(layout: ProjectLayout, names: readonly string[] = []): string[] {
  const dir = join(layout.root, layout.environments);
  if (names.length > 0) return names.map((n) => shown(join(dir, `${n}.yaml`)));
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    throw new ProjectError(`environments folder "${relative(process.cwd(), dir) || dir}" cannot be read (set "obstack": { "environments": "<folder>" } in package.json, or pass --environments)`);
  }
  const all = entries.filter((f) => ['.yaml', '.yml'].includes(extname(f))).sort();
  if (all.length === 0) throw new ProjectError(`no environment files (*.yaml) in "${relative(process.cwd(), dir) || dir}"`);
  return all.map((f) => shown(join(dir, f)));
}
