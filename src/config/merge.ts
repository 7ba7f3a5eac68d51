/** A plain object, as parsed from YAML: not an array, not null. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Deep-merges `override` over `base`. Objects merge key by key; arrays and
 * scalars replace. An object with a `type` discriminator (storage, database)
 * replaces the base object when the type changes, so that fields of the old
 * variant do not leak into the new one.
 */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  if ('type' in override && 'type' in base && override.type !== base.type) return override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    out[key] = deepMerge(base[key], value);
  }
  return out;
}
