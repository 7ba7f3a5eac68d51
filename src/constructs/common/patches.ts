import { closestName } from '../../config/closest-name.js';
import { ConfigError, type ConfigIssue, isPlainObject, type JsonPatchOperation, type ObjectPatch, type PatchTarget } from '../../config/index.js';

/** What a patch can target: any Kubernetes object as synthesized. */
export interface PatchableObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
}

export interface ApplyPatchesOptions {
  /** Names the environment in errors, as the CLI prints them. @default '<environment>' */
  readonly source?: string;
}

/** Why one patch could not apply; `where` is relative to the patch, such as `jsonPatch[2]` or `merge.spec.containers[0]`. */
class PatchFailure extends Error {
  constructor(
    readonly where: string,
    message: string,
  ) {
    super(message);
  }
}

type Json = unknown;
type JsonObject = Record<string, Json>;

/**
 * Applies an environment's patches, in order, to the synthesized objects and
 * returns the result; the input is left as it was. Every patch that cannot
 * apply (no object matches its target, a path is missing, a test fails, a
 * patch would rename an object or change the content of a ConfigMap or
 * Secret) is reported in one ConfigError naming `patches[i]...`.
 */
export function applyPatches<T extends PatchableObject>(objects: readonly T[], patches: readonly ObjectPatch[], opts: ApplyPatchesOptions = {}): T[] {
  const out = [...objects];
  const issues: ConfigIssue[] = [];
  patches.forEach((patch, i) => {
    const matches = out.flatMap((obj, k) => (matchesTarget(obj, patch.target) ? [k] : []));
    if (matches.length === 0) {
      issues.push({ path: `patches[${i}].target`, message: describeMiss(patch.target, out) });
      return;
    }
    for (const k of matches) {
      const before = out[k] as T;
      try {
        const after = applyPatch(before, patch);
        refuseForbiddenChanges(before, after, patch);
        out[k] = after as T;
      } catch (e) {
        if (!(e instanceof PatchFailure)) throw e;
        const on = matches.length > 1 ? ` (on ${describeObject(before)})` : '';
        issues.push({ path: `patches[${i}].${e.where}`, message: `${e.message}${on}` });
        return;
      }
    }
  });
  if (issues.length > 0) throw new ConfigError(opts.source ?? '<environment>', issues);
  return out;
}

function applyPatch(obj: PatchableObject, patch: ObjectPatch): JsonObject {
  if (patch.jsonPatch) {
    let doc: Json = structuredClone(obj);
    patch.jsonPatch.forEach((op, j) => {
      try {
        doc = applyOperation(doc, op);
      } catch (e) {
        if (e instanceof OperationFailure) throw new PatchFailure(`jsonPatch[${j}]`, `${op.op} ${JSON.stringify(op.path)}: ${e.message}`);
        throw e;
      }
    });
    if (!isPlainObject(doc)) throw new PatchFailure('jsonPatch', `must leave a Kubernetes object, not ${JSON.stringify(doc)}`);
    return doc;
  }
  const merged = strategicMerge(obj.kind, obj as unknown as JsonObject, patch.merge ?? {});
  if (merged === DELETE) throw new PatchFailure('merge.$patch', 'cannot delete the whole object: patches change generated objects, they do not remove them');
  return merged;
}

function matchesTarget(obj: PatchableObject, target: PatchTarget): boolean {
  return (
    obj.kind === target.kind &&
    obj.metadata.name === target.name &&
    (target.namespace === undefined || obj.metadata.namespace === target.namespace) &&
    (target.apiVersion === undefined || obj.apiVersion === target.apiVersion)
  );
}

function describeObject(obj: PatchableObject): string {
  return `${obj.kind}/${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}`;
}

/** A target that matches nothing: what exists under that kind and name, or the closest kind/name that does. */
function describeMiss(target: PatchTarget, objects: readonly PatchableObject[]): string {
  const wanted = `${target.kind}/${target.name}`;
  const sameName = objects.filter((o) => o.kind === target.kind && o.metadata.name === target.name);
  if (sameName.length > 0) {
    const found = sameName.map((o) => `${describeObject(o)} (${o.apiVersion})`).join(', ');
    const narrowed = [
      target.namespace !== undefined ? `namespace "${target.namespace}"` : '',
      target.apiVersion !== undefined ? `apiVersion "${target.apiVersion}"` : '',
    ].filter(Boolean);
    return `matches no generated object: ${found} exists, but not with ${narrowed.join(' and ')}`;
  }
  const kinds = [...new Set(objects.map((o) => o.kind))].sort();
  const kind = kinds.includes(target.kind) ? target.kind : closestName(target.kind, kinds);
  if (kind === undefined) return `matches no generated object ${wanted}: no object is of kind ${target.kind}; the kinds are ${kinds.join(', ')}`;
  const names = [...new Set(objects.filter((o) => o.kind === kind).map((o) => o.metadata.name))].sort();
  const name = names.includes(target.name) ? target.name : closestName(target.name, names);
  if (name !== undefined) return `matches no generated object ${wanted}; the closest that exists is ${kind}/${name}`;
  const shown = names.length > 12 ? [...names.slice(0, 12), '...'] : names;
  return `matches no generated object ${wanted}; the ${kind} objects are ${shown.join(', ')}`;
}

