import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The real-world corpus (kube-prometheus rules and dashboards) lives next to
 * the project, not in it: `../shared/corpus`, or wherever OBSTACK_CORPUS_DIR
 * points. Suites that need it are skipped, with this message, when it is absent.
 */
export function corpusDir(kind: 'rules' | 'dashboards'): string | undefined {
  const root = process.env.OBSTACK_CORPUS_DIR ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'corpus');
  const dir = join(root, 'kube-prometheus', kind);
  return existsSync(dir) ? dir : undefined;
}

export const CORPUS_MISSING = 'the kube-prometheus corpus is not next to the project (../shared/corpus or OBSTACK_CORPUS_DIR)';

/**
 * Every rule file of the corpus (kube-prometheus and awesome-prometheus-alerts),
 * sorted, as paths; undefined when the corpus is absent.
 */
export function corpusRuleFiles(): string[] | undefined {
  const kube = corpusDir('rules');
  if (kube === undefined) return undefined;
  const files = readdirSync(kube).filter((f) => f.endsWith('.yaml')).map((f) => join(kube, f));
  const awesome = join(kube, '..', '..', 'awesome-prometheus-alerts', 'dist', 'rules');
  if (existsSync(awesome)) files.push(...(readdirSync(awesome, { recursive: true }) as string[]).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(awesome, f)));
  return files;
}
