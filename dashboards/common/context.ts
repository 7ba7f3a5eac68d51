import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import type { DatasourceKind } from './datasources.js';

/** What a dashboard is built for: the datasources provisioned next to it. */
export interface DashboardContext {
  /** Datasources provisioned in the environment; panels on any other one are left out. */
  readonly datasources: ReadonlySet<DatasourceKind>;
}

/** One dashboard, shipped or a team's: its stable name, folder, what it needs, and how to build it. */
export interface DashboardDefinition {
  /** Stable uid, also the name an environment uses to drop it and an alert uses to link to it. */
  readonly uid: string;
  /** Grafana folder. @default - the team's folder when `team` is set, otherwise "Developers" */
  readonly folder?: string;
  /** The team that owns the dashboard: it goes into the team's Grafana folder. @default - none */
  readonly team?: string;
  /** Datasources without which the dashboard would show nothing; it is not shipped without them. */
  readonly requires: readonly DatasourceKind[];
  readonly build: (ctx: DashboardContext) => DashboardBuilder;
}

/** A context with every datasource, for tests and for dashboards imported by hand. */
export const FULL_CONTEXT: DashboardContext = {
  datasources: new Set<DatasourceKind>(['prometheus', 'alertmanager', 'logs', 'traces', 'analytics']),
};

/** A dashboard definition; the default export of a file in a project's `dashboards/` folder. */
export function defineDashboard(def: DashboardDefinition): DashboardDefinition & { readonly kind: 'obstack.dashboard' } {
  if (typeof def.uid !== 'string' || !/^[a-zA-Z0-9_-]{1,40}$/.test(def.uid)) {
    throw new Error(`dashboard uid must be 1 to 40 letters, digits, "-" or "_", got ${JSON.stringify(def.uid)}`);
  }
  if (typeof def.build !== 'function') throw new Error(`dashboard ${def.uid}: build must be a function of the dashboard context`);
  if (!Array.isArray(def.requires)) throw new Error(`dashboard ${def.uid}: requires must list the datasources it needs, e.g. ['prometheus']`);
  return { ...def, kind: 'obstack.dashboard' };
}

/** Whether a value is a dashboard definition (the default export of a dashboard file), whichever copy of obstack made it. */
export function isDashboardDefinition(value: unknown): value is DashboardDefinition {
  const v = value as Partial<DashboardDefinition> | null;
  return typeof v === 'object' && v !== null && typeof v.uid === 'string' && typeof v.build === 'function' && Array.isArray(v.requires);
}
