import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  applyCheckConfig,
  type CheckConfig,
  CheckConfigError,
  exitCodeFor,
  formatReport,
  REPORT_FORMATS,
  type ReportedFinding,
  type ReportFormat,
  summarizeFindings,
} from '../validate/check-report.js';
import { checkDashboards, type DashboardFinding, type DashboardSource, type ProvisionedDatasource } from '../validate/dashboard-check.js';
import { KUBE_PROMETHEUS_DASHBOARD_SOURCES } from '../validate/dashboard-catalog-kube-prometheus.js';
import { knownMetricPredicate, recordedMetrics } from '../validate/dashboard-rules.js';
import { type MetricSource, type MetricType, PROMETHEUS_SYNTHETIC } from '../validate/metric-catalog.js';
import { KUBE_PROMETHEUS_SOURCES } from '../validate/metric-catalog-kube-prometheus.js';
import { parseMetricTypes } from '../validate/rules-lint.js';
import { catalogFromOptions, readMetricNames } from './catalog-options.js';
import { checkConfigFromOption, DEFAULT_CHECK_CONFIG } from './rules-commands.js';

export const DASHBOARDS_USAGE = `  check dashboards FILE...  check Grafana dashboard JSON files: Grafana's dashboard-linter rules, PromQL
                            and LogQL that parse, datasources provisioned, uids and panel ids unique,
                            no overlap, size
           --catalog NAME          check metric names against a catalog: stack or kube-prometheus;
                                   repeatable (default: no catalog, no unknown-metric check)
           --no-catalog            no catalog (the default; kept for scripts)
           --known-metrics FILE    more known metric names, one a line (# comments)
           --rules FILE            a Prometheus rule file whose recorded series count as known (repeatable)
           --metric-types FILE     metric types from real /metrics output (# TYPE lines), for
                                   target-counter-agg
           --datasource UID:TYPE   a provisioned datasource (repeatable; default: the stack's)
           --policy                also the conventions (policy): job and instance variables,
                                   titles and descriptions, units, refresh on time change
           --format FORMAT         text (default), json, sarif or github
           --config FILE           checks to turn off per path, levels, dashboards.policy
                                   (default: .obstack-checks.yaml when it exists)
`;

/**
 * The datasources the stack provisions, by uid and plugin type: the uids of
 * DATASOURCE_UIDS (src/constructs/stack.ts; a test keeps them equal), written
 * here so that the command does not load the constructs.
 */
export const STACK_DATASOURCES: readonly ProvisionedDatasource[] = [
  { uid: 'prometheus', type: 'prometheus' },
  { uid: 'alertmanager', type: 'alertmanager' },
  { uid: 'elasticsearch-logs', type: 'elasticsearch' },
  { uid: 'jaeger', type: 'jaeger' },
  { uid: 'analytics-postgres', type: 'grafana-postgresql-datasource' },
];

const CATALOGS: Readonly<Record<string, () => readonly MetricSource[]>> = {
  'kube-prometheus': () => [PROMETHEUS_SYNTHETIC, ...KUBE_PROMETHEUS_SOURCES, ...KUBE_PROMETHEUS_DASHBOARD_SOURCES],
};

/** The `dashboards:` section of the checks' configuration file: `policy: true` turns the policy checks on. */
export function dashboardSettings(config: CheckConfig): { policy: boolean } {
  const section = config.dashboards;
  for (const key of Object.keys(section)) if (key !== 'policy') throw new CheckConfigError(`dashboards.${key}: unknown field (expected policy)`);
  const policy = section.policy ?? false;
  if (typeof policy !== 'boolean') throw new CheckConfigError(`dashboards.policy: must be true or false, got ${JSON.stringify(policy)}`);
  return { policy };
}

/** A dashboard finding as the check commands print it. */
export function toReportedDashboardFinding(f: DashboardFinding): ReportedFinding {
  return { file: f.object, where: f.path ?? '', check: f.check, level: f.level, policy: f.policy, message: f.message, ...(f.line !== undefined ? { line: f.line } : {}) };
}

const fail = (message: string): number => {
  process.stderr.write(`${message}\n`);
  return 1;
};

