import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { type Document, type ErrorCode, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { closestName } from './closest-name.js';
import { DEFAULTS } from './defaults.js';
import { ConfigError, type ConfigIssue, fieldPath, parseFieldPath } from './errors.js';
import { deepMerge, isPlainObject } from './merge.js';
import { isSecretField } from './primitives.js';
import { EnvironmentConfig, type Environment } from './schema.js';

type Schema = z.core.$ZodType;
type Segment = string | number;

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

// ---------------------------------------------------------------------------
// The schema at a path: known keys for "did you mean", and where credentials live.

interface Def {
  readonly type: string;
  readonly [field: string]: unknown;
}

const def = (s: Schema): Def => s._zod.def as unknown as Def;

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

/** The schemas a value may be checked against at one place, wrappers removed and union variants chosen by discriminator. */
function resolve(schema: Schema, value: unknown): { leaves: Schema[]; secret: boolean } {
  let secret = isSecretField(schema);
  const d = def(schema);
  if (WRAPPERS.has(d.type)) {
    const inner = resolve(d.innerType as Schema, value);
    return { leaves: inner.leaves, secret: secret || inner.secret };
  }
  if (d.type === 'pipe') {
    const inner = resolve(d.in as Schema, value);
    return { leaves: inner.leaves, secret: secret || inner.secret };
  }
  if (d.type === 'lazy') {
    const inner = resolve((d.getter as () => Schema)(), value);
    return { leaves: inner.leaves, secret: secret || inner.secret };
  }
  if (d.type === 'union' || d.type === 'intersection') {
    let options = d.type === 'union' ? (d.options as Schema[]) : [d.left as Schema, d.right as Schema];
    const discriminator = d.discriminator as string | undefined;
    if (discriminator !== undefined && isPlainObject(value)) {
      const chosen = options.filter((o) => resolve(o, undefined).leaves.some((l) => literalValues(child(l, discriminator)).includes(value[discriminator])));
      if (chosen.length > 0) options = chosen;
    }
    const leaves: Schema[] = [];
    for (const o of options) {
      const r = resolve(o, value);
      leaves.push(...r.leaves);
      secret ||= r.secret;
    }
    return { leaves, secret };
  }
  return { leaves: [schema], secret };
}

function literalValues(schema: Schema | undefined): unknown[] {
  if (schema === undefined) return [];
  return resolve(schema, undefined).leaves.flatMap((l) => (def(l).type === 'literal' ? (def(l).values as unknown[]) : []));
}

/** The schema of one field or item inside a resolved (leaf) schema. */
function child(leaf: Schema, key: Segment): Schema | undefined {
  const d = def(leaf);
  if (d.type === 'object') {
    const shape = d.shape as Record<string, Schema>;
    if (typeof key === 'string' && Object.hasOwn(shape, key)) return shape[key];
    const catchall = d.catchall as Schema | undefined;
    return catchall !== undefined && def(catchall).type !== 'never' ? catchall : undefined;
  }
  if (d.type === 'record') return d.valueType as Schema;
  if (d.type === 'array') return typeof key === 'number' ? (d.element as Schema) : undefined;
  if (d.type === 'tuple') return typeof key === 'number' ? (d.items as Schema[])[key] : undefined;
  return undefined;
}

/** The schemas at a data path, and whether it lies at or below a credential field. */
function schemaAt(root: Schema, path: readonly PropertyKey[], data: unknown): { leaves: Schema[]; secret: boolean } {
  let { leaves, secret } = resolve(root, data);
  let value = data;
  for (const key of path) {
    const seg: Segment = typeof key === 'number' ? key : String(key);
    value = valueAt(value, [seg]);
    const next: Schema[] = [];
    for (const l of leaves) {
      const c = child(l, seg);
      if (c === undefined) continue;
      const r = resolve(c, value);
      next.push(...r.leaves);
      secret ||= r.secret;
    }
    leaves = next;
  }
  return { leaves, secret };
}

const containsSecretMemo = new WeakMap<Schema, boolean>();

/** Whether a credential field lies anywhere inside a schema. */
function containsSecret(schema: Schema, visiting = new Set<Schema>()): boolean {
  const known = containsSecretMemo.get(schema);
  if (known !== undefined) return known;
  if (visiting.has(schema)) return false;
  visiting.add(schema);
  const d = def(schema);
  const inner: unknown[] = [d.innerType, d.in, d.out, d.element, d.valueType, d.catchall, d.left, d.right];
  if (d.type === 'lazy') inner.push((d.getter as () => Schema)());
  if (Array.isArray(d.options)) inner.push(...(d.options as unknown[]));
  if (Array.isArray(d.items)) inner.push(...(d.items as unknown[]));
  if (d.type === 'object') inner.push(...Object.values(d.shape as Record<string, Schema>));
  const result =
    isSecretField(schema) ||
    inner.some((s) => typeof s === 'object' && s !== null && '_zod' in s && containsSecret(s as Schema, visiting));
  containsSecretMemo.set(schema, result);
  return result;
}

/**
 * Field names that hold credentials or URLs (which may carry one) even where
 * the schema does not say so: their values are never echoed either.
 */
const CREDENTIAL_NAME = /(url|uri|password|passwd|token|secret|credential|apikey|key|keys)$/i;

/** Whether the value found at a path may be printed: not at, under or above a credential. */
function mayShowFound(path: readonly PropertyKey[], data: unknown): boolean {
  if (path.some((k) => typeof k === 'string' && CREDENTIAL_NAME.test(k))) return false;
  const at = schemaAt(EnvironmentConfig, path, data);
  return !at.secret && !at.leaves.some((l) => containsSecret(l));
}

/** The field names a mapping may hold at a path, as the schema declares them. */
function knownKeys(path: readonly PropertyKey[], data: unknown): string[] {
  const keys = new Set<string>();
  for (const l of schemaAt(EnvironmentConfig, path, data).leaves) {
    if (def(l).type === 'object') for (const k of Object.keys(def(l).shape as object)) keys.add(k);
  }
  return [...keys];
}

// ---------------------------------------------------------------------------
// zod issues → ConfigIssues

/** A key that is plainly a field name, safe to print back. */
const PRINTABLE_KEY = /^[A-Za-z0-9_$.-]{1,64}$/;

function unknownKeyIssues(path: readonly PropertyKey[], keys: readonly string[], data: unknown): ConfigIssue[] {
  const known = knownKeys(path, data);
  const secret = schemaAt(EnvironmentConfig, path, data).secret;
  return keys.map((key) => {
    const near = closestName(key, known);
    // Under a credential field a key is printed only when it is plainly a misspelt field name.
    if (!PRINTABLE_KEY.test(key) || (secret && near === undefined)) {
      return { path: fieldPath(path), message: `has an unknown field (not shown); known fields: ${known.join(', ')}` };
    }
    const hint = near !== undefined ? `; did you mean "${near}"?` : known.length > 0 ? `; known fields: ${known.join(', ')}` : '';
    return { path: fieldPath([...path, key]), message: `unknown field "${key}"${hint}` };
  });
}

function message(issue: z.core.$ZodIssue, found: unknown): string {
  if (issue.code === 'invalid_key') {
    return `is not a valid name: ${issue.issues.map((i) => i.message).join('; ')}`;
  }
  if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input: ')) {
    const what = issue.message.slice('Invalid input: '.length);
    return found === undefined ? `is required (${what.replace(/, received undefined$/, '')})` : what;
  }
  return issue.message;
}

