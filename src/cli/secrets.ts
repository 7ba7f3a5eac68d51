import { type Environment, environmentJsonSchema } from '../config/index.js';
import type { KubernetesObject } from './synthesize.js';

/** One key of a Secret the manifests read and obstack does not generate. */
export interface SecretKeyNeed {
  readonly key: string;
  /** What the key holds: the environment schema's description of the field that names it. */
  readonly holds: string;
  /** The environment fields that name this key (dotted paths), empty when only the manifests name it. */
  readonly declaredAt: readonly string[];
}

/** A Secret that must exist in the cluster before the first apply. */
export interface SecretNeed {
  readonly name: string;
  readonly namespace: string;
  readonly type: 'Opaque' | 'kubernetes.io/tls' | 'kubernetes.io/dockerconfigjson';
  readonly keys: readonly SecretKeyNeed[];
  /** The components that read it, from the objects' `app.kubernetes.io/name` labels. */
  readonly readBy: readonly string[];
  /** The command that creates it, with placeholders saying what to put. */
  readonly command: string;
}

/** One place a manifest reads a Secret: a key of it, or all of it (a volume without items, envFrom, TLS). */
interface ObjectReference {
  readonly namespace: string;
  readonly name: string;
  readonly key?: string;
  readonly kind: 'key' | 'whole' | 'tls' | 'image-pull';
  readonly reader: string;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Every Secret reference of the objects: secretKeyRef, envFrom, secret and projected volumes, imagePullSecrets, Ingress TLS. */
function objectReferences(objects: readonly KubernetesObject[], defaultNamespace: string): ObjectReference[] {
  const refs: ObjectReference[] = [];
  for (const obj of objects) {
    const namespace = obj.metadata.namespace ?? defaultNamespace;
    const reader = obj.metadata.labels?.['app.kubernetes.io/name'] ?? `${obj.kind}/${obj.metadata.name}`;
    const add = (name: string | undefined, kind: ObjectReference['kind'], key?: string): void => {
      if (name !== undefined) refs.push({ namespace, name, kind, reader, ...(key !== undefined ? { key } : {}) });
    };
    const items = (source: Json, name: string | undefined): void => {
      const list = Array.isArray(source.items) ? source.items.filter(isObject) : [];
      if (list.length === 0) add(name, 'whole');
      for (const item of list) add(name, 'key', str(item.key));
    };
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (!isObject(node)) return;
      for (const [field, value] of Object.entries(node)) {
        if (field === 'secretKeyRef' && isObject(value)) add(str(value.name), 'key', str(value.key));
        else if (field === 'secretRef' && isObject(value)) add(str(value.name), 'whole');
        else if (field === 'secret' && isObject(value)) items(value, str(value.secretName) ?? str(value.name));
        else if (field === 'imagePullSecrets' && Array.isArray(value)) for (const s of value.filter(isObject)) add(str(s.name), 'image-pull');
        else walk(value);
      }
    };
    walk(obj);
    if (obj.kind === 'Ingress') {
      const tls = (obj as { spec?: { tls?: unknown } }).spec?.tls;
      if (Array.isArray(tls)) for (const t of tls.filter(isObject)) add(str(t.secretName), 'tls');
    }
  }
  return refs;
}

/** A Secret key (or a whole Secret) the environment names, with the schema's description of the field. */
interface Declared {
  readonly secretName: string;
  readonly key?: string;
  readonly holds: string;
  readonly path: string;
}

type SchemaNode = Json & { description?: string; properties?: Record<string, SchemaNode>; additionalProperties?: unknown; items?: unknown; anyOf?: unknown; oneOf?: unknown };

/** The branch of a union that a value fits: its discriminating constants match and it has every field. */
function branchFor(node: SchemaNode, value: unknown): SchemaNode {
  const branches = [node.anyOf, node.oneOf].filter(Array.isArray).flat().filter(isObject) as SchemaNode[];
  if (branches.length === 0) return node;
  const fits = (b: SchemaNode): boolean => {
    if (!isObject(value)) return b.type !== 'object';
    if (!b.properties) return false;
    return Object.entries(value).every(([k, v]) => {
      const p = b.properties?.[k];
      return p !== undefined && (p.const === undefined || p.const === v);
    });
  };
  const chosen = branches.find(fits) ?? branches[0]!;
  return { ...chosen, description: chosen.description ?? node.description };
}