const CONTENT_FIELDS = ['data', 'binaryData', 'stringData'] as const;

/**
 * A patch may not rename an object (other objects and the output files refer
 * to it by kind and name), nor change what a ConfigMap or Secret holds: the
 * stack checks that content as it generates it (prometheus.yml,
 * alertmanager.yml, the rules and dashboards are also written as files and
 * checked with promtool and amtool), and the checksum annotations that roll
 * pods when it changes are taken before patches.
 */
function refuseForbiddenChanges(before: PatchableObject, after: JsonObject, patch: ObjectPatch): void {
  const where = patch.jsonPatch ? 'jsonPatch' : 'merge';
  const meta = isPlainObject(after.metadata) ? after.metadata : {};
  const identity: Array<[string, unknown, unknown]> = [
    ['kind', before.kind, after.kind],
    ['metadata.name', before.metadata.name, meta.name],
    ['metadata.namespace', before.metadata.namespace, meta.namespace],
  ];
  for (const [field, was, now] of identity) {
    if (!jsonEqual(was, now)) {
      throw new PatchFailure(where, `may not change ${field} (${JSON.stringify(was)} to ${JSON.stringify(now)}): other objects and the output files refer to the object by kind and name`);
    }
  }
  if (before.kind !== 'ConfigMap' && before.kind !== 'Secret') return;
  const original = before as unknown as JsonObject;
  const changed = CONTENT_FIELDS.filter((f) => !jsonEqual(original[f], after[f]));
  if (changed.length > 0) {
    throw new PatchFailure(
      where,
      `may not change the content (${changed.join(', ')}) of a ${before.kind}: the stack checks configuration as it generates it ` +
        '(prometheus.yml, alertmanager.yml, rules and dashboards are checked as files by promtool and amtool) and rolls pods by checksums taken before patches; ' +
        "change it through the environment's fields (labels and annotations may be patched)",
    );
  }
}

function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

// ─── JSON Patch (RFC 6902) ───────────────────────────────────────────────────

class OperationFailure extends Error {}

/** The reference tokens of a JSON Pointer (RFC 6901), `~1` read as `/` before `~0` as `~`. */
function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new OperationFailure(`${JSON.stringify(pointer)} is not a JSON Pointer: it must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function formatPointer(tokens: readonly string[]): string {
  return tokens.map((t) => `/${t.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** An array index as RFC 6901 spells it: no sign, no leading zero. */
function arrayIndex(token: string, length: number, parent: readonly string[], allowEnd: boolean): number {
  if (token === '-' && allowEnd) return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) {
    throw new OperationFailure(`"${token}" is not an index of the list at ${formatPointer(parent) || 'the root'} (use 0 to ${length - 1}${allowEnd ? ', or "-" to append' : ''})`);
  }
  const index = Number(token);
  const max = allowEnd ? length : length - 1;
  if (index > max) throw new OperationFailure(`index ${index} is past the end of the list at ${formatPointer(parent) || 'the root'} (${length} element${length === 1 ? '' : 's'})`);
  return index;
}

/** The container that holds the last token of `tokens`, which must exist. */
function parentOf(doc: Json, tokens: readonly string[]): Json {
  let cur = doc;
  for (let i = 0; i < tokens.length - 1; i++) {
    cur = child(cur, tokens[i] as string, tokens.slice(0, i), tokens.slice(0, i + 1));
  }
  return cur;
}

function child(cur: Json, token: string, at: readonly string[], full: readonly string[]): Json {
  if (Array.isArray(cur)) return cur[arrayIndex(token, cur.length, at, false)];
  if (isPlainObject(cur)) {
    if (!Object.hasOwn(cur, token)) throw new OperationFailure(`${formatPointer(full)} does not exist`);
    return cur[token];
  }
  throw new OperationFailure(`${formatPointer(at) || 'the root'} is ${JSON.stringify(cur)}, which has no member "${token}"`);
}

function getValue(doc: Json, tokens: readonly string[]): Json {
  let cur = doc;
  tokens.forEach((t, i) => {
    cur = child(cur, t, tokens.slice(0, i), tokens.slice(0, i + 1));
  });
  return cur;
}

function addValue(doc: Json, tokens: readonly string[], value: Json): Json {
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1] as string;
  const parentTokens = tokens.slice(0, -1);
  if (Array.isArray(parent)) {
    parent.splice(arrayIndex(last, parent.length, parentTokens, true), 0, value);
  } else if (isPlainObject(parent)) {
    parent[last] = value;
  } else {
    throw new OperationFailure(`${formatPointer(parentTokens) || 'the root'} is ${JSON.stringify(parent)}, which cannot hold "${last}"`);
  }
  return doc;
}

