import { stringify } from 'yaml';

/**
 * The name of the kustomization file in dist/<env>/. Without an extension,
 * `kubectl apply -f` (which reads *.yaml, *.yml and *.json) skips it, while
 * `kubectl apply -k`, `kubectl kustomize` and Argo CD find it.
 */
export const KUSTOMIZATION_FILE = 'Kustomization';

/** A kustomization that lists the manifests and changes nothing in them. */
export function renderKustomization(manifests: readonly string[]): string {
  return stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [...manifests] });
}
