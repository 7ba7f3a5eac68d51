// First: before any zod schema is built (see the module).
import './zod-jitless.js';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Environment, environmentJsonSchema } from '../config/index.js';
import { readWrittenEnvironment, writeEnvironments } from './write.js';
import { loadEnvironments } from './load-environments.js';
import { initCommand } from './init.js';
import { contentReferences, environmentFiles, loadProjectContent, type ProjectContent, projectLayout, synth, type SynthReport, testRuleAreas, withStackContent } from '../project/index.js';
import { checkRules, importRules, RULES_USAGE } from './rules-commands.js';
import { checkDashboardFiles, DASHBOARDS_USAGE } from './dashboards-commands.js';
import { REPORT_USAGE, reportCommand } from './report-command.js';
import { SIZE_USAGE, sizeCommand } from './size-command.js';
import { diffEnvironment, formatDiff, isEmpty } from './diff.js';
import { formatSecrets, secretsToCreate } from './secrets.js';
import { ownPackage } from './package-root.js';
import { runCommandLine } from './run-command.js';
import { ENV_OPTIONS, type ReadSet, readSet, recordSynth, SYNTH_OPTIONS } from './up-to-date.js';
import { saveCheckCache, useCheckCache } from './check-cache.js';

const USAGE = `usage: obstack <command> [options]

commands:
  synth    synthesize environments into <out>/<env>/, with the project's own
           rules, dashboards and metric catalog entries, checked in process
           --env NAME          one environment of the project (repeatable)
           -f, --file FILE     an environment file anywhere (repeatable)
           --all               every environment of the project (the default)
           --project DIR       the project's folder (default: the current folder)
           --environments DIR  its environments folder (default: package.json
                               "obstack.environments", else environments/)
           --out DIR           default: dist
           --force             synthesize even when nothing the output is made
                               from changed since it was written (otherwise it
                               says "up to date" and writes nothing)
  check    synthesize in memory and run every check, with the real tools
           (same options as synth)
  test     run the promtool cases written next to the project's alerts
           (same project options; --shipped adds the stack's own alerts)
  init DIR create a repository of your own that builds on obstack
           --name NAME         the project's name (default: the folder's name)
           --obstack SPEC      how its package.json depends on obstack
                               (default: the tarball or version installed here)
  schema   print (or --out FILE) the JSON Schema of an environment file
  secrets  the Secrets the manifests read and obstack does not generate: each
           key, what it holds, who reads it, and a kubectl line to create it
           (same project options; --json for tools)
  diff     synthesize in memory and compare with what is written in dist/:
           objects and files added, removed and changed, with the fields
           (same project options; --against DIR instead of dist; --json)
${RULES_USAGE}${DASHBOARDS_USAGE}${REPORT_USAGE}${SIZE_USAGE}
options of every command: -h, --help; obstack --version prints the version

exit codes:
  0  done: no findings, no differences
  1  findings (check, test; for check rules/dashboards, findings at level
     error), refused input (a wrong environment file, option or path: nothing
     was written), or, for diff, differences between a fresh synth and what
     is written
  2  diff only: the comparison could not be made (no dist/, a wrong option
     or environment file), as diff(1) does
progress goes to stderr (on a terminal), results to stdout.
`;

/** An error the user caused: printed as a block, exit 1, no stack trace. */
class UsageError extends Error {
  readonly code = 'E_USAGE';
}


type EnvValues = { env?: string[]; file?: string[]; 'env-file'?: string[]; project?: string; environments?: string };

