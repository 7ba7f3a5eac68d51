/**
 * obstack's public API: the environment schema and loader, the constructs and
 * `ObservabilityStack`, the rule and SLO DSL, the dashboard factories, the
 * shipped rules and dashboards, the checks, and synthesis.
 */
export * from './config/index.js';
export * from './authoring/index.js';
export * from './constructs/index.js';
export * from './validate/index.js';
export * from './project/index.js';
// Names exported by two modules: the DSL's meaning wins at the root (the others stay in their subpaths).
export { type Duration, SEVERITIES, type Severity } from './authoring/index.js';
export * from '../dashboards/index.js';
export { AREA_DASHBOARDS, environmentRuleGroups, RULE_AREAS, STACK_RULE_AREAS, stackRuleFiles, stackRuleGroups } from '../rules/index.js';
export { type SynthesizedEnvironment, type KubernetesObject, synthesizeEnvironment } from './cli/synthesize.js';
export { checkSynthesized, checkWithTools, type CheckOptions } from './cli/check.js';
export { OutputError, readWrittenEnvironment, writeEnvironments } from './cli/write.js';
export { loadEnvironments, shippedReferences, standInEnvironment } from './cli/load-environments.js';
/** Grafana's units, from the SDK build obstack pins, for panels of a project's own dashboards. */
export * as units from '@grafana/grafana-foundation-sdk/units';
/** The review page of one synthesized environment (what `obstack report` writes). */
export { renderReport } from './report/index.js';
/** What changed between two synthesized (or written) environments (what `obstack diff` prints). */
export { diffEnvironment, diffValues, type EnvironmentDiff, type FieldChange, type FileChange, formatDiff, type ObjectChange } from './cli/diff.js';
/** The sizing model of `obstack size`, for an environment built from expected load in code. */
export { CONSTANTS as SIZING_CONSTANTS, environmentFragment, size, type Sizing, type SizingInput } from './sizing/model.js';
