/** Readers for plain objects parsed from manifests, which are untyped until checked. */

export type JsonRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonRecord {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The property as a record, or undefined. */
export function recordAt(value: unknown, key: string): JsonRecord | undefined {
  if (!isRecord(value)) return undefined;
  const child = value[key];
  return isRecord(child) ? child : undefined;
}

/** The property as an array, or an empty array when it is missing or not an array. */
export function arrayAt(value: unknown, key: string): unknown[] {
  if (!isRecord(value)) return [];
  const child = value[key];
  return Array.isArray(child) ? child : [];
}

/** The property as a string, or undefined. */
export function stringAt(value: unknown, key: string): string | undefined {
  if (!isRecord(value)) return undefined;
  const child = value[key];
  return typeof child === "string" ? child : undefined;
}

/** A map of string values (labels, matchLabels); non-string entries are dropped. */
export function stringMapAt(value: unknown, key: string): Record<string, string> {
  const map = recordAt(value, key);
  const out: Record<string, string> = {};
  if (!map) return out;
  for (const [k, v] of Object.entries(map)) if (typeof v === "string") out[k] = v;
  return out;
}

export function kindOf(object: unknown): string | undefined {
  return stringAt(object, "kind");
}

export function apiVersionOf(object: unknown): string | undefined {
  return stringAt(object, "apiVersion");
}

export function nameOf(object: unknown): string | undefined {
  return stringAt(recordAt(object, "metadata"), "name");
}

export function namespaceOf(object: unknown): string | undefined {
  return stringAt(recordAt(object, "metadata"), "namespace");
}

/**
 * `Kind/namespace/name`, or `Kind/name` without a namespace. `index` (the
 * object's position in the input) stands in for a missing name so that a
 * finding on a nameless object still says which one.
 */
export function objectRef(object: unknown, index?: number): string {
  const kind = kindOf(object) ?? "<no kind>";
  const name = nameOf(object) ?? (index === undefined ? "<no name>" : `<no name #${index}>`);
  const namespace = namespaceOf(object);
  return namespace === undefined ? `${kind}/${name}` : `${kind}/${namespace}/${name}`;
}

/** `{a=b, c=d}` for messages. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ")}}`;
}