/** The project (its layout and content, loaded once) and the environment files a command names. */
async function openProject(values: EnvValues): Promise<{ own: ProjectContent; content: ProjectContent; files: string[]; read: () => ReadSet }> {
  const layout = projectLayout(values.project ?? '.');
  const withEnvironments = values.environments ? { ...layout, environments: relative(layout.root, resolve(values.environments)) } : layout;
  const explicit = [...(values.file ?? []), ...(values['env-file'] ?? [])];
  const listed = !(explicit.length > 0 && !values.env) && (values.env ?? []).length === 0;
  const files = explicit.length > 0 && !values.env ? explicit : [...explicit, ...environmentFiles(withEnvironments, values.env ?? [])];
  const own = await loadProjectContent(layout);
  // What the output is made from, for synth's record (see up-to-date.ts).
  const read = (): ReadSet =>
    readSet(
      [join(layout.root, 'package.json'), join(layout.root, 'package-lock.json'), ...files, ...(own.inputs ?? [])],
      [...(listed ? [join(withEnvironments.root, withEnvironments.environments)] : []), ...[layout.rules, layout.dashboards, layout.metrics].flatMap((f) => (f === null ? [] : [join(layout.root, f)]))],
    );
  return { own, content: withStackContent(own), files, read };
}

/** Loads every file before anything else happens, so that one bad file refuses the whole run. */
function loadAll(files: readonly string[], content: ProjectContent): Environment[] {
  // loadEnvironments also refuses two files of one name, with the other file's path.
  return loadEnvironments(files, (env) => contentReferences(env, content));
}

/**
 * A progress line on stderr, so that stdout holds only results; only when a
 * person watches stderr (a terminal), so that scripts and CI logs that
 * capture it see the findings and errors alone.
 */
function progress(line: string): void {
  if (process.stderr.isTTY) process.stderr.write(`${line}\n`);
}

/** Synthesizes one environment at a time, saying so on stderr. */
function synthEach(envs: readonly Environment[], own: ProjectContent, tools: boolean): SynthReport['environments'] {
  return envs.map((env) => {
    progress(tools ? `synthesizing and checking ${env.name} (promtool, amtool, Prometheus, Alertmanager)…` : `synthesizing ${env.name}…`);
    const [one] = synth({ environments: [env], content: own, tools }).environments;
    return one!;
  });
}

/**
 * Refuses an output path that cannot be used, before anything is synthesized:
 * a file where a folder is wanted (or the reverse), or a place where nothing
 * can be created. The writer stages next to the target, and Node's recursive
 * mkdir loops for ever below /proc, so a probe folder is made (and removed)
 * in the nearest folder that exists.
 */
function refuseUnusableOut(out: string, want: 'folder' | 'file', label = `--out ${out}`): void {
  const target = resolve(out);
  // A path below a file (ENOTDIR) does not exist either; the walk up below names the file.
  const st = existsSync(target) ? statSync(target) : undefined;
  if (st !== undefined && want === 'folder' && !st.isDirectory()) throw new UsageError(`${label}: is a file, not a folder; nothing was written`);
  if (st !== undefined && want === 'file' && st.isDirectory()) throw new UsageError(`${label}: is a folder, not a file; nothing was written`);
  const probeIn = [dirname(target), ...(st?.isDirectory() ? [target] : [])];
  for (let dir of probeIn) {
    while (!existsSync(dir)) dir = dirname(dir);
    if (!statSync(dir).isDirectory()) throw new UsageError(`${label}: ${dir} is a file, not a folder; nothing was written`);
    try {
      rmdirSync(mkdtempSync(join(dir, '.obstack-probe-')));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      throw new UsageError(`${label}: nothing can be written in ${dir} (${code}); nothing was written`);
    }
  }
}

async function synthCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: SYNTH_OPTIONS, strict: true });
  if (values.help) return help('synth');
  const out = values.out ?? 'dist';
  refuseUnusableOut(out, 'folder');
  const { own, content, files, read } = await openProject(values);
  // Taken before anything is read, so that a file changed during the run makes the next run synthesize again.
  const before = read();
  const envs = loadAll(files, content);
  useCheckCache(values.project ?? '.');
  const environments = synthEach(envs, own, false);
  saveCheckCache();
  if (!environments.every((e) => e.findings.length === 0)) {
    for (const e of environments) {
      if (e.findings.length === 0) continue;
      process.stderr.write(`${e.result.environment.name}: ${e.findings.length} finding(s) in the synthesized output:\n${e.findings.map((f) => `  ${f}`).join('\n')}\n`);
    }
    process.stderr.write('synth refused: nothing was written\n');
    return 1;
  }
  const written = writeEnvironments(out, new Map(environments.map((e) => [e.result.environment.name, e.result.files])));
  for (const w of written) process.stdout.write(`wrote ${relative(process.cwd(), w) || w}\n`);
  recordSynth(args, before, written);
  return 0;
}

