import type { KubernetesModel } from "./kubernetes-kinds.js";
import { isRecord } from "./kubernetes-object.js";
import type { PathSegment } from "./json-path.js";

/** The parts of an Ajv error object that the messages use. */
export interface SchemaError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

export interface UnknownField {
  /** Path of the object holding the field. */
  parent: PathSegment[];
  field: string;
  /** The field names the schema declares at that place (the ones the validator read), for a suggestion. */
  known: string[];
}

export interface TracedValidation {
  errors: SchemaError[];
  unknownFields: UnknownField[];
}

/**
 * Runs a kubernetes-models validator and also finds fields the schema does not declare.
 *
 * kubernetes-models compiles the OpenAPI schema to standalone Ajv code without
 * `additionalProperties: false`, so a typo such as `spec.replica` passes its
 * validator (and a real API server in strict field-validation mode refuses it).
 * The raw schema is not shipped, only the compiled code; but that code reads
 * every declared property of every object it checks (`void 0===data.replicas||…`)
 * and iterates every key of a map (`for (const k in data)`). So the validator
 * runs on a Proxy that records which keys it read: a key it never read is not
 * in the schema. An object of which it read nothing is free-form (e.g.
 * FieldsV1) and is not judged. test/validate/kubernetes-schema.test.ts pins
 * this behaviour at several depths so that an upgrade that changes it fails loudly.
 */
export function validateTraced(model: KubernetesModel, object: unknown): TracedValidation {
  // A private copy: the proxies must not meet frozen objects (whose invariants
  // forbid returning a wrapped value) and the caller's objects stay untouched.
  const copy: unknown = structuredClone(object);
  const reads = new WeakMap<object, Set<string>>();
  const proxies = new WeakMap<object, object>();
  const wrap = (value: unknown): unknown => {
    if (value === null || typeof value !== "object") return value;
    const existing = proxies.get(value);
    if (existing) return existing;
    const seen = new Set<string>();
    reads.set(value, seen);
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        if (typeof key === "string") seen.add(key);
        return wrap(Reflect.get(target, key, receiver));
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };

  let errors: SchemaError[] = [];
  try {
    model.prototype.validate.call(wrap(copy) as never);
  } catch (error) {
    if (error instanceof Error && Array.isArray((error as { errors?: unknown }).errors)) {
      errors = (error as unknown as { errors: SchemaError[] }).errors;
    } else {
      throw error;
    }
  }

  const unknownFields: UnknownField[] = [];
  const walk = (value: unknown, path: PathSegment[]): void => {
    if (Array.isArray(value)) {
      value.forEach((item, index) => walk(item, [...path, index]));
      return;
    }
    if (!isRecord(value)) return;
    const seen = reads.get(value);
    if (!seen || seen.size === 0) return;
    for (const [key, child] of Object.entries(value)) {
      if (seen.has(key)) walk(child, [...path, key]);
      else unknownFields.push({ parent: path, field: key, known: [...seen] });
    }
  };
  walk(copy, []);
  return { errors, unknownFields };
}
