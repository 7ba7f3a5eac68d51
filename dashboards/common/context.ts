import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import type { DashboardFolder } from '../../src/authoring/index.js';
import type { DatasourceKind } from './datasources.js';

/** What a dashboard is built for: the datasources provisioned next to it. */
export interface DashboardContext {
  /** Datasources provisioned in the environment; panels on any other one are left out. */
  readonly datasources: ReadonlySet<DatasourceKind>;
}

/** One shipped dashboard: its stable name, stakeholder folder, what it needs, and how to build it. */
export interface DashboardDefinition {
  /** Stable uid, also the name an environment uses to drop it. */
  readonly uid: string;
  readonly folder: DashboardFolder;
  /** Datasources without which the dashboard would show nothing; it is not shipped without them. */
  readonly requires: readonly DatasourceKind[];
  readonly build: (ctx: DashboardContext) => DashboardBuilder;
}

/** A context with every datasource, for tests and for dashboards imported by hand. */
export const FULL_CONTEXT: DashboardContext = {
  datasources: new Set<DatasourceKind>(['prometheus', 'alertmanager', 'logs', 'traces', 'analytics']),
};
