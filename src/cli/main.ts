import { writeFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, type Environment, environmentJsonSchema } from '../config/index.js';
import { writeEnvironments } from './write.js';
import { loadEnvironments } from './load-environments.js';
import { initCommand } from './init.js';
import { ContentError, contentReferences, environmentFiles, loadProjectContent, ProjectError, type ProjectContent, projectLayout, synth, testRuleAreas, withStackContent } from '../project/index.js';
import { checkRules, importRules, RULES_USAGE } from './rules-commands.js';
import { checkDashboardFiles, DASHBOARDS_USAGE } from './dashboards-commands.js';
import { REPORT_USAGE, reportCommand } from './report-command.js';

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
  check    synthesize in memory and run every check, with the real tools
           (same options as synth)
  test     run the promtool cases written next to the project's alerts
           (same project options; --shipped adds the stack's own alerts)
  init DIR create a repository of your own that builds on obstack
           --name NAME         the project's name (default: the folder's name)
           --obstack SPEC      how its package.json depends on obstack
                               (default: the tarball or version installed here)
  schema   print (or --out FILE) the JSON Schema of an environment file
${RULES_USAGE}${DASHBOARDS_USAGE}${REPORT_USAGE}`;

/** An error the user caused: printed as a block, exit 1, no stack trace. */
class UsageError extends Error {
  readonly code = 'E_USAGE';
}

const ENV_OPTIONS = {
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

type EnvValues = { env?: string[]; file?: string[]; 'env-file'?: string[]; project?: string; environments?: string };

/** The project (its layout and content, loaded once) and the environment files a command names. */
async function openProject(values: EnvValues): Promise<{ own: ProjectContent; content: ProjectContent; files: string[] }> {
  const layout = projectLayout(values.project ?? '.');
  const withEnvironments = values.environments ? { ...layout, environments: relative(layout.root, resolve(values.environments)) } : layout;
  const explicit = [...(values.file ?? []), ...(values['env-file'] ?? [])];
  const files = explicit.length > 0 && !values.env ? explicit : [...explicit, ...environmentFiles(withEnvironments, values.env ?? [])];
  const own = await loadProjectContent(layout);
  return { own, content: withStackContent(own), files };
}

/** Loads every file before anything else happens, so that one bad file refuses the whole run. */
function loadAll(files: readonly string[], content: ProjectContent): Environment[] {
  const envs = loadEnvironments(files, (env) => contentReferences(env, content));
  const seen = new Set<string>();
  for (const e of envs) {
    if (seen.has(e.name)) throw new UsageError(`two environment files are both named "${e.name}"`);
    seen.add(e.name);
  }
  return envs;
}

async function synthCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: ENV_OPTIONS, strict: true });
  if (values.help) return help('synth');
  const { own, content, files } = await openProject(values);
  const envs = loadAll(files, content);
  const report = synth({ environments: envs, content: own, tools: false });
  if (!report.ok) {
    for (const e of report.environments) {
      if (e.findings.length === 0) continue;
      process.stderr.write(`${e.result.environment.name}: ${e.findings.length} finding(s) in the synthesized output:\n${e.findings.map((f) => `  ${f}`).join('\n')}\n`);
    }
    process.stderr.write('synth refused: nothing was written\n');
    return 1;
  }
  const written = writeEnvironments(values.out ?? 'dist', new Map(report.environments.map((e) => [e.result.environment.name, e.result.files])));
  for (const w of written) process.stdout.write(`wrote ${relative(process.cwd(), w) || w}\n`);
  return 0;
}

async function checkCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: ENV_OPTIONS, strict: true });
  if (values.help) return help('check');
  const { own, content, files } = await openProject(values);
  const envs = loadAll(files, content);
  const report = synth({ environments: envs, content: own, tools: true });
  for (const e of report.environments) {
    process.stdout.write(`${e.result.environment.name}: ${e.findings.length === 0 ? 'ok' : `${e.findings.length} finding(s)`}\n`);
    for (const f of e.findings) process.stdout.write(`  ${f}\n`);
  }
  return report.ok ? 0 : 1;
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

const COMMAND_HELP: Readonly<Record<string, string>> = {
  synth: USAGE.slice(USAGE.indexOf('  synth'), USAGE.indexOf('  check ')),
  check: USAGE.slice(USAGE.indexOf('  check '), USAGE.indexOf('  test ')),
  test: USAGE.slice(USAGE.indexOf('  test '), USAGE.indexOf('  init ')),
  init: USAGE.slice(USAGE.indexOf('  init '), USAGE.indexOf('  schema ')),
};

function help(command: string): number {
  process.stdout.write(`usage: obstack ${command} [options]\n\n${COMMAND_HELP[command] ?? ''}`);
  return 0;
}

function schema(args: string[]): number {
  const { values } = parseArgs({ args, options: { out: { type: 'string' } }, strict: true });
  const text = `${JSON.stringify(environmentJsonSchema(), null, 2)}\n`;
  if (values.out) {
    mkdirSync(dirname(values.out), { recursive: true });
    writeFileSync(values.out, text);
    process.stdout.write(`wrote ${values.out}\n`);
  } else {
    process.stdout.write(text);
  }
  return 0;
}

/** Runs one obstack command; resolves to the exit code. Errors a user can cause are printed as a block, never as a stack trace. */
export async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'synth':
        return await synthCommand(rest);
      case 'check':
        if (rest[0] === 'dashboards') return checkDashboardFiles(rest.slice(1));
        return rest[0] === 'rules' ? checkRules(rest.slice(1)) : await checkCommand(rest);
      case 'test':
        return await testCommand(rest);
      case 'init':
        return initCommand(rest);
      case 'report':
        return await reportCommand(rest);
      case 'import-rules':
        return importRules(rest);
      case 'schema':
        return schema(rest);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE);
        return command === undefined ? 1 : 0;
      default:
        throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
    }
  } catch (e) {
    if (e instanceof ConfigError || e instanceof UsageError || e instanceof ProjectError || e instanceof ContentError || (e instanceof Error && ['E_CONFIG', 'E_RULE', 'E_METRICS', 'E_INIT', 'TOOL_NOT_FOUND'].includes(String((e as { code?: unknown }).code)))) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    if (e instanceof TypeError && 'code' in e && String((e as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${e.message}\n\n${USAGE}`);
      return 1;
    }
    throw e;
  }
}

if (basename(process.argv[1] ?? '') === 'main.ts' || basename(process.argv[1] ?? '') === 'main.js') {
  void run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
