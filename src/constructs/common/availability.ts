import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';

/**
 * Spreads replicas over nodes and zones. Preferred rather than required, so a
 * cluster with fewer nodes than replicas still schedules every pod.
 */
export function spreadAffinity(selector: Record<string, string>): k8s.Affinity {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } } },
        { weight: 50, podAffinityTerm: { topologyKey: 'topology.kubernetes.io/zone', labelSelector: { matchLabels: selector } } },
      ],
    },
  };
}

/** A PodDisruptionBudget that lets a drain take one replica at a time; only for replicas >= 2. */
export function addDisruptionBudget(
  scope: Construct,
  name: string,
  labels: Record<string, string>,
  selector: Record<string, string>,
): k8s.KubePodDisruptionBudget {
  return new k8s.KubePodDisruptionBudget(scope, 'DisruptionBudget', {
    metadata: { name, labels },
    spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
  });
}
