import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { addClusterVariable, type DashboardFile } from '../../src/authoring/index.js';

/**
 * The newest dashboard schema the pinned Grafana (12.1) migrates to. The SDK's
 * 0.0.x line follows Grafana's main branch and stamps a newer version, which
 * an older Grafana would not migrate; stamping the version the pinned Grafana
 * knows keeps the JSON what that Grafana itself would save.
 */
export const GRAFANA_SCHEMA_VERSION = 41;

interface PanelJson {
  id?: number;
  panels?: PanelJson[];
}

/** How dashboards are compiled for an environment. */
export interface DashboardCompileOptions {
  /**
   * Add the `cluster` variable and a `cluster=~"$cluster"` matcher to every
   * Prometheus selector (src/authoring/cluster-variable.ts), for dashboards
   * read through a global query layer over several clusters.
   * @default false
   */
  readonly multiCluster?: boolean;
}

/** Builds the dashboard, numbers its panels 1..n (rows and nested panels included) and serializes it for provisioning. */
export function compileDashboard(builder: DashboardBuilder, folder: string, options: DashboardCompileOptions = {}): DashboardFile {
  const dashboard = builder.build() as unknown as { uid?: string; schemaVersion: number; panels?: PanelJson[]; id?: number | null };
  if (!dashboard.uid) throw new Error('a dashboard needs a uid');
  if (options.multiCluster === true) addClusterVariable(dashboard as Parameters<typeof addClusterVariable>[0]);
  let next = 1;
  const number = (panels: PanelJson[] | undefined): void => {
    for (const p of panels ?? []) {
      p.id = next++;
      number(p.panels);
    }
  };
  number(dashboard.panels);
  dashboard.schemaVersion = GRAFANA_SCHEMA_VERSION;
  // Provisioned dashboards are matched by uid; a numeric id would clash across Grafana instances.
  delete dashboard.id;
  return { uid: dashboard.uid, folder, json: `${JSON.stringify(dashboard, null, 2)}\n` };
}
