/**
 * What Elasticsearch does with a document against an index's mapping, for the
 * rules that decide whether a log line is stored or refused: an object field
 * given a value and a value field given an object are refused; keywords take
 * any value (over `ignore_above` they are stored, not indexed); numbers take
 * numeric strings when `coerce` is on (the default) and a fraction is cut;
 * dates follow their `format`; `ignore_malformed` (on the field or the index)
 * turns a malformed number, date, ip or boolean into an ignored field; `enabled:
 * false` objects take anything; `flattened` takes only objects; unmapped fields
 * follow `dynamic` (strict refuses, false ignores) and the first matching
 * dynamic template, else Elasticsearch's default dynamic mapping. Mapping
 * updates of an accepted document stay for the next one, as in an index.
 */

type Json = unknown;
type MappingNode = { type?: string; properties?: Record<string, MappingNode>; dynamic?: boolean | string; enabled?: boolean; [k: string]: unknown };
type DynamicTemplate = Record<string, { match_mapping_type?: string | string[]; match?: string; unmatch?: string; path_match?: string; path_unmatch?: string; mapping: MappingNode }>;

export interface Outcome {
  /** Why Elasticsearch refuses the document, naming the field; undefined when stored. */
  readonly refused?: string;
  /** Fields stored in _source but not indexed (ignore_malformed, ignore_above, dynamic: false). */
  readonly ignored: readonly string[];
}

const NUMERIC = new Set(['long', 'integer', 'short', 'byte', 'double', 'float', 'half_float', 'scaled_float', 'unsigned_long']);
const INTEGER = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long']);
const STRINGLIKE = new Set(['keyword', 'text', 'match_only_text', 'wildcard', 'constant_keyword']);
const RANGES: Record<string, [number, number]> = { long: [-(2 ** 63), 2 ** 63 - 1], integer: [-(2 ** 31), 2 ** 31 - 1], short: [-32768, 32767], byte: [-128, 127], unsigned_long: [0, 2 ** 64 - 1] };

class Refused extends Error {}

const isObj = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isObjectMapping = (m: MappingNode): boolean => !m.type || m.type === 'object' || m.type === 'nested';

function glob(pattern: string, text: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(text);
}

/** The type Elasticsearch's dynamic mapping detects for a JSON value (date and numeric detection off). */
function detectedType(v: Json): string | undefined {
  if (Array.isArray(v)) return v.map(detectedType).find((t) => t !== undefined);
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'long' : 'double';
  return 'object';
}

/** Elasticsearch's default dynamic mapping of a detected type. */
function defaultDynamic(type: string): MappingNode {
  switch (type) {
    case 'string':
      return { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } };
    case 'long':
      return { type: 'long' };
    case 'double':
      return { type: 'float' };
    case 'boolean':
      return { type: 'boolean' };
    default:
      return { properties: {} };
  }
}

// strict_date_optional_time: a date, optionally a time, optionally a zone.
const STRICT_DATE_OPTIONAL_TIME = /^\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}([.,]\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?)?)?$/;

function dateAccepted(format: string, v: Json): boolean {
  for (const f of format.split('||')) {
    if (f === 'epoch_millis' && (typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)))) return true;
    if (f === 'epoch_second' && (typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)))) return true;
    if ((f === 'strict_date_optional_time' || f === 'date_optional_time') && typeof v === 'string' && STRICT_DATE_OPTIONAL_TIME.test(v)) {
      return !Number.isNaN(Date.parse(v.length === 4 ? `${v}-01-01` : v));
    }
  }
  return false;
}

function isIp(v: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v);
  if (v4) return v4.slice(1).every((o) => Number(o) <= 255);
  return /^[0-9a-fA-F:.]+$/.test(v) && v.includes(':') && (v.match(/::/g) ?? []).length <= 1;
}

export class IndexMapping {
  private mappings: MappingNode & { dynamic_templates?: DynamicTemplate[] };
  private readonly settings: Record<string, unknown>;
  private readonly dataStream: boolean;

  /** From an index template's body (`index_patterns`, `data_stream`, `template.settings`, `template.mappings`). */
  constructor(indexTemplate: Json) {
    const t = indexTemplate as { data_stream?: unknown; template?: { settings?: Record<string, unknown>; mappings?: MappingNode } };
    this.mappings = structuredClone(t.template?.mappings ?? {});
    this.mappings.properties ??= {};
    this.settings = t.template?.settings ?? {};
    this.dataStream = t.data_stream !== undefined;
  }

  /** Indexes `doc`: refused, or stored with the mapping updates it brings. */
  index(doc: Json): Outcome {
    const draft = structuredClone(this.mappings);
    const ignored: string[] = [];
    try {
      if (!isObj(doc)) throw new Refused('the document is not an object');
      if (this.dataStream && doc['@timestamp'] === undefined) throw new Refused('data stream timestamp field [@timestamp] is missing');
      this.parseObject(draft, '', doc, draft.dynamic ?? true, ignored);
    } catch (e) {
      if (e instanceof Refused) return { refused: e.message, ignored };
      throw e;
    }
    this.mappings = draft;
    return { ignored };
  }

  /** The mapping as it stands, dynamic fields included. */
  get current(): Json {
    return structuredClone(this.mappings);
  }

