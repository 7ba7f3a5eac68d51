import { z } from 'zod';

/** A JSON Pointer (RFC 6901): empty for the whole document, else `/`-separated tokens where `~` only starts `~0` or `~1`. */
export const JsonPointer = z
  .string()
  .regex(/^(\/([^~]|~[01])*)*$/, 'must be a JSON Pointer such as "/spec/template/spec/tolerations/-" ("" for the whole object; write "~1" for "/" and "~0" for "~" in a key)');

const OPS_WITH_VALUE = new Set(['add', 'replace', 'test']);
const OPS_WITH_FROM = new Set(['move', 'copy']);

/**
 * One RFC 6902 operation. Members an operation does not define are ignored,
 * as the RFC requires; `value` and `from` are required where the RFC needs them.
 */
export const JsonPatchOperation = z
  .object({
    op: z.enum(['add', 'remove', 'replace', 'move', 'copy', 'test']),
    path: JsonPointer,
    value: z.unknown().optional().describe('for add, replace and test'),
    from: JsonPointer.optional().describe('for move and copy'),
  })
  .superRefine((op, ctx) => {
    if (OPS_WITH_VALUE.has(op.op) && op.value === undefined) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `is required for "${op.op}" (write null for a null value)` });
    }
    if (OPS_WITH_FROM.has(op.op) && op.from === undefined) {
      ctx.addIssue({ code: 'custom', path: ['from'], message: `is required for "${op.op}": the JSON Pointer of the value to ${op.op}` });
    }
  });
export type JsonPatchOperation = z.output<typeof JsonPatchOperation>;

/** Which generated object a patch changes. Every object of that kind and name matches, unless namespace or apiVersion narrow it. */
export const PatchTarget = z.strictObject({
  kind: z.string().min(1).describe('Kubernetes kind, such as DaemonSet'),
  name: z.string().min(1).describe('metadata.name of the generated object'),
  namespace: z.string().min(1).optional().describe('metadata.namespace; leave out to match every namespace'),
  apiVersion: z.string().min(1).optional().describe('such as apps/v1; leave out to match every version'),
});
export type PatchTarget = z.output<typeof PatchTarget>;

/** One change to a generated object: an RFC 6902 JSON Patch or a Kubernetes strategic merge patch, not both. */
export const ObjectPatch = z
  .strictObject({
    target: PatchTarget,
    jsonPatch: z.array(JsonPatchOperation).min(1, 'must hold at least one operation').optional().describe('RFC 6902 operations, applied in order'),
    merge: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('a strategic merge patch: maps merge, null deletes a key, lists with a Kubernetes merge key (containers, env, volumes, ...) merge by that key, $patch: delete|replace'),
  })
  .superRefine((p, ctx) => {
    if ((p.jsonPatch === undefined) === (p.merge === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: p.jsonPatch === undefined ? 'needs jsonPatch or merge' : 'has both jsonPatch and merge: write two entries with the same target',
      });
    }
  });
export type ObjectPatch = z.output<typeof ObjectPatch>;

/** The patches of one environment, applied in order to the synthesized objects before the checks. */
export const ObjectPatches = z
  .array(ObjectPatch)
  .describe('changes to generated Kubernetes objects by kind and name, applied before the checks (JSON Patch or strategic merge)');
export type ObjectPatches = z.output<typeof ObjectPatches>;
