/**
 * A small subset of Logstash's filter language as data: each step renders to
 * the Logstash text the pipeline runs, and `runFilters` applies the same step
 * to a JSON event the way Logstash does (the plugin code each case follows is
 * named next to it). The normalization of log shapes is written once in this
 * form, so the text Logstash runs and what the tests check are the same steps.
 */

/** A field path with dots, `http.request.id`; rendered as `[http][request][id]`. */
export type Field = string;

export type Condition =
  /** `[f]`: Logstash's truthiness (absent, null, false, "" and "false" are false). */
  | { readonly kind: 'truthy'; readonly field: Field }
  /** `[f] =~ /^/`: true only for a string value (Logstash matches regular expressions against strings only). */
  | { readonly kind: 'isString'; readonly field: Field }
  /** `[f] =~ /re/` on a string value. */
  | { readonly kind: 'matches'; readonly field: Field; readonly regex: string }
  /** `[f] == "value"`: a string equal to value. */
  | { readonly kind: 'equals'; readonly field: Field; readonly value: string }
  | { readonly kind: 'not'; readonly condition: Condition }
  | { readonly kind: 'and'; readonly conditions: readonly Condition[] };

export type Step =
  | { readonly kind: 'comment'; readonly text: string }
  | { readonly kind: 'if'; readonly condition: Condition; readonly then: readonly Step[]; readonly else?: readonly Step[] }
  /** `mutate { rename }`: moves a present field (even null) to a new path. */
  | { readonly kind: 'rename'; readonly from: Field; readonly to: Field }
  /** `mutate { copy }`: deep copy of a non-null field. */
  | { readonly kind: 'copy'; readonly from: Field; readonly to: Field }
  /** `mutate { replace }` with a literal value (no `%{}` references). */
  | { readonly kind: 'replace'; readonly field: Field; readonly value: string }
  /**
   * One `mutate` with `convert => string` then `join` (mutate's fixed order):
   * numbers and booleans become strings, arrays become one string, objects stay.
   */
  | { readonly kind: 'stringify'; readonly fields: readonly Field[]; readonly join: boolean }
  | { readonly kind: 'lowercase'; readonly field: Field }
  | { readonly kind: 'remove'; readonly fields: readonly Field[] }
  /** `json { source }` into the event's root, invalid JSON skipped (and tagged). */
  | { readonly kind: 'json'; readonly source: Field }
  /** `de_dot { nested => true }`: top-level `a.b` keys become `[a][b]`. */
  | { readonly kind: 'deDot' }
  /** `date { match => [field, formats…] target => "@timestamp" }`, the field removed once parsed. */
  | { readonly kind: 'date'; readonly field: Field; readonly formats: readonly string[] };

const FIELD_PART = /^[A-Za-z0-9_@][A-Za-z0-9_@-]*$/;

/** `http.request.id` → `[http][request][id]`; only plain names, so that a reference cannot be bent. */
export function fieldRef(field: Field): string {
  const parts = field.split('.');
  for (const p of parts) if (!FIELD_PART.test(p)) throw new Error(`not a plain field path: ${JSON.stringify(field)}`);
  return parts.map((p) => `[${p}]`).join('');
}

