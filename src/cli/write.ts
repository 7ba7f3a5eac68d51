import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Writes each environment's files to a staging folder next to `outDir`, then
 * swaps each `outDir/<env>` in with a rename. Nothing in `outDir` changes
 * until every file has been written, and a failure leaves it as it was.
 */
export function writeEnvironments(outDir: string, environments: ReadonlyMap<string, ReadonlyMap<string, string>>): string[] {
  const out = resolve(outDir);
  const staging = join(dirname(out), `.obstack-tmp-${basename(out)}-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  try {
    for (const [env, files] of environments) {
      for (const [rel, content] of files) {
        const path = join(staging, env, rel);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, content);
      }
    }
    mkdirSync(out, { recursive: true });
    const written: string[] = [];
    for (const env of environments.keys()) {
      const target = join(out, env);
      const old = join(staging, `${env}.old`);
      if (existsSync(target)) renameSync(target, old);
      renameSync(join(staging, env), target);
      written.push(target);
    }
    return written;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