  private parseObject(node: MappingNode, path: string, obj: Record<string, Json>, dynamic: boolean | string, ignored: string[]): void {
    const own = node.dynamic ?? dynamic;
    for (const [key, value] of Object.entries(obj)) {
      // A dotted name is a path of objects.
      const parts = key.split('.');
      let parent = node;
      let parentPath = path;
      let parentDynamic = own;
      for (const p of parts.slice(0, -1)) {
        const full = parentPath ? `${parentPath}.${p}` : p;
        const child = this.childFor(parent, p, full, {}, parentDynamic, ignored);
        if (child === undefined) break;
        if (!isObjectMapping(child)) throw new Refused(`Could not dynamically add mapping for field [${full}.${parts.at(-1)}]: [${full}] is a [${child.type}] field, not an object`);
        parentDynamic = child.dynamic ?? parentDynamic;
        parent = child;
        parentPath = full;
      }
      const last = parts.at(-1) as string;
      this.parseValue(parent, last, parentPath ? `${parentPath}.${last}` : last, value, parentDynamic, ignored);
    }
  }

  /** The mapping of `name` under `parent`, added dynamically for `value` if absent; undefined when not indexed. */
  private childFor(parent: MappingNode, name: string, path: string, value: Json, dynamic: boolean | string, ignored: string[]): MappingNode | undefined {
    parent.properties ??= {};
    const existing = parent.properties[name];
    if (existing) return existing;
    if (dynamic === 'strict') throw new Refused(`mapping set to strict, dynamic introduction of [${name}] within [${path.split('.').slice(0, -1).join('.') || '_doc'}] is not allowed`);
    if (dynamic === false || dynamic === 'false' || dynamic === 'runtime') {
      ignored.push(path);
      return undefined;
    }
    const type = detectedType(value);
    if (type === undefined) return undefined;
    const template = (this.mappings.dynamic_templates ?? [])
      .map((t) => Object.values(t)[0])
      .find((t) => {
        if (!t) return false;
        const types = t.match_mapping_type === undefined ? ['*'] : [t.match_mapping_type].flat();
        if (!types.includes('*') && !types.includes(type)) return false;
        if (t.match !== undefined && !glob(t.match, name)) return false;
        if (t.unmatch !== undefined && glob(t.unmatch, name)) return false;
        if (t.path_match !== undefined && !glob(t.path_match, path)) return false;
        if (t.path_unmatch !== undefined && glob(t.path_unmatch, path)) return false;
        return true;
      });
    const mapping = structuredClone(template?.mapping ?? defaultDynamic(type));
    if (isObjectMapping(mapping)) mapping.properties ??= {};
    parent.properties[name] = mapping;
    return mapping;
  }

  private parseValue(parent: MappingNode, name: string, path: string, value: Json, dynamic: boolean | string, ignored: string[]): void {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      for (const v of value) this.parseValue(parent, name, path, v, dynamic, ignored);
      return;
    }
    const mapping = this.childFor(parent, name, path, value, dynamic, ignored);
    if (!mapping) return;
    if (isObjectMapping(mapping)) {
      if (mapping.enabled === false) return;
      if (!isObj(value)) throw new Refused(`object mapping for [${path}] tried to parse field [${name}] as object, but found a concrete value`);
      this.parseObject(mapping, path, value, mapping.dynamic ?? dynamic, ignored);
      return;
    }
    this.checkLeaf(mapping, path, value, ignored);
  }

  private checkLeaf(m: MappingNode, path: string, v: Json, ignored: string[]): void {
    const type = m.type as string;
    const ignoreMalformed = (m.ignore_malformed as boolean | undefined) ?? this.settings['index.mapping.ignore_malformed'] === true;
    const malformed = (why: string): void => {
      if (ignoreMalformed) ignored.push(path);
      else throw new Refused(`failed to parse field [${path}] of type [${type}]: ${why}`);
    };
    if (type === 'flattened') {
      if (!isObj(v)) throw new Refused(`failed to parse field [${path}] of type [flattened]: expected an object, found ${JSON.stringify(v)}`);
      return;
    }
    // Objects are refused by every value field, ignore_malformed or not.
    if (isObj(v)) throw new Refused(`failed to parse field [${path}] of type [${type}]: found an object`);
    if (STRINGLIKE.has(type)) {
      if (type === 'constant_keyword') {
        if (m.value === undefined) m.value = String(v);
        else if (m.value !== String(v)) throw new Refused(`[constant_keyword] field [${path}] only accepts values that are equal to the value defined in the mappings [${String(m.value)}], but got [${String(v)}]`);
      }
      if (typeof m.ignore_above === 'number' && String(v).length > m.ignore_above) ignored.push(path);
      return;
    }
    if (NUMERIC.has(type)) {
      const coerce = (m.coerce as boolean | undefined) ?? true;
      let n: number;
      if (typeof v === 'number') n = v;
      else if (typeof v === 'string' && coerce && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(v)) n = Number(v);
      else return malformed(`${JSON.stringify(v)} is not a number`);
      if (INTEGER.has(type)) {
        if (!Number.isInteger(n) && !coerce) return malformed(`${n} has a fraction and coerce is off`);
        const [lo, hi] = RANGES[type] ?? [-Infinity, Infinity];
        if (Math.trunc(n) < lo || Math.trunc(n) > hi) return malformed(`${n} is out of range for ${type}`);
      }
      return;
    }
    if (type === 'date' || type === 'date_nanos') {
      if (!dateAccepted((m.format as string | undefined) ?? 'strict_date_optional_time||epoch_millis', v)) malformed(`${JSON.stringify(v)} does not match the date format`);
      return;
    }
    if (type === 'ip') {
      if (typeof v !== 'string' || !isIp(v)) malformed(`${JSON.stringify(v)} is not an IP string literal`);
      return;
    }
    if (type === 'boolean') {
      if (!(v === true || v === false || v === 'true' || v === 'false' || v === '')) malformed(`${JSON.stringify(v)} is not a boolean`);
      return;
    }
    throw new Error(`the checker does not know field type ${type} (at ${path})`);
  }
}