function toIssues(error: z.ZodError, input: unknown): ConfigIssue[] {
  return error.issues.flatMap((issue): ConfigIssue[] => {
    if (issue.code === 'unrecognized_keys') return unknownKeyIssues(issue.path, issue.keys, input);
    const found = valueAt(input, issue.path);
    const base = { path: fieldPath(issue.path), message: message(issue, found) };
    return found === undefined || isPlainObject(found) || !mayShowFound(issue.path, input) ? [base] : [{ ...base, found }];
  });
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}

/** Merges a file's own fields over the defaults and validates them; every problem, nothing thrown. */
function validate(raw: unknown): { environment?: Environment; issues: ConfigIssue[] } {
  if (!isPlainObject(raw)) {
    return { issues: [{ path: '', message: `must be a YAML mapping of environment fields (found ${kindOf(raw)})` }] };
  }
  const merged = deepMerge(DEFAULTS, raw);
  const result = EnvironmentConfig.safeParse(merged);
  return result.success ? { environment: result.data, issues: [] } : { issues: toIssues(result.error, merged) };
}

/** Validates an already-parsed environment object merged over the defaults. */
export function parseEnvironment(raw: unknown, source = '<environment>'): Environment {
  const { environment, issues } = validate(raw);
  if (environment === undefined) throw new ConfigError(source, issues);
  return environment;
}

// ---------------------------------------------------------------------------
// Files: YAML with lines

/** What YAML's error codes mean, in our words: the parser's own messages quote source lines, which may hold a credential. */
const YAML_ERRORS: Partial<Record<ErrorCode, string>> = {
  BAD_INDENT: 'wrong indentation',
  MULTILINE_IMPLICIT_KEY: 'a key runs over several lines (is a ":" or the indentation wrong?)',
  BLOCK_AS_IMPLICIT_KEY: 'a block cannot be a key (is the indentation wrong?)',
  DUPLICATE_KEY: 'the same key appears twice in one mapping',
  MISSING_CHAR: 'a closing bracket, brace or quote is missing',
  UNEXPECTED_TOKEN: 'unexpected text here (is the indentation or a ":" wrong?)',
  TAB_AS_INDENT: 'tabs cannot indent YAML; use spaces',
  BAD_DQ_ESCAPE: 'invalid escape in a double-quoted string',
  BAD_SCALAR_START: 'a plain value cannot start with this character; quote it',
  BLOCK_IN_FLOW: 'a block cannot appear inside [ ] or { }',
  MULTIPLE_DOCS: 'one file holds one environment, not several YAML documents',
  BAD_ALIAS: 'an alias names no anchor defined before it',
  KEY_OVER_1024_CHARS: 'a key is longer than 1024 characters',
  TAG_RESOLVE_FAILED: 'unknown YAML tag',
  NON_STRING_KEY: 'keys must be strings',
};

