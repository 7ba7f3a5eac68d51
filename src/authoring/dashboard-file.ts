/** A compiled dashboard as Grafana provisions it. */
export interface DashboardFile {
  /** Stable dashboard uid; its ConfigMap and output file are named after it. */
  readonly uid: string;
  /** Grafana folder (stakeholder: SRE, developers, business, security). */
  readonly folder: string;
  /** The dashboard JSON. */
  readonly json: string;
}