function str(value: string): string {
  if (/["\\\n\r\t\0]|\$\{|%\{/.test(value)) throw new Error(`a filter literal must be plain text, got ${JSON.stringify(value)}`);
  return `"${value}"`;
}

function regexLiteral(regex: string): string {
  if (regex.includes('/') || regex.includes('\n')) throw new Error(`a condition regex cannot hold "/" or a newline: ${regex}`);
  return `/${regex}/`;
}

function renderCondition(c: Condition): string {
  switch (c.kind) {
    case 'truthy':
      return fieldRef(c.field);
    case 'isString':
      return `${fieldRef(c.field)} =~ /^/`;
    case 'matches':
      return `${fieldRef(c.field)} =~ ${regexLiteral(c.regex)}`;
    case 'equals':
      return `${fieldRef(c.field)} == ${str(c.value)}`;
    case 'not':
      return c.condition.kind === 'truthy' ? `!${renderCondition(c.condition)}` : `!(${renderCondition(c.condition)})`;
    case 'and':
      return c.conditions.map((x) => (x.kind === 'and' ? `(${renderCondition(x)})` : renderCondition(x))).join(' and ');
  }
}

/** The Logstash text of `steps`, indented by `depth` levels of two spaces. */
export function renderFilters(steps: readonly Step[], depth = 1): string {
  const pad = '  '.repeat(depth);
  const out: string[] = [];
  const map = (pairs: ReadonlyArray<readonly [string, string]>): string => pairs.map(([k, v]) => `${str(k)} => ${str(v)}`).join(' ');
  for (const s of steps) {
    switch (s.kind) {
      case 'comment':
        for (const line of s.text.split('\n')) out.push(`${pad}# ${line}`);
        break;
      case 'if':
        out.push(`${pad}if ${renderCondition(s.condition)} {`, renderFilters(s.then, depth + 1));
        if (s.else && s.else.length > 0) out.push(`${pad}} else {`, renderFilters(s.else, depth + 1));
        out.push(`${pad}}`);
        break;
      case 'rename':
        out.push(`${pad}mutate { rename => { ${map([[fieldRef(s.from), fieldRef(s.to)]])} } }`);
        break;
      case 'copy':
        out.push(`${pad}mutate { copy => { ${map([[fieldRef(s.from), fieldRef(s.to)]])} } }`);
        break;
      case 'replace':
        out.push(`${pad}mutate { replace => { ${map([[fieldRef(s.field), s.value]])} } }`);
        break;
      case 'stringify': {
        const refs = s.fields.map(fieldRef);
        out.push(`${pad}mutate {`, `${pad}  convert => { ${map(refs.map((r) => [r, 'string'] as const))} }`);
        if (s.join) out.push(`${pad}  join => { ${map(refs.map((r) => [r, ' '] as const))} }`);
        out.push(`${pad}}`);
        break;
      }
      case 'lowercase':
        out.push(`${pad}mutate { lowercase => [${str(fieldRef(s.field))}] }`);
        break;
      case 'remove':
        out.push(`${pad}mutate { remove_field => [${s.fields.map((f) => str(fieldRef(f))).join(', ')}] }`);
        break;
      case 'json':
        out.push(`${pad}json { source => ${str(fieldRef(s.source))} skip_on_invalid_json => true }`);
        break;
      case 'deDot':
        out.push(`${pad}de_dot { nested => true }`);
        break;
      case 'date':
        out.push(
          `${pad}date {`,
          `${pad}  match => [${[fieldRef(s.field), ...s.formats].map(str).join(', ')}]`,
          `${pad}  target => "@timestamp"`,
          `${pad}  remove_field => [${str(fieldRef(s.field))}]`,
          `${pad}  tag_on_failure => ["_obstack_time_unparsed"]`,
          `${pad}}`,
        );
        break;
    }
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------
// The same steps applied to an event, as Logstash applies them.

/** Logstash's @timestamp: not a string to conditions, an ISO string once sent. */
export class LogstashTimestamp {
  constructor(readonly epochMillis: number) {}
  toJSON(): string {
    return new Date(this.epochMillis).toISOString();
  }
}

/** An event: its fields, with `@metadata` and `tags` where Logstash keeps them. */
export type LsEvent = Record<string, unknown>;

/** Raised where Logstash's outcome is not pinned down (a field set below a non-object): the steps must never get there. */
export class UnmodelledSet extends Error {}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof LogstashTimestamp);

function parentOf(event: LsEvent, field: Field, create: boolean): { parent: Obj; key: string } | undefined {
  const parts = field.split('.');
  const key = parts.pop() as string;
  let node: Obj = event;
  for (const p of parts) {
    const next = node[p];
    if (next === undefined || next === null) {
      if (!create) return undefined;
      node[p] = {};
    } else if (!isObject(next)) {
      if (!create) return undefined;
      throw new UnmodelledSet(`cannot set ${field}: ${p} holds ${JSON.stringify(next)}`);
    }
    node = node[p] as Obj;
  }
  return { parent: node, key };
}

export function getField(event: LsEvent, field: Field): unknown {
  const at = parentOf(event, field, false);
  return at ? at.parent[at.key] : undefined;
}

function includes(event: LsEvent, field: Field): boolean {
  const at = parentOf(event, field, false);
  return !!at && Object.prototype.hasOwnProperty.call(at.parent, at.key);
}

export function setField(event: LsEvent, field: Field, value: unknown): void {
  const at = parentOf(event, field, true) as { parent: Obj; key: string };
  at.parent[at.key] = value;
}

function removeField(event: LsEvent, field: Field): unknown {
  const at = parentOf(event, field, false);
  if (!at) return undefined;
  const v = at.parent[at.key];
  delete at.parent[at.key];
  return v;
}

function tag(event: LsEvent, t: string): void {
  const tags = Array.isArray(event.tags) ? (event.tags as unknown[]) : [];
  if (!tags.includes(t)) tags.push(t);
  event.tags = tags;
}

/** Ruby's `to_s` of a JSON value, as mutate's convert and join use it. */
function rubyToS(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(rubyInspect).join(', ')}]`;
  return `{${Object.entries(v as Obj).map(([k, x]) => `${JSON.stringify(k)}=>${rubyInspect(x)}`).join(', ')}}`;
}
function rubyInspect(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  return typeof v === 'string' ? JSON.stringify(v) : rubyToS(v);
}

/** FieldTruthy in logstash-core's EventCondition: present, and its text neither empty nor "false". */
function truthy(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  const text = typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : 'x';
  return text !== '' && text !== 'false';
}

function holds(event: LsEvent, c: Condition): boolean {
  switch (c.kind) {
    case 'truthy':
      return truthy(getField(event, c.field));
    case 'isString':
      return typeof getField(event, c.field) === 'string';
    case 'matches': {
      const v = getField(event, c.field);
      return typeof v === 'string' && new RegExp(c.regex, 'm').test(v);
    }
    case 'equals':
      return getField(event, c.field) === c.value;
    case 'not':
      return !holds(event, c.condition);
    case 'and':
      return c.conditions.every((x) => holds(event, x));
  }
}

// ISO 8601 as the date filter's ISO8601 (and Logstash's Timestamp) reads it; a missing zone is UTC, the container's zone.
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

export function parseIso8601(text: string): number | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m;
  const ms = Number(`0.${frac || '0'}`) * 1000;
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}.${String(Math.floor(ms)).padStart(3, '0')}${zone === 'Z' ? 'Z' : zone.length === 3 ? `${zone}:00` : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`}`;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** A Joda pattern of the subset used here (yyyy MM dd HH mm ss SSS and literals), read in UTC. */
function parseJoda(pattern: string, text: string): number | undefined {
  const tokens = pattern.match(/yyyy|MM|dd|HH|mm|ss|SSS|./g) ?? [];
  const widths: Record<string, number> = { yyyy: 4, MM: 2, dd: 2, HH: 2, mm: 2, ss: 2, SSS: 3 };
  const parts: Record<string, number> = {};
  let i = 0;
  for (const t of tokens) {
    const w = widths[t];
    if (w !== undefined) {
      const chunk = text.slice(i, i + w);
      if (!new RegExp(`^\\d{${w}}$`).test(chunk)) return undefined;
      parts[t] = Number(chunk);
      i += w;
    } else {
      if (text[i] !== t) return undefined;
      i++;
    }
  }
  if (i !== text.length) return undefined;
  return Date.UTC(parts.yyyy ?? 1970, (parts.MM ?? 1) - 1, parts.dd ?? 1, parts.HH ?? 0, parts.mm ?? 0, parts.ss ?? 0, parts.SSS ?? 0);
}

/**
 * One format of the date filter on a value: text formats (ISO8601, Joda
 * patterns) read strings only; UNIX and UNIX_MS read numbers and numeric
 * strings (logstash-filter-date's TextParserExecutor and NumericParserExecutor).
 */
function parseDate(format: string, value: unknown): number | undefined {
  if (format === 'UNIX' || format === 'UNIX_MS') {
    const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : undefined;
    if (n === undefined) return undefined;
    return format === 'UNIX' ? Math.round(n * 1000) : Math.trunc(n);
  }
  if (typeof value !== 'string') return undefined;
  return format === 'ISO8601' ? parseIso8601(value) : parseJoda(format, value);
}

/** Applies `steps` to `event` in place, as the Logstash filter text of the same steps would. */
export function runFilters(steps: readonly Step[], event: LsEvent): LsEvent {
  for (const s of steps) {
    switch (s.kind) {
      case 'comment':
        break;
      case 'if':
        runFilters(holds(event, s.condition) ? s.then : (s.else ?? []), event);
        break;
      case 'rename':
        if (includes(event, s.from)) setField(event, s.to, removeField(event, s.from));
        break;
      case 'copy': {
        const v = getField(event, s.from);
        if (v !== undefined && v !== null) setField(event, s.to, structuredClone(v));
        break;
      }
      case 'replace':
        setField(event, s.field, s.value);
        break;
      case 'stringify':
        for (const f of s.fields) {
          if (!includes(event, f)) continue;
          const v = getField(event, f);
          if (Array.isArray(v)) setField(event, f, v.map((x) => (x === null ? x : rubyToS(x))));
          else if (v !== null && !isObject(v)) setField(event, f, rubyToS(v));
        }
        if (s.join) {
          for (const f of s.fields) {
            const v = getField(event, f);
            if (Array.isArray(v)) setField(event, f, v.map(rubyToS).join(' '));
          }
        }
        break;
      case 'lowercase': {
        const v = getField(event, s.field);
        if (typeof v === 'string') setField(event, s.field, v.toLowerCase());
        else if (Array.isArray(v)) setField(event, s.field, v.map((x) => (typeof x === 'string' ? x.toLowerCase() : x)));
        break;
      }
      case 'remove':
        for (const f of s.fields) removeField(event, f);
        break;
      case 'json':
        applyJson(event, getField(event, s.source));
        break;
      case 'deDot':
        for (const key of Object.keys(event)) {
          if (!key.includes('.') || key.startsWith('@metadata')) continue;
          const v = event[key];
          delete event[key];
          setField(event, key, v);
        }
        break;
      case 'date': {
        const v = getField(event, s.field);
        if (v === undefined || v === null) break;
        const t = s.formats.map((f) => parseDate(f, v)).find((x) => x !== undefined);
        if (t === undefined) tag(event, '_obstack_time_unparsed');
        else {
          event['@timestamp'] = new LogstashTimestamp(t);
          removeField(event, s.field);
        }
        break;
      }
    }
  }
  return event;
}

/** logstash-filter-json without a target: an object's keys set at the root, its @timestamp read as a Timestamp. */
function applyJson(event: LsEvent, source: unknown): void {
  if (typeof source !== 'string' || source === '') return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch {
    tag(event, '_jsonparsefailure');
    return;
  }
  if (!isObject(parsed)) {
    tag(event, '_jsonparsefailure');
    return;
  }
  const stamp = parsed['@timestamp'];
  delete parsed['@timestamp'];
  for (const [k, v] of Object.entries(parsed)) event[k] = v;
  if (stamp !== undefined) {
    const t = typeof stamp === 'string' ? parseIso8601(stamp) : undefined;
    if (t !== undefined) event['@timestamp'] = new LogstashTimestamp(t);
    else {
      tag(event, '_timestampparsefailure');
      event['_@timestamp'] = rubyToS(stamp);
    }
  }
}
