import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Endpoints } from "kubernetes-models/v1/Endpoints";
import { LimitRange } from "kubernetes-models/v1/LimitRange";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { PersistentVolume } from "kubernetes-models/v1/PersistentVolume";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { Pod } from "kubernetes-models/v1/Pod";
import { ResourceQuota } from "kubernetes-models/v1/ResourceQuota";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { ReplicaSet } from "kubernetes-models/apps/v1/ReplicaSet";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { CronJob } from "kubernetes-models/batch/v1/CronJob";
import { Job } from "kubernetes-models/batch/v1/Job";
import { HorizontalPodAutoscaler as HorizontalPodAutoscalerV1 } from "kubernetes-models/autoscaling/v1/HorizontalPodAutoscaler";
import { HorizontalPodAutoscaler as HorizontalPodAutoscalerV2 } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { IngressClass } from "kubernetes-models/networking.k8s.io/v1/IngressClass";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import { ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { PriorityClass } from "kubernetes-models/scheduling.k8s.io/v1/PriorityClass";
import { StorageClass } from "kubernetes-models/storage.k8s.io/v1/StorageClass";

/**
 * A kubernetes-models class: its prototype's `validate()` runs the compiled
 * schema validator on `this` and throws an Ajv ValidationError listing the errors.
 */
export interface KubernetesModel {
  readonly apiVersion: string;
  readonly kind: string;
  readonly prototype: { validate(): void };
}

/**
 * The kinds the stack may emit, all from group-versions a Kubernetes 1.27 API
 * server serves. Listed by hand rather than taken from every class the package
 * exports because kubernetes-models also ships group-versions 1.27 no longer
 * serves (extensions/v1beta1, policy/v1beta1, batch/v1beta1, autoscaling/v2beta2)
 * and kinds it does not serve yet (networking.k8s.io/v1 IPAddress, flowcontrol v1):
 * accepting those would pass manifests the cluster refuses. Importing each class
 * by file also keeps start-up fast (the group indexes load every schema).
 */
const MODELS: readonly KubernetesModel[] = [
  ConfigMap,
  Endpoints,
  LimitRange,
  Namespace,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  ResourceQuota,
  Secret,
  Service,
  ServiceAccount,
  DaemonSet,
  Deployment,
  ReplicaSet,
  StatefulSet,
  CronJob,
  Job,
  HorizontalPodAutoscalerV1,
  HorizontalPodAutoscalerV2,
  Ingress,
  IngressClass,
  NetworkPolicy,
  PodDisruptionBudget,
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
  PriorityClass,
  StorageClass,
];

const BY_TYPE = new Map(MODELS.map((model) => [`${model.apiVersion} ${model.kind}`, model]));

/** The model for an apiVersion and kind, or undefined when the stack may not emit that kind. */
export function modelFor(apiVersion: string, kind: string): KubernetesModel | undefined {
  return BY_TYPE.get(`${apiVersion} ${kind}`);
}

/** Every `apiVersion kind` pair accepted, for messages. */
export function knownKinds(): string[] {
  return [...BY_TYPE.keys()];
}

/** The apiVersions under which a kind is known, to suggest a fix for a wrong apiVersion. */
export function apiVersionsOfKind(kind: string): string[] {
  return MODELS.filter((model) => model.kind === kind).map((model) => model.apiVersion);
}
