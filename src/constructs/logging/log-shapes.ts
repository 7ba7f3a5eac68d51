import type { Condition, Field, Step } from './logstash-filters.js';

/**
 * How Logstash turns the JSON lines of any logger (structlog, Python's logging
 * with a JSON formatter, pino, ECS loggers, …) into documents that fit the
 * index template: one table, rendered into the pipeline and applied by the
 * tests. The rules, in the order they run:
 *
 * 1. The line is kept aside (`[@metadata][line]`); a line that starts with
 *    `{` is decoded as JSON into the event, and dotted keys (`log.level`)
 *    become nested fields.
 * 2. Timestamps: `time` (pino: epoch milliseconds), `timestamp` (structlog:
 *    ISO 8601, or epoch seconds from `time.time()`) and `asctime` (Python's
 *    logging: `2024-01-15 14:30:00,123`, read as UTC) become `@timestamp`. A
 *    value no format reads is kept under `unparsed`.
 * 3. An ECS object given a plain value (`"event": "user logged in"`,
 *    `"service": "api"`) has the value moved to that object's home field
 *    (`SCALAR_HOMES`); arrays are joined first. A string `event` or `log` is
 *    the line's message when it has none.
 * 4. Other names for ECS fields are renamed when the ECS field is free:
 *    `msg` → `message`, `level`/`levelname` → `log.level` (pino's numbers
 *    become names, every level is lower-cased), `logger`/`name` →
 *    `log.logger`, `pid` → `process.pid`, `hostname` → `host.hostname`,
 *    `correlation_id`/`request_id` → `http.request.id`, `trace_id` →
 *    `trace.id`, `span_id` → `span.id`, `user_id` → `user.id`, ids as
 *    strings. What cannot be placed (the ECS field already set, or an object
 *    where an id belongs) goes under `unparsed`.
 * 5. A field the template maps as a value (keyword, text, number, date, ip)
 *    given an object has the object moved under `unparsed`.
 * 6. A line left without a message gets the raw line as its message.
 *
 * `unparsed` is mapped with `enabled: false`: Elasticsearch keeps it in
 * `_source` without reading it, so no shape there can be refused.
 */

/** Where a plain value goes when a logger writes one where ECS has an object. */
export const SCALAR_HOMES: Readonly<Record<string, Field>> = {
  service: 'service.name',
  error: 'error.message',
  host: 'host.name',
  process: 'process.name',
  user: 'user.name',
  url: 'url.original',
  trace: 'trace.id',
  span: 'span.id',
  transaction: 'transaction.id',
  user_agent: 'user_agent.original',
  ecs: 'ecs.version',
  source: 'source.address',
  client: 'client.address',
  container: 'container.name',
  'http.request': 'http.request.id',
};

/** Objects whose plain value is the line's message when it has none (else `event.action`, or kept under `unparsed`). */
const MESSAGE_LIKE: Readonly<Record<string, Field>> = { event: 'event.action', log: 'unparsed.log' };

/** Timestamp fields and the formats each is read with, first match wins. */
export const TIMESTAMP_FIELDS: ReadonlyArray<{ readonly field: Field; readonly formats: readonly string[] }> = [
  { field: 'time', formats: ['UNIX_MS', 'ISO8601'] },
  { field: 'timestamp', formats: ['ISO8601', 'UNIX'] },
  { field: 'asctime', formats: ['yyyy-MM-dd HH:mm:ss,SSS', 'yyyy-MM-dd HH:mm:ss.SSS', 'ISO8601'] },
];

/** Other names loggers give ECS fields; `string` ones are turned into strings first. */
export const ALIASES: ReadonlyArray<{ readonly from: Field; readonly to: Field; readonly string: boolean }> = [
  { from: 'msg', to: 'message', string: true },
  { from: 'level', to: 'log.level', string: true },
  { from: 'levelname', to: 'log.level', string: true },
  { from: 'logger', to: 'log.logger', string: true },
  { from: 'name', to: 'log.logger', string: true },
  { from: 'pid', to: 'process.pid', string: false },
  { from: 'hostname', to: 'host.hostname', string: true },
  { from: 'correlation_id', to: 'http.request.id', string: true },
  { from: 'request_id', to: 'http.request.id', string: true },
  { from: 'trace_id', to: 'trace.id', string: true },
  { from: 'span_id', to: 'span.id', string: true },
  { from: 'user_id', to: 'user.id', string: true },
];

/** pino's numeric levels. */
export const PINO_LEVELS: Readonly<Record<string, string>> = { '10': 'trace', '20': 'debug', '30': 'info', '40': 'warn', '50': 'error', '60': 'fatal' };

/** Where the JSON line waits while it is decoded. */
const LINE: Field = '@metadata.line';
const PROBE: Field = '@metadata.probe';

/** The paths of a mapping: objects (including flattened and dynamic objects) and value fields. */
export function mappingPaths(properties: Record<string, unknown>, prefix = ''): { objects: Field[]; values: Field[] } {
  const objects: Field[] = [];
  const values: Field[] = [];
  for (const [name, raw] of Object.entries(properties)) {
    const m = raw as { type?: string; properties?: Record<string, unknown>; enabled?: boolean };
    const path = prefix ? `${prefix}.${name}` : name;
    if (path === '@timestamp' || m.enabled === false || path.startsWith('data_stream')) continue;
    if (m.properties || m.type === 'object' || m.type === 'flattened') {
      objects.push(path);
      if (m.properties) {
        const inner = mappingPaths(m.properties, path);
        objects.push(...inner.objects);
        values.push(...inner.values);
      }
    } else {
      values.push(path);
    }
  }
  return { objects, values };
}

