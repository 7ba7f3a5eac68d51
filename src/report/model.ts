import { parse } from 'yaml';
import type { KubernetesObject, SynthesizedEnvironment } from '../cli/synthesize.js';
import { parseQuantity } from './quantities.js';
import { type Delivery, deliveriesFor, type ReceiverSummary, receiversOf, SEVERITIES, type Severity } from './routing.js';

/** The signals the diagram colours its flows by. */
export type Signal = 'metrics' | 'alerts' | 'logs' | 'traces' | 'analytics';

/** A box of the diagram: a component of the stack, the applications, or an Alertmanager receiver. */
export interface DiagramNode {
  readonly id: string;
  readonly label: string;
  /** A second line: the workloads behind the box, or a receiver's channels. */
  readonly detail: string;
  readonly kind: 'component' | 'apps' | 'receiver';
}

/** One arrow: data moving from one box to another. */
export interface Flow {
  readonly from: string;
  readonly to: string;
  readonly signal: Signal;
  /** What the arrow means ("scrape", "query", "ship"), and where it was read from. */
  readonly label: string;
  readonly evidence: string;
}

/** One Deployment, StatefulSet or DaemonSet, with what it asks of the cluster. */
export interface WorkloadRow {
  readonly name: string;
  readonly kind: string;
  readonly node: string | undefined;
  /** Pods: spec.replicas, or undefined for a DaemonSet (one per node). */
  readonly replicas: number | undefined;
  readonly maxReplicas: number | undefined;
  /** Per pod, summed over its containers: cores and bytes. */
  readonly requests: { readonly cpu: number; readonly memory: number };
  readonly limits: { readonly cpu: number; readonly memory: number };
  /** Per pod: volume claim templates. */
  readonly storage: readonly { readonly name: string; readonly size: string; readonly bytes: number; readonly storageClass: string | undefined }[];
  readonly retention: string | undefined;
}

export interface Footprint {
  /** Deployments and StatefulSets, times their replicas. */
  readonly requests: { readonly cpu: number; readonly memory: number };
  readonly limits: { readonly cpu: number; readonly memory: number };
  /** DaemonSets: per node. */
  readonly perNode: { readonly requests: { readonly cpu: number; readonly memory: number }; readonly limits: { readonly cpu: number; readonly memory: number }; readonly workloads: readonly string[] };
  /** Persistent volumes: claim templates times replicas, plus standalone claims. */
  readonly storageBytes: number;
  readonly volumes: number;
}

export interface AlertRow {
  readonly alert: string;
  readonly severity: string;
  readonly service: string;
  readonly team: string | undefined;
  readonly summary: string;
  readonly for: string | undefined;
  readonly file: string;
}

export interface SeveritySection {
  readonly severity: Severity | 'other';
  readonly deliveries: readonly Delivery[];
  readonly alerts: readonly AlertRow[];
}

export interface DashboardSummary {
  readonly uid: string;
  readonly title: string;
  readonly folder: string;
  /** Panels in order; a row's title is marked as such. */
  readonly panels: readonly { readonly title: string; readonly row: boolean }[];
}

export interface ReportModel {
  readonly name: string;
  readonly tier: string;
  readonly namespace: string;
  readonly nodes: readonly DiagramNode[];
  readonly flows: readonly Flow[];
  readonly workloads: readonly WorkloadRow[];
  readonly footprint: Footprint;
  readonly receivers: readonly ReceiverSummary[];
  readonly severities: readonly SeveritySection[];
  readonly teams: readonly { readonly name: string; readonly namespaces: readonly string[]; readonly services: readonly string[] }[];
  readonly dashboards: readonly DashboardSummary[];
  readonly externalLabels: Readonly<Record<string, string>>;
  readonly runbookBaseUrl: string;
}

