/**
 * A fast reader for the YAML rule files are written in: block mappings and
 * sequences, plain, quoted and literal or folded block scalars, comments. It
 * gives exactly what `yaml`'s `parse` gives (YAML 1.2, core schema) for the
 * documents it reads, and gives up (undefined) on anything else: anchors,
 * tags, flow collections, multi-line plain or quoted scalars, tabs, several
 * documents, duplicate keys, anything it is not sure of. The caller then
 * parses with `yaml`, which also words the errors. Rule files are mostly
 * machine-written in this subset, and reading them is most of what a check
 * of a thousand rules costs with the general parser.
 */

/** Thrown inside the reader when the text leaves the subset; never escapes it. */
class NotSimple {}
const GIVE_UP = new NotSimple();

const giveUp = (): never => {
  throw GIVE_UP;
};

/** Characters a plain scalar (or a plain key) cannot start with. */
const INDICATORS = new Set(['-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', "'", '"', '%', '@', '`']);

// The core schema's scalar tags, as `yaml` tests them, in its order.
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;
/** Whether a plain scalar may be something other than a string: the tests above only then. */
const MAYBE_NOT_STRING = /^[-+.0-9~nNtTfF]|^$/;

/** A plain scalar's value under the core schema, as `yaml` resolves it. */
function resolvePlain(s: string): unknown {
  if (!MAYBE_NOT_STRING.test(s)) return s;
  if (NULL.test(s)) return null;
  if (BOOL.test(s)) return s[0] === 't' || s[0] === 'T';
  if (INT_OCT.test(s)) return parseInt(s.substring(2), 8);
  if (INT.test(s)) return parseInt(s, 10);
  if (INT_HEX.test(s)) return parseInt(s.substring(2), 16);
  if (FLOAT_NAN.test(s)) return s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (FLOAT_EXP.test(s) || FLOAT.test(s)) return parseFloat(s);
  return s;
}

const ESCAPES: Readonly<Record<string, string>> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  t: '\t',
  n: '\n',
  v: '\v',
  f: '\f',
  r: '\r',
  e: '\x1b',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
  N: '\x85',
  _: '\xa0',
  L: '\u2028',
  P: '\u2029',
};
const HEX_LENGTH: Readonly<Record<string, number>> = { x: 2, u: 4, U: 8 };
const HEX = /^[0-9a-fA-F]+$/;

class Reader {
  private readonly lines: string[];
  /** Each line's indent, or -1 for a blank or comment-only line. */
  private readonly indents: Int32Array;
  /** The line being read: every line before it has been consumed. */
  private i = 0;

  constructor(text: string) {
    this.lines = text.split('\n');
    this.indents = new Int32Array(this.lines.length);
    for (let k = 0; k < this.lines.length; k++) {
      const line = this.lines[k]!;
      let n = 0;
      while (line.charCodeAt(n) === 32) n++;
      this.indents[k] = n === line.length || line.charCodeAt(n) === 35 /* # */ ? -1 : n;
    }
  }

  /** Moves past blank and comment lines; the indent of the next content line, or -1 at the end. */
  private nextContent(): number {
    const n = this.lines.length;
    while (this.i < n && this.indents[this.i]! < 0) this.i++;
    return this.i < n ? this.indents[this.i]! : -1;
  }

  document(): unknown {
    const first = this.nextContent();
    if (first < 0) giveUp();
    if (this.lines[this.i] === '---') {
      this.i++;
      if (this.nextContent() < 0) giveUp();
    }
    const start = this.i;
    for (let k = 0; k < this.lines.length; k++) {
      const line = this.lines[k]!;
      // Directives, other documents and document ends are left to the full parser.
      if ((line.startsWith('---') || line.startsWith('...') || line.startsWith('%')) && !(line === '---' && k === start - 1)) giveUp();
    }
    const indent = this.nextContent();
    if (indent !== 0) giveUp();
    const value = this.block(0);
    if (this.nextContent() >= 0) giveUp();
    return value;
  }

  /** A block collection whose first line is the current one, at `indent`. */
  private block(indent: number): unknown {
    const line = this.lines[this.i]!;
    if (isSeqItem(line, indent)) return this.sequence(indent);
    return this.mapping(indent);
  }

