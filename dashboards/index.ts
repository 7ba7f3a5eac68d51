import { DASHBOARD_FOLDERS, DASHBOARD_UIDS, type DashboardFile, type Environment, keptDashboards } from '../src/authoring/index.js';
import { ai } from './ai.js';
import { alerts } from './alerts.js';
import { businessKpis } from './business-kpis.js';
import { controlPlane } from './control-plane.js';
import { type DashboardCompileOptions, compileDashboard, type DashboardContext, type DashboardDefinition, type DatasourceKind } from './common/index.js';
import { database } from './database.js';
import { errors } from './errors.js';
import { ingest } from './ingest.js';
import { kubernetesWorkloads } from './kubernetes-workloads.js';
import { logs } from './logs.js';
import { nodes } from './nodes.js';
import { postgres } from './postgres.js';
import { probes } from './probes.js';
import { redis } from './redis.js';
import { realtimeCache } from './realtime-cache.js';
import { security } from './security.js';
import { serviceOverview } from './service-overview.js';
import { slos } from './slos.js';
import { stackHealth } from './stack-health.js';
import { traces } from './traces.js';

export * from './common/index.js';

const { sre, developers, business, security: securityFolder } = DASHBOARD_FOLDERS;

/** Every dashboard the stack ships, by stakeholder folder. */
export const STACK_DASHBOARDS: readonly DashboardDefinition[] = [
  { uid: DASHBOARD_UIDS.stackHealth, folder: sre, requires: ['prometheus'], build: stackHealth },
  { uid: DASHBOARD_UIDS.nodes, folder: sre, requires: ['prometheus'], build: nodes },
  { uid: DASHBOARD_UIDS.kubernetesWorkloads, folder: sre, requires: ['prometheus'], build: kubernetesWorkloads },
  { uid: DASHBOARD_UIDS.controlPlane, folder: sre, requires: ['prometheus'], build: controlPlane },
  { uid: DASHBOARD_UIDS.alerts, folder: sre, requires: ['prometheus'], build: alerts },
  { uid: DASHBOARD_UIDS.probes, folder: sre, requires: ['prometheus'], build: probes },
  { uid: DASHBOARD_UIDS.postgres, folder: sre, requires: ['prometheus'], build: postgres },
  { uid: DASHBOARD_UIDS.redis, folder: sre, requires: ['prometheus'], build: redis },
  { uid: DASHBOARD_UIDS.slos, folder: sre, requires: ['prometheus'], build: slos },
  { uid: DASHBOARD_UIDS.serviceOverview, folder: developers, requires: ['prometheus'], build: serviceOverview },
  { uid: DASHBOARD_UIDS.database, folder: developers, requires: ['prometheus'], build: database },
  { uid: DASHBOARD_UIDS.realtime, folder: developers, requires: ['prometheus'], build: realtimeCache },
  { uid: DASHBOARD_UIDS.ingest, folder: developers, requires: ['prometheus'], build: ingest },
  { uid: DASHBOARD_UIDS.errors, folder: developers, requires: ['prometheus'], build: errors },
  { uid: DASHBOARD_UIDS.logs, folder: developers, requires: ['logs'], build: logs },
  { uid: DASHBOARD_UIDS.traces, folder: developers, requires: ['traces'], build: traces },
  { uid: DASHBOARD_UIDS.businessKpis, folder: business, requires: ['analytics'], build: businessKpis },
  { uid: DASHBOARD_UIDS.ai, folder: business, requires: ['prometheus'], build: ai },
  { uid: DASHBOARD_UIDS.security, folder: securityFolder, requires: ['prometheus'], build: security },
];

/** Whether a component is enabled; components the schema does not know yet count as absent. */
function enabled(env: Environment, component: string): boolean {
  const c = (env.components as unknown as Record<string, { enabled?: boolean } | undefined>)[component];
  return c?.enabled === true;
}

/**
 * The datasources Grafana gets in an environment, mirroring the wiring in
 * src/constructs/stack.ts (which dashboards may not import): each exists when
 * Grafana and the component behind it are enabled. The synthesized-output
 * check compares the dashboards against what Grafana really provisions.
 */
export function environmentDatasources(env: Environment): Set<DatasourceKind> {
  const kinds = new Set<DatasourceKind>();
  if (!enabled(env, 'grafana')) return kinds;
  if (enabled(env, 'prometheus')) kinds.add('prometheus');
  if (enabled(env, 'alertmanager')) kinds.add('alertmanager');
  if (enabled(env, 'elasticsearch')) kinds.add('logs');
  if (enabled(env, 'jaeger')) kinds.add('traces');
  // Grafana reads the analytics tables of the stack's own PostgreSQL, through a read-only role.
  if (enabled(env, 'ingest') && env.components.ingest.database.type === 'in-cluster') kinds.add('analytics');
  return kinds;
}


/**
 * Builds the definitions whose datasources exist in the context, each into its
 * folder: its own, else the one `folderOf` gives (a team's), else "Developers".
 */
export function buildDashboards(
  definitions: readonly DashboardDefinition[],
  ctx: DashboardContext,
  folderOf: (def: DashboardDefinition) => string | undefined = () => undefined,
  options: DashboardCompileOptions = {},
): DashboardFile[] {
  return definitions
    .filter((def) => def.requires.every((k) => ctx.datasources.has(k)))
    .map((def) => {
      const file = compileDashboard(def.build(ctx), def.folder ?? folderOf(def) ?? DASHBOARD_FOLDERS.developers, options);
      if (file.uid !== def.uid) throw new Error(`dashboard ${def.uid}: its builder sets uid "${file.uid}"; the two must be the same`);
      return file;
    });
}

/**
 * How an environment's dashboards are compiled: with Thanos Query reading
 * other clusters' stores, every Prometheus query gets a `cluster` variable
 * (the global view spans several clusters, told apart by their `cluster`
 * external label).
 */
export function environmentCompileOptions(env: Environment): DashboardCompileOptions {
  const thanos = env.components.thanos;
  return { multiCluster: thanos.enabled && thanos.stores.length > 0 };
}

/** The dashboards the stack ships for an environment. */
export function stackDashboards(env: Environment, options: DashboardCompileOptions = environmentCompileOptions(env)): DashboardFile[] {
  return buildDashboards(keptDashboards(env, STACK_DASHBOARDS), { datasources: environmentDatasources(env) }, undefined, options);
}