/** The components a diagram knows, in the order they are listed. */
export const COMPONENTS: readonly { readonly id: string; readonly label: string }[] = [
  { id: 'node-exporter', label: 'node-exporter' },
  { id: 'kube-state-metrics', label: 'kube-state-metrics' },
  { id: 'prometheus', label: 'Prometheus' },
  { id: 'alertmanager', label: 'Alertmanager' },
  { id: 'grafana', label: 'Grafana' },
  { id: 'filebeat', label: 'Filebeat' },
  { id: 'logstash', label: 'Logstash' },
  { id: 'elasticsearch', label: 'Elasticsearch' },
  { id: 'kibana', label: 'Kibana' },
  { id: 'jaeger', label: 'Jaeger' },
  { id: 'ingest', label: 'ingest service' },
  { id: 'postgres', label: 'PostgreSQL' },
];

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/** The diagram box an object belongs to, from its app.kubernetes.io/name; undefined for one-off jobs and unknown names. */
export function nodeOfName(name: string | undefined): string | undefined {
  if (!name || name.endsWith('-setup')) return undefined;
  if (name === 'ingest-postgres') return 'postgres';
  // The exporter is how Prometheus sees Elasticsearch; the collector, query and index cleaner are all Jaeger.
  if (name === 'elasticsearch-exporter') return 'elasticsearch';
  if (name === 'jaeger' || name.startsWith('jaeger-')) return 'jaeger';
  return COMPONENTS.some((c) => c.id === name) ? name : undefined;
}

const appName = (o: KubernetesObject): string | undefined => o.metadata.labels?.['app.kubernetes.io/name'];

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Reads what the report shows out of one synthesized environment. */
export function buildReportModel(result: SynthesizedEnvironment): ReportModel {
  const env = result.environment;
  const workloads = workloadRows(result);
  const present = new Set(workloads.map((w) => w.node).filter((n): n is string => n !== undefined));
  const connections = networkConnections(result.objects);
  const receivers = receiversOf(result.files.get('alertmanager.yml'));
  const flows = deriveFlows(connections, present, receivers, result);
  const nodes: DiagramNode[] = [];
  if (flows.some((f) => f.from === 'apps')) nodes.push({ id: 'apps', label: 'applications', detail: 'any namespace', kind: 'apps' });
  for (const c of COMPONENTS) {
    if (!present.has(c.id)) continue;
    nodes.push({ id: c.id, label: c.label, detail: detailOf(workloads.filter((w) => w.node === c.id)), kind: 'component' });
  }
  for (const r of receivers) {
    if (flows.some((f) => f.to === `receiver:${r.name}`)) nodes.push({ id: `receiver:${r.name}`, label: r.name, detail: r.channels.join(', '), kind: 'receiver' });
  }
  return {
    name: env.name,
    tier: env.tier,
    namespace: env.namespace,
    nodes,
    flows,
    workloads,
    footprint: footprintOf(workloads, result.objects),
    receivers,
    severities: severitySections(result),
    teams: Object.entries(env.teams).map(([name, t]) => ({ name, namespaces: t.namespaces, services: t.services })),
    dashboards: dashboardSummaries(result),
    externalLabels: env.components.prometheus.enabled ? env.components.prometheus.externalLabels : {},
    runbookBaseUrl: env.alerting.runbookBaseUrl,
  };
}

function detailOf(all: readonly WorkloadRow[]): string {
  // The exporter is a helper of Elasticsearch: the box tells Elasticsearch's own pods.
  const rows = all.length > 1 ? all.filter((w) => w.name !== 'elasticsearch-exporter') : all;
  return rows
    .map((w) => {
      const count = w.replicas === undefined ? 'per node' : `× ${w.replicas}${w.maxReplicas !== undefined ? `–${w.maxReplicas}` : ''}`;
      const prefix = rows.length > 1 ? `${w.name.replace(/^jaeger-/, '')} ` : `${w.kind} `;
      return `${prefix}${count}`;
    })
    .join(', ');
}