/**
 * Every Secret reference the environment declares, walked beside its JSON
 * Schema so that each carries the `.describe()` text of its field: SecretRefs
 * (`{ secretName, key }`), Secrets named with their keys in sibling `…Key`
 * fields (Grafana's admin), whole Secrets (`{ secretName }`) and `tlsSecret`.
 */
export function declaredSecrets(environment: Environment): Declared[] {
  const out: Declared[] = [];
  const walk = (value: unknown, schemaNode: SchemaNode | undefined, path: string, described: string | undefined): void => {
    const node = schemaNode ? branchFor(schemaNode, value) : undefined;
    const holds = node?.description ?? described;
    if (Array.isArray(value)) {
      const items = isObject(node?.items) ? (node.items as SchemaNode) : undefined;
      value.forEach((v, i) => walk(v, items, `${path}[${i}]`, holds));
      return;
    }
    if (!isObject(value)) return;
    const secretName = str(value.secretName);
    if (secretName !== undefined) {
      const nameText = node?.properties?.secretName?.description;
      if (typeof value.key === 'string') {
        out.push({ secretName, key: value.key, holds: holdsText(holds ?? nameText ?? ''), path });
        return;
      }
      const keyFields = Object.entries(value).filter(([k, v]) => /Key$/.test(k) && typeof v === 'string');
      for (const [k, v] of keyFields) {
        out.push({ secretName, key: v as string, holds: holdsText(node?.properties?.[k]?.description ?? holds ?? ''), path: `${path}.${k}` });
      }
      if (keyFields.length === 0) out.push({ secretName, holds: nameText ?? holds ?? '', path: `${path}.secretName` });
    }
    for (const [k, v] of Object.entries(value)) {
      const child = node?.properties?.[k] ?? (isObject(node?.additionalProperties) ? (node.additionalProperties as SchemaNode) : undefined);
      const at = path === '' ? k : `${path}.${k}`;
      if (k === 'tlsSecret' && typeof v === 'string') out.push({ secretName: v, holds: child?.description ?? '', path: at });
      else if (k !== 'secretName') walk(v, child, at, undefined);
    }
  };
  walk(environment, environmentJsonSchema() as SchemaNode, '', undefined);
  return out;
}

/** What the keys of Kubernetes' own Secret types hold. */
const TYPED_KEYS: Readonly<Record<string, string>> = {
  'tls.crt': 'the certificate in PEM, with its chain',
  'tls.key': "the certificate's private key in PEM",
  'ca.crt': 'the CA certificate in PEM that signs the certificates',
  '.dockerconfigjson': 'registry credentials in the format of ~/.docker/config.json',
};

/** Keys of a whole-Secret declaration named in its description (e.g. "Secret with tls.crt, tls.key and ca.crt"). */
function keysNamedIn(text: string): string[] {
  return [...text.matchAll(/(?<![\w.])(?:tls\.crt|tls\.key|ca\.crt)(?![\w.])/g)].map((m) => m[0]);
}

/** A placeholder in single quotes; an apostrophe of the text becomes a typographic one, so the line stays readable. */
const quote = (s: string): string => `'${s.replace(/'/g, '’')}'`;

/** "Secret key holding the password of …" reads as "password of …" next to the key. */
const holdsText = (description: string): string => description.replace(/^(?:Secret )?key (?:holding|with) (?:the )?/i, '');

/** Keys whose names end like a file: their value is a file's content, not a line to type. */
const FILE_KEY = /\.(ya?ml|json|crt|pem|key|conf)$/;

/** The kubectl line that creates a Secret, with a placeholder per key saying what to put. */
function commandFor(name: string, namespace: string, type: SecretNeed['type'], keys: readonly SecretKeyNeed[]): string {
  const names = keys.map((k) => k.key);
  if (type === 'kubernetes.io/tls' && names.length === 2 && names.includes('tls.crt') && names.includes('tls.key')) {
    return `kubectl create secret tls ${name} -n ${namespace} --cert=<path/to/tls.crt> --key=<path/to/tls.key>`;
  }
  if (type === 'kubernetes.io/dockerconfigjson') {
    return `kubectl create secret docker-registry ${name} -n ${namespace} --docker-server=<registry> --docker-username=<user> --docker-password=<password>`;
  }
  // A key named like a file (objstore.yml, a CA's ca.crt, a GCS credentials JSON) holds a file's content.
  const parts = keys.map((k) =>
    type === 'kubernetes.io/tls' || FILE_KEY.test(k.key)
      ? `--from-file=${k.key}=<path/to/${k.key}>`
      : `--from-literal=${k.key}=${quote(`<${k.holds || `value of ${k.key}`}>`)}`,
  );
  // A Secret read whole (envFrom, a volume) whose keys nothing names: the reader's own documentation says which.
  if (parts.length === 0) parts.push(`--from-literal=<key>='<value: the keys ${name} is read for>'`);
  return [`kubectl create secret generic ${name} -n ${namespace}${type === 'Opaque' ? '' : ` --type=${type}`}`, ...parts].join(' \\\n    ');
}

