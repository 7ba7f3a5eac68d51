import { z } from 'zod';
import { EnvironmentConfig } from './schema.js';

/**
 * The JSON Schema (draft 2020-12) of an environment file, for editors. Fields
 * with defaults stay optional (`io: 'input'`) since files are merged over them.
 */
export function environmentJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(EnvironmentConfig, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...relaxRequired(schema, true),
    $id: 'https://obstack.dev/schema/environment.schema.json',
    title: 'obstack environment',
    description: 'An obstack environment file, deep-merged over the defaults of src/config/defaults.ts.',
  };
}

/**
 * Environment files are merged over the defaults, so a field is required in
 * the file only where no default can exist: the environment's name, and the
 * fields of a union variant (a storage or database `type`), which replaces the default whole.
 */
function relaxRequired(node: unknown, root = false): Record<string, unknown> {
  if (Array.isArray(node)) return node.map((n) => relaxRequired(n)) as unknown as Record<string, unknown>;
  if (node === null || typeof node !== 'object') return node as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const props = (node as { properties?: Record<string, { const?: unknown }> }).properties;
  // A variant of a union (storage, database) is replaced whole when chosen, so it keeps its required fields.
  const isVariant = props?.type?.const !== undefined;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'required' && Array.isArray(value) && !isVariant) {
      const kept = value.filter((k) => k === 'type' || (root && k === 'name'));
      if (kept.length > 0) out[key] = kept;
      continue;
    }
    out[key] = typeof value === 'object' && value !== null ? relaxRequired(value) : value;
  }
  return out;
}
