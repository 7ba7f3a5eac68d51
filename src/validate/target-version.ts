import type { Finding } from "./finding.js";
import { formatPath, type PathSegment } from "./json-path.js";
import { isRecord, kindOf, type JsonRecord } from "./kubernetes-object.js";
import { podTemplateOf } from "./pod-templates.js";

/** The Kubernetes minor version the manifests are written for. */
export const TARGET_KUBERNETES_VERSION = "1.27";

/**
 * Fields that kubernetes-models 4.5.1 accepts but a 1.27 API server does not
 * know: despite its README's "1.27.1" badge, the package's schemas are those
 * of Kubernetes 1.33 (they have Lifecycle.stopSignal, pod-level resources,
 * image volumes). A 1.27 server in strict field validation refuses these, in
 * warn mode drops them silently, which is worse. Segments: `*` is any array
 * element, `a|b` either key. The list covers the pod, job, claim and service
 * specs the stack emits; it is not every field added since 1.27.
 */
interface NewField {
  readonly pattern: readonly string[];
  readonly since: string;
}

const CONTAINERS = "containers|initContainers";

const POD_SPEC_FIELDS: readonly NewField[] = [
  { pattern: ["resources"], since: "1.32" },
  { pattern: ["securityContext", "appArmorProfile"], since: "1.30" },
  { pattern: ["securityContext", "supplementalGroupsPolicy"], since: "1.31" },
  { pattern: ["securityContext", "seLinuxChangePolicy"], since: "1.32" },
  { pattern: ["volumes", "*", "image"], since: "1.31" },
  { pattern: ["volumes", "*", "ephemeral", "volumeClaimTemplate", "spec", "volumeAttributesClassName"], since: "1.29" },
  { pattern: [CONTAINERS, "*", "restartPolicy"], since: "1.28" },
  { pattern: [CONTAINERS, "*", "securityContext", "appArmorProfile"], since: "1.30" },
  { pattern: [CONTAINERS, "*", "lifecycle", "stopSignal"], since: "1.33" },
  { pattern: [CONTAINERS, "*", "lifecycle", "postStart|preStop", "sleep"], since: "1.29" },
  { pattern: [CONTAINERS, "*", "volumeMounts", "*", "recursiveReadOnly"], since: "1.30" },
  {
    pattern: ["affinity", "podAffinity|podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "*", "matchLabelKeys|mismatchLabelKeys"],
    since: "1.29",
  },
  {
    pattern: [
      "affinity",
      "podAffinity|podAntiAffinity",
      "preferredDuringSchedulingIgnoredDuringExecution",
      "*",
      "podAffinityTerm",
      "matchLabelKeys|mismatchLabelKeys",
    ],
    since: "1.29",
  },
];

const JOB_SPEC_FIELDS: readonly NewField[] = [
  { pattern: ["podReplacementPolicy"], since: "1.28" },
  { pattern: ["backoffLimitPerIndex"], since: "1.28" },
  { pattern: ["maxFailedIndexes"], since: "1.28" },
  { pattern: ["successPolicy"], since: "1.30" },
  { pattern: ["managedBy"], since: "1.30" },
];

const CLAIM_SPEC_FIELDS: readonly NewField[] = [{ pattern: ["volumeAttributesClassName"], since: "1.29" }];

const SERVICE_SPEC_FIELDS: readonly NewField[] = [{ pattern: ["trafficDistribution"], since: "1.30" }];

/** Finds fields in the object that were added to Kubernetes after the target version. */
export function checkTargetVersion(object: JsonRecord, ref: string, index?: number): Finding[] {
  const findings: Finding[] = [];
  const scan = (anchor: PathSegment[], fields: readonly NewField[]): void => {
    let base: unknown = object;
    for (const segment of anchor) base = isRecord(base) || Array.isArray(base) ? (base as Record<string | number, unknown>)[segment] : undefined;
    for (const field of fields) {
      for (const path of matches(base, field.pattern, [])) {
        const at = formatPath([...anchor, ...path]);
        findings.push({
          check: "target-version",
          object: ref,
          path: at,
          message: `${at} was added in Kubernetes ${field.since}; a ${TARGET_KUBERNETES_VERSION} API server does not know it`,
        });
      }
    }
  };
  const kind = kindOf(object);
  const template = podTemplateOf(object, index);
  if (template) scan(template.specPath, POD_SPEC_FIELDS);
  if (kind === "Job") scan(["spec"], JOB_SPEC_FIELDS);
  if (kind === "CronJob") scan(["spec", "jobTemplate", "spec"], JOB_SPEC_FIELDS);
  if (kind === "PersistentVolumeClaim") scan(["spec"], CLAIM_SPEC_FIELDS);
  if (kind === "StatefulSet" && isRecord(object["spec"])) {
    const claims = object["spec"]["volumeClaimTemplates"];
    if (Array.isArray(claims)) claims.forEach((_, i) => scan(["spec", "volumeClaimTemplates", i, "spec"], CLAIM_SPEC_FIELDS));
  }
  if (kind === "Service") scan(["spec"], SERVICE_SPEC_FIELDS);
  return findings;
}

/** Concrete paths under `value` matching the pattern whose last key is present. */
function matches(value: unknown, pattern: readonly string[], path: PathSegment[]): PathSegment[][] {
  const [head, ...rest] = pattern;
  if (head === undefined) return value === undefined ? [] : [path];
  if (head === "*") {
    if (!Array.isArray(value)) return [];
    return value.flatMap((item, index) => matches(item, rest, [...path, index]));
  }
  if (!isRecord(value)) return [];
  return head.split("|").flatMap((key) => (key in value ? matches(value[key], rest, [...path, key]) : []));
}
