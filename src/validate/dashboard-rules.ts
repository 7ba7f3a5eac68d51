import { dashboardUidFromUrl } from '../authoring/dashboard-links.js';
import { checkDashboards, type DashboardCheckOptions, type ProvisionedDatasource } from './dashboard-check.js';
import type { Finding } from './finding.js';
import type { MetricCatalog } from './metric-catalog.js';
import { parseYamlOnce } from './yaml-cache.js';

interface RuleYaml {
  record?: unknown;
  alert?: unknown;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

/** The rules of a Prometheus rule file text (plain `groups:` or a PrometheusRule's `spec.groups`); none when it does not parse. */
export function rulesOf(text: string): RuleYaml[] {
  let doc: unknown;
  try {
    doc = parseYamlOnce(text);
  } catch {
    return [];
  }
  const root = doc as { groups?: unknown; spec?: { groups?: unknown } } | null;
  const groups = Array.isArray(root?.groups) ? root.groups : Array.isArray(root?.spec?.groups) ? root.spec.groups : [];
  return (groups as Array<{ rules?: unknown }>).flatMap((g) => (Array.isArray(g?.rules) ? (g.rules as RuleYaml[]) : []));
}

/** The series names recording rules record. */
export function recordedMetrics(ruleFiles: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const text of ruleFiles) for (const r of rulesOf(text)) if (typeof r.record === 'string') out.add(r.record);
  return out;
}

/** A metric is known when the catalog lists it or a recording rule records it. */
export function knownMetricPredicate(catalog: MetricCatalog, recorded: ReadonlySet<string>): (metric: string) => boolean {
  return (m) => catalog.has(m) || recorded.has(m);
}

/** Every `dashboard_uid` annotation, and every `dashboard_url` that points at a dashboard, names a dashboard that is shipped. */
export function checkAlertDashboardLinks(ruleFiles: ReadonlyMap<string, string>, dashboardUids: ReadonlySet<string>): Finding[] {
  const findings: Finding[] = [];
  const shipped = [...dashboardUids].sort().join(', ') || 'none';
  for (const [file, text] of ruleFiles) {
    for (const r of rulesOf(text)) {
      if (typeof r.alert !== 'string') continue;
      const uid = r.annotations?.dashboard_uid;
      if (typeof uid === 'string' && !dashboardUids.has(uid)) {
        findings.push({ check: 'alert-dashboard', object: file, path: `${r.alert}.annotations.dashboard_uid`, message: `names the dashboard "${uid}", which is not shipped (shipped: ${shipped})` });
      }
      const url = r.annotations?.dashboard_url;
      if (typeof url === 'string') {
        const target = dashboardUidFromUrl(url);
        if (target === undefined) findings.push({ check: 'alert-dashboard', object: file, path: `${r.alert}.annotations.dashboard_url`, message: `"${url}" is not a Grafana dashboard URL (…/d/<uid>)` });
        else if (!dashboardUids.has(target)) findings.push({ check: 'alert-dashboard', object: file, path: `${r.alert}.annotations.dashboard_url`, message: `points to the dashboard "${target}", which is not shipped (shipped: ${shipped})` });
      }
    }
  }
  return findings;
}

/** SLO names the SLO compiler records (`slo:objective:ratio{slo="…"}`). */
export function sloNames(ruleFiles: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const text of ruleFiles) {
    for (const r of rulesOf(text)) {
      if (r.record === 'slo:objective:ratio' && typeof r.labels?.slo === 'string') out.add(r.labels.slo);
    }
  }
  return out;
}

/**
 * Every SLO has a panel: a query that names it (`slo="checkout"`), or one that
 * selects SLOs through a variable listing the values of the `slo` label.
 */
export function checkSloPanels(slos: ReadonlySet<string>, dashboards: readonly { readonly uid: string; readonly json: string }[]): Finding[] {
  if (slos.size === 0) return [];
  const covered = new Set<string>();
  let all = false;
  for (const d of dashboards) {
    const json = JSON.parse(d.json) as { templating?: { list?: Array<{ name?: string; type?: string; query?: unknown }> } };
    const sloVariables = (json.templating?.list ?? [])
      .filter((v) => v.type === 'query' && typeof v.query === 'string' && /label_values\(\s*slo:[^,]*,\s*slo\s*\)/.test(v.query))
      .map((v) => v.name ?? '');
    for (const [, expr] of d.json.matchAll(/"expr":\s*"((?:[^"\\]|\\.)*)"/g)) {
      for (const s of slos) if (new RegExp(`slo\\s*=\\s*\\\\"${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\\\"`).test(expr ?? '')) covered.add(s);
      if (sloVariables.some((v) => v && (expr ?? '').includes(`slo=~\\"$${v}\\"`))) all = true;
    }
  }
  if (all) return [];
  return [...slos]
    .filter((s) => !covered.has(s))
    .map((s) => ({ check: 'slo-panel', object: `SLO/${s}`, message: `no dashboard panel shows the SLO "${s}" (a query with slo="${s}", or one selecting slo=~"$var" over label_values(slo:…, slo))` }));
}

export interface SynthesizedDashboardInput {
  readonly dashboards: readonly { readonly uid: string; readonly json: string }[];
  readonly datasources: readonly ProvisionedDatasource[];
  /** Rule files by name, as mounted into Prometheus. */
  readonly ruleFiles: ReadonlyMap<string, string>;
  readonly catalog: MetricCatalog;
}

/**
 * Every dashboard check on one environment's output: the dashboards
 * themselves (errors and warnings; style notes are for `check dashboards`),
 * alerts' dashboard links, and SLO panels.
 */
export function checkSynthesizedDashboards(input: SynthesizedDashboardInput): Finding[] {
  const recorded = recordedMetrics(input.ruleFiles.values());
  const opts: DashboardCheckOptions = {
    datasources: input.datasources,
    knownMetric: knownMetricPredicate(input.catalog, recorded),
    metricType: (m) => input.catalog.get(m)?.type,
    requireDatasourceVariable: true,
  };
  return [
    ...checkDashboards(
      input.dashboards.map((d) => ({ name: `Dashboard/${d.uid}`, json: d.json })),
      opts,
    )
      .filter((f) => f.level !== 'info')
      .map(({ check, object, path, message }): Finding => ({ check, object, ...(path !== undefined ? { path } : {}), message })),
    ...checkAlertDashboardLinks(input.ruleFiles, new Set(input.dashboards.map((d) => d.uid))),
    ...checkSloPanels(sloNames(input.ruleFiles.values()), input.dashboards),
  ];
}