async function checkCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: ENV_OPTIONS, strict: true });
  if (values.help) return help('check');
  const { own, content, files } = await openProject(values);
  const envs = loadAll(files, content);
  useCheckCache(values.project ?? '.');
  let ok = true;
  for (const env of envs) {
    // One environment at a time: its result is printed before the next one's tools run.
    const [e] = synthEach([env], own, true);
    ok &&= e!.findings.length === 0;
    process.stdout.write(`${env.name}: ${e!.findings.length === 0 ? 'ok' : `${e!.findings.length} finding(s)`}\n`);
    for (const f of e!.findings) process.stdout.write(`  ${f}\n`);
  }
  saveCheckCache();
  return ok ? 0 : 1;
}

const PROJECT_OPTIONS = { ...ENV_OPTIONS, json: { type: 'boolean' } } as const;

async function secretsCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: PROJECT_OPTIONS, strict: true });
  if (values.help) return help('secrets');
  if (values.out !== undefined) throw new UsageError('obstack secrets writes nothing: --out does not apply');
  const { own, content, files } = await openProject(values);
  const envs = loadAll(files, content);
  const listed = synthEach(envs, own, false).map((e) => ({ environment: e.result.environment, needs: secretsToCreate(e.result.environment, e.result.objects) }));
  if (values.json) {
    process.stdout.write(`${JSON.stringify(listed.map((l) => ({ environment: l.environment.name, secrets: l.needs })), null, 2)}\n`);
  } else {
    process.stdout.write(listed.map((l) => formatSecrets(l.environment.name, l.needs)).join('\n'));
  }
  return 0;
}

/** An error of `obstack diff` other than a difference: exit 2. */
class DiffError extends Error {
  readonly code = 'E_DIFF';
}

async function diffCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...PROJECT_OPTIONS, against: { type: 'string' } }, strict: true });
  if (values.help) return help('diff');
  if (values.out !== undefined) throw new UsageError('obstack diff writes nothing: to compare with another folder than dist, use --against DIR');
  const against = values.against ?? 'dist';
  const st = statSync(against, { throwIfNoEntry: false });
  if (st === undefined) throw new DiffError(`${against}: no such folder, nothing to compare with; run obstack synth first (or name the folder with --against DIR)`);
  if (!st.isDirectory()) throw new DiffError(`${against}: is a file, not a folder of written environments`);
  const { own, content, files } = await openProject(values);
  const envs = loadAll(files, content);
  let differs = false;
  const report: { environment: string; objects: unknown; files: unknown }[] = [];
  for (const env of envs) {
    const written = readWrittenEnvironment(against, env.name);
    if (written.size === 0) throw new DiffError(`${join(against, env.name)}: environment ${env.name} was never written there; run obstack synth --env ${env.name} first`);
    const [fresh] = synthEach([env], own, false);
    const d = diffEnvironment(written, fresh!.result.files);
    differs ||= !isEmpty(d);
    if (values.json) report.push({ environment: env.name, ...d });
    else process.stdout.write(formatDiff(env.name, against, d));
  }
  if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return differs ? 1 : 0;
}

async function testCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...ENV_OPTIONS, shipped: { type: 'boolean' } }, strict: true });
  if (values.help) return help('test');
  const { own, content, files } = await openProject(values);
  const [env] = loadAll(files.slice(0, 1), content);
  if (!env) throw new UsageError('no environment to test the rules in');
  const areas = values.shipped || own.ruleAreas.length === 0 ? content.ruleAreas : own.ruleAreas;
  const report = testRuleAreas(env, areas);
  process.stdout.write(`${report.cases} promtool case(s) over ${areas.length} rule area(s) in environment ${env.name}: ${report.ok ? 'passed' : 'FAILED'}\n`);
  if (!report.ok) process.stdout.write(`${report.output.trim()}\n`);
  for (const m of report.missing) process.stdout.write(`  missing: ${m}\n`);
  return report.ok && report.missing.length === 0 ? 0 : 1;
}

