import { parseAllDocuments, parse as parseYaml } from 'yaml';

/** One field that differs: `before` or `after` is absent when the field was added or removed. */
export interface FieldChange {
  readonly path: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

/** A Kubernetes object, by apiVersion, kind, namespace and name, added, removed or changed. */
export interface ObjectChange {
  readonly id: string;
  readonly status: 'added' | 'removed' | 'changed';
  readonly fields: readonly FieldChange[];
}

/** A file that is not a manifest (prometheus.yml, alertmanager.yml, rules, dashboards); `fields` is absent for text that does not parse. */
export interface FileChange {
  readonly file: string;
  readonly status: 'added' | 'removed' | 'changed';
  readonly fields?: readonly FieldChange[];
}

export interface EnvironmentDiff {
  readonly objects: readonly ObjectChange[];
  readonly files: readonly FileChange[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isManifest = (file: string): boolean => file.endsWith('.k8s.yaml');

/** A path segment: `.name`, or `["a/b"]` for a key that is not a plain word. */
function segment(path: string, key: string): string {
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

/** Arrays whose items all have a distinct string `name` (containers, env, volumes, ports) are compared by name, not position. */
function namesOf(list: readonly unknown[]): string[] | undefined {
  const names = list.map((item) => (isObject(item) && typeof item.name === 'string' ? item.name : undefined));
  if (names.some((n) => n === undefined) || new Set(names).size !== names.length) return undefined;
  return names as string[];
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b) && (a === undefined) === (b === undefined);
}

/** The fields in which two parsed documents differ, with their paths. */
export function diffValues(before: unknown, after: unknown, path = ''): FieldChange[] {
  if (equal(before, after)) return [];
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(after), ...Object.keys(before)])];
    return keys.flatMap((k) => diffValues(before[k], after[k], segment(path, k)));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const bn = namesOf(before);
    const an = namesOf(after);
    if (bn && an && before.length > 0 && after.length > 0) {
      const names = [...new Set([...an, ...bn])];
      return names.flatMap((n) => diffValues(before[bn.indexOf(n)], after[an.indexOf(n)], `${path}[name=${n}]`));
    }
    return Array.from({ length: Math.max(before.length, after.length) }, (_, i) => diffValues(before[i], after[i], `${path}[${i}]`)).flat();
  }
  return [{ path: path || '(whole document)', ...(before !== undefined ? { before } : {}), ...(after !== undefined ? { after } : {}) }];
}

interface Obj {
  readonly apiVersion?: unknown;
  readonly kind?: unknown;
  readonly metadata?: { readonly name?: unknown; readonly namespace?: unknown };
}

/** apiVersion, kind, namespace/name: how an object is told apart, whichever file holds it. */
function objectId(o: Obj): string {
  const ns = typeof o.metadata?.namespace === 'string' ? `${o.metadata.namespace}/` : '';
  return `${String(o.apiVersion)} ${String(o.kind)} ${ns}${String(o.metadata?.name)}`;
}

/** Every object of the manifests, by id; a manifest that does not parse is returned as text. */
function objectsOf(files: ReadonlyMap<string, string>): { objects: Map<string, unknown>; unparsed: Map<string, string> } {
  const objects = new Map<string, unknown>();
  const unparsed = new Map<string, string>();
  for (const [file, text] of files) {
    if (!isManifest(file)) continue;
    const docs = parseAllDocuments(text);
    if (!Array.isArray(docs) || docs.some((d) => d.errors.length > 0)) {
      unparsed.set(file, text);
      continue;
    }
    for (const doc of docs) {
      const value = doc.toJSON() as unknown;
      if (isObject(value)) objects.set(objectId(value as Obj), value);
    }
  }
  return { objects, unparsed };
}

function parsed(file: string, text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    if (file.endsWith('.json')) return { ok: true, value: JSON.parse(text) as unknown };
    if (file.endsWith('.yaml') || file.endsWith('.yml') || file.split('/').pop() === 'Kustomization') return { ok: true, value: parseYaml(text) as unknown };
  } catch {
    // compared as text
  }
  return { ok: false };
}

/**
 * What differs between two environments' files (logical path → text, as
 * `SynthesizedEnvironment.files`): the manifests' objects by identity, and
 * the other files with the paths of the fields that changed.
 */
export function diffEnvironment(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): EnvironmentDiff {
  const b = objectsOf(before);
  const a = objectsOf(after);
  const objects: ObjectChange[] = [];
  for (const id of [...new Set([...a.objects.keys(), ...b.objects.keys()])].sort()) {
    const was = b.objects.get(id);
    const is = a.objects.get(id);
    if (was === undefined) objects.push({ id, status: 'added', fields: [] });
    else if (is === undefined) objects.push({ id, status: 'removed', fields: [] });
    else {
      const fields = diffValues(was, is);
      if (fields.length > 0) objects.push({ id, status: 'changed', fields });
    }
  }
  const files: FileChange[] = [];
  const other = (m: ReadonlyMap<string, string>, unparsed: ReadonlyMap<string, string>): Map<string, string> =>
    new Map([...m].filter(([f]) => !isManifest(f) || unparsed.has(f)));
  const bo = other(before, b.unparsed);
  const ao = other(after, a.unparsed);
  for (const file of [...new Set([...ao.keys(), ...bo.keys()])].sort()) {
    const was = bo.get(file);
    const is = ao.get(file);
    if (was === undefined) files.push({ file, status: 'added' });
    else if (is === undefined) files.push({ file, status: 'removed' });
    else if (was !== is) {
      const pb = parsed(file, was);
      const pa = parsed(file, is);
      const fields = pb.ok && pa.ok ? diffValues(pb.value, pa.value) : undefined;
      // Text that differs only in layout (comments, key order of a rewrite) still counts: the file is what is applied.
      files.push({ file, status: 'changed', ...(fields ? { fields: fields.length > 0 ? fields : [{ path: '(formatting only)' }] } : {}) });
    }
  }
  return { objects, files };
}

/** Whether a diff holds any change. */
export function isEmpty(d: EnvironmentDiff): boolean {
  return d.objects.length === 0 && d.files.length === 0;
}

function shown(v: unknown): string {
  if (v === undefined) return '(none)';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  const oneLine = text.replace(/\s*\n\s*/g, '⏎');
  return oneLine.length > 80 ? `${oneLine.slice(0, 77)}…` : oneLine;
}

function fieldLine(f: FieldChange): string {
  if (!('before' in f) && !('after' in f)) return `      ${f.path}`;
  return `      ${f.path}: ${shown(f.before)} → ${shown(f.after)}`;
}

const MARK = { added: '+', removed: '-', changed: '~' } as const;

/** The human-readable diff of one environment, `against` naming what the fresh synth was compared with. */
export function formatDiff(environment: string, against: string, d: EnvironmentDiff): string {
  if (isEmpty(d)) return `${environment}: no changes against ${against}\n`;
  const lines = [`${environment}: ${d.objects.length} object(s) and ${d.files.length} file(s) differ from ${against} (+ added, - removed, ~ changed by a fresh synth)`];
  for (const o of d.objects) {
    lines.push(`  ${MARK[o.status]} ${o.id}`);
    for (const f of o.fields) lines.push(fieldLine(f));
  }
  for (const f of d.files) {
    lines.push(`  ${MARK[f.status]} ${f.file}${f.status === 'changed' && f.fields === undefined ? ' (text)' : ''}`);
    for (const c of f.fields ?? []) lines.push(fieldLine(c));
  }
  return `${lines.join('\n')}\n`;
}