function retentionOf(name: string, result: SynthesizedEnvironment): string | undefined {
  const env = result.environment;
  const c = env.components;
  switch (nodeOfName(name)) {
    case 'prometheus':
      return `${c.prometheus.retention.time}${c.prometheus.retention.size ? ` or ${c.prometheus.retention.size}` : ''}`;
    case 'alertmanager':
      return `${c.alertmanager.retention} (silences, notification state)`;
    case 'elasticsearch': {
      if (name !== 'elasticsearch') return undefined;
      const traces = c.jaeger.enabled && c.jaeger.storage === 'elasticsearch' ? `, traces ${env.traces.retentionDays}d` : '';
      return `logs ${env.logs.retentionDays}d, audit ${env.logs.auditRetentionDays}d${traces}`;
    }
    case 'jaeger':
      return c.jaeger.storage === 'elasticsearch' ? `traces ${env.traces.retentionDays}d (in Elasticsearch)` : `last ${c.jaeger.maxTraces} traces in memory`;
    case 'ingest':
    case 'postgres':
      return `raw events ${c.ingest.retentionDays}d`;
    default:
      return undefined;
  }
}

function sumContainers(containers: unknown[], which: 'requests' | 'limits'): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const c of containers) {
    const r = obj(obj(obj(c).resources)[which]);
    cpu += parseQuantity(r.cpu) ?? 0;
    memory += parseQuantity(r.memory) ?? 0;
  }
  return { cpu, memory };
}

function workloadRows(result: SynthesizedEnvironment): WorkloadRow[] {
  const hpaMax = new Map<string, number>();
  for (const o of result.objects) {
    if (o.kind !== 'HorizontalPodAutoscaler') continue;
    const spec = obj(o.spec);
    const target = obj(spec.scaleTargetRef);
    if (typeof target.name === 'string' && typeof spec.maxReplicas === 'number') hpaMax.set(`${String(target.kind)}/${target.name}`, spec.maxReplicas);
  }
  return result.objects
    .filter((o) => WORKLOAD_KINDS.has(o.kind))
    .map((o) => {
      const spec = obj(o.spec);
      const pod = obj(obj(spec.template).spec);
      const containers = arr(pod.containers);
      const storage = arr(spec.volumeClaimTemplates).map((t) => {
        const claim = obj(t);
        const size = String(obj(obj(obj(claim.spec).resources).requests).storage ?? '');
        const storageClass = obj(claim.spec).storageClassName;
        return { name: String(obj(claim.metadata).name ?? ''), size, bytes: parseQuantity(size) ?? 0, storageClass: typeof storageClass === 'string' ? storageClass : undefined };
      });
      return {
        name: o.metadata.name,
        kind: o.kind,
        node: nodeOfName(appName(o)),
        replicas: o.kind === 'DaemonSet' ? undefined : typeof spec.replicas === 'number' ? spec.replicas : 1,
        maxReplicas: hpaMax.get(`${o.kind}/${o.metadata.name}`),
        requests: sumContainers(containers, 'requests'),
        limits: sumContainers(containers, 'limits'),
        storage,
        retention: retentionOf(appName(o) ?? o.metadata.name, result),
      };
    });
}

function footprintOf(workloads: readonly WorkloadRow[], objects: readonly KubernetesObject[]): Footprint {
  const requests = { cpu: 0, memory: 0 };
  const limits = { cpu: 0, memory: 0 };
  const perNode = { requests: { cpu: 0, memory: 0 }, limits: { cpu: 0, memory: 0 }, workloads: [] as string[] };
  let storageBytes = 0;
  let volumes = 0;
  for (const w of workloads) {
    if (w.replicas === undefined) {
      perNode.requests.cpu += w.requests.cpu;
      perNode.requests.memory += w.requests.memory;
      perNode.limits.cpu += w.limits.cpu;
      perNode.limits.memory += w.limits.memory;
      perNode.workloads.push(w.name);
      continue;
    }
    requests.cpu += w.requests.cpu * w.replicas;
    requests.memory += w.requests.memory * w.replicas;
    limits.cpu += w.limits.cpu * w.replicas;
    limits.memory += w.limits.memory * w.replicas;
    for (const s of w.storage) {
      storageBytes += s.bytes * w.replicas;
      volumes += w.replicas;
    }
  }
  for (const o of objects) {
    if (o.kind !== 'PersistentVolumeClaim') continue;
    storageBytes += parseQuantity(obj(obj(obj(o.spec).resources).requests).storage) ?? 0;
    volumes += 1;
  }
  return { requests, limits, perNode, storageBytes, volumes };
}

