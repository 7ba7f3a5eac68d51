import { run } from '../../src/cli/main.js';

/** Runs an obstack command in process with stdout and stderr captured; `terminal` makes stderr look like a terminal. */
export async function obstack(args: string[], opts: { terminal?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  const wasTTY = process.stderr.isTTY;
  // As if a person watched stderr: progress lines are written only to a terminal.
  process.stderr.isTTY = opts.terminal ?? false;
  process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    const code = await run(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    process.stderr.isTTY = wasTTY;
  }
}
