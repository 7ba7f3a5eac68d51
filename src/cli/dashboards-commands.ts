import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DATASOURCE_UIDS } from '../constructs/index.js';
import {
  checkDashboards,
  type DashboardSource,
  type Finding,
  KUBE_PROMETHEUS_DASHBOARD_SOURCES,
  KUBE_PROMETHEUS_SOURCES,
  knownMetricPredicate,
  type MetricSource,
  PROMETHEUS_SYNTHETIC,
  type ProvisionedDatasource,
  recordedMetrics,
} from '../validate/index.js';
import { catalogFromOptions, readMetricNames } from './catalog-options.js';

export const DASHBOARDS_USAGE = `  check dashboards FILE...  check Grafana dashboard JSON files: PromQL parses, metrics known,
                            datasources provisioned, uids and panel ids unique, no overlap, size
           --no-catalog            do not check metric names
           --catalog NAME          stack (default) or kube-prometheus; repeatable
           --known-metrics FILE    more known metric names, one a line (# comments)
           --rules FILE            a Prometheus rule file whose recorded series count as known (repeatable)
           --datasource UID:TYPE   a provisioned datasource (repeatable; default: the stack's)
`;

/** The datasources the stack provisions, by uid and plugin type. */
const STACK_DATASOURCES: readonly ProvisionedDatasource[] = [
  { uid: DATASOURCE_UIDS.prometheus, type: 'prometheus' },
  { uid: DATASOURCE_UIDS.alertmanager, type: 'alertmanager' },
  { uid: DATASOURCE_UIDS.logs, type: 'elasticsearch' },
  { uid: DATASOURCE_UIDS.traces, type: 'jaeger' },
  { uid: DATASOURCE_UIDS.analytics, type: 'grafana-postgresql-datasource' },
];

const CATALOGS: Readonly<Record<string, () => readonly MetricSource[]>> = {
  'kube-prometheus': () => [PROMETHEUS_SYNTHETIC, ...KUBE_PROMETHEUS_SOURCES, ...KUBE_PROMETHEUS_DASHBOARD_SOURCES],
};

/** One finding on one line: file, panel (or variable), check and reason. */
export function formatDashboardFinding(f: Finding): string {
  return `${f.object}${f.path ? `: ${f.path}` : ''}: [${f.check}] ${f.message}`;
}

/** `obstack check dashboards FILE...`: every finding on one line with file, panel and reason; 1 when there is any. */
export function checkDashboardFiles(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    options: {
      'no-catalog': { type: 'boolean' },
      catalog: { type: 'string', multiple: true },
      'known-metrics': { type: 'string', multiple: true },
      rules: { type: 'string', multiple: true },
      datasource: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`usage: obstack check dashboards FILE... [options]\n\n${DASHBOARDS_USAGE}`);
    return 0;
  }
  if (positionals.length === 0) {
    process.stderr.write(`obstack check dashboards needs at least one dashboard file\n\n${DASHBOARDS_USAGE}`);
    return 1;
  }
  const datasources: ProvisionedDatasource[] = [];
  for (const d of values.datasource ?? []) {
    const m = /^([^:]+):(.+)$/.exec(d);
    if (!m) {
      process.stderr.write(`--datasource must be UID:TYPE (e.g. prometheus:prometheus), got "${d}"\n`);
      return 1;
    }
    datasources.push({ uid: m[1]!, type: m[2]! });
  }
  const chosen = catalogFromOptions(values.catalog ?? ['stack'], CATALOGS);
  if ('error' in chosen) {
    process.stderr.write(`${chosen.error}\n`);
    return 1;
  }
  let known: Set<string>;
  try {
    known = new Set([...(values['known-metrics'] ?? []).flatMap(readMetricNames), ...recordedMetrics((values.rules ?? []).map((f) => readFileSync(f, 'utf8')))]);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 1;
  }
  const catalog = chosen.catalog;

  const findings: Finding[] = [];
  const files: DashboardSource[] = [];
  for (const path of positionals) {
    try {
      files.push({ name: path, json: readFileSync(path, 'utf8') });
    } catch (e) {
      findings.push({ check: 'read', object: path, message: `cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
    }
  }
  findings.push(
    ...checkDashboards(files, {
      datasources: datasources.length > 0 ? datasources : STACK_DATASOURCES,
      ...(values['no-catalog'] ? {} : { knownMetric: knownMetricPredicate(catalog, known) }),
    }),
  );
  for (const f of findings) process.stdout.write(`${formatDashboardFinding(f)}\n`);
  process.stdout.write(`${files.length} dashboard${files.length === 1 ? '' : 's'} checked, ${findings.length === 0 ? 'no findings' : `${findings.length} finding${findings.length === 1 ? '' : 's'}`}\n`);
  return findings.length === 0 ? 0 : 1;
}