/** "a>b" for every pair of boxes a NetworkPolicy lets talk (a opens the connection); "apps>b" when b admits every namespace. */
function networkConnections(objects: readonly KubernetesObject[]): Set<string> {
  const out = new Set<string>();
  const named = (peer: unknown): string | undefined => nodeOfName(obj(obj(obj(peer).podSelector).matchLabels)['app.kubernetes.io/name'] as string | undefined);
  for (const o of objects) {
    if (o.kind !== 'NetworkPolicy') continue;
    const spec = obj(o.spec);
    const self = nodeOfName(obj(obj(spec.podSelector).matchLabels)['app.kubernetes.io/name'] as string | undefined);
    if (!self) continue;
    for (const rule of arr(spec.egress)) {
      for (const peer of arr(obj(rule).to)) {
        const other = named(peer);
        if (other && other !== self) out.add(`${self}>${other}`);
      }
    }
    for (const rule of arr(spec.ingress)) {
      for (const peer of arr(obj(rule).from)) {
        const p = obj(peer);
        const other = named(p);
        if (other && other !== self) out.add(`${other}>${self}`);
        // An empty namespace selector admits every namespace: that is how applications reach the stack.
        if (p.namespaceSelector !== undefined && Object.keys(obj(p.namespaceSelector)).length === 0 && p.podSelector === undefined) out.add(`apps>${self}`);
      }
    }
  }
  return out;
}

/** What a connection carries, drawn in the direction the data moves. */
function flowOf(from: string, to: string): Omit<Flow, 'evidence'> | undefined {
  // Prometheus to Alertmanager is both: alerts are sent there (added from prometheus.yml's alerting) and Alertmanager is scraped.
  if (from === 'prometheus') return { from: to, to: from, signal: 'metrics', label: 'scrape' };
  if (from === 'grafana' || from === 'kibana') {
    const signal: Record<string, Signal> = { prometheus: 'metrics', alertmanager: 'alerts', elasticsearch: 'logs', jaeger: 'traces', postgres: 'analytics' };
    const s = signal[to];
    return s ? { from: to, to: from, signal: s, label: 'query' } : undefined;
  }
  if (from === 'filebeat' && to === 'logstash') return { from, to, signal: 'logs', label: 'ship' };
  if (from === 'logstash' && to === 'elasticsearch') return { from, to, signal: 'logs', label: 'index' };
  if (from === 'jaeger' && to === 'elasticsearch') return { from, to, signal: 'traces', label: 'store spans' };
  if (to === 'jaeger') return { from, to, signal: 'traces', label: 'OTLP spans' };
  if (from === 'ingest' && to === 'postgres') return { from, to, signal: 'analytics', label: 'store events' };
  if (from === 'apps' && to === 'ingest') return { from, to, signal: 'analytics', label: 'events' };
  if (from === 'alertmanager' && to === 'ingest') return undefined; // the history receiver, drawn as a receiver
  return undefined;
}

