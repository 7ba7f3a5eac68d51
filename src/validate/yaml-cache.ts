import { parse } from 'yaml';
import { knownDocument } from '../authoring/known-documents.js';
import { parseBlockYaml } from './rules/block-yaml.js';

const cache = new Map<string, unknown>();
const LIMIT = 128;

/**
 * YAML parsed once per distinct text: several checks read the same rule
 * files of an environment. The result is shared, so callers must not mutate it.
 * Throws what `parse` throws, every time.
 */
export function parseYamlOnce(text: string): unknown {
  const known = knownDocument(text);
  if (known) return known.data;
  if (cache.has(text)) return cache.get(text);
  // Most rule files are in the block subset the fast reader knows; `yaml` reads (and words the errors of) the rest.
  const simple = parseBlockYaml(text);
  const doc: unknown = simple ? simple.value : parse(text);
  if (cache.size >= LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(text, doc);
  return doc;
}
