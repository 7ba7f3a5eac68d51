import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import { DatasourceVariableBuilder, VariableHide } from '@grafana/grafana-foundation-sdk/dashboard';

/** The signals a dashboard can query, one provisioned datasource each. */
export type DatasourceKind = 'prometheus' | 'alertmanager' | 'logs' | 'traces' | 'analytics';

export interface DatasourceInfo {
  /** Name of the dashboard variable that selects the datasource. */
  readonly variable: string;
  /** Grafana plugin id. */
  readonly type: string;
  /** uid the stack provisions it under (src/constructs/stack.ts DATASOURCE_UIDS; a test keeps them equal). */
  readonly uid: string;
  readonly label: string;
}

/**
 * Every panel reaches its datasource through a variable whose default is the
 * datasource the stack provisions, so that a dashboard imported by hand into
 * another Grafana only needs the variable changed.
 */
export const DATASOURCES: Readonly<Record<DatasourceKind, DatasourceInfo>> = {
  prometheus: { variable: 'datasource', type: 'prometheus', uid: 'prometheus', label: 'Prometheus' },
  alertmanager: { variable: 'alertmanager', type: 'alertmanager', uid: 'alertmanager', label: 'Alertmanager' },
  logs: { variable: 'logs', type: 'elasticsearch', uid: 'elasticsearch-logs', label: 'Logs' },
  traces: { variable: 'traces', type: 'jaeger', uid: 'jaeger', label: 'Traces' },
  analytics: { variable: 'analytics', type: 'grafana-postgresql-datasource', uid: 'analytics-postgres', label: 'Analytics' },
};

/** The reference a panel or query uses: the datasource type and the variable, never a literal uid. */
export function datasourceRef(kind: DatasourceKind): DataSourceRef {
  const ds = DATASOURCES[kind];
  return { type: ds.type, uid: `\${${ds.variable}}` };
}

/** The datasource variable of a kind, preset to the stack's datasource. */
export function datasourceVariable(kind: DatasourceKind): DatasourceVariableBuilder {
  const ds = DATASOURCES[kind];
  return new DatasourceVariableBuilder(ds.variable)
    .label(ds.label)
    .type(ds.type)
    .current({ selected: true, text: ds.label, value: ds.uid })
    .hide(VariableHide.DontHide);
}
