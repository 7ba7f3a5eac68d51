import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/**
 * Whether a synth would write what is already written. A synth records what it
 * read (the project's package.json and lock file, its environment files, the
 * files its own rules, dashboards and metrics were compiled from, the listing
 * of the folders those come from), the obstack it ran and what it wrote; a
 * later `obstack synth` with the same arguments finds all of it unchanged
 * (size, modification time in nanoseconds and inode of every file) and says
 * so without synthesizing, as make does. Any difference, a missing record or
 * `--force` means a full synth.
 *
 * Only node: modules are imported here: the command checks this before it
 * loads the rest of obstack.
 */

/** The options of the commands that synthesize, shared with the command line's parser. */
export const ENV_OPTIONS = {
  env: { type: 'string', multiple: true },
  file: { type: 'string', short: 'f', multiple: true },
  // Node 20 itself takes --env-file anywhere on its command line, so this spelling reaches the command only on newer Node.
  'env-file': { type: 'string', multiple: true },
  all: { type: 'boolean' },
  project: { type: 'string' },
  environments: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** synth's own options on top of ENV_OPTIONS. */
export const SYNTH_OPTIONS = { ...ENV_OPTIONS, force: { type: 'boolean' } } as const;

const FORMAT = 1;

/** What one synth read and wrote; paths are absolute. */
interface Record_ {
  readonly format: number;
  readonly code: string;
  /** Every file read, with its signature. */
  readonly inputs: Readonly<Record<string, string>>;
  /** Folders whose listing decided which files were read (the environments folder with --all, the content folders). */
  readonly listings: Readonly<Record<string, string>>;
  /** Every file written, under each folder written. */
  readonly outputs: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** A file's signature: size, modification time in nanoseconds, inode; `-` when it does not exist. */
function signature(path: string): string {
  try {
    const st = statSync(path, { bigint: true });
    return st.isFile() ? `${st.size}:${st.mtimeNs}:${st.ino}` : '-';
  } catch {
    return '-';
  }
}

function listing(dir: string): string {
  try {
    return readdirSync(dir).sort().join('\n');
  } catch {
    return '-';
  }
}

/** Every file under a folder with its signature, by path relative to it. */
function filesWithSignatures(dir: string, prefix = '', into: Record<string, string> = {}): Record<string, string> {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const rel = `${prefix}${d.name}`;
    if (d.isDirectory()) filesWithSignatures(join(dir, d.name), `${rel}/`, into);
    else into[rel] = signature(join(dir, d.name));
  }
  return into;
}

/** The folder obstack runs from: the checkout or the installed package. */
function packageRoot(): string {
  let dir = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'bin', 'obstack.js'))) {
    const up = dirname(dir);
    if (up === dir) return '';
    dir = up;
  }
  return dir;
}

/**
 * The obstack that runs: in a checkout, the command's bundle (rebuilt whenever
 * a source changes); in an installed package, its version and compiled entry.
 */
export function codeIdentity(): string {
  const root = packageRoot();
  if (root === '') return 'unknown';
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? '';
  const built = existsSync(join(root, 'src', 'cli', 'main.ts')) ? join(root, '.build', 'obstack.cjs') : join(root, 'lib', 'src', 'cli', 'main.js');
  return `${root}@${version}:${signature(built)}:${process.version}`;
}

interface Invocation {
  readonly file: string;
  readonly force: boolean;
}

/** Where the record of a synth with these arguments lives: under the project's node_modules/.cache, or nowhere without node_modules. */
function invocation(args: readonly string[]): Invocation | undefined {
  let values;
  try {
    ({ values } = parseArgs({ args: [...args], options: SYNTH_OPTIONS, strict: true }));
  } catch {
    return undefined;
  }
  if (values.help) return undefined;
  const root = resolve(values.project ?? '.');
  const modules = join(root, 'node_modules');
  if (!existsSync(modules)) return undefined;
  const key = createHash('sha256')
    .update(JSON.stringify([process.cwd(), args.filter((a) => a !== '--force')]))
    .digest('hex')
    .slice(0, 32);
  return { file: join(modules, '.cache', 'obstack', 'synth', `${key}.json`), force: values.force === true };
}

/**
 * The folders a synth with these arguments wrote, when nothing it read or
 * wrote has changed since (so that it would write the same again); undefined
 * when it must run.
 */
export function upToDate(args: readonly string[]): string[] | undefined {
  const at = invocation(args);
  if (at === undefined || at.force) return undefined;
  let record: Record_;
  try {
    record = JSON.parse(readFileSync(at.file, 'utf8')) as Record_;
  } catch {
    return undefined;
  }
  if (record.format !== FORMAT || record.code !== codeIdentity()) return undefined;
  for (const [path, sig] of Object.entries(record.inputs)) if (signature(path) !== sig) return undefined;
  for (const [dir, names] of Object.entries(record.listings)) if (listing(dir) !== names) return undefined;
  for (const [dir, files] of Object.entries(record.outputs)) {
    let now: Record<string, string>;
    try {
      now = filesWithSignatures(dir);
    } catch {
      return undefined;
    }
    const names = Object.keys(files);
    if (Object.keys(now).length !== names.length || names.some((n) => now[n] !== files[n])) return undefined;
  }
  return Object.keys(record.outputs);
}

/** What a synth read, taken before it synthesizes so that a file changed meanwhile makes the next run synthesize again. */
export interface ReadSet {
  readonly inputs: Record<string, string>;
  readonly listings: Record<string, string>;
}

/** Signs the files and folders a synth read, as they are now. */
export function readSet(files: Iterable<string>, folders: Iterable<string>): ReadSet {
  const inputs: Record<string, string> = {};
  for (const f of files) inputs[resolve(f)] = signature(resolve(f));
  const listings: Record<string, string> = {};
  for (const d of folders) listings[resolve(d)] = listing(resolve(d));
  return { inputs, listings };
}

/** Records a synth that wrote `folders` after reading `read`; without node_modules in the project, nothing is recorded. */
export function recordSynth(args: readonly string[], read: ReadSet, folders: readonly string[]): void {
  const at = invocation(args);
  if (at === undefined) return;
  const outputs: Record<string, Record<string, string>> = {};
  for (const folder of folders) outputs[resolve(folder)] = filesWithSignatures(resolve(folder));
  const record: Record_ = { format: FORMAT, code: codeIdentity(), ...read, outputs };
  try {
    mkdirSync(dirname(at.file), { recursive: true });
    const temp = `${at.file}.${process.pid}`;
    writeFileSync(temp, JSON.stringify(record));
    renameSync(temp, at.file);
  } catch {
    // A read-only node_modules only costs the next run a full synth.
  }
}

/** A written folder as synth prints it. */
export function shownFolder(path: string): string {
  return relative(process.cwd(), path) || path;
}
