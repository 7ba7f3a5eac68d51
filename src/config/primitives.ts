import { z } from 'zod';

/** Kubernetes DNS-1123 label: what names of namespaces, services and secrets must be. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const CPU = /^(\d+m|\d+(\.\d+)?)$/;
export const MEMORY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;
/** Prometheus duration, as promtool accepts it: `30s`, `5m`, `15d`, `1w`. */
export const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;
/** Prometheus's `--storage.tsdb.retention.size` units. */
export const BYTE_SIZE = /^\d+(B|KB|MB|GB|TB|PB|EB)$/;
export const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const DnsLabel = z
  .string()
  .max(63, 'must be at most 63 characters (a Kubernetes DNS label)')
  .regex(DNS_LABEL, 'must be a Kubernetes DNS label: lower-case letters, digits and "-", starting and ending alphanumeric');

export const Duration = z
  .string({ error: 'must be a Prometheus duration string such as "30s", "5m", "15d"' })
  .regex(DURATION, 'must be a Prometheus duration such as "30s", "5m", "15d" (a number alone is not a duration)');

export const CpuQuantity = z.string().regex(CPU, 'must be a CPU quantity such as "250m" or "1"');
export const MemoryQuantity = z.string().regex(MEMORY, 'must be a memory quantity such as "512Mi" or "2Gi"');

/**
 * Fields that hold or point at a credential. Whatever a file writes there (or
 * anywhere below) is never printed back, not even in part: an inline
 * credential is refused without being echoed. Clones (`.describe()`) inherit
 * the mark.
 */
export const secretFields = z.registry<{ readonly secret: true }>();

/** Whether a schema is marked as holding a credential. */
export function isSecretField(schema: z.core.$ZodType): boolean {
  return secretFields.get(schema)?.secret === true;
}

/** A key of a Kubernetes Secret in the environment's namespace. Credentials never appear inline. */
export const SecretRef = z.strictObject(
  {
    secretName: DnsLabel.describe('name of a Kubernetes Secret in the namespace'),
    key: z
      .string()
      .regex(/^[-._a-zA-Z0-9]+$/, 'must be a Secret data key: letters, digits, "-", "_" and "."')
      .describe('key inside the Secret'),
  },
  {
    error: (issue) =>
      issue.code === 'invalid_type'
        ? 'must be a reference to a Kubernetes Secret ({ secretName, key }); credentials are never written inline'
        : undefined,
  },
).register(secretFields, { secret: true });
export type SecretRef = z.output<typeof SecretRef>;

export const ResourceList = z.strictObject({
  cpu: CpuQuantity,
  memory: MemoryQuantity,
});

export const Resources = z.strictObject({
  requests: ResourceList,
  limits: ResourceList,
});
export type Resources = z.output<typeof Resources>;

export const Storage = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('ephemeral').describe('data lives in an emptyDir and is lost when the pod moves'),
  }),
  z.strictObject({
    type: z.literal('persistent'),
    size: z.string().regex(/^\d+(Mi|Gi|Ti)$/, 'must be a volume size such as "20Gi"'),
    storageClass: DnsLabel.optional().describe('StorageClass; the cluster default when unset'),
  }),
]);
export type Storage = z.output<typeof Storage>;

export const Image = z.strictObject({
  repository: z.string().min(1),
  tag: z
    .string()
    .min(1)
    .refine((t) => t !== 'latest', 'must be a pinned version, not "latest"'),
});
export type Image = z.output<typeof Image>;

export const Ingress = z
  .strictObject({
    enabled: z.boolean().default(false),
    host: z.string().regex(HOSTNAME, 'must be a DNS host name').optional(),
    tlsSecret: DnsLabel.optional().describe('Secret of type kubernetes.io/tls holding the certificate'),
    className: DnsLabel.optional().describe('IngressClass; the cluster default when unset'),
    controllerNamespace: DnsLabel.default('ingress-nginx').describe(
      'namespace of the ingress controller, the only one let through the NetworkPolicy',
    ),
  })
  .superRefine((ing, ctx) => {
    if (ing.enabled && !ing.host) {
      ctx.addIssue({ code: 'custom', path: ['host'], message: 'is required when the ingress is enabled' });
    }
  });
export type Ingress = z.output<typeof Ingress>;
