import { z } from 'zod';
import { DnsLabel, Image, Ingress, Resources, SecretRef, Storage } from './primitives.js';
import { ElasticsearchSnapshots } from './backups.js';

const replicas = z.number().int('must be a whole number').min(1, 'must be at least 1').max(20);

/**
 * A value that ends up inside the Logstash pipeline as a string literal. It is
 * escaped there, but Logstash expands `${NAME}` in every string of a pipeline
 * (there is no escape for it), so a value could read a secret from the pod's
 * environment: refused here.
 */
export const PipelineString = z
  .string()
  .max(256)
  .refine((s) => !s.includes('${'), 'must not contain "${": Logstash would replace it with an environment variable of its pod');

/** An ECS field path such as `user.email`: what Logstash turns into the field reference `[user][email]`. */
export const FieldPath = z
  .string()
  .regex(/^[A-Za-z_@][A-Za-z0-9_@-]*(\.[A-Za-z0-9_@-]+)*$/, 'must be a dotted field path such as "user.email"');

/** Passwords of the Elasticsearch users the stack creates, each a key of a Kubernetes Secret. */
export const ElasticsearchUsers = z.strictObject({
  elastic: SecretRef.describe('the built-in superuser; used only by the setup Jobs'),
  kibanaSystem: SecretRef.describe('the built-in kibana_system user Kibana connects as'),
  logstash: SecretRef.describe('logstash_writer: writes the log data streams'),
  grafana: SecretRef.describe('grafana_reader: reads logs for the Grafana datasource'),
  jaeger: SecretRef.describe('jaeger: writes and reads the trace indices, deletes expired ones'),
  monitoring: SecretRef.describe('monitoring: what the Elasticsearch exporter reads cluster statistics as'),
});

/** An ILM age in whole days or hours (`2d`, `36h`): the units the retention checks can compare. */
export const IlmAge = z.string().regex(/^[1-9]\d*(d|h)$/, 'must be an age in days or hours such as "2d" or "36h"');

/** Hours in an ILM age (`2d` is 48). */
export function ilmAgeHours(age: string): number {
  const m = /^(\d+)(d|h)$/.exec(age);
  if (!m) throw new Error(`unreadable ILM age "${age}"`);
  return Number(m[1]) * (m[2] === 'd' ? 24 : 1);
}

/**
 * Hot/warm data tiers: the nodes of `elasticsearch` become the hot tier
 * (master-eligible, ingest, newest indices); a second set of data-only nodes
 * holds the backing indices older than `warmAfter`, merged and read-only.
 */
export const ElasticsearchTiers = z.strictObject({
  warmAfter: IlmAge.describe('a backing index moves to the warm nodes this long after its rollover (ILM warm phase min_age); below logs.retentionDays and logs.auditRetentionDays'),
  warm: z
    .strictObject({
      replicas: replicas.describe('warm nodes: data only (data_warm), never master-eligible'),
      resources: Resources,
      storage: Storage.describe('the warm nodes\' data volumes: usually larger and on a cheaper storage class than the hot ones'),
    })
    .describe('the warm nodes; their heap is heapPercent of their memory limit, as on the hot nodes'),
});
export type ElasticsearchTiers = z.output<typeof ElasticsearchTiers>;

export const ElasticsearchConfig = z.strictObject({
  enabled: z.boolean(),
  replicas: replicas.describe('nodes; every node is master-eligible and holds data'),
  resources: Resources,
  image: Image.optional(),
  storage: Storage,
  heapPercent: z.number().int().min(25).max(75).describe('JVM heap as a percentage of the memory limit (Elastic advises 50)'),
  users: ElasticsearchUsers,
  transportTls: z
    .strictObject({
      secretName: DnsLabel.describe('Secret with tls.crt, tls.key and ca.crt (for instance issued by cert-manager)'),
    })
    .optional()
    .describe('TLS between nodes; required by Elasticsearch as soon as there is more than one node'),
  exporter: z.strictObject({ resources: Resources, image: Image.optional() }),
  snapshots: ElasticsearchSnapshots.optional().describe('snapshots to an object store on a schedule (snapshot lifecycle management), with retention'),
  tiers: ElasticsearchTiers.optional().describe('hot/warm tiers: the nodes above are the hot tier, and a second StatefulSet of warm nodes takes the older indices'),
});

export const LogstashConfig = z.strictObject({
  enabled: z.boolean(),
  replicas,
  resources: Resources,
  image: Image.optional(),
  storage: Storage.describe('the data folder, which holds the persistent queue'),
  queue: z.strictObject({
    type: z.enum(['memory', 'persisted']).describe('persisted keeps accepted events on disk across restarts'),
    maxBytes: z.string().regex(/^\d+(b|kb|mb|gb)$/, 'must be a Logstash size such as "1gb"'),
  }),
  exporter: z.strictObject({ resources: Resources, image: Image.optional() }),
});

export const KibanaConfig = z.strictObject({
  enabled: z.boolean(),
  replicas,
  resources: Resources,
  image: Image.optional(),
  ingress: Ingress,
  encryptionKey: SecretRef.optional().describe('xpack.encryptedSavedObjects.encryptionKey (32+ characters); needed for alerting and shared across replicas'),
});

export const FilebeatConfig = z.strictObject({
  enabled: z.boolean(),
  resources: Resources,
  image: Image.optional(),
});

const JaegerPart = z.strictObject({ replicas, resources: Resources });

export const JaegerConfig = z
  .strictObject({
    enabled: z.boolean(),
    image: Image.optional(),
    mode: z
      .enum(['all-in-one', 'distributed'])
      .describe('all-in-one: one pod receives, stores and serves; distributed: collector and query Deployments on Elasticsearch'),
    storage: z
      .enum(['memory', 'elasticsearch'])
      .describe('memory keeps the last maxTraces traces in the all-in-one pod and loses them on restart'),
    maxTraces: z.number().int().min(1000).describe('traces kept by the memory storage'),
    indexPrefix: z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}$/, 'must be lower-case letters, digits and "-"'),
    allInOne: z.strictObject({ resources: Resources }),
    collector: JaegerPart,
    query: JaegerPart,
  })
  .superRefine((j, ctx) => {
    if (j.mode === 'distributed' && j.storage === 'memory') {
      ctx.addIssue({
        code: 'custom',
        path: ['storage'],
        message: 'must be "elasticsearch" when mode is "distributed": collector and query do not share memory',
      });
    }
  });

export const PersonalDataRule = z.strictObject({
  field: FieldPath,
  action: z.enum(['remove', 'hash']).describe('hash: HMAC-SHA256 with logs.hashKey, so equal values still correlate'),
});

export const LogsConfig = z.strictObject({
  retentionDays: z.number().int().min(1).max(3650).describe('application logs are deleted this many days after their index rolls over (daily)'),
  auditRetentionDays: z.number().int().min(1).max(3650).describe('audit logs (event.dataset ending in ".audit") are kept this long'),
  personalData: z.array(PersonalDataRule).describe('fields removed or hashed by Logstash before anything is stored'),
  hashKey: SecretRef.describe('HMAC key for the "hash" action'),
  labels: z
    .record(z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be snake_case'), PipelineString)
    .describe('static labels added to every log event as labels.<name>'),
});

export const TracesConfig = z.strictObject({
  samplingRate: z.number().min(0).max(1).describe('head-sampling probability handed to instrumented services and to Jaeger remote sampling'),
  retentionDays: z.number().int().min(1).max(365).describe('trace indices in Elasticsearch older than this are deleted daily'),
});

export type LogsConfig = z.output<typeof LogsConfig>;
export type TracesConfig = z.output<typeof TracesConfig>;
