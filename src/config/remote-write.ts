import { z } from 'zod';
import { DnsLabel, Duration, HOSTNAME, SecretRef } from './primitives.js';
import { EgressRule, RelabelConfig, clusterNamespaceOf, urlAddress } from './scrape.js';

/*
 * Remote write from Prometheus to a long-term store (Thanos Receive, Grafana
 * Mimir, VictoriaMetrics, Cortex, a managed endpoint), and what sharding
 * Prometheus needs of the rest of the environment. Credentials come from
 * Secrets, mounted as files, never inline.
 */

const CIDR = EgressRule.shape.cidr;
const PositiveInt = z.number().int('must be a whole number').min(1, 'must be at least 1');

/**
 * Headers Prometheus sets itself or that change the connection: its config
 * loader refuses them (`x is a reserved header`), so the schema does first.
 * Credentials go in bearerToken or basicAuth, which read Secrets.
 */
export const RESERVED_REMOTE_WRITE_HEADERS: readonly string[] = [
  'authorization',
  'host',
  'content-encoding',
  'content-length',
  'content-type',
  'user-agent',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'www-authenticate',
  'accept-encoding',
  'x-prometheus-remote-write-version',
  'x-prometheus-remote-read-version',
  'x-amz-date',
  'x-amz-security-token',
  'x-amz-content-sha256',
];