/** The lines of the project options (--env to --environments), shared by the commands that synthesize. */
const PROJECT_OPTIONS_HELP = USAGE.slice(USAGE.indexOf('           --env NAME'), USAGE.indexOf('           --out DIR'));

const COMMAND_HELP: Readonly<Record<string, string>> = {
  synth: USAGE.slice(USAGE.indexOf('  synth'), USAGE.indexOf('  check ')),
  check: USAGE.slice(USAGE.indexOf('  check '), USAGE.indexOf('  test ')),
  test: USAGE.slice(USAGE.indexOf('  test '), USAGE.indexOf('  init ')),
  init: USAGE.slice(USAGE.indexOf('  init '), USAGE.indexOf('  schema ')),
  schema: USAGE.slice(USAGE.indexOf('  schema '), USAGE.indexOf('  secrets ')),
  secrets: `${USAGE.slice(USAGE.indexOf('  secrets '), USAGE.indexOf('  diff '))}${PROJECT_OPTIONS_HELP}           --json              the Secrets as JSON
`,
  diff: `${USAGE.slice(USAGE.indexOf('  diff '), USAGE.indexOf(RULES_USAGE))}${PROJECT_OPTIONS_HELP}           --against DIR       the written environments to compare with (default: dist)
           --json              the differences as JSON
           exit 0: no differences, 1: differences, 2: could not compare
`,
};

function help(command: string): number {
  process.stdout.write(`usage: obstack ${command} [options]\n\n${COMMAND_HELP[command] ?? ''}`);
  return 0;
}

function schema(args: string[]): number {
  const { values } = parseArgs({ args, options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) return help('schema');
  const text = `${JSON.stringify(environmentJsonSchema(), null, 2)}\n`;
  if (values.out) {
    refuseUnusableOut(values.out, 'file');
    mkdirSync(dirname(values.out), { recursive: true });
    writeFileSync(values.out, text);
    process.stdout.write(`wrote ${values.out}\n`);
  } else {
    process.stdout.write(text);
  }
  return 0;
}

async function dispatch(command: string | undefined, rest: string[]): Promise<number> {
  switch (command) {
    case 'synth':
      return await synthCommand(rest);
    case 'check':
      if (rest[0] === 'dashboards') return checkDashboardFiles(rest.slice(1));
      return rest[0] === 'rules' ? checkRules(rest.slice(1)) : await checkCommand(rest);
    case 'test':
      return await testCommand(rest);
    case 'init': {
      // init stages next to its target with a recursive mkdir, which loops for ever below /proc: the same early refusal as --out.
      const { positionals } = parseArgs({ args: rest, options: { name: { type: 'string' }, obstack: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: false });
      if (positionals.length === 1) refuseUnusableOut(positionals[0]!, 'folder', `obstack init ${positionals[0]!}`);
      return initCommand(rest);
    }
    case 'report':
      return await reportCommand(rest);
    case 'import-rules':
      return importRules(rest);
    case 'schema':
      return schema(rest);
    case 'secrets':
      return await secretsCommand(rest);
    case 'diff':
      return await diffCommand(rest);
    case 'size':
      return sizeCommand(rest);
    case '--version':
    case '-v':
    case 'version':
      process.stdout.write(`obstack ${ownPackage().version}\n`);
      return 0;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

/** Runs one obstack command; resolves to the exit code (see USAGE). Errors a user can cause are printed as a block, never as a stack trace. */
export async function run(argv: string[]): Promise<number> {
  return runCommandLine(
    { dispatch, usageAfterParseError: (command) => (COMMAND_HELP[command ?? ''] !== undefined ? `usage: obstack ${command} [options]\n\n${COMMAND_HELP[command ?? '']}` : USAGE) },
    argv,
  );
}

if (basename(process.argv[1] ?? '') === 'main.ts' || basename(process.argv[1] ?? '') === 'main.js') {
  void run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