function yamlMessage(code: ErrorCode): string {
  return `malformed YAML: ${YAML_ERRORS[code] ?? code.toLowerCase().replace(/_/g, ' ')}`;
}

/** The line (1-based) of the field at a path, or of its nearest parent written in the document. */
function lineFinder(doc: Document, lines: LineCounter): (path: string) => number {
  const lineOf = (offset: number): number => lines.linePos(offset).line;
  return (path) => {
    let node: unknown = doc.contents;
    let line = isNode(node) && node.range ? lineOf(node.range[0]) : 1;
    for (const seg of parseFieldPath(path)) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (pair === undefined) break;
        if (isNode(pair.key) && pair.key.range) line = lineOf(pair.key.range[0]);
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item: unknown = node.items[seg];
        if (!isNode(item)) break;
        if (item.range) line = lineOf(item.range[0]);
        node = item;
      } else {
        break;
      }
    }
    return line;
  };
}

/** What reading one environment file found: the environment when it is valid, and every problem with its line. */
export interface EnvironmentFileCheck {
  readonly source: string;
  /** The file's own fields, before the defaults, when the file is a YAML mapping. */
  readonly raw: Readonly<Record<string, unknown>> | undefined;
  readonly environment: Environment | undefined;
  /** Every problem of the schema, with its line, in the order of the file. */
  readonly issues: readonly ConfigIssue[];
  /** The line of the field at a dotted path, or of its nearest parent written in the file. */
  readonly lineOf: (path: string) => number | undefined;
}

/** Orders issues by line; issues without one (the whole file) come first. */
export function byLine(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => (a.issue.line ?? 0) - (b.issue.line ?? 0) || a.i - b.i)
    .map(({ issue }) => issue);
}

/** Checks the text of an environment file and reports every problem, with its line; never throws for bad input. */
export function checkEnvironmentText(text: string, source: string): EnvironmentFileCheck {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    // An error at the end of the text points past its last line; the last line is where to look.
    const lastLine = lines.linePos(text.trimEnd().length).line;
    const seen = new Set<string>();
    const issues = doc.errors
      .map((e) => ({ path: '', message: yamlMessage(e.code), line: Math.min(lines.linePos(e.pos[0]).line, lastLine) }))
      .filter((i) => !seen.has(`${i.line}:${i.message}`) && seen.add(`${i.line}:${i.message}`) !== undefined);
    return { source, raw: undefined, environment: undefined, issues: byLine(issues), lineOf: () => undefined };
  }
  const raw: unknown = doc.toJS();
  const lineOf = lineFinder(doc, lines);
  const { environment, issues } = validate(raw);
  const located = issues.map((i) => ({ ...i, line: lineOf(i.path) }));
  const stem = basename(source, extname(source));
  if (environment !== undefined && /^[a-z0-9-]+$/.test(stem) && stem !== environment.name && !source.startsWith('<')) {
    located.push({
      path: 'name',
      message: `must match the file name "${stem}" so that dist/${stem} holds it`,
      found: environment.name,
      line: lineOf('name'),
    });
  }
  return {
    source,
    raw: isPlainObject(raw) ? raw : undefined,
    environment: located.length === 0 ? environment : undefined,
    issues: byLine(located),
    lineOf,
  };
}

/** Reads an environment file and reports every problem, with its line; never throws for bad input. */
export function checkEnvironmentFile(file: string): EnvironmentFileCheck {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const issue = { path: '', message: `cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
    return { source: file, raw: undefined, environment: undefined, issues: [issue], lineOf: () => undefined };
  }
  return checkEnvironmentText(text, file);
}

function environmentOf(check: EnvironmentFileCheck): Environment {
  if (check.environment === undefined) throw new ConfigError(check.source, check.issues);
  return check.environment;
}

/** Parses the text of an environment file. `source` names it in errors. */
export function parseEnvironmentText(text: string, source: string): Environment {
  return environmentOf(checkEnvironmentText(text, source));
}

/** Reads and validates one environment file (the schema only; src/cli/load-environments.ts also checks the names it refers to). */
export function loadEnvironmentFile(file: string): Environment {
  return environmentOf(checkEnvironmentFile(file));
}