/** The push URL of a remote store: http(s), with a host, without user, password or fragment. */
export const RemoteWriteUrl = z.string().superRefine((url, ctx) => {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    ctx.addIssue({ code: 'custom', message: `must be an absolute http(s) URL such as "https://mimir.example.com/api/v1/push", got "${url}"` });
    return;
  }
  const problem =
    u.protocol !== 'http:' && u.protocol !== 'https:'
      ? `must use http or https, got "${u.protocol.replace(/:$/, '')}"`
      : u.hostname === ''
        ? 'must name a host'
        : u.username !== '' || u.password !== ''
          ? 'must not carry a user or password; put credentials in bearerToken or basicAuth'
          : u.hash !== '' || url.includes('#')
            ? 'must not have a fragment'
            : undefined;
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A regular expression over metric names, anchored by Prometheus. */
const NameRegex = z.string().min(1).refine((r) => {
  try {
    new RegExp(`^(?:${r})$`);
    return true;
  } catch {
    return false;
  }
}, 'must be a regular expression over metric names, such as "node_.*|up"');

export const RemoteWriteQueue = z
  .strictObject({
    capacity: PositiveInt.optional().describe('samples buffered per shard before reading from the WAL blocks'),
    maxShards: PositiveInt.optional().describe('most parallel senders'),
    minShards: PositiveInt.optional().describe('fewest parallel senders'),
    maxSamplesPerSend: PositiveInt.optional().describe('samples per request'),
    batchSendDeadline: Duration.optional().describe('longest a sample waits in a shard before it is sent'),
  })
  .superRefine((q, ctx) => {
    if (q.minShards !== undefined && q.maxShards !== undefined && q.minShards > q.maxShards) {
      ctx.addIssue({ code: 'custom', path: ['minShards'], message: `must not exceed maxShards (${q.maxShards}), got ${q.minShards}` });
    }
  });

export const RemoteWriteEndpoint = z
  .strictObject({
    name: DnsLabel.max(40, 'must be at most 40 characters').describe('the queue\'s name: the remote_name label of its prometheus_remote_storage_* series'),
    url: RemoteWriteUrl.describe('the store\'s push endpoint, e.g. Mimir\'s /api/v1/push or Thanos Receive\'s /api/v1/receive'),
    bearerToken: SecretRef.optional().describe('Secret key holding the token sent as "Authorization: Bearer"'),
    basicAuth: z
      .strictObject({
        username: z.string().min(1),
        password: SecretRef.describe('Secret key holding the password'),
      })
      .optional(),
    tls: z
      .strictObject({
        ca: SecretRef.optional().describe('Secret key holding the CA certificate (PEM) the store\'s certificate is checked against'),
        serverName: z.string().regex(HOSTNAME, 'must be a DNS host name').optional(),
        insecureSkipVerify: z.boolean().optional(),
      })
      .optional(),
    headers: z
      .record(
        z.string().regex(/^[A-Za-z0-9][-A-Za-z0-9]*$/, 'must be an HTTP header name such as "X-Scope-OrgID"'),
        z.string().min(1),
      )
      .optional()
      .describe('extra request headers that are not secret, such as the tenant header X-Scope-OrgID of Mimir and Cortex'),
    remoteTimeout: Duration.optional().describe('timeout of one request; Prometheus\'s default is 30s'),
    queue: RemoteWriteQueue.optional().describe("queue tuning; Prometheus's defaults when unset"),
    writeRelabel: z
      .strictObject({
        keep: NameRegex.optional().describe('send only the metrics whose name matches'),
        drop: NameRegex.optional().describe('do not send the metrics whose name matches'),
        configs: z.array(RelabelConfig).optional().describe('full write_relabel_configs, after keep and drop'),
      })
      .optional(),
    egress: CIDR.array()
      .min(1)
      .optional()
      .describe("address blocks the URL's host resolves to, when it is a name outside the cluster (a NetworkPolicy cannot name hosts)"),
  })
  .superRefine((e, ctx) => {
    const issue = (path: (string | number)[], message: string): void => ctx.addIssue({ code: 'custom', path, message });
    if (e.bearerToken && e.basicAuth) issue(['basicAuth'], 'cannot be set with bearerToken: a request carries one Authorization header');
    if (e.tls && e.url.startsWith('http:')) issue(['tls'], 'is only for an https URL');
    for (const h of Object.keys(e.headers ?? {})) {
      if (RESERVED_REMOTE_WRITE_HEADERS.includes(h.toLowerCase())) {
        issue(['headers', h], h.toLowerCase() === 'authorization' ? 'is reserved: put the token in bearerToken (a Secret)' : 'is a header Prometheus sets itself; it refuses a config that sets it');
      }
    }
  });
export type RemoteWriteEndpoint = z.output<typeof RemoteWriteEndpoint>;

export const RemoteWriteList = z.array(RemoteWriteEndpoint).superRefine((list, ctx) => {
  const seen = new Map<string, number>();
  list.forEach((e, i) => {
    const other = seen.get(e.name);
    if (other !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${e.name}" also names remoteWrite[${other}]; names must be unique` });
    else seen.set(e.name, i);
  });
});

/** External labels obstack writes itself; an environment that set them would be silently overridden. */
export const RESERVED_EXTERNAL_LABELS = ['prometheus_replica', 'prometheus_shard'] as const;

interface ScaleFields {
  readonly namespace: string;
  readonly clusterDomain: string;
  readonly components: {
    readonly prometheus: {
      readonly enabled: boolean;
      readonly shards: number;
      readonly remoteWrite: readonly RemoteWriteEndpoint[];
      readonly externalLabels: Readonly<Record<string, string>>;
      readonly ingress: { readonly enabled: boolean };
    };
    readonly thanos: { readonly enabled: boolean };
  };
}

/**
 * What remote write and shards need of the rest of the environment: address
 * blocks for a store outside the cluster, no external label obstack writes,
 * and, with more than one shard, a layer that sees every shard's series.
 */
export function refinePrometheusScale(env: ScaleFields, ctx: z.RefinementCtx): void {
  const p = env.components.prometheus;
  const at = (...path: (string | number)[]): (string | number)[] => ['components', 'prometheus', ...path];
  const issue = (path: (string | number)[], message: string): void => ctx.addIssue({ code: 'custom', path, message });
  for (const label of RESERVED_EXTERNAL_LABELS) {
    if (label in p.externalLabels) issue(at('externalLabels', label), `is written by obstack (${label === 'prometheus_replica' ? 'the pod name of each replica' : 'the shard number'}); choose another label`);
  }
  p.remoteWrite.forEach((e, i) => {
    if (!RemoteWriteUrl.safeParse(e.url).success) return;
    const a = urlAddress(e.url);
    const outside = a.ip === 0 && clusterNamespaceOf(a.host, env.namespace, env.clusterDomain) === undefined;
    if (outside && e.egress === undefined) {
      issue(at('remoteWrite', i, 'egress'), `is required: "${a.host}" is outside the cluster and a NetworkPolicy cannot name hosts; list the address blocks it resolves to (for instance ["203.0.113.0/24"], or ["0.0.0.0/0"] for a managed endpoint whose addresses change)`);
    }
    if (!outside && e.egress !== undefined) issue(at('remoteWrite', i, 'egress'), `is only for a host name outside the cluster; "${a.host}" is reached without it`);
  });
  if (!p.enabled || p.shards <= 1) return;
  if (!env.components.thanos.enabled) {
    issue(
      at('shards'),
      `is ${p.shards}, but each shard scrapes only its part of the targets, so no single Prometheus sees every series: ` +
        'turn on components.thanos (Thanos Query merges the shards for Grafana and the ingest service, and Thanos Ruler evaluates the rules over all of them); ' +
        'remote write alone copies the series to a store, but nothing in the stack would query it',
    );
  }
  if (p.ingress.enabled) {
    issue(at('ingress', 'enabled'), `must be false when shards is ${p.shards}: one shard shows only its part of the series; open Thanos Query or the remote store instead`);
  }
}
