import { z } from 'zod';

/** NUL or any surrogate: a string without them has no problem for PostgreSQL. */
const MAYBE_PROBLEM = /[\u0000\ud800-\udfff]/;

/** A lone UTF-16 surrogate: a high one not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why PostgreSQL would not store a string as sent, or undefined: text and
 * jsonb refuse NUL, and text turns a lone surrogate (not valid Unicode, but
 * valid in a JSON string) into U+FFFD while jsonb refuses it.
 */
export function textProblem(s: string): string | undefined {
  // Almost every string has neither: one scan for the characters that could be a problem.
  if (!MAYBE_PROBLEM.test(s)) return undefined;
  if (s.includes('\u0000')) return 'must not contain NUL characters (\\u0000)';
  if (LONE_SURROGATE.test(s)) return 'must not contain a lone surrogate (\\ud800-\\udfff without its pair): it is not valid Unicode';
  return undefined;
}

/** Whether `text(max)` (with `.min(min)`) accepts `s`; for the fast path of `oneOrMany`. */
export function isText(s: unknown, max: number, min = 0): s is string {
  return typeof s === 'string' && s.length >= min && s.length <= max && textProblem(s) === undefined;
}

/** A string PostgreSQL stores exactly, at most `max` characters. */
export const text = (max: number) =>
  z
    .string()
    .max(max)
    .superRefine((s, ctx) => {
      const problem = textProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

/**
 * Names that an object already has through its prototype (`toString`,
 * `constructor`, `__proto__`, …) and `prototype`: refused wherever a name a
 * client chooses becomes an object key (metric, label and KPI names, tag keys).
 */
const PROTOTYPE_NAMES: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/** Why `name` cannot be a key of the objects it becomes one of, or undefined. */
export function keyNameProblem(name: string): string | undefined {
  return PROTOTYPE_NAMES.has(name) ? `"${name}" is the name of a built-in object property and cannot be used as a name` : undefined;
}

/**
 * A JSON object of string values, as labels and tags are: keys of at most
 * `maxKey` characters, values `text(maxValue)`; keys and values free of NUL
 * and lone surrogates, and with `names`, no key that is a prototype's name.
 */
export const textRecord = (maxKey: number, maxValue: number, opts: { names?: boolean } = {}) =>
  z.record(z.string(), text(maxValue)).superRefine((rec, ctx) => {
    for (const key of Object.keys(rec)) {
      const problem =
        key.length > maxKey ? `a key must be at most ${maxKey} characters` : (textProblem(key) ?? (opts.names ? keyNameProblem(key) : undefined));
      if (problem) ctx.addIssue({ code: 'custom', path: [key.slice(0, 64)], message: problem.replace(/^must/, 'a key must') });
    }
  });

/** What is wrong with a value parsed from JSON, and where; one walk, stopping at the first problem. */
function jsonProblem(value: unknown, path: PropertyKey[], depth: number): { path: PropertyKey[]; message: string } | undefined {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    return problem ? { path, message: problem } : undefined;
  }
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
    const keyProblem = textProblem(key);
    if (keyProblem) return { path: [...path, key.slice(0, 32)], message: `a key ${keyProblem}` };
    const p = jsonProblem((value as Record<string, unknown>)[key], [...path, key], depth + 1);
    if (p) return p;
  }
  return undefined;
}

const MAX_DEPTH = 8;
/** The longest JSON text of a finite number: a sign, `0.00000` and 17 digits (`-0.0000019360684295281103`). */
const MAX_NUMBER_JSON = 25;

/**
 * The walk of `jsonProblem` without building paths: -1 when it would find a
 * problem, else an upper bound of the length of the value's JSON text (a
 * character takes at most 6 in JSON, `\u001f`), so that a value well under
 * its size limit is not serialised only to be measured.
 */
