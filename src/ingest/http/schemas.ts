import { z } from 'zod';

/** A string PostgreSQL can store, at most `max` characters. */
export const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');

/** What is wrong with a value parsed from JSON, and where; one walk, stopping at the first problem. */
function jsonProblem(value: unknown, path: PropertyKey[], depth: number): { path: PropertyKey[]; message: string } | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? { path, message: 'must not contain NUL characters' } : undefined;
  if (value === null || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return undefined;
  if (typeof value !== 'object') return { path, message: 'must be a JSON value' };
  if (depth >= MAX_DEPTH) return { path, message: `must not be nested more than ${MAX_DEPTH} levels deep` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = jsonProblem(value[i], [...path, i], depth + 1);
      if (p) return p;
    }
    return undefined;
  }
  for (const key in value) {
    if (key.length > 128) return { path: [...path, key.slice(0, 32)], message: 'a key must be at most 128 characters' };
    if (key.includes('\u0000')) return { path, message: 'a key must not contain NUL characters' };
    const p = jsonProblem((value as Record<string, unknown>)[key], [...path, key], depth + 1);
    if (p) return p;
  }
  return undefined;
}

const MAX_DEPTH = 8;

/**
 * A JSON object of free properties, storable as jsonb: keys of at most 128
 * characters, no NUL, at most 8 levels deep and `maxBytes` of JSON. The body
 * came from JSON.parse, so one walk checks what z.record(z.json()) would
 * check, at a fraction of the cost per event.
 */
export const jsonObject = (maxBytes: number) =>
  z
    .custom<Record<string, unknown>>((v) => v !== null && typeof v === 'object' && !Array.isArray(v), 'must be a JSON object')
    .superRefine((obj, ctx) => {
      const problem = jsonProblem(obj, [], 0);
      if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
      else if (JSON.stringify(obj).length > maxBytes) ctx.addIssue({ code: 'custom', message: `must be at most ${maxBytes} bytes of JSON` });
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