  /** A block sequence at `indent`; ends before the first line that is not one of its items. */
  private sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    for (;;) {
      const at = this.nextContent();
      if (at < indent) return out;
      if (at > indent) giveUp();
      const line = this.lines[this.i]!;
      if (!isSeqItem(line, indent)) return out;
      let col = indent + 1;
      while (line.charCodeAt(col) === 32) col++;
      if (col === line.length || line.charCodeAt(col) === 35) {
        // `-` alone: the item is on the next lines, or null.
        this.i++;
        const next = this.nextContent();
        out.push(next > indent ? this.block(next) : null);
        continue;
      }
      if (isSeqItem(line, col)) giveUp();
      if (keyEnd(line, col) >= 0) {
        out.push(this.mapping(col));
        continue;
      }
      out.push(this.inlineValue(line, col, indent));
    }
  }

  /**
   * A block mapping whose keys are at column `indent`, the first one on the
   * current line (after `- ` when the mapping is a sequence item).
   */
  private mapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (;;) {
      const line = this.lines[this.i]!;
      const end = keyEnd(line, indent);
      if (end < 0) giveUp();
      const key = line.slice(indent, end);
      if (key.length > 1000 || key === '__proto__' || key === '<<' || resolvePlain(key) !== key || key.trimEnd() !== key || key.includes(' #')) giveUp();
      if (Object.prototype.hasOwnProperty.call(out, key)) giveUp();
      let v = end + 1;
      while (line.charCodeAt(v) === 32) v++;
      if (v === line.length || line.charCodeAt(v) === 35) {
        // The value is on the next lines: a deeper block, a sequence at the same indent, or null.
        this.i++;
        const next = this.nextContent();
        if (next > indent) out[key] = this.block(next);
        else if (next === indent && isSeqItem(this.lines[this.i]!, indent)) out[key] = this.sequence(indent);
        else out[key] = null;
      } else {
        out[key] = this.inlineValue(line, v, indent);
      }
      const at = this.nextContent();
      if (at < indent) return out;
      if (at > indent) giveUp();
      if (isSeqItem(this.lines[this.i]!, indent)) return out;
    }
  }

  /**
   * The scalar (or empty flow collection) starting at column `col` of the
   * current line, the value of a node whose parent is at `parent`; consumes
   * its lines and leaves the reader on the next.
   */
  private inlineValue(line: string, col: number, parent: number): unknown {
    const c = line[col]!;
    if (c === '|' || c === '>') return this.blockScalar(line, col, parent);
    let value: unknown;
    let rest: number;
    if (c === '"') [value, rest] = doubleQuoted(line, col);
    else if (c === "'") [value, rest] = singleQuoted(line, col);
    else if ((c === '[' && line[col + 1] === ']') || (c === '{' && line[col + 1] === '}')) [value, rest] = [c === '[' ? [] : {}, col + 2];
    else {
      if (!startsPlain(line, col)) giveUp();
      const hash = line.indexOf(' #', col);
      const text = (hash < 0 ? line.slice(col) : line.slice(col, hash)).trimEnd();
      if (text.includes(': ') || text.endsWith(':')) giveUp();
      value = resolvePlain(text);
      rest = line.length;
    }
    while (line.charCodeAt(rest) === 32) rest++;
    if (rest < line.length && (line.charCodeAt(rest) !== 35 || line.charCodeAt(rest - 1) !== 32)) giveUp();
    this.i++;
    // A more indented line would continue the scalar (folded into it): left to the full parser.
    if (this.nextContent() > parent) giveUp();
    return value;
  }

  /** `|` or `>` with `-` or no chomping indicator, and the lines of its content. */
  private blockScalar(line: string, col: number, parent: number): string {
    const folded = line[col] === '>';
    let h = col + 1;
    const strip = line[h] === '-';
    if (strip) h++;
    while (line.charCodeAt(h) === 32) h++;
    if (h < line.length && (line.charCodeAt(h) !== 35 || h === col + 1 + (strip ? 1 : 0))) giveUp();
    this.i++;
    const first = this.i;
    // The content's indent is that of its first line; blank lines before it are left to the full parser.
    if (first >= this.lines.length) giveUp();
    const head = this.lines[first]!;
    let indent = 0;
    while (head.charCodeAt(indent) === 32) indent++;
    if (indent === head.length || indent <= parent) giveUp();
    const content: string[] = [];
    let blanks = 0;
    for (; this.i < this.lines.length; this.i++) {
      const l = this.lines[this.i]!;
      let n = 0;
      while (l.charCodeAt(n) === 32) n++;
      if (n === l.length) {
        if (n > indent) giveUp();
        blanks++;
        continue;
      }
      if (n < indent) {
        if (n > parent && l.charCodeAt(n) !== 35) giveUp();
        break;
      }
      const text = l.slice(indent);
      if (folded && n > indent) giveUp();
      for (; blanks > 0; blanks--) content.push('');
      content.push(text);
    }
    // The final line break is kept (clip) unless stripped; the text must end with one for `yaml` to agree.
    if (this.i === this.lines.length && blanks === 0) giveUp();
    const body = folded ? fold(content) : content.join('\n');
    return strip ? body : `${body}\n`;
  }
}

