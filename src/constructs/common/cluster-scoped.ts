import { type ApiObject, JsonPatch } from 'cdk8s';

/**
 * The chart puts its namespace on every object; cluster-scoped kinds
 * (ClusterRole, ClusterRoleBinding, Namespace) must not carry one.
 */
export function clusterScoped<T extends ApiObject>(obj: T): T {
  obj.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  return obj;
}
