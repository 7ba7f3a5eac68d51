/** Escapes text for HTML and SVG element content and for double- or single-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A tagged template that escapes every interpolated value; values already built as markup are passed as `Markup`. */
export function html(strings: TemplateStringsArray, ...values: readonly unknown[]): Markup {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += toMarkup(v) + (strings[i + 1] ?? '');
  });
  return new Markup(out);
}

/** Markup that is already escaped: inserted as is. */
export class Markup {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

function toMarkup(v: unknown): string {
  if (v instanceof Markup) return v.text;
  if (Array.isArray(v)) return v.map(toMarkup).join('');
  if (v === undefined || v === null || v === false) return '';
  return escapeHtml(v);
}
