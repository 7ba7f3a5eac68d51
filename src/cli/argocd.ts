import { posix } from 'node:path';
import type { Environment } from '../config/index.js';
import { ARGOCD_APPLICATION, ARGOCD_DIR, ARGOCD_ROOT, ARGOCD_ROOT_FILE } from './layout.js';
import { yamlText } from '../config/yaml-text.js';

/** The API server of the cluster Argo CD runs in. */
export const IN_CLUSTER_SERVER = 'https://kubernetes.default.svc';

/**
 * Options every obstack Application syncs with: server-side apply, because
 * `kubectl apply`'s last-applied annotation is limited to 256 KiB and large
 * dashboard ConfigMaps exceed it; no namespace created by Argo CD, since the
 * output holds its Namespace (wave 0); pruning after the new objects are healthy.
 */
export const SYNC_OPTIONS = ['ServerSideApply=true', 'CreateNamespace=false', 'PruneLast=true'] as const;

export interface ArgoObject {
  readonly apiVersion: 'argoproj.io/v1alpha1';
  readonly kind: 'Application';
  readonly metadata: { readonly name: string; readonly namespace: string; readonly labels: Record<string, string> };
  readonly spec: Record<string, unknown>;
}

const LABELS = { 'app.kubernetes.io/part-of': 'obstack', 'app.kubernetes.io/managed-by': 'obstack' };

/** The folder of an environment in the git repository. */
export function environmentPath(env: Environment): string {
  return env.gitops.argocd.path ?? `dist/${env.name}`;
}

function repoURLOf(env: Environment): string {
  const { repoURL } = env.gitops.argocd;
  // The schema refuses an enabled Argo CD config without repoURL; this guards callers that skip it.
  if (repoURL === undefined) throw new Error(`environment ${env.name}: gitops.argocd.repoURL is required when gitops.argocd.enabled is true`);
  return repoURL;
}

function syncPolicy(env: Environment): Record<string, unknown> {
  const { prune, selfHeal } = env.gitops.argocd.automated;
  return { automated: { prune, selfHeal }, syncOptions: [...SYNC_OPTIONS] };
}

/** The Application that syncs one environment's folder into its namespace. */
export function argoApplication(env: Environment): ArgoObject {
  const a = env.gitops.argocd;
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: `obstack-${env.name}`, namespace: a.namespace, labels: { ...LABELS, 'app.kubernetes.io/instance': env.name } },
    spec: {
      project: a.project,
      source: { repoURL: repoURLOf(env), targetRevision: a.targetRevision, path: environmentPath(env) },
      destination: { server: IN_CLUSTER_SERVER, namespace: env.namespace },
      syncPolicy: syncPolicy(env),
    },
  };
}

/**
 * The app-of-apps root: an Application that syncs argocd.apps/ beside the
 * environments' folders, that is every environment's Application. It is the
 * same for every environment that shares its repository, revision, project
 * and Argo CD namespace, and does not sync its own file.
 */
export function argoRootApplication(env: Environment): ArgoObject {
  const a = env.gitops.argocd;
  const parent = posix.dirname(environmentPath(env));
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'obstack', namespace: a.namespace, labels: { ...LABELS } },
    spec: {
      project: a.project,
      source: {
        repoURL: repoURLOf(env),
        targetRevision: a.targetRevision,
        path: parent === '.' ? ARGOCD_DIR : `${parent}/${ARGOCD_DIR}`,
        directory: { recurse: false, exclude: ARGOCD_ROOT_FILE },
      },
      destination: { server: IN_CLUSTER_SERVER, namespace: a.namespace },
      syncPolicy: { automated: { prune: a.automated.prune, selfHeal: a.automated.selfHeal }, syncOptions: ['ServerSideApply=true', 'CreateNamespace=false'] },
    },
  };
}

/** The Argo CD files of an environment by logical path: none when Argo CD is off. */
export function argoFiles(env: Environment): Array<[string, string]> {
  if (!env.gitops.argocd.enabled) return [];
  return [
    [ARGOCD_APPLICATION, yamlText(argoApplication(env))],
    [ARGOCD_ROOT, yamlText(argoRootApplication(env))],
  ];
}
