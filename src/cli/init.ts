import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ownPackage, packageRoot } from './package-root.js';

/** A scaffold that cannot be written (a folder that is not empty, a bad name). */
export class InitError extends Error {
  readonly code = 'E_INIT';
}

/** Files of the scaffold stored under another name, since npm leaves dotfiles like .gitignore out of a package. */
const RENAMES: Readonly<Record<string, string>> = { gitignore: '.gitignore', _github: '.github' };

/**
 * How the new project's package.json depends on obstack: as the project that
 * runs `obstack init` does (a tarball or folder, made relative to the new
 * project), else the installed version.
 */
export function obstackSpec(target: string): string {
  const { version } = ownPackage();
  const root = packageRoot();
  // An installed package lives at <project>/node_modules/obstack: read how <project> asked for it.
  if (basename(dirname(root)) === 'node_modules') {
    const consumer = dirname(dirname(root));
    try {
      const pkg = JSON.parse(readFileSync(join(consumer, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
      const spec = pkg.dependencies?.obstack ?? pkg.devDependencies?.obstack;
      if (spec?.startsWith('file:')) {
        const path = spec.slice('file:'.length);
        const absolute = isAbsolute(path) ? path : resolve(consumer, path);
        const rel = relative(target, absolute).split('\\').join('/');
        return `file:${rel.startsWith('.') ? rel : `./${rel}`}`;
      }
      if (spec !== undefined && !spec.startsWith('link:') && !spec.startsWith('workspace:')) return spec;
    } catch {
      // no readable package.json next to node_modules: fall back to the version
    }
  }
  return `^${version}`;
}

function projectPackageJson(name: string, spec: string): string {
  const own = ownPackage();
  const pin = (dep: string): string => {
    const v = own.devDependencies?.[dep] ?? own.dependencies?.[dep] ?? own.peerDependencies?.[dep];
    if (v === undefined) throw new Error(`obstack's package.json does not name ${dep}`);
    return v;
  };
  const pkg = {
    name,
    version: '0.1.0',
    private: true,
    description: `The observability stack of ${name}, built on obstack`,
    type: 'module',
    engines: { node: '>=20' },
    scripts: {
      synth: 'obstack synth --all',
      check: 'obstack check --all',
      'test:rules': 'obstack test',
      test: 'tsc --noEmit && vitest run',
    },
    dependencies: { obstack: spec, cdk8s: pin('cdk8s'), constructs: pin('constructs') },
    devDependencies: { '@types/node': pin('@types/node'), typescript: pin('typescript'), vitest: pin('vitest') },
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

function copyScaffold(from: string, to: string, name: string): string[] {
  const written: string[] = [];
  for (const entry of readdirSync(from).sort()) {
    const source = join(from, entry);
    const target = join(to, RENAMES[entry] ?? entry);
    if (statSync(source).isDirectory()) {
      mkdirSync(target, { recursive: true });
      written.push(...copyScaffold(source, target, name));
    } else {
      writeFileSync(target, readFileSync(source, 'utf8').replaceAll('__NAME__', name));
      written.push(target);
    }
  }
  return written;
}

/**
 * Writes a new project that builds on obstack: package.json, environments
 * (dev, prod), an alert area, a dashboard, metric catalog entries, a test, a
 * README and a CI workflow. Refuses a folder that holds anything but dotfiles.
 */
export function initProject(dir: string, opts: { readonly name?: string; readonly obstack?: string } = {}): string[] {
  const target = resolve(dir);
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new InitError(`${dir} exists and is not a folder`);
    const present = readdirSync(target).filter((f) => !f.startsWith('.'));
    if (present.length > 0) throw new InitError(`${dir} is not empty (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', …' : ''}): obstack init writes a new project and changes nothing that exists`);
  }
  const name = opts.name ?? basename(target);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 40) {
    throw new InitError(`the project's name "${name}" must be lower case letters, digits and "-" (at most 40): it names the namespaces; pass --name`);
  }
  // Written beside the target and renamed in, so that a failure leaves no half project.
  const staging = `${target}.obstack-init-${process.pid}`;
  mkdirSync(staging, { recursive: true });
  try {
    const written = copyScaffold(join(packageRoot(), 'scaffold'), staging, name);
    writeFileSync(join(staging, 'package.json'), projectPackageJson(name, opts.obstack ?? obstackSpec(target)));
    if (existsSync(target)) cpSync(staging, target, { recursive: true });
    else renameSync(staging, target);
    return [...written.map((f) => join(target, relative(staging, f))), join(target, 'package.json')];
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** `obstack init DIR`. */
export function initCommand(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    options: { name: { type: 'string' }, obstack: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help || positionals.length !== 1) {
    process.stdout.write('usage: obstack init DIR [--name NAME] [--obstack SPEC]\n');
    return values.help ? 0 : 1;
  }
  const dir = positionals[0] as string;
  const files = initProject(dir, { ...(values.name ? { name: values.name } : {}), ...(values.obstack ? { obstack: values.obstack } : {}) });
  for (const f of files) process.stdout.write(`wrote ${relative(process.cwd(), f)}\n`);
  process.stdout.write(`\nnext:\n  cd ${dir}\n  npm install\n  npm test\n  npx obstack synth --all\n`);
  return 0;
}
