/**
 * How every obstack command ends: an exit code, and for what a user can cause
 * one message without a stack trace. Shared by the full command line
 * (main.ts) and the lighter one that checks rule and dashboard files
 * (file-commands.ts), so that both answer the same way.
 */

/** Error codes of mistakes a user makes: a wrong environment file, option, project or path. */
const USER_ERROR_CODES = new Set(['E_CONFIG', 'E_USAGE', 'E_PROJECT', 'E_CONTENT', 'E_DIFF', 'E_RULE', 'E_METRICS', 'E_INIT', 'TOOL_NOT_FOUND']);

/** Errors of the file system a user causes with a path (a missing file, a read-only folder): their message names the path. */
const FILE_SYSTEM_CODES = new Set(['EACCES', 'EPERM', 'ENOENT', 'EISDIR', 'ENOTDIR', 'EROFS', 'ENOSPC', 'EEXIST', 'ENAMETOOLONG', 'ELOOP']);

/** Whether an error is one a user can cause, printed as a block instead of a stack trace. */
export function isUserError(e: unknown): e is Error {
  if (!(e instanceof Error)) return false;
  const code = String((e as { code?: unknown }).code);
  return USER_ERROR_CODES.has(code) || code.startsWith('ERR_PARSE_ARGS') || (FILE_SYSTEM_CODES.has(code) && 'syscall' in e);
}

/**
 * A reader that went away (`obstack schema | head -1`) ends the run quietly:
 * what it did not read is not an error of the command.
 */
let pipesGuarded = false;
export function exitQuietlyOnClosedPipe(): void {
  if (pipesGuarded) return;
  pipesGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      throw e;
    });
  }
}

export interface CommandLine {
  readonly dispatch: (command: string | undefined, rest: string[]) => Promise<number>;
  /** What follows an option the parser refused: the command's usage, or the whole usage. */
  readonly usageAfterParseError: (command: string | undefined) => string;
}

/** Runs one command; resolves to the exit code. Errors a user can cause are printed as a block, never as a stack trace. */
export async function runCommandLine(cli: CommandLine, argv: string[]): Promise<number> {
  exitQuietlyOnClosedPipe();
  const [command, ...rest] = argv;
  try {
    return await cli.dispatch(command, rest);
  } catch (e) {
    if (!isUserError(e)) throw e;
    const parseError = String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
    process.stderr.write(parseError ? `${e.message}\n\n${cli.usageAfterParseError(command)}` : `${e.message}\n`);
    // diff tells "could not compare" (2) from "differs" (1), as diff(1) does.
    return command === 'diff' ? 2 : 1;
  }
}
