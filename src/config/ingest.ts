import { z } from 'zod';
import { Image, Resources, SecretRef, Storage } from './primitives.js';
import { IngestBackup } from './backups.js';

/** Where the ingest service keeps its data. */
export const IngestDatabase = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('in-cluster').describe('a PostgreSQL StatefulSet deployed with the service'),
    storage: Storage,
    resources: Resources,
    image: Image.optional(),
    password: SecretRef.describe('Secret key with the password of the database user "ingest", the service\'s login: it owns the database and is not a superuser'),
    superuserPassword: SecretRef.default({ secretName: 'ingest-postgres', key: 'superuser-password' }).describe(
      'Secret key with the password of "postgres", the superuser the database is initialised with; the service never logs in as it',
    ),
    readerPassword: SecretRef.describe('Secret key with the password of "grafana_reader", the read-only role of the dashboards'),
    monitorPassword: SecretRef.default({ secretName: 'ingest-postgres', key: 'monitor-password' }).describe(
      'Secret key with the password of "postgres_exporter", the pg_monitor role the exporter logs in as',
    ),
    backup: IngestBackup.optional().describe('dumps on a schedule (pg_dump, custom format) uploaded to an S3 bucket, with retention'),
  }),
  z.strictObject({
    type: z.literal('external'),
    url: SecretRef.describe('Secret key holding the whole DATABASE_URL (postgres://user:password@host:5432/db)'),
  }),
]);

/** The ingest/analytics service of the stack. */
export const IngestConfig = z
  .strictObject({
    enabled: z.boolean(),
    replicas: z.number().int('must be a whole number').min(1, 'must be at least 1').max(50),
    resources: Resources,
    image: Image.optional().describe('the image built from the Dockerfile; overrides src/config/versions.ts'),
    apiKeys: SecretRef.describe('Secret key holding the JSON array of API keys and their scopes'),
    alertmanagerKey: SecretRef.describe(
      'Secret key holding the API key (with the ingest scope) that Alertmanager presents to the alert-history webhook',
    ),
    prometheusKey: SecretRef.describe(
      'Secret key holding the API key (with the metrics scope) that Prometheus presents to scrape /metrics/business',
    ),
    erasureKey: SecretRef.describe(
      'Secret key holding the key (at least 32 characters, openssl rand -hex 32) of the digest an erasure keeps of a user id',
    ),
    autoscaling: z
      .strictObject({
        maxReplicas: z.number().int().min(1),
        targetCpuPercent: z.number().int().min(10).max(100),
      })
      .optional()
      .describe('a HorizontalPodAutoscaler between replicas and maxReplicas'),
    retentionDays: z.number().int().min(1, 'must be at least 1 day').max(3650).describe('raw events are deleted after this'),
    database: IngestDatabase,
  })
  .superRefine((i, ctx) => {
    if (i.autoscaling && i.autoscaling.maxReplicas < i.replicas) {
      ctx.addIssue({
        code: 'custom',
        path: ['autoscaling', 'maxReplicas'],
        message: `must be at least replicas (${i.replicas}), got ${i.autoscaling.maxReplicas}`,
      });
    }
  });
