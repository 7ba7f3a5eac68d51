import { KUSTOMIZATION_FILE } from './kustomization.js';

/**
 * Where the files of an environment go under the output folder. The keys of
 * SynthesizedEnvironment.files are logical paths; on disk:
 *
 * - `<env>/` holds only Kubernetes objects (`*.k8s.yaml`) and the Kustomization,
 *   so `kubectl apply -f` and `-R -f` read nothing else;
 * - `<env>.files/` holds the raw configs, rule files and dashboards (what the
 *   ConfigMaps carry, for review and for promtool/amtool);
 * - `argocd.apps/` holds every environment's Argo CD Application and the root over them.
 *
 * Environment names are DNS labels, so no environment can be named `<x>.files` or `argocd.apps`.
 */
export const FILES_SUFFIX = '.files';
export const ARGOCD_DIR = 'argocd.apps';
/** Logical paths of an environment's Argo CD objects. */
export const ARGOCD_APPLICATION = 'argocd/application.yaml';
export const ARGOCD_ROOT = 'argocd/root.yaml';
/** The root's file name in argocd.apps/, which the root itself does not sync. */
export const ARGOCD_ROOT_FILE = 'root.yaml';

/** Whether a logical path is a manifest folder's file (a Kubernetes objects file or the Kustomization). */
export function isManifestPath(logical: string): boolean {
  return logical === KUSTOMIZATION_FILE || /^[^/]+\.k8s\.yaml$/.test(logical);
}

/** The path under the output folder of one logical file of an environment. */
export function diskPathOf(env: string, logical: string): string {
  if (logical === ARGOCD_APPLICATION) return `${ARGOCD_DIR}/${env}.yaml`;
  if (logical === ARGOCD_ROOT) return `${ARGOCD_DIR}/${ARGOCD_ROOT_FILE}`;
  if (isManifestPath(logical)) return `${env}/${logical}`;
  return `${env}${FILES_SUFFIX}/${logical}`;
}
