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
 * `type` of a union variant (storage, database). Whether a variant chosen
 * over a default of another type is complete is left to the loader, which
 * names the missing field.
 */
function relaxRequired(node: unknown, root = false): Record<string, unknown> {
  if (Array.isArray(node)) return node.map((n) => relaxRequired(n)) as unknown as Record<string, unknown>;
  if (node === null || typeof node !== 'object') return node as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'required' && Array.isArray(value)) {
      const kept = value.filter((k) => k === 'type' || (root && k === 'name'));
      if (kept.length > 0) out[key] = kept;
      continue;
    }
    out[key] = typeof value === 'object' && value !== null ? relaxRequired(value) : value;
  }
  return out;
}