function jsonFine(value: unknown, depth: number): number {
  if (typeof value === 'string') return textProblem(value) === undefined ? 2 + 6 * value.length : -1;
  if (value === null || typeof value === 'boolean') return 5;
  if (typeof value === 'number') return Number.isFinite(value) ? MAX_NUMBER_JSON : -1;
  if (typeof value !== 'object' || depth >= MAX_DEPTH) return -1;
  let size = 2;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const n = jsonFine(value[i], depth + 1);
      if (n < 0) return -1;
      size += n + 1;
    }
    return size;
  }
  for (const key in value) {
    if (key.length > 128 || textProblem(key) !== undefined) return -1;
    const n = jsonFine((value as Record<string, unknown>)[key], depth + 1);
    if (n < 0) return -1;
    size += 4 + 6 * key.length + n;
  }
  return size;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Whether `jsonObject(maxBytes)` accepts `v`; for the fast path of `oneOrMany`. */
export function isJsonObject(v: unknown, maxBytes: number): v is Record<string, unknown> {
  if (!isPlainObject(v)) return false;
  const bound = jsonFine(v, 0);
  return bound >= 0 && (bound <= maxBytes || JSON.stringify(v).length <= maxBytes);
}

/**
 * A JSON object of free properties, storable as jsonb: keys of at most 128
 * characters, no NUL, at most 8 levels deep and `maxBytes` of JSON. The body
 * came from JSON.parse, so one walk checks what z.record(z.json()) would
 * check, at a fraction of the cost per event; the path of a problem is only
 * built once there is one.
 */
export const jsonObject = (maxBytes: number) =>
  z
    .custom<Record<string, unknown>>(isPlainObject, 'must be a JSON object')
    .superRefine((obj, ctx) => {
      const bound = jsonFine(obj, 0);
      const problem = bound < 0 ? jsonProblem(obj, [], 0) : undefined;
      if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
      else if (bound > maxBytes && JSON.stringify(obj).length > maxBytes) ctx.addIssue({ code: 'custom', message: `must be at most ${maxBytes} bytes of JSON` });
    });

/** The earliest and latest instants a timestamp may name, where PostgreSQL's timestamptz and JavaScript's Date agree and a date is sane. */
export const MIN_INSTANT = '1970-01-01T00:00:00Z';
export const MAX_INSTANT = '9999-12-31T23:59:59.999Z';
const MIN_MS = Date.parse(MIN_INSTANT);
const MAX_MS = Date.parse(MAX_INSTANT);
/** Real zones lie between UTC-12:00 and UTC+14:00; PostgreSQL refuses offsets beyond 15:59 (zod takes up to 23:59). */
const MAX_OFFSET_MINUTES = 14 * 60;
const OFFSET = /([+-])(\d\d):(\d\d)$/;

/** Why PostgreSQL would refuse, or the service should not keep, an ISO 8601 date-time with a zone; undefined when neither. */
export function instantProblem(s: string): string | undefined {
  // Not a date-time at all: the format check says so, once.
  if (Number.isNaN(Date.parse(s)) && !OFFSET.test(s)) return undefined;
  const m = OFFSET.exec(s);
  if (m && Number(m[2]) * 60 + Number(m[3]) > MAX_OFFSET_MINUTES) return `the zone offset ${m[0]} is out of range: it must be between -14:00 and +14:00`;
  const t = Date.parse(s);
  if (!(t >= MIN_MS && t <= MAX_MS)) return `must be between ${MIN_INSTANT} and ${MAX_INSTANT}, got ${s.slice(0, 40)}`;
  return undefined;
}

const isoDateTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone, e.g. 2024-01-15T14:30:00Z' });
/** The pattern `isoDateTime` checks (zod's own, built from the same options), and `z.uuid()`'s. */
const ISO_DATE_TIME = z.regexes.datetime({ offset: true, local: false, precision: null });
export const UUID = z.regexes.uuid();

/**
 * An ISO 8601 timestamp with a zone (`Z` or an offset within ±14:00),
 * between 1970 and the end of 9999. Passed to PostgreSQL as sent; digits
 * beyond microseconds are rounded there.
 */
