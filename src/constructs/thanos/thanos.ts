import type { Construct } from 'constructs';
import { parse } from 'yaml';
import { type Environment, IMAGES, type Image } from '../../config/index.js';
import type { Prometheus } from '../prometheus/prometheus.js';
import { THANOS_PORTS } from './common.js';
import { ThanosCompactor } from './compactor.js';
import { ThanosQuery } from './query.js';
import { ThanosRuler } from './ruler.js';
import { ThanosSidecars, thanosSidecar } from './sidecar.js';
import { ThanosStoreGateway } from './store-gateway.js';

/** Every Thanos component of one stack; the Ruler only when asked for. */
export interface Thanos {
  readonly sidecars: ThanosSidecars;
  readonly query: ThanosQuery;
  readonly storeGateway: ThanosStoreGateway;
  readonly compactor: ThanosCompactor;
  readonly ruler?: ThanosRuler;
}

export interface AddThanosOptions {
  readonly prometheus: Prometheus;
  /** Where the Ruler sends its alerts. */
  readonly alertmanager?: {
    readonly peerAddresses: readonly string[];
    readonly selector: Record<string, string>;
    readonly port: number;
    allowFrom(pods: { readonly selector: Record<string, string> }): void;
  };
  /**
   * Runs the Ruler whatever `thanos.ruler.enabled` says: a sharded Prometheus
   * evaluates no rules, and the Ruler takes them over. @default false
   */
  readonly ruler?: boolean;
  /** The config-reloader sidecar's image (the Ruler's rule files). @default IMAGES.configReloader */
  readonly reloaderImage?: Image;
}

/**
 * Adds Thanos beside the stack's Prometheus: the sidecar in every Prometheus
 * pod, Query over the sidecars, the Store Gateway, the Ruler and the
 * environment's other clusters, the Compactor, and Prometheus scraping each.
 */
export function addThanos(scope: Construct, env: Environment, opts: AddThanosOptions): Thanos {
  const t = env.components.thanos;
  if (!t.objectStorage) throw new Error('components.thanos.objectStorage is required when Thanos is enabled');
  const { prometheus } = opts;
  const image = t.image ?? IMAGES.thanos;
  const common = { namespace: env.namespace, instance: env.name, image, clusterDomain: env.clusterDomain };
  const replicaLabel = 'prometheus_replica';

  prometheus.extendPod(thanosSidecar({ image, resources: t.sidecar.resources, objectStorage: t.objectStorage, prometheusPort: prometheus.port }));
  const sidecars = new ThanosSidecars(prometheus, { clusterDomain: env.clusterDomain });
  const query = new ThanosQuery(scope, 'ThanosQuery', { ...common, settings: t.query, replicaLabels: [replicaLabel] });
  const storeGateway = new ThanosStoreGateway(scope, 'ThanosStoreGateway', { ...common, settings: t.storeGateway, objectStorage: t.objectStorage });
  const compactor = new ThanosCompactor(scope, 'ThanosCompactor', { ...common, settings: t.compactor, objectStorage: t.objectStorage, replicaLabel });
  query.addStore(sidecars);
  query.addStore(storeGateway);

  let ruler: ThanosRuler | undefined;
  if (t.ruler.enabled || opts.ruler) {
    ruler = new ThanosRuler(scope, 'ThanosRuler', {
      ...common,
      settings: t.ruler,
      query,
      ruleConfigMap: 'prometheus-rules',
      objectStorage: t.objectStorage,
      externalLabels: env.components.prometheus.externalLabels,
      replicaLabel,
      ...(opts.reloaderImage ? { reloaderImage: opts.reloaderImage } : {}),
    });
    query.addStore(ruler);
    if (opts.alertmanager) {
      // The same alert relabeling Prometheus applies (the team label); read from its rendered configuration.
      ruler.alertTo(opts.alertmanager, () => alertRelabelConfigs(prometheus.renderConfig()));
    }
  }
  for (const store of t.stores) query.addRemoteStore(store);

  // Prometheus watches every Thanos component; each lets it reach its HTTP port.
  prometheus.scrape(sidecars);
  sidecars.allowFrom(prometheus, [{ port: THANOS_PORTS.http }]);
  for (const c of [query, storeGateway, compactor, ...(ruler ? [ruler] : [])]) {
    prometheus.scrape(c);
    c.allowFrom(prometheus, [{ port: THANOS_PORTS.http }]);
  }
  return { sidecars, query, storeGateway, compactor, ...(ruler ? { ruler } : {}) };
}

function alertRelabelConfigs(prometheusYml: string): readonly Record<string, unknown>[] {
  const config = parse(prometheusYml) as { alerting?: { alert_relabel_configs?: Record<string, unknown>[] } } | null;
  return config?.alerting?.alert_relabel_configs ?? [];
}