function removeValue(doc: Json, tokens: readonly string[]): Json {
  if (tokens.length === 0) throw new OperationFailure('cannot remove the whole object');
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) {
    parent.splice(arrayIndex(last, parent.length, tokens.slice(0, -1), false), 1);
  } else {
    getValue(doc, tokens);
    delete (parent as JsonObject)[last];
  }
  return doc;
}

/** Applies one operation to `doc` (which it may change in place) and returns the new document. */
function applyOperation(doc: Json, op: JsonPatchOperation): Json {
  const path = parsePointer(op.path);
  switch (op.op) {
    case 'add':
      return addValue(doc, path, structuredClone(requireValue(op)));
    case 'remove':
      return removeValue(doc, path);
    case 'replace': {
      const value = structuredClone(requireValue(op));
      if (path.length === 0) return value;
      getValue(doc, path);
      const parent = parentOf(doc, path);
      const last = path[path.length - 1] as string;
      if (Array.isArray(parent)) parent[arrayIndex(last, parent.length, path.slice(0, -1), false)] = value;
      else (parent as JsonObject)[last] = value;
      return doc;
    }
    case 'move': {
      const from = parsePointer(requireFrom(op));
      if (from.length < path.length && from.every((t, i) => t === path[i])) {
        throw new OperationFailure(`cannot move ${op.from} into its own child ${op.path}`);
      }
      const value = getValue(doc, from);
      return addValue(removeValue(doc, from), path, value);
    }
    case 'copy':
      return addValue(doc, path, structuredClone(getValue(doc, parsePointer(requireFrom(op)))));
    case 'test': {
      const expected = requireValue(op);
      const actual = getValue(doc, path);
      if (!jsonEqual(actual, expected)) throw new OperationFailure(`test failed: the value is ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
      return doc;
    }
  }
}

function requireValue(op: JsonPatchOperation): Json {
  if (op.value === undefined) throw new OperationFailure(`"${op.op}" needs a value`);
  return op.value;
}

function requireFrom(op: JsonPatchOperation): string {
  if (op.from === undefined) throw new OperationFailure(`"${op.op}" needs from`);
  return op.from;
}

// ─── Strategic merge ─────────────────────────────────────────────────────────

const DELETE = Symbol('delete');

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/** The patchMergeKey of the lists of a PodSpec (k8s.io/api core/v1); lists not named here replace, as tolerations do. */
const POD_SPEC_MERGE_KEYS: ReadonlyMap<string, string> = new Map([
  ['containers', 'name'],
  ['initContainers', 'name'],
  ['ephemeralContainers', 'name'],
  ['volumes', 'name'],
  ['imagePullSecrets', 'name'],
  ['hostAliases', 'ip'],
  ['topologySpreadConstraints', 'topologyKey'],
  ['resourceClaims', 'name'],
  ['schedulingGates', 'name'],
]);

/** The patchMergeKey of the lists of a Container. */
const CONTAINER_MERGE_KEYS: ReadonlyMap<string, string> = new Map([
  ['env', 'name'],
  ['ports', 'containerPort'],
  ['volumeMounts', 'mountPath'],
  ['volumeDevices', 'devicePath'],
]);

/** A pod's spec: a Pod's own, or the `template.spec` of a workload (Deployment, StatefulSet, DaemonSet, Job, a CronJob's job template). */
function isPodSpec(kind: string, path: readonly string[]): boolean {
  if (kind === 'Pod') return path.length === 1 && path[0] === 'spec';
  return path.length >= 2 && path[path.length - 1] === 'spec' && path[path.length - 2] === 'template';
}

type ListStrategy = { readonly mergeKey: string } | 'union' | 'replace';

/** How a list at `path` (field names from the object's root, list indices left out) merges, after the Kubernetes API's patch markers. */
function listStrategy(kind: string, path: readonly string[]): ListStrategy {
  const field = path[path.length - 1] ?? '';
  const parent = path.slice(0, -1);
  const podKey = isPodSpec(kind, parent) ? POD_SPEC_MERGE_KEYS.get(field) : undefined;
  if (podKey) return { mergeKey: podKey };
  const owner = parent[parent.length - 1];
  if (owner !== undefined && CONTAINER_LISTS.has(owner) && isPodSpec(kind, parent.slice(0, -1))) {
    const key = CONTAINER_MERGE_KEYS.get(field);
    if (key) return { mergeKey: key };
  }
  const dotted = path.join('.');
  if (kind === 'Service' && dotted === 'spec.ports') return { mergeKey: 'port' };
  if (dotted === 'metadata.ownerReferences') return { mergeKey: 'uid' };
  if (dotted === 'metadata.finalizers') return 'union';
  return 'replace';
}

function memberPath(where: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? `${where}.${key}` : `${where}[${JSON.stringify(key)}]`;
}

/** A Kubernetes strategic merge patch of one object. */
function strategicMerge(kind: string, original: JsonObject, patch: JsonObject): JsonObject | typeof DELETE {
  return mergeMap(kind, structuredClone(original), patch, [], 'merge');
}

function mergeMap(kind: string, original: JsonObject | undefined, patch: JsonObject, path: readonly string[], where: string): JsonObject | typeof DELETE {
  const directive = patch.$patch;
  if (directive !== undefined && directive !== 'merge' && directive !== 'delete' && directive !== 'replace') {
    throw new PatchFailure(`${where}.$patch`, `must be "merge", "replace" or "delete", got ${JSON.stringify(directive)}`);
  }
  if (directive === 'delete') return DELETE;
  for (const key of Object.keys(patch)) {
    if (key.startsWith('$') && key !== '$patch') {
      throw new PatchFailure(memberPath(where, key), 'is a strategic merge directive obstack does not support (only $patch); use jsonPatch for this change');
    }
  }
  const out: JsonObject = directive === 'replace' || original === undefined ? {} : { ...original };
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch') continue;
    if (value === null) {
      delete out[key];
      continue;
    }
    const merged = mergeValue(kind, directive === 'replace' ? undefined : out[key], value, [...path, key], memberPath(where, key));
    if (merged === DELETE) delete out[key];
    else out[key] = merged;
  }
  return out;
}

function mergeValue(kind: string, original: Json, patch: Json, path: readonly string[], where: string): Json | typeof DELETE {
  if (isPlainObject(patch)) return mergeMap(kind, isPlainObject(original) ? original : undefined, patch, path, where);
  if (Array.isArray(patch)) return mergeList(kind, Array.isArray(original) ? original : undefined, patch, path, where);
  return patch;
}

/** A list element written only to say `$patch: replace`: the rest of the patch's list replaces the original. */
function isReplaceMarker(el: Json): boolean {
  return isPlainObject(el) && el.$patch === 'replace' && Object.keys(el).length === 1;
}

function mergeList(kind: string, original: readonly Json[] | undefined, patch: readonly Json[], path: readonly string[], where: string): Json[] {
  const strategy = listStrategy(kind, path);
  const replace = patch.some(isReplaceMarker);
  const items = patch.map((el, j) => ({ el, j })).filter(({ el }) => !isReplaceMarker(el));
  // Elements of a list that replaces are new: merged over nothing, so that their own directives and nulls apply.
  const fresh = (el: Json, j: number): Json => {
    const merged = mergeValue(kind, undefined, el, path, `${where}[${j}]`);
    if (merged === DELETE) throw new PatchFailure(`${where}[${j}].$patch`, `"delete" needs a list merged by key; ${path[path.length - 1] ?? 'this list'} has no merge key, so the list is replaced as written`);
    return merged;
  };
  if (replace || strategy === 'replace' || original === undefined) {
    if (typeof strategy === 'object' && !replace) {
      return items.filter(({ el }) => !(isPlainObject(el) && el.$patch === 'delete')).map(({ el, j }) => fresh(el, j));
    }
    return items.map(({ el, j }) => fresh(el, j));
  }
  if (strategy === 'union') {
    const out = [...original];
    for (const { el } of items) if (!out.some((o) => jsonEqual(o, el))) out.push(el);
    return out;
  }
  const key = strategy.mergeKey;
  const out = [...original];
  for (const { el, j } of items) {
    if (!isPlainObject(el) || el[key] === undefined || el[key] === null) {
      throw new PatchFailure(`${where}[${j}]`, `needs "${key}", the merge key of ${path[path.length - 1] ?? 'the list'}: elements merge with the existing element of the same ${key}`);
    }
    const at = out.findIndex((o) => isPlainObject(o) && jsonEqual(o[key], el[key]));
    const merged = mergeMap(kind, at >= 0 ? (out[at] as JsonObject) : undefined, el, path, `${where}[${j}]`);
    if (merged === DELETE) {
      if (at >= 0) out.splice(at, 1);
    } else if (at >= 0) {
      out[at] = merged;
    } else {
      out.push(merged);
    }
  }
  return out;
}
