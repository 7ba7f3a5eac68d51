import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * This folder: next to this module when run from source (tsx, vitest), or
 * `../templates` from the command's CommonJS bundle in `.build/`.
 */
function templatesDir(): string {
  const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  for (const dir of [here, join(here, '..', 'templates')]) {
    if (existsSync(join(dir, 'logstash', 'pipeline.conf.hbs'))) return dir;
  }
  throw new Error(`templates/ not found next to ${here}`);
}

/** The source of a template by its path under templates/, e.g. `logstash/pipeline.conf.hbs`. */
export function templateSource(path: string): string {
  return readFileSync(join(templatesDir(), path), 'utf8');
}
