import { closestName } from "./closest-name.js";
import type { Finding } from "./finding.js";
import { formatPath, pointerToSegments, valueAt } from "./json-path.js";
import { apiVersionsOfKind, modelFor } from "./kubernetes-kinds.js";
import { checkMetadata } from "./kubernetes-metadata.js";
import { apiVersionOf, isRecord, kindOf, objectRef, recordAt, type JsonRecord } from "./kubernetes-object.js";
import { validateTraced, type SchemaError } from "./schema-trace.js";
import { checkTargetVersion, TARGET_KUBERNETES_VERSION } from "./target-version.js";
import { checkWorkloadSelector } from "./workload-selector.js";

/** The checks `validateKubernetesSchema` reports, by the `check` id of their findings. */
export const SCHEMA_CHECKS = {
  "unknown-kind": "apiVersion and kind name a built-in kind a Kubernetes 1.27 API server serves",
  schema: "the object matches the Kubernetes OpenAPI schema (types, required fields, enums, formats)",
  "unknown-field": "every field is declared by the schema (a typo such as spec.replica is refused)",
  "target-version": "no field added to Kubernetes after 1.27",
  "object-name": "metadata.name and metadata.namespace follow the syntax the kind requires",
  "label-syntax": "label keys and values (metadata, selectors, nodeSelector) are valid",
  "annotation-syntax": "annotation keys are valid and all annotations fit in 256 KiB",
  "selector-match": "a workload's selector selects its own pod template",
  "object-size": "ConfigMap and Secret data fit in the API server's 1 MiB limit",
} as const satisfies Record<string, string>;

/** The API server refuses a ConfigMap or Secret whose data exceeds 1 MiB. */
const DATA_MAX_BYTES = 1024 * 1024;

/**
 * Validates plain objects parsed from manifests against the Kubernetes schema
 * shipped in kubernetes-models, refusing unknown kinds and unknown fields, and
 * checks the syntax rules the schema does not express (names, labels, selectors).
 */
export function validateKubernetesSchema(objects: readonly unknown[]): Finding[] {
  return objects.flatMap((object, index) => validateKubernetesObject(object, index));
}

/** The schema checks of one object; what it reads is the object and, for an object without a name, its index in the list. */
export function validateKubernetesObject(object: unknown, index: number): Finding[] {
  const ref = objectRef(object, index);
  if (!isRecord(object)) {
    return [{ check: "schema", object: `<object #${index}>`, message: `a manifest must be an object, got ${describe(object)}` }];
  }
  const findings: Finding[] = [];
  const apiVersion = apiVersionOf(object);
  const kind = kindOf(object);
  const model = apiVersion !== undefined && kind !== undefined ? modelFor(apiVersion, kind) : undefined;
  if (!model) {
    findings.push({ check: "unknown-kind", object: ref, message: unknownKindMessage(apiVersion, kind) });
  } else {
    const { errors, unknownFields } = validateTraced(model, object);
    findings.push(...schemaFindings(errors, object, ref));
    for (const unknown of unknownFields) {
      const suggestion = closestName(unknown.field, unknown.known);
      findings.push({
        check: "unknown-field",
        object: ref,
        path: formatPath([...unknown.parent, unknown.field]),
        message: `unknown field "${unknown.field}" in ${apiVersion} ${kind}${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`,
      });
    }
    findings.push(...checkTargetVersion(object, ref, index));
    findings.push(...checkWorkloadSelector(object, ref));
    findings.push(...checkDataSize(object, ref));
  }
  findings.push(...checkMetadata(object, ref));
  return findings;
}

function unknownKindMessage(apiVersion: string | undefined, kind: string | undefined): string {
  if (apiVersion === undefined || kind === undefined) {
    return `apiVersion and kind are required, got apiVersion ${describe(apiVersion)} and kind ${describe(kind)}`;
  }
  const served = apiVersionsOfKind(kind);
  if (served.length > 0) {
    return `${kind} is not served as "${apiVersion}" by Kubernetes ${TARGET_KUBERNETES_VERSION}; use apiVersion ${served.map((v) => `"${v}"`).join(" or ")}`;
  }
  return `"${apiVersion}" ${kind} is not a built-in kind the stack emits for Kubernetes ${TARGET_KUBERNETES_VERSION} (see src/validate/kubernetes-kinds.ts)`;
}

/**
 * Ajv reports one error per failed branch of a oneOf (IntOrString, Quantity),
 * plus the oneOf itself; those are merged into one finding per path.
 */
function schemaFindings(errors: readonly SchemaError[], object: JsonRecord, ref: string): Finding[] {
  const byPath = new Map<string, SchemaError[]>();
  for (const error of errors) {
    const group = byPath.get(error.instancePath);
    if (group) group.push(error);
    else byPath.set(error.instancePath, [error]);
  }
  const findings: Finding[] = [];
  for (const [pointer, group] of byPath) {
    const segments = pointerToSegments(pointer, object);
    const value = valueAt(object, segments);
    const isAlternatives = group.some((e) => e.keyword === "oneOf" || e.keyword === "anyOf");
    if (isAlternatives) {
      const expected = [...new Set(group.filter((e) => e.keyword !== "oneOf" && e.keyword !== "anyOf").map(expectation))];
      findings.push({ check: "schema", object: ref, path: formatPath(segments), message: `must be ${expected.join(" or ")}, got ${describe(value)}` });
      continue;
    }
    for (const error of group) {
      if (error.keyword === "required") {
        const missing = String(error.params["missingProperty"]);
        findings.push({ check: "schema", object: ref, path: formatPath([...segments, missing]), message: `required field "${missing}" is missing` });
      } else {
        findings.push({ check: "schema", object: ref, path: formatPath(segments), message: `must be ${expectation(error)}, got ${describe(value)}` });
      }
    }
  }
  return findings;
}

const FORMATS: Readonly<Record<string, string>> = {
  quantity: 'a quantity such as "500m", "128Mi" or "2"',
  int32: "a 32-bit integer",
  int64: "a 64-bit integer",
  "date-time": "an RFC 3339 date-time",
  byte: "base64-encoded data",
};

function expectation(error: SchemaError): string {
  const params = error.params;
  switch (error.keyword) {
    case "type": {
      const type = String(params["type"]);
      return `${/^[aeiou]/.test(type) ? "an" : "a"} ${type}`;
    }
    case "enum":
      return `one of ${(params["allowedValues"] as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "format": {
      const format = String(params["format"]);
      return FORMATS[format] ?? `in format ${format}`;
    }
    case "pattern":
      return `a string matching ${String(params["pattern"])}`;
    default:
      return `valid (${error.keyword}: ${error.message ?? JSON.stringify(params)})`;
  }
}

function checkDataSize(object: JsonRecord, ref: string): Finding[] {
  const kind = kindOf(object);
  if (kind !== "ConfigMap" && kind !== "Secret") return [];
  let bytes = 0;
  for (const field of ["data", "binaryData", "stringData"]) {
    const map = recordAt(object, field);
    if (!map) continue;
    for (const [key, value] of Object.entries(map)) bytes += Buffer.byteLength(key) + (typeof value === "string" ? Buffer.byteLength(value) : 0);
  }
  if (bytes <= DATA_MAX_BYTES) return [];
  return [
    {
      check: "object-size",
      object: ref,
      path: "data",
      message: `the ${kind}'s data is ${bytes} bytes, more than the API server's limit of ${DATA_MAX_BYTES}; split it (one ConfigMap per dashboard)`,
    },
  ];
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
