import type { Finding } from "./finding.js";
import { formatPath, type PathSegment } from "./json-path.js";
import {
  ANNOTATIONS_MAX_BYTES,
  dns1035LabelErrors,
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  labelValueErrors,
  pathSegmentNameErrors,
  qualifiedNameErrors,
} from "./kubernetes-names.js";
import { isRecord, kindOf, recordAt, type JsonRecord } from "./kubernetes-object.js";

/**
 * Which name syntax each kind's metadata.name must follow (the API server's
 * ValidateXName functions); kinds not listed use a DNS-1123 subdomain.
 */
const NAME_RULES: Readonly<Record<string, { rule: string; errors: (name: string) => string[] }>> = {
  Namespace: { rule: "a DNS-1123 label", errors: dns1123LabelErrors },
  Service: { rule: "a DNS-1035 label", errors: dns1035LabelErrors },
  Role: { rule: "a path segment name", errors: pathSegmentNameErrors },
  ClusterRole: { rule: "a path segment name", errors: pathSegmentNameErrors },
  RoleBinding: { rule: "a path segment name", errors: pathSegmentNameErrors },
  ClusterRoleBinding: { rule: "a path segment name", errors: pathSegmentNameErrors },
};

/**
 * Limits that come from names derived from this one rather than from the name
 * syntax: the schema accepts longer names, the controller then fails.
 */
const DERIVED_NAME_LIMITS: Readonly<Record<string, { max: number; why: string }>> = {
  // The controller labels each pod controller-revision-hash=<name>-<10-char hash>, and a label value is at most 63 characters.
  StatefulSet: { max: 52, why: "its pods get the label controller-revision-hash=<name>-<hash>, which must fit in 63 characters" },
  // Each Job is named <name>-<11-digit timestamp>, and the Job's pods' labels carry that name.
  CronJob: { max: 52, why: "each Job it creates is named <name>-<timestamp> and must fit in 63 characters" },
};

/** Checks metadata.name, metadata.namespace, and every label, annotation and label selector map in the object. */
export function checkMetadata(object: JsonRecord, ref: string): Finding[] {
  const findings: Finding[] = [];
  const kind = kindOf(object) ?? "";
  const metadata = recordAt(object, "metadata");
  const name = metadata?.["name"];
  if (typeof name !== "string" || name === "") {
    findings.push({ check: "object-name", object: ref, path: "metadata.name", message: "metadata.name is missing or empty" });
  } else {
    const rule = NAME_RULES[kind] ?? { rule: "a DNS-1123 subdomain", errors: dns1123SubdomainErrors };
    for (const error of rule.errors(name)) {
      findings.push({ check: "object-name", object: ref, path: "metadata.name", message: `name "${name}" is not ${rule.rule}: ${error}` });
    }
    const limit = DERIVED_NAME_LIMITS[kind];
    if (limit && name.length > limit.max) {
      findings.push({
        check: "object-name",
        object: ref,
        path: "metadata.name",
        message: `${kind} name "${name}" has ${name.length} characters, more than ${limit.max}: ${limit.why}`,
      });
    }
  }
  const namespace = metadata?.["namespace"];
  if (typeof namespace === "string") {
    for (const error of dns1123LabelErrors(namespace)) {
      findings.push({ check: "object-name", object: ref, path: "metadata.namespace", message: `namespace "${namespace}" is not a DNS-1123 label: ${error}` });
    }
  }
  walk(object, [], kind, ref, findings);
  return findings;
}

function walk(value: unknown, path: PathSegment[], kind: string, ref: string, findings: Finding[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => walk(item, [...path, index], kind, ref, findings));
    return;
  }
  if (!isRecord(value)) return;
  const last = path[path.length - 1];
  if (last === "metadata") {
    checkLabelMap(value["labels"], [...path, "labels"], "label", ref, findings);
    checkAnnotations(value["annotations"], [...path, "annotations"], ref, findings);
  }
  if (last === "matchLabels" || last === "nodeSelector") checkLabelMap(value, path, "label", ref, findings);
  // A Service's selector is a bare label map rather than a LabelSelector.
  if (kind === "Service" && path.length === 2 && path[0] === "spec" && last === "selector") {
    checkLabelMap(value, path, "label", ref, findings);
  }
  for (const [key, child] of Object.entries(value)) {
    if (key === "labels" || key === "annotations") continue;
    walk(child, [...path, key], kind, ref, findings);
  }
}

function checkLabelMap(map: unknown, path: PathSegment[], what: string, ref: string, findings: Finding[]): void {
  if (!isRecord(map)) return;
  for (const [key, value] of Object.entries(map)) {
    const at = formatPath([...path, key]);
    for (const error of qualifiedNameErrors(key)) {
      findings.push({ check: "label-syntax", object: ref, path: at, message: `${what} key "${key}" is invalid: ${error}` });
    }
    if (typeof value !== "string") continue;
    for (const error of labelValueErrors(value)) {
      findings.push({ check: "label-syntax", object: ref, path: at, message: `${what} value "${value}" of key "${key}" is invalid: ${error}` });
    }
  }
}

function checkAnnotations(map: unknown, path: PathSegment[], ref: string, findings: Finding[]): void {
  if (!isRecord(map)) return;
  let bytes = 0;
  for (const [key, value] of Object.entries(map)) {
    for (const error of qualifiedNameErrors(key)) {
      findings.push({ check: "annotation-syntax", object: ref, path: formatPath([...path, key]), message: `annotation key "${key}" is invalid: ${error}` });
    }
    bytes += Buffer.byteLength(key) + (typeof value === "string" ? Buffer.byteLength(value) : 0);
  }
  if (bytes > ANNOTATIONS_MAX_BYTES) {
    findings.push({
      check: "annotation-syntax",
      object: ref,
      path: formatPath(path),
      message: `annotations total ${bytes} bytes, more than the API server's limit of ${ANNOTATIONS_MAX_BYTES}`,
    });
  }
}
