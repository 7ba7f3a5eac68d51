import type { SecretRef } from '../../config/index.js';

/** One scrape job for a component of the stack, discovered through its Service's endpoints. */
export interface ScrapeEndpoint {
  /** The `job` label every series of the target carries. */
  readonly jobName: string;
  readonly namespace: string;
  readonly serviceName: string;
  /** Name of the Service port to scrape. */
  readonly portName: string;
  /** @default '/metrics' */
  readonly path?: string;
  /** Use the node name as `instance` (node-exporter), so dashboards show nodes, not pod IPs. */
  readonly instanceFromNode?: boolean;
  /**
   * A Secret key holding the token Prometheus presents as `Authorization: Bearer`;
   * the Prometheus construct must mount it (its `componentScrapeSecrets` prop).
   * @default - no authorization
   */
  readonly bearerToken?: SecretRef;
  /**
   * The target reports on other objects (kube-state-metrics): its series keep
   * their own `namespace`, `pod` and `node` (`honor_labels`), and the job adds
   * none of the exporter pod's, which would otherwise rename theirs to
   * `exported_namespace`, `exported_pod` and `exported_node`.
   * @default false
   */
  readonly honorLabels?: boolean;
}

/** Something Prometheus can scrape: every component of the stack implements it. */
export interface ScrapeTarget {
  readonly scrapeEndpoints: readonly ScrapeEndpoint[];
}
