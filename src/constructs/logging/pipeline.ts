import Handlebars from 'handlebars';
import { FieldPath } from '../../config/index.js';

/**
 * A Logstash string literal holding exactly `value`. Needs
 * `config.support_escapes: true` (set in logstash.yml), under which Logstash
 * reads \" \\ \n \r \t and \0 inside double quotes. `${` is refused: Logstash
 * replaces `${NAME}` with an environment variable in every string and has no
 * escape for it.
 */
export function escapeLogstashString(value: string): string {
  if (value.includes('${')) throw new Error(`a Logstash string cannot contain "\${" (it would read an environment variable): ${JSON.stringify(value)}`);
  const escaped = value.replace(/[\\"\n\r\t\0]/g, (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\0': '\\0' })[c] ?? c);
  return `"${escaped}"`;
}

/** `user.email` → `[user][email]`, for a path that FieldPath accepts; anything else is refused. */
export function logstashFieldReference(path: string): string {
  if (!FieldPath.safeParse(path).success) throw new Error(`not a field path Logstash can reference safely: ${JSON.stringify(path)}`);
  return path
    .split('.')
    .map((p) => `[${p}]`)
    .join('');
}

export interface PipelineValues {
  readonly beatsPort: number;
  readonly elasticsearchUrl: string;
  readonly user: string;
  readonly logsDataset: string;
  readonly auditDataset: string;
  readonly dataStreamNamespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly personalData: ReadonlyArray<{ readonly field: string; readonly action: 'remove' | 'hash' }>;
  /** The log-shape normalization, rendered by renderFilters from log-shapes.ts (inserted as it is). */
  readonly normalization: string;
}

function engine(): typeof Handlebars {
  const hb = Handlebars.create();
  hb.registerHelper('lsString', (v: unknown) => {
    if (typeof v !== 'string') throw new Error(`lsString expects a string, got ${typeof v}`);
    return new hb.SafeString(escapeLogstashString(v));
  });
  hb.registerHelper('lsNumber', (v: unknown) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`lsNumber expects a number, got ${JSON.stringify(v)}`);
    return new hb.SafeString(String(v));
  });
  hb.registerHelper('lsField', (v: unknown) => new hb.SafeString(logstashFieldReference(String(v))));
  // The text of a field reference, to be passed through lsString.
  hb.registerHelper('lsFieldText', (v: unknown) => logstashFieldReference(String(v)));
  // Where the normalization keeps a value it could not place (log-shapes.ts).
  hb.registerHelper('unparsedFieldText', (v: unknown) => `[unparsed]${logstashFieldReference(String(v))}`);
  hb.registerHelper('labelField', (key: unknown) => `[labels]${logstashFieldReference(String(key))}`);
  hb.registerHelper('isRemove', (action: unknown) => action === 'remove');
  return hb;
}

/** Renders the pipeline template; every value goes through a helper that escapes or checks it. */
export function renderPipeline(template: string, values: PipelineValues): string {
  return renderLogstashConfig(template, values);
}

export interface DeadLetterPipelineValues {
  readonly queuePath: string;
  /** The pipeline whose dead letter queue is read. */
  readonly sourcePipeline: string;
  readonly elasticsearchUrl: string;
  readonly user: string;
  readonly deadLetterDataset: string;
  readonly dataStreamNamespace: string;
}

/** Renders the dead-letter pipeline (templates/logstash/dead-letters.conf.hbs). */
export function renderDeadLetterPipeline(template: string, values: DeadLetterPipelineValues): string {
  return renderLogstashConfig(template, values);
}

function renderLogstashConfig(template: string, values: object): string {
  return engine().compile(template, { strict: true, noEscape: false })(values);
}
