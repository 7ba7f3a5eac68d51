import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { HttpError } from '../http/errors.js';
import { keyNameProblem } from '../http/schemas.js';

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One sample an application sends to be exposed again on /metrics. */
export interface MetricSample {
  readonly name: string;
  readonly metric_type: MetricType;
  readonly value: number;
  readonly help?: string | undefined;
  readonly labels?: Readonly<Record<string, string>> | undefined;
  readonly buckets?: readonly number[] | undefined;
}

export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Prefixes of the service's own metrics and of the client library's defaults. */
export const RESERVED_PREFIXES = ['http_', 'ingest_', 'process_', 'nodejs_', 'business_kpi', 'up', 'scrape_'];
const RESERVED_SUFFIXES = ['_bucket', '_sum', '_count', '_created', '_info'];

/**
 * Prometheus naming rules for a sample's name and labels; returns the
 * problems, each naming what is wrong.
 */
export function metricNameProblems(s: Pick<MetricSample, 'name' | 'metric_type' | 'labels'>): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  if (!METRIC_NAME.test(s.name)) {
    problems.push({ path: 'name', message: `invalid metric name "${s.name}": must match [a-zA-Z_:][a-zA-Z0-9_:]*` });
  } else {
    if (RESERVED_PREFIXES.some((p) => s.name === p || s.name.startsWith(p)) || s.name.startsWith('__')) {
      problems.push({ path: 'name', message: `metric name "${s.name}" is reserved for the service's own metrics` });
    }
    if (s.metric_type === 'counter' && !s.name.endsWith('_total')) {
      problems.push({ path: 'name', message: `counter name "${s.name}" must end in _total` });
    }
    if (s.metric_type !== 'counter' && s.name.endsWith('_total')) {
      problems.push({ path: 'name', message: `only counters may end in _total, "${s.name}" is a ${s.metric_type}` });
    }
    const suffix = RESERVED_SUFFIXES.find((x) => s.name.endsWith(x));
    if (suffix) problems.push({ path: 'name', message: `metric name "${s.name}" ends in the reserved suffix ${suffix}` });
    // The client library keeps metrics and label values in plain objects keyed by name.
    const builtIn = keyNameProblem(s.name);
    if (builtIn) problems.push({ path: 'name', message: `metric name ${builtIn}` });
  }
  for (const label of Object.keys(s.labels ?? {})) {
    const builtIn = keyNameProblem(label);
    if (builtIn) {
      problems.push({ path: `labels.${label}`, message: `label name ${builtIn}` });
    } else if (!LABEL_NAME.test(label) || label.startsWith('__')) {
      problems.push({ path: `labels.${label}`, message: `invalid label name "${label}": must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __` });
    } else if (s.metric_type === 'histogram' && label === 'le') {
      problems.push({ path: `labels.${label}`, message: 'label "le" is reserved in histograms' });
    }
  }
  return problems;
}

interface Family {
  readonly type: MetricType;
  readonly labelNames: readonly string[];
  readonly series: Set<string>;
  readonly metric: Counter<string> | Gauge<string> | Histogram<string>;
}

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The client library's metric for a sample's name, type, help, labels and buckets. */
function build(s: MetricSample, labelNames: string[], registers: Registry[]): Family['metric'] {
  const common = { name: s.name, help: s.help ?? `${s.name} (sent by an application)`, labelNames, registers };
  if (s.metric_type === 'counter') return new Counter(common);
  if (s.metric_type === 'gauge') return new Gauge(common);
  return new Histogram({ ...common, buckets: s.buckets ? [...s.buckets].sort((a, b) => a - b) : DEFAULT_BUCKETS });
}

/**
 * Applications' metrics, kept in their own registry and exposed on /metrics
 * next to the service's. A metric keeps the type and label names it was first
 * seen with, and may not grow past `maxSeries` label combinations; there may
 * be at most `maxMetrics` metrics. A refused sample changes nothing.
 */
export class CustomMetrics {
  readonly registry = new Registry();
  private readonly families = new Map<string, Family>();

  constructor(
    private readonly limits: { maxSeries: number; maxMetrics: number },
    private readonly onRefused: (reason: string) => void = () => {},
  ) {}

  /** Checks a whole batch against the guards, then applies it; all or nothing. */
  record(samples: readonly MetricSample[]): void {
    this.check(samples);
    for (const s of samples) this.apply(s);
  }

