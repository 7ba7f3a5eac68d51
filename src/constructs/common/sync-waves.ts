/** The annotation Argo CD orders a sync by: lower waves are applied, and must be healthy, before higher ones. */
export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';
/** Argo CD's per-object sync options. */
export const SYNC_OPTIONS_ANNOTATION = 'argocd.argoproj.io/sync-options';

/** The waves, in the order Argo CD applies them. */
export const SYNC_WAVES = {
  /** The namespace everything else lives in. */
  namespace: 0,
  /** What pods read or are bound by before they start: RBAC, ServiceAccounts, ConfigMaps, Secrets, NetworkPolicies. */
  config: 1,
  /** Stateful components: StatefulSets, the Services that select their pods, PodDisruptionBudgets. */
  stateful: 2,
  /** Everything else: Deployments, DaemonSets, Jobs, CronJobs, Ingresses, other Services. */
  workloads: 3,
} as const;

const CONFIG_KINDS = new Set([
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ClusterRole',
  'ClusterRoleBinding',
  'ConfigMap',
  'Secret',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PriorityClass',
]);

const WORKLOAD_KINDS = new Set(['StatefulSet', 'Deployment', 'DaemonSet', 'Job', 'CronJob', 'ReplicaSet']);

/** The objects sync waves are computed from: any Kubernetes object as synthesized. */
export interface WaveObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly annotations?: Record<string, string> };
  readonly [key: string]: unknown;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});

function podSpecOf(o: WaveObject): Json {
  const spec = obj(o.spec);
  if (o.kind === 'CronJob') return obj(obj(obj(obj(spec.jobTemplate).spec).template).spec);
  return obj(obj(spec.template).spec);
}

function podLabelsOf(o: WaveObject): Record<string, string> {
  return obj(obj(obj(o.spec).template).metadata).labels as Record<string, string> | undefined ?? {};
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** The wave of one object, given the StatefulSets of the same output and which workload mounts each claim. */
function waveOf(o: WaveObject, statefulSets: readonly WaveObject[], claimWaves: ReadonlyMap<string, number>): number {
  if (o.kind === 'Namespace') return SYNC_WAVES.namespace;
  if (CONFIG_KINDS.has(o.kind)) return SYNC_WAVES.config;
  if (o.kind === 'StatefulSet' || o.kind === 'PodDisruptionBudget') return SYNC_WAVES.stateful;
  if (o.kind === 'Service') {
    const selector = (obj(o.spec).selector ?? {}) as Record<string, string>;
    const ns = o.metadata.namespace;
    const ofStatefulSet = statefulSets.some(
      (s) => s.metadata.namespace === ns && (obj(s.spec).serviceName === o.metadata.name || selects(selector, podLabelsOf(s))),
    );
    return ofStatefulSet ? SYNC_WAVES.stateful : SYNC_WAVES.workloads;
  }
  if (o.kind === 'PersistentVolumeClaim') {
    // A claim bound on first use (WaitForFirstConsumer) stays Pending, which Argo CD reports as Progressing, until
    // a pod mounts it: in a wave before that pod's the sync would wait forever, so it goes in its workload's wave.
    return claimWaves.get(`${o.metadata.namespace ?? ''}/${o.metadata.name}`) ?? SYNC_WAVES.workloads;
  }
  return SYNC_WAVES.workloads;
}

/**
 * Gives every object an Argo CD sync wave (SYNC_WAVES), so that a sync creates
 * the namespace, then what pods need, then stateful components, then the rest.
 * An object whose annotation is already set (by a patch) keeps its wave. The
 * Namespace also gets `Prune=false`: pruning it would delete every volume in it.
 */
export function withSyncWaves<T extends WaveObject>(objects: readonly T[]): T[] {
  const statefulSets = objects.filter((o) => o.kind === 'StatefulSet');
  const claimWaves = new Map<string, number>();
  for (const o of objects) {
    if (!WORKLOAD_KINDS.has(o.kind)) continue;
    const wave = o.kind === 'StatefulSet' ? SYNC_WAVES.stateful : SYNC_WAVES.workloads;
    for (const v of (podSpecOf(o).volumes ?? []) as Json[]) {
      const claim = obj(v.persistentVolumeClaim).claimName;
      if (typeof claim !== 'string') continue;
      const key = `${o.metadata.namespace ?? ''}/${claim}`;
      claimWaves.set(key, Math.min(claimWaves.get(key) ?? wave, wave));
    }
  }
  return objects.map((o) => {
    const annotations = { ...(o.metadata.annotations ?? {}) };
    annotations[SYNC_WAVE_ANNOTATION] ??= String(waveOf(o, statefulSets, claimWaves));
    if (o.kind === 'Namespace') annotations[SYNC_OPTIONS_ANNOTATION] ??= 'Prune=false';
    return { ...o, metadata: { ...o.metadata, annotations } } as T;
  });
}
