/** One thing wrong with an environment file. */
export interface ConfigIssue {
  /** Dotted path of the field, such as `components.prometheus.replicas`; empty for the whole file. */
  readonly path: string;
  readonly message: string;
  /** The value found at the path, when there was one. */
  readonly found?: unknown;
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

function describeFound(found: unknown): string {
  if (found === undefined) return '';
  const text = JSON.stringify(found);
  return ` (found ${text !== undefined && text.length > 60 ? `${text.slice(0, 57)}...` : text})`;
}

export function formatIssues(source: string, issues: readonly ConfigIssue[]): string {
  const lines = issues.map((i) => `  ${i.path === '' ? '(file)' : i.path}: ${i.message}${describeFound(i.found)}`);
  return `${source} is not a valid environment (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}
