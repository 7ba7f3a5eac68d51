import { isIP } from 'node:net';
import { z } from 'zod';
import { DURATION, Duration, Image, Ingress, Resources, SecretRef, Storage } from './primitives.js';
import { clusterNamespaceOf } from './scrape.js';

const Cidr = z.string().refine((s) => {
  const [addr, bits, extra] = s.split('/');
  if (extra !== undefined || addr === undefined || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  const v = isIP(addr);
  return (v === 4 && Number(bits) <= 32) || (v === 6 && Number(bits) <= 128);
}, 'must be a CIDR block such as "203.0.113.0/24"');

/** `host:port` of a StoreAPI; the host a DNS name or an IP address. */
const STORE_ADDRESS = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*|\d{1,3}(\.\d{1,3}){3}):\d{1,5}$/;

/** A StoreAPI of another cluster (its Query or its sidecars) that this cluster's Query reads for the global view. */
export const ThanosStore = z.strictObject({
  address: z.string().regex(STORE_ADDRESS, 'must be "host:port" of a gRPC StoreAPI, such as "thanos-query.eu1.example.com:10901"'),
  egress: z
    .array(Cidr)
    .min(1)
    .optional()
    .describe("address blocks of the host, for Query's NetworkPolicy; required unless the host is a Service of this cluster (<name>.<namespace>.svc)"),
});
export type ThanosStore = z.output<typeof ThanosStore>;

const replicas = z.number().int('must be a whole number').min(1, 'must be at least 1').max(20);

/**
 * Thanos, the scale-out option: a sidecar beside each Prometheus uploads its
 * 2-hour blocks to object storage; Query gives one view over the sidecars,
 * the Store Gateway (history in the bucket), the Ruler and other clusters;
 * the Compactor compacts, downsamples and enforces retention in the bucket.
 */
export const ThanosConfig = z.strictObject({
  enabled: z.boolean(),
  image: Image.optional().describe('overrides the pinned image of src/config/versions.ts'),
  objectStorage: SecretRef.optional().describe(
    "Secret key holding the bucket's objstore YAML (type and config, credentials included); mounted as a file, never inline. Required when enabled",
  ),
  sidecar: z.strictObject({ resources: Resources }),
  query: z.strictObject({ replicas, resources: Resources, ingress: Ingress }),
  storeGateway: z.strictObject({ replicas, resources: Resources, storage: Storage.describe('index headers and caches; rebuilt from the bucket when lost') }),
  compactor: z.strictObject({
    resources: Resources,
    storage: Storage.describe('blocks being compacted; about two weeks of the largest stream, twice'),
    retention: z
      .strictObject({
        raw: Duration.describe('raw samples; "0d" keeps them forever'),
        fiveMinutes: Duration.describe('5-minute downsampled data; "0d" keeps it forever'),
        oneHour: Duration.describe('1-hour downsampled data; "0d" keeps it forever'),
      })
      .describe('how long the bucket keeps each resolution'),
    deduplicateReplicas: z
      .boolean()
      .describe(
        "merge the HA replicas' blocks into one in the bucket (vertical compaction, --deduplication.replica-label): half the bucket, but experimental in Thanos and irreversible; Query deduplicates when reading either way",
      ),
  }),
  ruler: z
    .strictObject({
      enabled: z.boolean().describe("evaluates the stack's rule files against Query (needed when Prometheus is sharded) and sends to Alertmanager"),
      replicas,
      resources: Resources,
      storage: Storage,
      evaluationInterval: Duration,
    })
    .describe('Thanos Ruler'),
  stores: z.array(ThanosStore).default([]).describe("other clusters' StoreAPIs (their Query or sidecars) for the global view"),
});
export type ThanosConfig = z.output<typeof ThanosConfig>;

/** Seconds of a Prometheus duration (`1d12h`). */
function seconds(d: string): number {
  if (!DURATION.test(d)) return Number.NaN;
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };
  let total = 0;
  for (const m of d.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * (unit[m[2] ?? ''] ?? 0);
  return total;
}

/** What Thanos needs of the rest of the environment: a bucket, a Prometheus to sit beside, and reachable stores. */
export function refineThanos(
  env: {
    tier: string;
    namespace: string;
    clusterDomain: string;
    components: { thanos: ThanosConfig; prometheus: { enabled: boolean; retention: { time: string } }; alertmanager: { enabled: boolean } };
  },
  ctx: z.RefinementCtx,
): void {
  const t = env.components.thanos;
  if (!t.enabled) return;
  const issue = (path: (string | number)[], message: string): void => {
    ctx.addIssue({ code: 'custom', path: ['components', 'thanos', ...path], message });
  };
  if (!t.objectStorage) issue(['objectStorage'], 'is required when thanos.enabled: the sidecars, the Store Gateway and the Compactor all read the bucket it configures');
  if (!env.components.prometheus.enabled) issue(['enabled'], 'needs components.prometheus.enabled: the sidecar runs beside Prometheus');
  // The Thanos documentation asks for at least three block durations (3 x 2h) kept locally, so a bucket outage loses nothing.
  const retention = seconds(env.components.prometheus.retention.time);
  if (env.components.prometheus.enabled && retention < 6 * 3600) {
    ctx.addIssue({
      code: 'custom',
      path: ['components', 'prometheus', 'retention', 'time'],
      message: `must be at least 6h with Thanos on (three 2-hour blocks, so uploads can catch up after a bucket outage), got "${env.components.prometheus.retention.time}"`,
    });
  }
  if (t.ruler.enabled && !env.components.alertmanager.enabled) issue(['ruler', 'enabled'], 'needs components.alertmanager.enabled: the Ruler sends its alerts there');
  t.stores.forEach((s, i) => {
    const host = s.address.slice(0, s.address.lastIndexOf(':'));
    const inCluster = isIP(host) === 0 && clusterNamespaceOf(host, env.namespace, env.clusterDomain) !== undefined;
    if (!inCluster && !s.egress) issue(['stores', i, 'egress'], `is required: "${host}" is outside the cluster, and Query's NetworkPolicy needs its address blocks`);
  });
  if (env.tier === 'production') {
    for (const name of ['query', 'storeGateway'] as const) {
      if (t[name].replicas < 2) issue([name, 'replicas'], `must be at least 2 in a production environment, got ${t[name].replicas}`);
    }
    if (t.compactor.storage.type !== 'persistent') issue(['compactor', 'storage', 'type'], 'must be "persistent" in a production environment');
    if (t.query.ingress.enabled && !t.query.ingress.tlsSecret) issue(['query', 'ingress', 'tlsSecret'], 'is required for an ingress in a production environment');
  }
}
