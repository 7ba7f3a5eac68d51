import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of obstack's own package.json: from the compiled modules of an
 * installed package (lib/src/cli), the sources (src/cli) or the command's
 * bundle (.build).
 */
export function packageRoot(): string {
  let dir = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'obstack') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('obstack: cannot find its own package.json');
    dir = parent;
  }
}

/** obstack's own package.json. */
export function ownPackage(): { name: string; version: string; peerDependencies?: Record<string, string>; devDependencies?: Record<string, string>; dependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8'));
}
