import { z } from 'zod';
import { cronProblem, elasticsearchCron } from './cron.js';
import { DnsLabel, SecretRef, secretFields } from './primitives.js';

/** A five-field cron schedule (minute hour day-of-month month day-of-week), checked when the file is read. */
export const CronSchedule = z
  .string()
  .superRefine((s, ctx) => {
    const problem = cronProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('a five-field cron schedule in UTC, such as "30 2 * * *" (02:30 every day)');

/** A bucket name as S3, GCS and Azure (a container) all accept it. */
const Bucket = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a bucket name: 3 to 63 lower-case letters, digits, "." and "-"');

/** A folder inside the bucket: segments of letters, digits, ".", "_" and "-", no leading or trailing "/". */
const ObjectPrefix = z
  .string()
  .regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/, 'must be a folder path such as "obstack/prod" (no leading or trailing "/")');

/** An S3-compatible service other than AWS (MinIO, Ceph, a cloud's S3 API): where the requests go. */
const Endpoint = z
  .string()
  .regex(/^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/, 'must be "https://host" or "http://host:port", without a path');

/** A name of a Secret whose keys are read as they are named (see each use). */
const SecretName = z
  .strictObject({ secretName: DnsLabel.describe('name of a Kubernetes Secret in the namespace') })
  .register(secretFields, { secret: true });

/** Elasticsearch time units for SLM retention: `30d`, `12h`. */
const EsAge = z.string().regex(/^\d+(d|h|m)$/, 'must be an age such as "30d" or "12h"');

/**
 * The keys the repository Secret must hold for each repository type: each is
 * added to the Elasticsearch keystore under its own name at start.
 */
export const REPOSITORY_SECRET_KEYS = {
  s3: ['s3.client.default.access_key', 's3.client.default.secret_key'],
  gcs: ['gcs.client.default.credentials_file'],
  azure: ['azure.client.default.account', 'azure.client.default.key'],
} as const;

/** Snapshots of Elasticsearch to an object store, taken by a snapshot lifecycle (SLM) policy. */
export const ElasticsearchSnapshots = z
  .strictObject({
    repository: z.strictObject({
      type: z.enum(['s3', 'gcs', 'azure']).describe('the object store'),
      bucket: Bucket.describe('the bucket (s3, gcs) or container (azure)'),
      basePath: ObjectPrefix.optional().describe('folder inside the bucket; the bucket root when unset'),
      endpoint: Endpoint.optional().describe('s3 only: an S3-compatible service other than AWS'),
      clientSecret: SecretName.describe(
        'Secret with the credentials, keyed by keystore setting: s3.client.default.access_key and s3.client.default.secret_key (s3), gcs.client.default.credentials_file (gcs), azure.client.default.account and azure.client.default.key (azure)',
      ),
    }),
    schedule: CronSchedule,
    retention: z.strictObject({
      expireAfter: EsAge.describe('snapshots older than this are deleted'),
      minCount: z.number().int().min(1, 'must be at least 1').describe('kept whatever their age'),
      maxCount: z.number().int().min(1, 'must be at least 1').describe('kept at most, the oldest deleted first'),
    }),
  })
  .superRefine((s, ctx) => {
    if (s.retention.maxCount < s.retention.minCount) {
      ctx.addIssue({ code: 'custom', path: ['retention', 'maxCount'], message: `must be at least minCount (${s.retention.minCount}), got ${s.retention.maxCount}` });
    }
    if (s.repository.endpoint !== undefined && s.repository.type !== 's3') {
      ctx.addIssue({ code: 'custom', path: ['repository', 'endpoint'], message: `is for an S3-compatible service; a ${s.repository.type} repository has none` });
    }
    try {
      elasticsearchCron(s.schedule);
    } catch (err) {
      // An unreadable schedule is reported by CronSchedule itself.
      if (cronProblem(s.schedule) === undefined) ctx.addIssue({ code: 'custom', path: ['schedule'], message: (err as Error).message });
    }
  });
export type ElasticsearchSnapshots = z.output<typeof ElasticsearchSnapshots>;

/** Dumps of the ingest database, uploaded to an S3 bucket (AWS or S3-compatible). */
export const IngestBackup = z
  .strictObject({
    schedule: CronSchedule,
    retention: z
      .strictObject({
        count: z.number().int().min(1, 'must be at least 1').optional().describe('keep this many newest dumps'),
        days: z.number().int().min(1, 'must be at least 1 day').optional().describe('delete dumps older than this'),
      })
      .refine((r) => (r.count === undefined) !== (r.days === undefined), 'must set exactly one of count and days'),
    destination: z.strictObject({
      type: z.literal('s3'),
      bucket: Bucket,
      prefix: ObjectPrefix.describe('folder of the dumps inside the bucket'),
      endpoint: Endpoint.optional().describe('an S3-compatible service other than AWS'),
      region: z.string().regex(/^[a-z0-9-]+$/, 'must be a region such as "eu-west-1"').default('us-east-1'),
      credentials: z.strictObject({
        secretName: DnsLabel.describe('Secret with the access key of a user that may put, list and delete in the prefix'),
        accessKeyIdKey: z.string().regex(/^[-._a-zA-Z0-9]+$/).default('access-key-id'),
        secretAccessKeyKey: z.string().regex(/^[-._a-zA-Z0-9]+$/).default('secret-access-key'),
      }).register(secretFields, { secret: true }),
    }),
    password: SecretRef.default({ secretName: 'ingest-postgres', key: 'backup-password' }).describe(
      'Secret key with the password of "ingest_backup", the read-only role the dumps are taken as',
    ),
  });
export type IngestBackup = z.output<typeof IngestBackup>;