/**
 * The Secrets an environment's manifests read and obstack does not generate:
 * each with its keys (what each holds, from the environment schema), the
 * components reading it, and the kubectl line that creates it.
 */
export function secretsToCreate(environment: Environment, objects: readonly KubernetesObject[]): SecretNeed[] {
  const generated = new Set(objects.filter((o) => o.kind === 'Secret').map((o) => `${o.metadata.namespace ?? environment.namespace}/${o.metadata.name}`));
  const declared = declaredSecrets(environment);
  const bySecret = new Map<string, ObjectReference[]>();
  for (const ref of objectReferences(objects, environment.namespace)) {
    const id = `${ref.namespace}/${ref.name}`;
    if (generated.has(id)) continue;
    bySecret.set(id, [...(bySecret.get(id) ?? []), ref]);
  }
  const needs: SecretNeed[] = [];
  for (const refs of bySecret.values()) {
    const { name, namespace } = refs[0]!;
    const mine = declared.filter((d) => d.secretName === name);
    const type: SecretNeed['type'] = refs.some((r) => r.kind === 'tls') || mine.some((d) => d.key === undefined && keysNamedIn(d.holds).length > 0)
      ? 'kubernetes.io/tls'
      : refs.some((r) => r.kind === 'image-pull')
        ? 'kubernetes.io/dockerconfigjson'
        : 'Opaque';
    const keys = new Map<string, { holds: string; declaredAt: string[] }>();
    const addKey = (key: string, holds: string, path?: string): void => {
      const k = keys.get(key) ?? { holds: '', declaredAt: [] };
      if (k.holds === '' && holds !== '') k.holds = holds;
      if (path !== undefined && !k.declaredAt.includes(path)) k.declaredAt.push(path);
      keys.set(key, k);
    };
    for (const d of mine) {
      if (d.key !== undefined) addKey(d.key, d.holds, d.path);
      else for (const key of keysNamedIn(d.holds)) addKey(key, TYPED_KEYS[key] ?? '', d.path);
    }
    // Keys the manifests read that no environment field names (a patch, for instance) still need to exist.
    for (const r of refs) if (r.key !== undefined) addKey(r.key, '');
    if (type === 'kubernetes.io/tls') {
      const tlsPath = mine.find((d) => d.key === undefined)?.path;
      for (const key of ['tls.crt', 'tls.key']) addKey(key, TYPED_KEYS[key]!, tlsPath);
    }
    if (type === 'kubernetes.io/dockerconfigjson') addKey('.dockerconfigjson', TYPED_KEYS['.dockerconfigjson']!);
    const keyList = [...keys.entries()]
      .map(([key, k]) => ({ key, holds: k.holds || `(no description: read by ${[...new Set(refs.filter((r) => r.key === key).map((r) => r.reader))].join(', ')})`, declaredAt: k.declaredAt }))
      .sort((a, b) => a.key.localeCompare(b.key));
    const readBy = [...new Set(refs.map((r) => r.reader))].sort();
    needs.push({ name, namespace, type, keys: keyList, readBy, command: commandFor(name, namespace, type, keyList) });
  }
  return needs.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/** The human-readable listing of `obstack secrets`. */
export function formatSecrets(environment: string, needs: readonly SecretNeed[]): string {
  const lines = [`${environment}: ${needs.length} Secret(s) to create before the first apply (obstack generates the others)`];
  for (const n of needs) {
    lines.push('', `${n.namespace}/${n.name}${n.type === 'Opaque' ? '' : ` (${n.type})`}, read by ${n.readBy.join(', ')}`);
    const width = Math.max(...n.keys.map((k) => k.key.length));
    for (const k of n.keys) lines.push(`  ${k.key.padEnd(width)}  ${k.holds}${k.declaredAt.length > 0 ? `  [${k.declaredAt.join(', ')}]` : ''}`);
    lines.push(`  ${n.command}`);
  }
  return `${lines.join('\n')}\n`;
}