/** `obstack check dashboards FILE...`: the findings in the chosen format; 1 when any is at level error. */
export function checkDashboardFiles(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    options: {
      'no-catalog': { type: 'boolean' },
      catalog: { type: 'string', multiple: true },
      'known-metrics': { type: 'string', multiple: true },
      rules: { type: 'string', multiple: true },
      'metric-types': { type: 'string', multiple: true },
      datasource: { type: 'string', multiple: true },
      policy: { type: 'boolean' },
      format: { type: 'string' },
      config: { type: 'string' },
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
  const format = (values.format ?? 'text') as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) return fail(`--format must be one of ${REPORT_FORMATS.join(', ')}; got "${values.format}"`);
  if (values['no-catalog'] && values.catalog) return fail('--no-catalog and --catalog contradict each other; give one');
  const datasources: ProvisionedDatasource[] = [];
  for (const d of values.datasource ?? []) {
    const m = /^([^:]+):(.+)$/.exec(d);
    if (!m) return fail(`--datasource must be UID:TYPE (e.g. prometheus:prometheus), got "${d}"`);
    datasources.push({ uid: m[1]!, type: m[2]! });
  }
  let knownMetric: ((m: string) => boolean) | undefined;
  let catalogType: (m: string) => MetricType | undefined = () => undefined;
  if (values.catalog) {
    const chosen = catalogFromOptions(values.catalog, CATALOGS);
    if ('error' in chosen) return fail(chosen.error);
    let known: Set<string>;
    try {
      known = new Set([...(values['known-metrics'] ?? []).flatMap(readMetricNames), ...recordedMetrics((values.rules ?? []).map((f) => readFileSync(f, 'utf8')))]);
    } catch (e) {
      return fail((e as Error).message);
    }
    knownMetric = knownMetricPredicate(chosen.catalog, known);
    catalogType = (m) => chosen.catalog.get(m)?.type;
  } else if (values['known-metrics'] || values.rules) {
    process.stderr.write('note: --known-metrics and --rules add names to a catalog; without --catalog, metric names are not checked\n');
  }
  const dumped = new Map<string, MetricType>();
  for (const file of values['metric-types'] ?? []) {
    try {
      for (const [name, type] of parseMetricTypes(readFileSync(file, 'utf8'))) dumped.set(name, type);
    } catch (e) {
      return fail(`--metric-types ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  let config: CheckConfig;
  try {
    config = checkConfigFromOption(values.config);
  } catch (e) {
    if (!(e instanceof CheckConfigError)) throw e;
    return fail(`--config ${e.message}`);
  }
  let policy: boolean;
  try {
    policy = values.policy === true || dashboardSettings(config).policy;
  } catch (e) {
    if (!(e instanceof CheckConfigError)) throw e;
    return fail(`--config ${values.config ?? DEFAULT_CHECK_CONFIG}: ${e.message}`);
  }

  // Each file is read as it is checked, so that its text dies young instead of being carried through the
  // whole run (the collector then copies megabytes less); findings of unreadable files still come first.
  const findings: ReportedFinding[] = [];
  let count = 0;
  function* files(): Generator<DashboardSource> {
    for (const path of positionals) {
      let json: string;
      try {
        json = readFileSync(path, 'utf8');
      } catch (e) {
        findings.push({ file: path, where: '', check: 'read', level: 'error', policy: false, message: `cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
        continue;
      }
      count++;
      yield { name: path, json };
    }
  }
  const checked = checkDashboards(files(), {
    datasources: datasources.length > 0 ? datasources : STACK_DATASOURCES,
    ...(knownMetric ? { knownMetric } : {}),
    metricType: (m) => dumped.get(m) ?? catalogType(m),
    policy,
  });
  findings.push(...checked.map(toReportedDashboardFinding));
  const reported = applyCheckConfig(findings, config);
  process.stdout.write(formatReport(reported, format, 'dashboards'));
  if (format === 'text') process.stdout.write(`${count} dashboard${count === 1 ? '' : 's'} checked: ${summarizeFindings(reported)}\n`);
  return exitCodeFor(reported);
}
