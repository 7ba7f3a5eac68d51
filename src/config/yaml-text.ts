import { stringify } from 'yaml';

/**
 * YAML text of plain JSON data (objects, arrays, strings, finite numbers, booleans, null), exactly as
 * `stringify(value, { lineWidth: 0 })` of the `yaml` package writes it, in a fraction of its time.
 *
 * The manifests of an environment are a few megabytes of such data; the general serializer builds a
 * document tree for each before writing it, which was the largest single cost of a synth. This writer
 * follows the same decisions (plain, quoted or block literal; which strings would read back as
 * another type) for the shapes manifests hold, and hands a whole value to `yaml` as soon as it meets
 * anything else (control characters, document markers, whitespace around newlines, non-finite numbers,
 * undefined in a list, objects that are not plain, cycles), so the text is the same either way. One
 * difference is deliberate: where the same object appears twice, `yaml` writes an anchor and an alias
 * (`&a1` … `*a1`), which tools and readers of a config handle less well; this writes it out each time.
 */
export function yamlText(value: unknown): string {
  try {
    if (isPlainObject(value) && Object.values(value).some((v) => v !== undefined)) return writeMap(value, '');
    if (Array.isArray(value) && value.length > 0) return writeSeq(value, '');
  } catch (e) {
    if (!(e instanceof Unusual)) throw e;
  }
  return stringify(value, { lineWidth: 0 });
}

/** Something this writer leaves to the general serializer. */
class Unusual extends Error {}
const unusual = (): never => {
  throw new Unusual();
};

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

// The tests of the YAML 1.2 core schema's implicit types: a plain scalar matching one reads back as
// null, a boolean or a number, so such a string is quoted.
const IMPLICIT =
  /^(?:~|[Nn]ull|NULL)?$|^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$|^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$|^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$|^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$|^0o[0-7]+$|^[-+]?[0-9]+$|^0x[0-9a-fA-F]+$/;
// Characters and positions where a plain scalar would mean something else.
const NOT_PLAIN = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u{D800}-\u{DFFF}]/u;
const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;
// The simplest and most common strings: nothing in them needs a decision.
const SIMPLE = /^[A-Za-z_/][A-Za-z0-9_./-]*$/;

function quoted(s: string): string {
  const hasDouble = s.includes('"');
  const hasSingle = s.includes("'");
  if (hasDouble && !hasSingle) return `'${s}'`;
  return JSON.stringify(s);
}

/** One line, as a key (implicit) or as a value. */
function scalarLine(s: string): string {
  if (SIMPLE.test(s) && !IMPLICIT.test(s)) return s;
  if (CONTROL.test(s) || DOCUMENT_MARKER.test(s)) unusual();
  if (NOT_PLAIN.test(s) || IMPLICIT.test(s)) return quoted(s);
  return s;
}

function key(k: string): string {
  if (k.length > 1000 || k.includes('\n')) unusual();
  return scalarLine(k);
}

/** A multi-line string as a block literal, its lines at `indent`. */
function block(s: string, indent: string): string {
  if (CONTROL.test(s) || /\n[\t ]+$/.test(s) || s.startsWith('\n')) unusual();
  let end = s.length;
  while (end > 0 && (s[end - 1] === '\n' || s[end - 1] === ' ' || s[end - 1] === '\t')) end--;
  const tail = s.slice(end);
  let chomp: string;
  if (tail === '') chomp = '-';
  else if (tail === '\n') chomp = '';
  else return unusual();
  const body = s.slice(0, end);
  const header = (body.startsWith(' ') ? '2' : '') + chomp;
  return `|${header}\n${indent}${body.replace(/\n+/g, `$&${indent}`)}`;
}

/** A value after `key:` or `- `; `indent` is where a nested block's lines start. */
function inline(v: unknown, indent: string): { text: string; nested: boolean } {
  switch (typeof v) {
    case 'string':
      if (v.includes('\n')) return { text: ` ${block(v, indent)}`, nested: false };
      return { text: ` ${scalarLine(v)}`, nested: false };
    case 'number':
      if (!Number.isFinite(v)) unusual();
      return { text: ` ${Object.is(v, -0) ? '-0' : JSON.stringify(v)}`, nested: false };
    case 'boolean':
      return { text: v ? ' true' : ' false', nested: false };
    case 'object':
      if (v === null) return { text: ' null', nested: false };
      if (Array.isArray(v)) return v.length === 0 ? { text: ' []', nested: false } : { text: '', nested: true };
      if (!isPlainObject(v)) unusual();
      return Object.values(v).some((x) => x !== undefined) ? { text: '', nested: true } : { text: ' {}', nested: false };
    default:
      return unusual();
  }
}

// The collections being written, to refuse a cycle (which `yaml` writes with an alias).
const open = new Set<object>();

function writeMap(map: Record<string, unknown>, indent: string): string {
  if (open.has(map)) unusual();
  open.add(map);
  try {
    return writeMapEntries(map, indent);
  } finally {
    open.delete(map);
  }
}

function writeMapEntries(map: Record<string, unknown>, indent: string): string {
  let out = '';
  for (const k of Object.keys(map)) {
    const v = map[k];
    if (v === undefined) continue;
    const head = `${indent}${key(k)}:`;
    const child = `${indent}  `;
    const { text, nested } = inline(v, child);
    if (!nested) out += `${head}${text}\n`;
    else if (Array.isArray(v)) out += `${head}\n${writeSeq(v, child)}`;
    else out += `${head}\n${writeMap(v as Record<string, unknown>, child)}`;
  }
  return out;
}

function writeSeq(seq: readonly unknown[], indent: string): string {
  if (open.has(seq)) unusual();
  open.add(seq);
  try {
    return writeSeqItems(seq, indent);
  } finally {
    open.delete(seq);
  }
}

function writeSeqItems(seq: readonly unknown[], indent: string): string {
  let out = '';
  const child = `${indent}  `;
  for (const v of seq) {
    if (v === undefined) unusual();
    const { text, nested } = inline(v, child);
    if (!nested) {
      out += `${indent}-${text}\n`;
      continue;
    }
    // A nested collection starts on the dash's line: "- a: 1" or "- - x".
    const inner = Array.isArray(v) ? writeSeq(v, child) : writeMap(v as Record<string, unknown>, child);
    out += `${indent}- ${inner.slice(child.length)}`;
  }
  return out;
}
