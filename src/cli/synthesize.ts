import { App } from 'cdk8s';
import type { RunbookContent } from '../authoring/index.js';
import type { Environment } from '../config/index.js';
import { ObservabilityStack, TEMPLATES_FILE, type DashboardFile } from '../constructs/index.js';
import { applyPatches } from '../constructs/common/patches.js';
import { withSyncWaves } from '../constructs/common/sync-waves.js';
import { argoFiles } from './argocd.js';
import { KUSTOMIZATION_FILE, renderKustomization } from './kustomization.js';
import { type MetricCatalog, stackMetricCatalog } from '../validate/index.js';
import { yamlText } from '../config/yaml-text.js';
import { fallbackRunbookContent, type RunbookAlert, runbookPages } from '../report/runbooks.js';
import { RULE_AREAS } from '../../rules/index.js';
import { shippedRunbookContent } from '../../rules/runbook-notes.js';

/**
 * What one environment synthesizes to: files by logical path (`prometheus.k8s.yaml`, `Kustomization`,
 * `prometheus.yml`, `rules/node.yaml`, `dashboards/<uid>.json`, `runbooks/<alert-name>.md`,
 * `argocd/application.yaml`; layout.ts says
 * where each is written), and the objects themselves.
 */
export interface SynthesizedEnvironment {
  readonly environment: Environment;
  readonly files: ReadonlyMap<string, string>;
  readonly objects: readonly KubernetesObject[];
  readonly stack: ObservabilityStack;
  /** The metric catalog the rules and dashboards are checked against. */
  readonly catalog: MetricCatalog;
}

export interface KubernetesObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly [key: string]: unknown;
}

export interface SynthesizeOptions {
  readonly ruleFiles?: Readonly<Record<string, string>>;
  readonly dashboards?: readonly DashboardFile[];
  /** The metric catalog of the checks. @default - the stack's catalog */
  readonly catalog?: MetricCatalog;
  /**
   * Runbook content the alert definitions carry, by alert name, for their pages; the stack's alerts without
   * any use the shipped notes, a team's the text of their area. @default - none
   */
  readonly runbookContent?: ReadonlyMap<string, RunbookContent>;
}

/** Kinds that belong to the stack as a whole rather than to a component. */
function fileFor(obj: KubernetesObject): string {
  if (obj.kind === 'Namespace') return '00-namespace.k8s.yaml';
  const name = obj.metadata.labels?.['app.kubernetes.io/name'];
  return name ? `${name}.k8s.yaml` : '01-stack.k8s.yaml';
}

/** Synthesizes one environment in memory, without touching the file system. */
export function synthesizeEnvironment(environment: Environment, opts: SynthesizeOptions = {}): SynthesizedEnvironment {
  const app = new App({ outdir: '.' });
  const stack = new ObservabilityStack(app, environment.name, {
    environment,
    ...(opts.ruleFiles ? { ruleFiles: opts.ruleFiles } : {}),
    ...(opts.dashboards ? { dashboards: opts.dashboards } : {}),
  });
  // The environment's patches change the generated objects before they are grouped into files and checked.
  // Sync waves go on after the patches, so that a patch may set an object's wave and the checks see the annotations.
  const objects = withSyncWaves(applyPatches(stack.toJson() as KubernetesObject[], environment.patches, { source: environment.name }));

  const byFile = new Map<string, KubernetesObject[]>();
  for (const obj of objects) {
    const file = fileFor(obj);
    byFile.set(file, [...(byFile.get(file) ?? []), obj]);
  }
  const files = new Map<string, string>();
  for (const [file, objs] of [...byFile.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    files.set(file, objs.map((o) => yamlText(o)).join('---\n'));
  }
  files.set(KUSTOMIZATION_FILE, renderKustomization([...files.keys()]));
  if (stack.prometheus) {
    files.set('prometheus.yml', stack.prometheus.renderConfig());
    for (const [name, content] of stack.prometheus.rules) files.set(`rules/${name}`, content);
  }
  if (stack.alertmanager) {
    files.set('alertmanager.yml', stack.alertmanager.renderConfig());
    // alertmanager.yml names its notification templates by a path relative to itself.
    files.set(TEMPLATES_FILE, stack.alertmanager.notificationTemplates);
  }
  if (stack.grafana) {
    for (const d of stack.grafana.provisionedDashboards) files.set(`dashboards/${d.uid}.json`, d.json);
  }
  if ([...files.keys()].some((f) => f.startsWith('rules/'))) {
    for (const [path, text] of runbookPages({ environment, files, content: runbookContentFor(environment, opts.runbookContent) })) files.set(path, text);
  }
  for (const [path, text] of argoFiles(environment)) files.set(path, text);
  return { environment, files, objects, stack, catalog: opts.catalog ?? stackMetricCatalog() };
}

const STACK_AREAS: ReadonlySet<string> = new Set(Object.keys(RULE_AREAS).map((file) => file.replace(/\.yaml$/, '')));

/** Where an alert's page takes its impact, causes and checks from: its definition, the shipped notes for the stack's areas, or its area's text. */
function runbookContentFor(env: Environment, own: ReadonlyMap<string, RunbookContent> = new Map()): (alert: RunbookAlert) => RunbookContent {
  return (alert) =>
    own.get(alert.name) ??
    (STACK_AREAS.has(alert.area) ? shippedRunbookContent(alert.name, alert.area, { namespace: env.namespace }) : undefined) ??
    fallbackRunbookContent(alert);
}