/** Folds the lines of a `>` scalar: a line break between two lines becomes a space, blank lines stay line breaks. */
function fold(lines: readonly string[]): string {
  let out = lines[0] ?? '';
  let blanks = 0;
  for (let k = 1; k < lines.length; k++) {
    const l = lines[k]!;
    if (l === '') {
      blanks++;
      continue;
    }
    out += blanks > 0 ? '\n'.repeat(blanks) + l : ` ${l}`;
    blanks = 0;
  }
  return out;
}

/** Whether the line has a sequence item (`- ` or `-` alone) at column `col`. */
function isSeqItem(line: string, col: number): boolean {
  if (line.charCodeAt(col) !== 45 /* - */) return false;
  const next = line.charCodeAt(col + 1);
  return Number.isNaN(next) || next === 32;
}

/** Whether a plain scalar can start at `col`: not an indicator, or `-`, `?` or `:` directly followed by text. */
function startsPlain(line: string, col: number): boolean {
  const c = line[col];
  if (c === undefined) return false;
  if (c === '-' || c === '?' || c === ':') {
    const next = line.charCodeAt(col + 1);
    return !Number.isNaN(next) && next !== 32;
  }
  return !INDICATORS.has(c);
}

/** Column of the `:` ending a plain key that starts at `col`, or -1 when the line has none there. */
function keyEnd(line: string, col: number): number {
  if (!startsPlain(line, col)) return -1;
  for (let j = line.indexOf(':', col); j >= 0; j = line.indexOf(':', j + 1)) {
    const next = line.charCodeAt(j + 1);
    if (Number.isNaN(next) || next === 32) return j === col ? -1 : j;
  }
  return -1;
}

/** A double-quoted scalar closed on its line: its value and the column after it. */
function doubleQuoted(line: string, col: number): [string, number] {
  let out = '';
  let k = col + 1;
  for (;;) {
    const q = line.indexOf('"', k);
    const b = line.indexOf('\\', k);
    if (q < 0) giveUp();
    if (b < 0 || q < b) return [out + line.slice(k, q), q + 1];
    out += line.slice(k, b);
    const e = line[b + 1];
    if (e === undefined) giveUp();
    const simple = ESCAPES[e!];
    if (simple !== undefined) {
      out += simple;
      k = b + 2;
      continue;
    }
    const length = HEX_LENGTH[e!];
    const hex = length === undefined ? '' : line.slice(b + 2, b + 2 + length);
    if (length === undefined || hex.length !== length || !HEX.test(hex)) giveUp();
    out += String.fromCodePoint(parseInt(hex, 16));
    k = b + 2 + length!;
  }
}

/** A single-quoted scalar closed on its line (`''` is a quote): its value and the column after it. */
function singleQuoted(line: string, col: number): [string, number] {
  let out = '';
  let k = col + 1;
  for (;;) {
    const q = line.indexOf("'", k);
    if (q < 0) giveUp();
    out += line.slice(k, q);
    if (line[q + 1] !== "'") return [out, q + 1];
    out += "'";
    k = q + 2;
  }
}

/**
 * The data of a YAML text in the block subset rule files are written in, as
 * `yaml`'s `parse` gives it; undefined when the text is outside the subset
 * (the caller parses it with `yaml` then).
 */
export function parseBlockYaml(text: string): { readonly value: unknown } | undefined {
  // Tabs, carriage returns, a byte order mark and other control characters are left to the full parser.
  if (/[\t\r\ufeff\u2028\u2029\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(text)) return undefined;
  try {
    return { value: new Reader(text).document() };
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  }
}