export const timestamp = isoDateTime.check(
  z.superRefine((s: string, ctx) => {
    const problem = instantProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
);

/** A timestamp of something that happened: within the last `maxAgeDays` days (the retention period) and at most an hour ahead. */
export const recentTimestamp = (maxAgeDays: number) =>
  isoDateTime.check(
    z.superRefine((s: string, ctx) => {
      const problem = instantProblem(s);
      if (problem) {
        ctx.addIssue({ code: 'custom', message: problem });
        return;
      }
      const t = Date.parse(s);
      const now = Date.now();
      if (t > now + 3_600_000) ctx.addIssue({ code: 'custom', message: 'must not be more than 1 hour in the future' });
      if (t < now - maxAgeDays * 86_400_000) ctx.addIssue({ code: 'custom', message: `must be within the retention period of ${maxAgeDays} days` });
    }),
  );

/** Whether `recentTimestamp(maxAgeDays)` accepts `s`; for the fast path of `oneOrMany`. */
export function isRecentTimestamp(s: unknown, maxAgeDays: number): s is string {
  if (typeof s !== 'string' || !ISO_DATE_TIME.test(s) || instantProblem(s) !== undefined) return false;
  const t = Date.parse(s);
  const now = Date.now();
  return t <= now + 3_600_000 && t >= now - maxAgeDays * 86_400_000;
}

/**
 * Chooses the schema for a body that may be one item, an array of items, or
 * `{ [key]: items }`, so that errors name the field of the branch the client
 * meant rather than a bare "invalid union".
 *
 * `accept`, when given, is the fast path of a valid body: a plain function
 * that says true only for an item that `item` accepts and returns unchanged
 * (no defaults, no transforms). A body whose items it all accepts is taken
 * as it is, without zod's walk and copies; anything else, it says false, and
 * zod decides and names what is wrong, as without it.
 */
export function oneOrMany<T extends z.ZodType>(item: T, key: string, max: number, accept?: (item: unknown) => boolean) {
  const many = z.array(item).min(1, `${key} must hold at least one item`).max(max, `at most ${max} ${key} per request`);
  const wrapped = z.strictObject({ [key]: many } as Record<string, typeof many>);
  const acceptMany = (items: unknown): items is z.output<T>[] => {
    if (!Array.isArray(items) || items.length < 1 || items.length > max) return false;
    for (let i = 0; i < items.length; i++) if (!accept!(items[i])) return false;
    return true;
  };
  /** The items of a body the fast path accepts, or undefined. */
  const fast = (input: unknown): z.output<T>[] | undefined => {
    if (Array.isArray(input)) return acceptMany(input) ? input : undefined;
    if (isPlainObject(input) && key in input) {
      for (const k in input) if (k !== key) return undefined;
      const items = input[key];
      return acceptMany(items) ? items : undefined;
    }
    return accept!(input) ? [input as z.output<T>] : undefined;
  };
  const schema = z.unknown().transform((input, ctx): z.output<T>[] => {
    const accepted = accept ? fast(input) : undefined;
    if (accepted) return accepted;
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
  // The validator compiler calls `fast` itself and runs the schema only for what it does not accept.
  if (accept) FAST_PATHS.set(schema, fast);
  return schema;
}

/** Plain checks that give a schema's output without zod's walk, or undefined to leave the input to the schema; see `fastPath`. */
const FAST_PATHS = new WeakMap<z.ZodType, (input: unknown) => unknown>();

/** The plain check registered for a schema, if any: its answer, when defined, is what the schema would give. */
export function fastPath(schema: z.ZodType): ((input: unknown) => unknown) | undefined {
  return FAST_PATHS.get(schema);
}

/** The body of every 4xx/5xx answer. */
export const ErrorReply = z.strictObject({
  error: z.string(),
  message: z.string(),
  issues: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
  request_id: z.string().optional(),
});
