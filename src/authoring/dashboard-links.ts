import { ConfigError } from '../config/errors.js';
import type { Environment } from '../config/index.js';
import { dropIssues } from './references.js';

/**
 * Stable uids of the dashboards the stack ships. Alerts name their dashboard
 * with one of these (`dashboard: DASHBOARD_UIDS.serviceOverview`), and the
 * checks prove that every named dashboard is shipped.
 */
export const DASHBOARD_UIDS = {
  serviceOverview: 'obstack-service-overview',
  stackHealth: 'obstack-stack-health',
  nodes: 'obstack-nodes',
  kubernetesWorkloads: 'obstack-kubernetes-workloads',
  businessKpis: 'obstack-business-kpis',
  ai: 'obstack-ai',
  logs: 'obstack-logs',
  traces: 'obstack-traces',
  alerts: 'obstack-alerts',
  slos: 'obstack-slos',
  security: 'obstack-security',
  database: 'obstack-database',
  realtime: 'obstack-realtime-cache',
  ingest: 'obstack-ingest',
  errors: 'obstack-errors',
  controlPlane: 'obstack-control-plane',
  postgres: 'obstack-postgres',
  redis: 'obstack-redis',
  probes: 'obstack-probes',
} as const;

export type ShippedDashboardUid = (typeof DASHBOARD_UIDS)[keyof typeof DASHBOARD_UIDS];

/** Grafana's folders, one per stakeholder. */
export const DASHBOARD_FOLDERS = {
  sre: 'SRE',
  developers: 'Developers',
  business: 'Business',
  security: 'Security',
} as const;

export type DashboardFolder = (typeof DASHBOARD_FOLDERS)[keyof typeof DASHBOARD_FOLDERS];

/**
 * The URL of a dashboard in Grafana, `<base>/d/<uid>`, with optional variables
 * (`var-<name>=<value>`) so that an alert can open the dashboard on its service.
 * A relative base (`''` or `/grafana`) gives a path Grafana resolves itself.
 */
export function dashboardUrl(grafanaBaseUrl: string, uid: string, variables: Readonly<Record<string, string>> = {}): string {
  if (!/^[a-zA-Z0-9_-]{1,40}$/.test(uid)) throw new Error(`dashboard uid must be 1 to 40 letters, digits, "-" or "_", got "${uid}"`);
  const base = grafanaBaseUrl.replace(/\/+$/, '');
  const query = Object.entries(variables)
    .map(([k, v]) => `var-${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return `${base}/d/${uid}${query ? `?${query}` : ''}`;
}

/** The dashboard uid a `dashboard_url` points to (`…/d/<uid>[/slug][?…]`), or undefined when it is not a dashboard URL. */
export function dashboardUidFromUrl(url: string): string | undefined {
  return /\/d\/([a-zA-Z0-9_-]{1,40})(?:[/?#]|$)/.exec(url)?.[1];
}

/**
 * Where people open Grafana in an environment: `components.grafana.externalUrl`, else its ingress when it has one,
 * otherwise its in-cluster Service (reachable with a port-forward).
 */
export function grafanaBaseUrl(env: Environment): string {
  // The same URL as Grafana's root_url (src/constructs/grafana/grafana.ts).
  if (env.components.grafana.externalUrl !== undefined) return env.components.grafana.externalUrl;
  const ingress = env.components.grafana.ingress;
  if (ingress.enabled && ingress.host) return `${ingress.tlsSecret ? 'https' : 'http'}://${ingress.host}`;
  return `http://grafana.${env.namespace}.svc.${env.clusterDomain}:3000`;
}

/**
 * The shipped dashboards an environment keeps: all but those in
 * `dashboards.drop`. A uid that names no shipped dashboard is an error, not
 * silence, with the closest uid suggested.
 */
export function keptDashboards<T extends { readonly uid: string }>(env: Environment, shipped: readonly T[]): T[] {
  const issues = dropIssues(env.dashboards.drop, shipped.map((d) => d.uid));
  if (issues.length > 0) throw new ConfigError(`environment "${env.name}"`, issues);
  return shipped.filter((d) => !env.dashboards.drop.includes(d.uid));
}