  /** Throws an HttpError when the batch would break a guard; changes nothing. */
  check(samples: readonly MetricSample[]): void {
    const newSeries = new Map<string, Set<string>>();
    const newFamilies = new Map<string, { type: MetricType; labelNames: string[] }>();
    for (const [i, s] of samples.entries()) {
      const labelNames = Object.keys(s.labels ?? {}).sort();
      const existing = this.families.get(s.name) ?? newFamilies.get(s.name);
      const at = samples.length > 1 ? `body.metrics[${i}]` : 'body';
      if (existing) {
        if (existing.type !== s.metric_type) {
          this.refuse('type_conflict', 409, 'metric_conflict', `${at}.metric_type: metric "${s.name}" is a ${existing.type}, got ${s.metric_type}`);
        }
        if (existing.labelNames.join(',') !== labelNames.join(',')) {
          this.refuse('label_conflict', 409, 'metric_conflict', `${at}.labels: metric "${s.name}" has labels [${existing.labelNames.join(', ')}], got [${labelNames.join(', ')}]`);
        }
      } else {
        if (this.families.size + newFamilies.size >= this.limits.maxMetrics) {
          this.refuse('too_many_metrics', 422, 'cardinality_limit', `${at}.name: metric "${s.name}" would exceed the limit of ${this.limits.maxMetrics} metrics`);
        }
        newFamilies.set(s.name, { type: s.metric_type, labelNames });
        this.tryBuild(s, labelNames, at);
      }
      const key = labelNames.map((l) => s.labels?.[l] ?? '').join('\u0000');
      const known = this.families.get(s.name)?.series;
      if (!known?.has(key)) {
        const added = newSeries.get(s.name) ?? new Set<string>();
        added.add(key);
        newSeries.set(s.name, added);
        if ((known?.size ?? 0) + added.size > this.limits.maxSeries) {
          this.refuse('too_many_series', 422, 'cardinality_limit', `${at}.labels: metric "${s.name}" would exceed the limit of ${this.limits.maxSeries} series`);
        }
      }
    }
  }

  /**
   * Builds a new name's metric unregistered and drops it, so that whatever
   * the client library refuses is a 400 naming the sample before anything is
   * stored or audited, never a failure of apply().
   */
  private tryBuild(s: MetricSample, labelNames: string[], at: string): void {
    try {
      build(s, labelNames, []);
    } catch (err) {
      this.refuse('invalid', 400, 'invalid_request', `${at}.name: metric "${s.name}" cannot be created: ${(err as Error).message}`);
    }
  }

  private refuse(reason: string, status: number, code: string, message: string): never {
    this.onRefused(reason);
    throw new HttpError(status, code, message, [{ path: message.split(':')[0] ?? 'body', message: message.slice(message.indexOf(':') + 2) }]);
  }

  private apply(s: MetricSample): void {
    let family = this.families.get(s.name);
    const labelNames = Object.keys(s.labels ?? {}).sort();
    if (!family) {
      family = { type: s.metric_type, labelNames, series: new Set(), metric: build(s, labelNames, [this.registry]) };
      this.families.set(s.name, family);
    }
    family.series.add(labelNames.map((l) => s.labels?.[l] ?? '').join('\u0000'));
    const labels = s.labels ?? {};
    if (family.metric instanceof Counter) family.metric.inc(labels, s.value);
    else if (family.metric instanceof Gauge) family.metric.set(labels, s.value);
    else family.metric.observe(labels, s.value);
  }
}

/** The two gauges of the KPIs, in a registry of their own, and the KPIs they hold. */
class KpiGauges {
  readonly names = new Set<string>();
  readonly registry = new Registry();
  readonly value = new Gauge({ name: 'business_kpi_value', help: 'Latest value of a business KPI.', labelNames: ['project', 'kpi'], registers: [this.registry] });
  readonly target = new Gauge({ name: 'business_kpi_target', help: 'Target of a business KPI.', labelNames: ['project', 'kpi'], registers: [this.registry] });

  set(project: string, kpi: string, value: number, target: number | undefined): void {
    this.names.add(kpi);
    this.value.set({ project, kpi }, value);
    if (target !== undefined) this.target.set({ project, kpi }, target);
  }
}

/**
 * Business KPIs (latest value and target per project and KPI), exposed as
 * `business_kpi_value{project, kpi}` and `business_kpi_target{project, kpi}`,
 * at most `maxKpis` KPIs per project, so that no project can use up
 * another's. `registry` holds every project's; `forProject` one project's
 * only, for a reader that may see no other.
 */
export class BusinessKpis {
  private readonly all = new KpiGauges();
  private readonly projects = new Map<string, KpiGauges>();

  constructor(
    private readonly maxKpis: number,
    private readonly onRefused: (reason: string) => void = () => {},
  ) {}

  /** Every project's KPIs. */
  get registry(): Registry {
    return this.all.registry;
  }

  /** One project's KPIs: an empty registry for a project that sent none. */
  forProject(project: string): Registry {
    return this.projects.get(project)?.registry ?? EMPTY;
  }

  /** Throws when a KPI would be one too many for the project; call before storing anything. */
  check(project: string, names: readonly string[]): void {
    const known = this.projects.get(project)?.names;
    const fresh = new Set(names.filter((n) => !known?.has(n)));
    if ((known?.size ?? 0) + fresh.size > this.maxKpis) {
      this.onRefused('too_many_kpis');
      throw new HttpError(422, 'cardinality_limit', `body.metric_name: would exceed the limit of ${this.maxKpis} business metrics of a project`, [
        { path: 'body.metric_name', message: `would exceed the limit of ${this.maxKpis} business metrics of a project` },
      ]);
    }
  }

  set(project: string, name: string, value: number, target: number | undefined): void {
    let own = this.projects.get(project);
    if (!own) {
      own = new KpiGauges();
      this.projects.set(project, own);
    }
    own.set(project, name, value, target);
    this.all.set(project, name, value, target);
  }
}

const EMPTY = new Registry();
