import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Content files import 'obstack'; in the tests it is this checkout's sources rather than an installed package. */
export const SOURCE_ALIAS = { obstack: join(import.meta.dirname, '..', '..', 'src', 'index.ts') } as const;

/** Writes one file of a project under `dir`, creating its folders. */
export function writeProjectFile(dir: string, rel: string, text: string): void {
  const path = join(dir, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
