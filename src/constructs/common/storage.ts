import { k8s } from 'cdk8s-plus-27';
import type { Storage } from '../../config/index.js';

/**
 * The data volume of a StatefulSet: a claim template when persistent, an
 * emptyDir (bounded by the size limit) when ephemeral.
 */
export function dataVolume(
  name: string,
  storage: Storage,
  labels: Record<string, string>,
): { volumes: k8s.Volume[]; claims: k8s.KubePersistentVolumeClaimProps[] } {
  if (storage.type === 'ephemeral') {
    return { volumes: [{ name, emptyDir: {} }], claims: [] };
  }
  return {
    volumes: [],
    claims: [
      {
        metadata: { name, labels },
        spec: {
          accessModes: ['ReadWriteOnce'],
          ...(storage.storageClass ? { storageClassName: storage.storageClass } : {}),
          resources: { requests: { storage: k8s.Quantity.fromString(storage.size) } },
        },
      },
    ],
  };
}
