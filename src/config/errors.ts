/** One thing wrong with an environment file. */
export interface ConfigIssue {
  /** Dotted path of the field, such as `components.prometheus.replicas`; empty for the whole file. */
  readonly path: string;
  readonly message: string;
  /** The value found at the path, when there was one and it may be shown (never a credential). */
  readonly found?: unknown;
  /** The line in the file of the field, or of its nearest parent written in the file. */
  readonly line?: number;
  /** The file the issue is in, on the issues of an EnvironmentFilesError. */
  readonly file?: string;
}

/** An environment file that cannot be used. The CLI prints it as one block, without a stack trace. */
export class ConfigError extends Error {
  readonly code = 'E_CONFIG';
  constructor(
    readonly source: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(formatIssues(source, issues));
    this.name = 'ConfigError';
  }
}

/**
 * Every refused environment file of one run, as one error. It is a
 * ConfigError (issues of all files, `source` listing them), so whoever
 * catches ConfigError prints it; its message is each file's block in turn.
 */
export class EnvironmentFilesError extends ConfigError {
  constructor(readonly errors: readonly ConfigError[]) {
    super(
      errors.map((e) => e.source).join(', '),
      errors.flatMap((e) => e.issues.map((i) => ({ ...i, file: e.source }))),
    );
    this.name = 'EnvironmentFilesError';
    this.message = errors.map((e) => e.message).join('\n\n');
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `['a', 'b', 0, 'c.d']` → `a.b[0]["c.d"]`: the dotted path every issue names. */
export function fieldPath(segments: readonly PropertyKey[]): string {
  return segments.reduce<string>((acc, key) => {
    if (typeof key === 'number') return `${acc}[${key}]`;
    const name = String(key);
    if (!IDENTIFIER.test(name)) return `${acc}[${JSON.stringify(name)}]`;
    return acc === '' ? name : `${acc}.${name}`;
  }, '');
}

/** The segments of a path written by `fieldPath`. */
export function parseFieldPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /([A-Za-z_$][A-Za-z0-9_$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[3] !== undefined) out.push(JSON.parse(m[3]) as string);
  }
  return out;
}

/**
 * Whether a found value may be printed. A URL can carry a credential in its
 * user, path (Slack's webhook) or query, so no URL is ever shown; nor an
 * object or array, which may hold one further down.
 */
function showable(found: unknown): boolean {
  if (found === undefined || found === null) return found === null;
  if (typeof found === 'object') return false;
  return !(typeof found === 'string' && /:\/\/|^[a-z][a-z0-9+.-]*:[^\s]*@/i.test(found));
}

function describeFound(found: unknown): string {
  if (!showable(found)) return '';
  const text = JSON.stringify(found);
  return ` (found ${text !== undefined && text.length > 60 ? `${text.slice(0, 57)}...` : text})`;
}

/**
 * The block a user reads: a header naming the file, then one line per issue,
 * `<file>:<line>: <dotted path>: <what is wrong>` when the line is known.
 */
export function formatIssues(source: string, issues: readonly ConfigIssue[]): string {
  const lines = issues.map((i) => {
    const where = i.line !== undefined ? `${source}:${i.line}: ` : '';
    return `  ${where}${i.path === '' ? '(file)' : i.path}: ${i.message}${describeFound(i.found)}`;
  });
  return `${source} is not a valid environment (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}
