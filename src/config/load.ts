import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { DEFAULTS } from './defaults.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { deepMerge, isPlainObject } from './merge.js';
import { EnvironmentConfig, type Environment } from './schema.js';

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc === '' ? String(key) : `${acc}.${String(key)}`),
    '',
  );
}

function expected(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  return issue.message;
}

function toIssues(error: z.ZodError, input: unknown): ConfigIssue[] {
  return error.issues.map((issue) => {
    const path = issue.code === 'unrecognized_keys' ? issue.path : issue.path;
    const found = issue.code === 'unrecognized_keys' ? undefined : valueAt(input, path);
    const message = expected(issue);
    const base = { path: formatPath(path), message };
    return found === undefined || isPlainObject(found) ? base : { ...base, found };
  });
}

/** Validates an already-parsed environment object merged over the defaults. */
export function parseEnvironment(raw: unknown, source = '<environment>'): Environment {
  if (!isPlainObject(raw)) {
    throw new ConfigError(source, [{ path: '', message: 'must be a YAML mapping of environment fields', found: raw }]);
  }
  const merged = deepMerge(DEFAULTS, raw);
  const result = EnvironmentConfig.safeParse(merged);
  if (!result.success) throw new ConfigError(source, toIssues(result.error, merged));
  return result.data;
}

/** Parses the text of an environment file. `source` names it in errors. */
export function parseEnvironmentText(text: string, source: string): Environment {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => ({ path: '', message: `malformed YAML: ${e.message.split('\n')[0] ?? e.code}` })),
    );
  }
  const raw: unknown = doc.toJS();
  const env = parseEnvironment(raw, source);
  const stem = basename(source, extname(source));
  if (/^[a-z0-9-]+$/.test(stem) && stem !== env.name && !source.startsWith('<')) {
    throw new ConfigError(source, [
      { path: 'name', message: `must match the file name "${stem}" so that dist/${stem} holds it`, found: env.name },
    ]);
  }
  return env;
}

/** Reads and validates one environment file. */
export function loadEnvironmentFile(file: string): Environment {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
  }
  return parseEnvironmentText(text, file);
}
