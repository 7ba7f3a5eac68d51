import type { PathSegment } from "./json-path.js";
import { isRecord, kindOf, namespaceOf, objectRef, recordAt, stringAt, type JsonRecord } from "./kubernetes-object.js";

/** A pod template found in a workload (or a bare Pod), with where it sits. */
export interface PodTemplate {
  /** `Kind/namespace/name` of the object holding the template. */
  object: string;
  kind: string;
  /** The workload's namespace; pods run where their controller is. */
  namespace: string | undefined;
  workload: JsonRecord;
  /** Path of the template's metadata (exemptions and labels live here). */
  metadataPath: PathSegment[];
  /** Path of the pod spec. */
  specPath: PathSegment[];
  metadata: JsonRecord;
  spec: JsonRecord;
  /** Whether the pod is meant to keep running (and so needs probes); false for Jobs and CronJobs. */
  longRunning: boolean;
}

const TEMPLATE_PATHS: Readonly<Record<string, { template: PathSegment[]; longRunning: boolean }>> = {
  Deployment: { template: ["spec", "template"], longRunning: true },
  StatefulSet: { template: ["spec", "template"], longRunning: true },
  DaemonSet: { template: ["spec", "template"], longRunning: true },
  ReplicaSet: { template: ["spec", "template"], longRunning: true },
  ReplicationController: { template: ["spec", "template"], longRunning: true },
  Job: { template: ["spec", "template"], longRunning: false },
  CronJob: { template: ["spec", "jobTemplate", "spec", "template"], longRunning: false },
};

/** Every pod template in the objects: workloads' `…template` and bare Pods. */
export function findPodTemplates(objects: readonly unknown[]): PodTemplate[] {
  const templates: PodTemplate[] = [];
  objects.forEach((object, index) => {
    if (!isRecord(object)) return;
    const template = podTemplateOf(object, index);
    if (template) templates.push(template);
  });
  return templates;
}

/** The pod template of one object, or undefined when it holds none. */
export function podTemplateOf(object: JsonRecord, index?: number): PodTemplate | undefined {
  const kind = kindOf(object);
  if (kind === undefined) return undefined;
  const base = {
    object: objectRef(object, index),
    kind,
    namespace: namespaceOf(object),
    workload: object,
  };
  if (kind === "Pod") {
    const spec = recordAt(object, "spec");
    if (!spec) return undefined;
    const restartPolicy = stringAt(spec, "restartPolicy");
    return {
      ...base,
      metadataPath: ["metadata"],
      specPath: ["spec"],
      metadata: recordAt(object, "metadata") ?? {},
      spec,
      longRunning: restartPolicy === undefined || restartPolicy === "Always",
    };
  }
  const location = TEMPLATE_PATHS[kind];
  if (!location) return undefined;
  let template: unknown = object;
  for (const segment of location.template) template = isRecord(template) ? template[segment as string] : undefined;
  const spec = recordAt(template, "spec");
  if (!spec) return undefined;
  return {
    ...base,
    metadataPath: [...location.template, "metadata"],
    specPath: [...location.template, "spec"],
    metadata: recordAt(template, "metadata") ?? {},
    spec,
    longRunning: location.longRunning,
  };
}

/** A container of a pod spec with its path; init containers are marked. */
export interface ContainerAt {
  container: JsonRecord;
  path: PathSegment[];
  name: string;
  init: boolean;
}

/** The containers and init containers of a pod template, in that order. */
export function containersOf(template: PodTemplate): ContainerAt[] {
  const out: ContainerAt[] = [];
  for (const field of ["containers", "initContainers"] as const) {
    const list = template.spec[field];
    if (!Array.isArray(list)) continue;
    list.forEach((container, index) => {
      if (!isRecord(container)) return;
      out.push({
        container,
        path: [...template.specPath, field, index],
        name: stringAt(container, "name") ?? `#${index}`,
        init: field === "initContainers",
      });
    });
  }
  return out;
}