function deriveFlows(connections: ReadonlySet<string>, present: ReadonlySet<string>, receivers: readonly ReceiverSummary[], result: SynthesizedEnvironment): Flow[] {
  const flows: Flow[] = [];
  const seen = new Set<string>();
  const prometheusYml = result.files.get('prometheus.yml');
  const scrapeJobs = new Set(arr(obj(prometheusYml ? parse(prometheusYml) : {}).scrape_configs).map((j) => String(obj(j).job_name)));
  for (const key of [...connections].sort()) {
    const [from = '', to = ''] = key.split('>');
    if ((from !== 'apps' && !present.has(from)) || !present.has(to)) continue;
    const flow = flowOf(from, to);
    if (!flow) continue;
    const id = `${flow.from}>${flow.to}>${flow.signal}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const evidence = flow.label === 'scrape'
      ? `NetworkPolicy of ${flow.from} admits Prometheus${[...scrapeJobs].some((j) => nodeOfName(j.replace(/^obstack-/, '')) === flow.from) ? '; prometheus.yml has its scrape job' : ''}`
      : flow.from === 'apps'
        ? `NetworkPolicy of ${flow.to} admits every namespace`
        : `NetworkPolicy between ${from} and ${to}`;
    flows.push({ ...flow, evidence });
  }
  const alertTargets = obj(prometheusYml ? parse(prometheusYml) : {}).alerting;
  if (present.has('prometheus') && present.has('alertmanager') && alertTargets !== undefined && !flows.some((f) => f.from === 'prometheus' && f.to === 'alertmanager')) {
    flows.push({ from: 'prometheus', to: 'alertmanager', signal: 'alerts', label: 'alerts', evidence: 'prometheus.yml alerting' });
  }
  if (present.has('alertmanager')) {
    for (const r of receivers) {
      if (r.channels.length === 0) continue;
      flows.push({ from: 'alertmanager', to: `receiver:${r.name}`, signal: 'alerts', label: 'notify', evidence: `alertmanager.yml receiver ${r.name}` });
    }
  }
  const order = (f: Flow): string => `${['metrics', 'alerts', 'logs', 'traces', 'analytics'].indexOf(f.signal)}${f.from}>${f.to}`;
  return flows.sort((a, b) => order(a).localeCompare(order(b)));
}

interface RuleFile {
  readonly groups?: readonly { readonly rules?: readonly Json[] }[];
}

function severitySections(result: SynthesizedEnvironment): SeveritySection[] {
  const alerts: AlertRow[] = [];
  for (const [path, text] of [...result.files.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (!path.startsWith('rules/')) continue;
    const file = parse(text) as RuleFile | null;
    for (const g of file?.groups ?? []) {
      for (const r of g.rules ?? []) {
        if (typeof r.alert !== 'string') continue;
        const labels = obj(r.labels);
        const annotations = obj(r.annotations);
        alerts.push({
          alert: r.alert,
          severity: String(labels.severity ?? ''),
          service: String(labels.service ?? ''),
          team: typeof labels.team === 'string' ? labels.team : undefined,
          summary: String(annotations.summary ?? ''),
          for: typeof r.for === 'string' ? r.for : undefined,
          file: path.slice('rules/'.length),
        });
      }
    }
  }
  const am = result.files.get('alertmanager.yml');
  const sections: SeveritySection[] = SEVERITIES.map((severity) => ({ severity, deliveries: deliveriesFor(am, severity), alerts: alerts.filter((a) => a.severity === severity) }));
  const other = alerts.filter((a) => !(SEVERITIES as readonly string[]).includes(a.severity));
  if (other.length > 0) sections.push({ severity: 'other', deliveries: [], alerts: other });
  return sections;
}

function dashboardSummaries(result: SynthesizedEnvironment): DashboardSummary[] {
  const provisioned = result.stack.grafana?.provisionedDashboards ?? [];
  return provisioned.map((d) => {
    let parsed: Json = {};
    try {
      parsed = obj(JSON.parse(d.json));
    } catch {
      // A dashboard that is not JSON is reported by the checks; here it only has no panels.
    }
    const panels: { title: string; row: boolean }[] = [];
    const visit = (list: unknown): void => {
      for (const p of arr(list)) {
        const panel = obj(p);
        panels.push({ title: String(panel.title ?? ''), row: panel.type === 'row' });
        visit(panel.panels);
      }
    };
    visit(parsed.panels);
    return { uid: d.uid, title: String(parsed.title ?? d.uid), folder: d.folder, panels };
  });
}
