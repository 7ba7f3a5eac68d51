import { type AreaDashboard, compileRuleAreas, DASHBOARD_UIDS, defineRules, type Environment, type RuleArea, ruleAreaGroups, type RuleGroup } from '../src/authoring/index.js';
import { alertmanagerRules } from './alertmanager.js';
import { applicationRules } from './application.js';
import { controlPlaneRules } from './control-plane.js';
import { elasticsearchRules } from './elasticsearch.js';
import { errorRules } from './errors.js';
import { stackRules } from './stack.js';
import { grafanaRules } from './grafana.js';
import { ingestRules } from './ingest.js';
import { jaegerRules } from './jaeger.js';
import { kubernetesRules } from './kubernetes.js';
import { logstashRules } from './logstash.js';
import { nodeRules } from './node.js';
import { postgresRules } from './postgres.js';
import { probeRules } from './probes.js';
import { redisRules } from './redis.js';
import { prometheusRules } from './prometheus.js';
import { recordingRules } from './recording.js';
import { sloRules } from './slos.js';
import { thanosRules } from './thanos.js';

/** One rule file per area, by file name. */
export const RULE_AREAS: Readonly<Record<string, (env: Environment) => RuleGroup[]>> = {
  'stack.yaml': stackRules,
  'prometheus.yaml': prometheusRules,
  'alertmanager.yaml': alertmanagerRules,
  'grafana.yaml': grafanaRules,
  'node.yaml': nodeRules,
  'kubernetes.yaml': kubernetesRules,
  'control-plane.yaml': controlPlaneRules,
  'recording.yaml': recordingRules,
  'elasticsearch.yaml': elasticsearchRules,
  'logstash.yaml': logstashRules,
  'jaeger.yaml': jaegerRules,
  'ingest.yaml': ingestRules,
  'postgres.yaml': postgresRules,
  'redis.yaml': redisRules,
  'probes.yaml': probeRules,
  'errors.yaml': errorRules,
  'application.yaml': applicationRules,
  'slos.yaml': sloRules,
  'thanos.yaml': thanosRules,
};

/** The rule groups of every area as written, before the environment's overrides (what the promtool tests run against). */
export function stackRuleGroups(env: Environment): Record<string, RuleGroup[]> {
  return Object.fromEntries(Object.entries(RULE_AREAS).map(([file, build]) => [file, build(env)]));
}

/** The rule groups of every area with the environment's `alerting.overrides` applied (a misspelt name is a ConfigError). */
export function environmentRuleGroups(env: Environment): Record<string, RuleGroup[]> {
  return ruleAreaGroups(env, STACK_RULE_AREAS);
}

/** The rule files the stack ships, by file name, as mounted into Prometheus. */
export function stackRuleFiles(env: Environment): Record<string, string> {
  return compileRuleAreas(env, STACK_RULE_AREAS);
}

const D = DASHBOARD_UIDS;

/** The dashboard that explains the alerts of each area (alerts may name their own). */
export const AREA_DASHBOARDS: Readonly<Record<string, AreaDashboard>> = {
  'stack.yaml': (alert) => (alert === 'Watchdog' ? undefined : D.stackHealth),
  'prometheus.yaml': D.stackHealth,
  'alertmanager.yaml': D.alerts,
  'grafana.yaml': D.stackHealth,
  'node.yaml': D.nodes,
  'kubernetes.yaml': D.kubernetesWorkloads,
  // Nodes and their kubelets on the nodes dashboard, objects on the workloads one, the rest on the control plane's.
  'control-plane.yaml': (alert) => {
    if (/^(KubeNode|KubeletTooManyPods|KubeCPUOvercommit|KubeMemoryOvercommit)/.test(alert)) return [D.nodes, D.controlPlane];
    if (/^(KubeDeployment|KubeStatefulSet|KubeDaemonSet|KubeJob|KubeContainer|KubePod|KubeHpa|KubePdb|KubeQuota|KubePersistentVolume|KubeStateMetrics)/.test(alert)) {
      return [D.kubernetesWorkloads, D.controlPlane];
    }
    return [D.controlPlane, D.nodes];
  },
  'elasticsearch.yaml': D.stackHealth,
  'logstash.yaml': D.stackHealth,
  'jaeger.yaml': D.stackHealth,
  'ingest.yaml': D.ingest,
  'postgres.yaml': D.postgres,
  'redis.yaml': D.redis,
  'probes.yaml': D.probes,
  'errors.yaml': [D.errors, D.ingest],
  // A dashboard per kind of application alert; the service overview when an environment drops that one.
  'application.yaml': (alert) => {
    if (/^(Database|SlowDatabase)/.test(alert)) return [D.database, D.serviceOverview];
    if (/^AI/.test(alert)) return [D.ai, D.serviceOverview];
    if (/^(WebSocket|Cache)/.test(alert)) return [D.realtime, D.serviceOverview];
    if (/Login|Auth/.test(alert)) return [D.security, D.serviceOverview];
    return D.serviceOverview;
  },
  'slos.yaml': D.slos,
  'thanos.yaml': D.stackHealth,
};

/** The areas the stack ships, as rule areas: what a project's own areas stand next to. */
export const STACK_RULE_AREAS: readonly RuleArea[] = Object.entries(RULE_AREAS).map(([file, rules]) => {
  const dashboard = AREA_DASHBOARDS[file];
  return defineRules({ name: file.replace(/\.yaml$/, ''), rules, ...(dashboard !== undefined ? { dashboard } : {}) });
});
