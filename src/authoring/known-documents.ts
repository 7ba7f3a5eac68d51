/**
 * Texts this process serialized, with the data they came from. The checks
 * read rule files as text (they also check files a team already has); for the
 * files obstack itself just wrote, the data is taken from here instead of
 * parsing the text again. Callers must not mutate what they get.
 */
const documents = new Map<string, unknown>();
const LIMIT = 256;

export function rememberDocument(text: string, data: unknown): string {
  if (documents.size >= LIMIT) documents.delete(documents.keys().next().value as string);
  documents.set(text, data);
  return text;
}

/** The data a text was serialized from, when this process wrote it. */
export function knownDocument(text: string): { readonly data: unknown } | undefined {
  return documents.has(text) ? { data: documents.get(text) } : undefined;
}
