import { readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, type Environment, environmentJsonSchema, loadEnvironmentFile } from '../config/index.js';
import { synthesizeEnvironment } from './synthesize.js';
import { writeEnvironments } from './write.js';
import { stackRuleFiles } from '../../rules/index.js';
import { stackDashboards } from '../../dashboards/index.js';
import { checkSynthesized } from './check.js';
import { checkRules, importRules, RULES_USAGE } from './rules-commands.js';
import { checkDashboardFiles, DASHBOARDS_USAGE } from './dashboards-commands.js';

const USAGE = `usage: obstack <command> [options]

commands:
  synth    synthesize environments into <out>/<env>/
           --env NAME          one environment from --environments (repeatable)
           --env-file FILE     an environment file anywhere (repeatable)
           --all               every environment in --environments (the default)
           --environments DIR  default: examples/environments
           --out DIR           default: dist
  schema   print (or --out FILE) the JSON Schema of an environment file
  check    synthesize in memory and run every check, with the real tools
           (same environment options as synth)
${RULES_USAGE}${DASHBOARDS_USAGE}`;

/** An error the user caused: printed as a block, exit 1, no stack trace. */
class UsageError extends Error {
  readonly code = 'E_USAGE';
}

function environmentFiles(values: { env?: string[]; 'env-file'?: string[]; environments?: string }): string[] {
  const dir = values.environments ?? 'examples/environments';
  const files = [...(values['env-file'] ?? [])];
  for (const name of values.env ?? []) files.push(join(dir, `${name}.yaml`));
  if (files.length > 0) return files;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    throw new UsageError(`environments folder "${dir}" cannot be read`);
  }
  const all = entries.filter((f) => ['.yaml', '.yml'].includes(extname(f))).sort();
  if (all.length === 0) throw new UsageError(`no environment files (*.yaml) in "${dir}"`);
  return all.map((f) => join(dir, f));
}

/** Loads every file before anything else happens, so that one bad file refuses the whole run. */
function loadAll(files: readonly string[]): Environment[] {
  const envs: Environment[] = [];
  const errors: ConfigError[] = [];
  for (const f of files) {
    try {
      envs.push(loadEnvironmentFile(f));
    } catch (e) {
      if (e instanceof ConfigError) errors.push(e);
      else throw e;
    }
  }
  if (errors.length > 0) throw new AggregateConfigError(errors);
  const seen = new Set<string>();
  for (const e of envs) {
    if (seen.has(e.name)) throw new UsageError(`two environment files are both named "${e.name}"`);
    seen.add(e.name);
  }
  return envs;
}

class AggregateConfigError extends Error {
  readonly code = 'E_CONFIG';
  constructor(readonly errors: readonly ConfigError[]) {
    super(errors.map((e) => e.message).join('\n\n'));
  }
}

const ENV_OPTIONS = {
  env: { type: 'string', multiple: true },
  'env-file': { type: 'string', multiple: true },
  all: { type: 'boolean' },
  environments: { type: 'string' },
  out: { type: 'string' },
} as const;

function synth(args: string[]): number {
  const { values } = parseArgs({ args, options: ENV_OPTIONS, strict: true });
  const envs = loadAll(environmentFiles(values));
  const outputs = new Map<string, ReadonlyMap<string, string>>();
  let failed = false;
  for (const env of envs) {
    const result = synthesizeEnvironment(env, { ruleFiles: stackRuleFiles(env), dashboards: stackDashboards(env) });
    const findings = checkSynthesized(result, { tools: false });
    if (findings.length > 0) {
      failed = true;
      process.stderr.write(`${env.name}: ${findings.length} finding(s) in the synthesized output:\n${findings.map((f) => `  ${f}`).join('\n')}\n`);
    }
    outputs.set(env.name, result.files);
  }
  if (failed) {
    process.stderr.write('synth refused: nothing was written\n');
    return 1;
  }
  const written = writeEnvironments(values.out ?? 'dist', outputs);
  for (const w of written) process.stdout.write(`wrote ${w}\n`);
  return 0;
}

function check(args: string[]): number {
  const { values } = parseArgs({ args, options: ENV_OPTIONS, strict: true });
  const envs = loadAll(environmentFiles(values));
  let total = 0;
  for (const env of envs) {
    const result = synthesizeEnvironment(env, { ruleFiles: stackRuleFiles(env), dashboards: stackDashboards(env) });
    const findings = checkSynthesized(result, { tools: true });
    total += findings.length;
    process.stdout.write(`${env.name}: ${findings.length === 0 ? 'ok' : `${findings.length} finding(s)`}\n`);
    for (const f of findings) process.stdout.write(`  ${f}\n`);
  }
  return total === 0 ? 0 : 1;
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

export function run(argv: string[]): number {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'synth':
        return synth(rest);
      case 'check':
        if (rest[0] === 'dashboards') return checkDashboardFiles(rest.slice(1));
        return rest[0] === 'rules' ? checkRules(rest.slice(1)) : check(rest);
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
    if (e instanceof ConfigError || e instanceof AggregateConfigError || e instanceof UsageError) {
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
  process.exitCode = run(process.argv.slice(2));
}
