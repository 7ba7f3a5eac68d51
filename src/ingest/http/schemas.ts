import { z } from 'zod';

/** True when a string anywhere in `value` holds a NUL, which PostgreSQL text and jsonb refuse. */
export function hasNul(value: unknown, depth = 0): boolean {
  if (depth > 32) return false;
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some((v) => hasNul(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).some(([k, v]) => k.includes('\u0000') || hasNul(v, depth + 1));
  }
  return false;
}

function depthOf(value: unknown, depth = 0): number {
  if (depth > 16 || value === null || typeof value !== 'object') return depth;
  return Math.max(depth, ...Object.values(value as object).map((v) => depthOf(v, depth + 1)));
}

/** A string PostgreSQL can store, at most `max` characters. */
export const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');

/** A JSON object of free properties: bounded size and depth, storable as jsonb. */
export const jsonObject = (maxBytes: number) =>
  z
    .record(z.string().max(128), z.json())
    .superRefine((obj, ctx) => {
      if (hasNul(obj)) ctx.addIssue({ code: 'custom', message: 'must not contain NUL characters' });
      if (depthOf(obj) > 8) ctx.addIssue({ code: 'custom', message: 'must not be nested more than 8 levels deep' });
      if (JSON.stringify(obj).length > maxBytes) ctx.addIssue({ code: 'custom', message: `must be at most ${maxBytes} bytes of JSON` });
    });

/** An ISO 8601 timestamp with a zone (`Z` or an offset). */
export const timestamp = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone, e.g. 2024-01-15T14:30:00Z' });

/**
 * Chooses the schema for a body that may be one item, an array of items, or
 * `{ [key]: items }`, so that errors name the field of the branch the client
 * meant rather than a bare "invalid union".
 */
export function oneOrMany<T extends z.ZodType>(item: T, key: string, max: number) {
  const many = z.array(item).min(1, `${key} must hold at least one item`).max(max, `at most ${max} ${key} per request`);
  const wrapped = z.strictObject({ [key]: many } as Record<string, typeof many>);
  return z.unknown().transform((input, ctx): z.output<T>[] => {
    let result;
    if (Array.isArray(input)) {
      result = many.safeParse(input);
    } else if (input !== null && typeof input === 'object' && key in input) {
      const r = wrapped.safeParse(input);
      result = r.success ? { success: true as const, data: r.data[key] as z.output<T>[] } : r;
    } else {
      const r = item.safeParse(input);
      result = r.success ? { success: true as const, data: [r.data as z.output<T>] } : r;
    }
    if (!result.success) {
      ctx.issues.push(...(result.error.issues as (typeof ctx.issues)[number][]));
      return z.NEVER;
    }
    return result.data as z.output<T>[];
  });
}

/** The body of every 4xx/5xx answer. */
export const ErrorReply = z.strictObject({
  error: z.string(),
  message: z.string(),
  issues: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
  request_id: z.string().optional(),
});
