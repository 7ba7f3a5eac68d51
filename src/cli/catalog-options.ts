import { readFileSync } from 'node:fs';
import { type MetricCatalog, type MetricSource, buildCatalog, stackMetricCatalog } from '../validate/metric-catalog.js';

/**
 * The metric catalog named by `--catalog` options (`stack` and the names in
 * `extra`), or the message that refuses an unknown name. Shared by the
 * `check rules` and `check dashboards` commands.
 */
export function catalogFromOptions(
  names: readonly string[],
  extra: Readonly<Record<string, () => readonly MetricSource[]>>,
): { catalog: MetricCatalog } | { error: string } {
  const sources: MetricSource[] = [];
  for (const name of names) {
    if (name === 'stack') continue;
    const build = extra[name];
    if (!build) return { error: `--catalog must be one of stack, ${Object.keys(extra).join(', ')}; got "${name}"` };
    sources.push(...build());
  }
  return { catalog: new Map([...(names.includes('stack') ? stackMetricCatalog() : []), ...buildCatalog(sources)]) };
}

/** The metric names of a `--known-metrics` file: one a line, `#` starts a comment. */
export function readMetricNames(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}