const unparsed = (f: Field): Field => `unparsed.${f}`;
const isString = (field: Field): Condition => ({ kind: 'isString', field });
const truthy = (field: Field): Condition => ({ kind: 'truthy', field });
const not = (condition: Condition): Condition => ({ kind: 'not', condition });

/** An alias renamed to its ECS field when that is free and the value a string (ids made strings first); else kept under [unparsed]. */
function aliasSteps(a: (typeof ALIASES)[number]): Step[] {
  const placeable: Condition = a.string ? { kind: 'and', conditions: [isString(a.from), not(truthy(a.to))] } : not(truthy(a.to));
  return [
    ...(a.string ? [{ kind: 'stringify', fields: [a.from], join: true } as const] : []),
    { kind: 'if', condition: placeable, then: [{ kind: 'rename', from: a.from, to: a.to }] },
    { kind: 'rename', from: a.from, to: unparsed(a.from) },
  ];
}

/** The normalization steps for a template's mapping properties (the ECS fields it maps). */
export function normalizationSteps(properties: Record<string, unknown>): Step[] {
  const { objects, values } = mappingPaths(properties);
  for (const [obj, home] of Object.entries(SCALAR_HOMES)) {
    if (!objects.includes(obj)) throw new Error(`SCALAR_HOMES names ${obj}, which the mapping does not hold as an object`);
    if (!values.includes(home)) throw new Error(`SCALAR_HOMES sends ${obj} to ${home}, which the mapping does not map`);
  }
  const steps: Step[] = [
    { kind: 'comment', text: '1. The line waits in [@metadata][line]; a JSON object is decoded into the event.' },
    { kind: 'rename', from: 'message', to: LINE },
    { kind: 'if', condition: { kind: 'matches', field: LINE, regex: '^\\s*\\{' }, then: [{ kind: 'json', source: LINE }, { kind: 'deDot' }] },
    { kind: 'comment', text: '2. Timestamps loggers write under other names become @timestamp; unreadable ones are kept under [unparsed].' },
  ];
  for (const t of TIMESTAMP_FIELDS) {
    steps.push({ kind: 'date', field: t.field, formats: t.formats }, { kind: 'rename', from: t.field, to: unparsed(t.field) });
  }
  // pino's msg is the message: known before a plain `event` or `log` asks whether the line has one.
  const [messageAliases, otherAliases] = [ALIASES.filter((a) => a.to === 'message'), ALIASES.filter((a) => a.to !== 'message')];
  steps.push(
    { kind: 'comment', text: '3. An ECS object given a plain value: arrays joined, numbers and booleans made strings, then the string moved to its home.' },
    ...messageAliases.flatMap(aliasSteps),
    { kind: 'stringify', fields: objects, join: true },
  );
  // Parents first, so that a nested object is looked at only below a real object.
  for (const obj of [...objects].sort((a, b) => a.split('.').length - b.split('.').length)) {
    const messageHome = MESSAGE_LIKE[obj];
    const home = SCALAR_HOMES[obj];
    const move: Step[] = messageHome
      ? [{ kind: 'if', condition: truthy('message'), then: [{ kind: 'rename', from: obj, to: messageHome }], else: [{ kind: 'rename', from: obj, to: 'message' }] }]
      : // mutate's rename removes the old field before it sets the new one, so `service` can become `[service][name]`.
        [{ kind: 'rename', from: obj, to: home ?? unparsed(obj) }];
    steps.push({ kind: 'if', condition: isString(obj), then: move });
  }
  steps.push({ kind: 'comment', text: '4. Other names of ECS fields, renamed when the ECS field is free; what cannot be placed is kept under [unparsed].' });
  steps.push(...otherAliases.flatMap(aliasSteps));
  let levels: Step[] = [];
  for (const [n, name] of Object.entries(PINO_LEVELS).reverse()) {
    levels = [{ kind: 'if', condition: { kind: 'equals', field: 'log.level', value: n }, then: [{ kind: 'replace', field: 'log.level', value: name }], else: levels }];
  }
  steps.push(...levels, { kind: 'lowercase', field: 'log.level' });
  // Each value is copied under [@metadata][probe] and made a string there: what stays no string was an object.
  const probe = (v: Field): Field => `${PROBE}.${v}`;
  steps.push(
    { kind: 'comment', text: '5. A value field given an object: the object is kept under [unparsed].' },
    ...values.map((v): Step => ({ kind: 'copy', from: v, to: probe(v) })),
    { kind: 'stringify', fields: values.map(probe), join: true },
    ...values.map((v): Step => ({ kind: 'if', condition: { kind: 'and', conditions: [truthy(probe(v)), not(isString(probe(v)))] }, then: [{ kind: 'rename', from: v, to: unparsed(v) }] })),
    { kind: 'remove', fields: [PROBE] },
  );
  steps.push(
    { kind: 'comment', text: '6. A line without a message keeps its raw text as the message.' },
    { kind: 'if', condition: not(truthy('message')), then: [{ kind: 'copy', from: LINE, to: 'message' }] },
  );
  return steps;
}
