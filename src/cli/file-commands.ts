/**
 * The commands that check or convert files a team brings (`check rules`,
 * `check dashboards`, `import-rules`) on their own: they need neither the
 * constructs nor the environment schema, so the command loads this lighter
 * entry for them and starts faster over large sets of files.
 */
import { setFlagsFromString } from 'node:v8';
import { checkRules, importRules, RULES_USAGE } from './rules-commands.js';
import { checkDashboardFiles, DASHBOARDS_USAGE } from './dashboards-commands.js';
import { runCommandLine } from './run-command.js';

/** Whether the arguments name one of the commands of this entry. */
export function isFileCommand(argv: readonly string[]): boolean {
  return (argv[0] === 'check' && (argv[1] === 'rules' || argv[1] === 'dashboards')) || argv[0] === 'import-rules';
}

async function dispatch(command: string | undefined, rest: string[]): Promise<number> {
  if (command === 'import-rules') return importRules(rest);
  if (command === 'check' && rest[0] === 'rules') return checkRules(rest.slice(1));
  if (command === 'check' && rest[0] === 'dashboards') return checkDashboardFiles(rest.slice(1));
  throw Object.assign(new Error(`not a file command: ${[command, ...rest.slice(0, 1)].join(' ')}`), { code: 'E_USAGE' });
}

/** Runs `check rules`, `check dashboards` or `import-rules` as the full command line would. */
export async function run(argv: string[]): Promise<number> {
  // These commands are over in about a second. V8's optimizing compiler, compiling on the core promtool
  // and the garbage collector also want, costs them more than its code gains: without it a check of the
  // corpus's 1,188 rules or 328 dashboards takes a quarter to a third less CPU time, and five times as
  // many rules take no longer. This is the process's own entry: nothing else runs in it.
  setFlagsFromString('--no-opt');
  return runCommandLine(
    {
      dispatch,
      usageAfterParseError: (command) =>
        command === 'import-rules' ? RULES_USAGE.slice(RULES_USAGE.indexOf('  import-rules')) : `usage: obstack check rules|dashboards FILE... [options]\n\n${RULES_USAGE}${DASHBOARDS_USAGE}`,
    },
    argv,
  );
}
