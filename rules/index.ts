import { applyOverrides, compileRuleFile, type Environment, type RuleGroup } from '../src/authoring/index.js';
import { alertmanagerRules } from './alertmanager.js';
import { applicationRules } from './application.js';
import { elasticsearchRules } from './elasticsearch.js';
import { stackRules } from './stack.js';
import { grafanaRules } from './grafana.js';
import { ingestRules } from './ingest.js';
import { jaegerRules } from './jaeger.js';
import { kubernetesRules } from './kubernetes.js';
import { logstashRules } from './logstash.js';
import { nodeRules } from './node.js';
import { prometheusRules } from './prometheus.js';
import { sloRules } from './slos.js';

/** One rule file per area, by file name. */
export const RULE_AREAS: Readonly<Record<string, (env: Environment) => RuleGroup[]>> = {
  'stack.yaml': stackRules,
  'prometheus.yaml': prometheusRules,
  'alertmanager.yaml': alertmanagerRules,
  'grafana.yaml': grafanaRules,
  'node.yaml': nodeRules,
  'kubernetes.yaml': kubernetesRules,
  'elasticsearch.yaml': elasticsearchRules,
  'logstash.yaml': logstashRules,
  'jaeger.yaml': jaegerRules,
  'ingest.yaml': ingestRules,
  'application.yaml': applicationRules,
  'slos.yaml': sloRules,
};

/** The rule groups of every area as written, before the environment's overrides (what the promtool tests run against). */
export function stackRuleGroups(env: Environment): Record<string, RuleGroup[]> {
  return Object.fromEntries(Object.entries(RULE_AREAS).map(([file, build]) => [file, build(env)]));
}

/** The rule groups of every area with the environment's `alerting.overrides` applied (a misspelt name is a ConfigError). */
export function environmentRuleGroups(env: Environment): Record<string, RuleGroup[]> {
  return applyOverrides(stackRuleGroups(env), env.alerting.overrides, `environment "${env.name}"`);
}

/** The rule files the stack ships, by file name, as mounted into Prometheus. */
export function stackRuleFiles(env: Environment): Record<string, string> {
  return Object.fromEntries(Object.entries(environmentRuleGroups(env)).map(([file, groups]) => [file, compileRuleFile(groups)]));
}
