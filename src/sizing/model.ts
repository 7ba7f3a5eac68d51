/**
 * The sizing model behind `obstack size`: from the load a platform expects to
 * the replicas, shards, requests, limits and storage of each component. Every
 * constant names where it comes from; those measured here are checked against
 * a real Prometheus by test/sizing/prometheus-memory.test.ts.
 */

/** The load to size for. Absent parts are not sized. */
export interface SizingInput {
  /** Active series (prometheus_tsdb_head_series summed over every Prometheus that would scrape them). */
  readonly series: number;
  /** Seconds between scrapes. */
  readonly scrapeIntervalSeconds: number;
  /** Seconds of metrics kept. */
  readonly retentionSeconds: number;
  /** Label pairs of a typical series, `__name__`, `job` and `instance` included. @default 10 */
  readonly labelsPerSeries?: number;
  /** Copies of each Prometheus (HA pairs). @default 2 */
  readonly prometheusReplicas?: number;
  /** Raw log volume a day, in GB, and days kept. */
  readonly logs?: { readonly gbPerDay: number; readonly retentionDays: number };
  /** Spans produced a second, the share kept, and days kept. */
  readonly traces?: { readonly spansPerSecond: number; readonly samplingRate: number; readonly retentionDays: number };
  /** Events sent to the ingest service a second, and days its raw events are kept. */
  readonly events?: { readonly perSecond: number; readonly retentionDays: number };
}

/** Requests and limits as Kubernetes quantities, with the figures they come from. */
export interface PodSize {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu: string; readonly memory: string };
}

export interface PrometheusSize {
  readonly shards: number;
  readonly replicasPerShard: number;
  readonly seriesPerShard: number;
  readonly samplesPerSecondPerShard: number;
  /** Expected memory of one Prometheus, in bytes: series in the head, plus up to three hours of samples. */
  readonly memoryBytes: number;
  readonly pod: PodSize;
  /** Blocks for the retention plus the write-ahead log, with headroom for compaction, in bytes per Prometheus. */
  readonly storageBytes: number;
  /** `--storage.tsdb.retention.size`: what the volume may fill before the oldest blocks go. */
  readonly retentionSize: string;
  readonly volume: string;
}

export interface ElasticsearchSize {
  /** Primary data a day, in bytes: logs plus kept spans. */
  readonly bytesPerDay: number;
  /** Data with its replica, for the retention, plus the disk watermark and a margin. */
  readonly totalStorageBytes: number;
  readonly nodes: number;
  readonly volumePerNode: string;
  readonly pod: PodSize;
  readonly heapPercent: number;
}

export interface JaegerSize {
  readonly keptSpansPerSecond: number;
  readonly collectorReplicas: number;
}

export interface IngestSize {
  readonly replicas: number;
  readonly pod: PodSize;
  readonly databaseBytes: number;
  readonly databaseVolume: string;
}

export interface Sizing {
  readonly input: Required<Pick<SizingInput, 'series' | 'scrapeIntervalSeconds' | 'retentionSeconds' | 'labelsPerSeries' | 'prometheusReplicas'>> & Omit<SizingInput, 'series' | 'scrapeIntervalSeconds' | 'retentionSeconds' | 'labelsPerSeries' | 'prometheusReplicas'>;
  readonly prometheus: PrometheusSize;
  readonly elasticsearch?: ElasticsearchSize;
  readonly jaeger?: JaegerSize;
  readonly ingest?: IngestSize;
}

/** The constants of the model, each with its source. */
export const CONSTANTS = {
  /**
   * Head memory per series before Go's garbage collector doubles it: 732 bytes, 32 per label pair,
   * 120 per unique label value (one a series: the label that makes it unique), the name twice
   * (Robust Perception, "How much RAM does Prometheus 2.x need for cardinality and ingestion?").
   */
  bytesPerSeries: 732,
  bytesPerLabelPair: 32,
  bytesPerUniqueValue: 120,
  metricNameLength: 40,
  /** Go's collector lets the heap grow to twice what is live (GOGC=100). */
  garbageFactor: 2,
  /**
   * Measured against Prometheus 2.42 with series scraped every few seconds (scrape cache, parse buffers and
   * churn the formula above leaves out): the heap was 1.3 times the formula's figure.
   */
  measuredFactor: 1.3,
  /** Bytes per sample in blocks: "an average of only 1-2 bytes per sample" (Prometheus docs, Storage); the upper end. */
  bytesPerSample: 2,
  /** Samples kept in the head (and its write-ahead log): up to three hours (head compaction, Robust Perception). */
  headSeconds: 3 * 3600,
  /** Chunks take 192 bytes for 128 of data (Robust Perception). */
  chunkOverhead: 1.5,
  /** Room for compaction and for the write-ahead log beside the blocks (Prometheus docs: plan for headroom). */
  storageHeadroom: 1.3,
  /** Above this, one Prometheus is split into shards by hashmod: a few million active series is where teams outgrow one. */
  maxSeriesPerShard: 2_000_000,
  /** Samples a second per CPU core requested: ingestion, rule evaluation, compaction and room for dashboards' queries. */
  samplesPerCore: 50_000,
  /** Process memory beside the head: Go runtime, rule evaluation, queries. */
  baseMemoryBytes: 512 * 2 ** 20,
  /** Elastic, "Benchmarking and sizing your Elasticsearch cluster for logs and metrics": disk watermark 15% and margin of error 10%. */
  elasticsearchWatermark: 0.15,
  elasticsearchMargin: 0.1,
  /** The same source: memory to data ratio of hot nodes, 1:30. */
  elasticsearchMemoryToData: 30,
  /** Indexed size of a raw log byte (inverted index, doc values, compression): about 1.1. */
  elasticsearchIndexFactor: 1.1,
  /** A stored span in Elasticsearch, with its index entries, in bytes. */
  bytesPerSpan: 700,
  /** Spans a second one Jaeger collector writes to Elasticsearch. */
  spansPerCollector: 10_000,
  /**
   * Events a second one ingest replica (2 cores) takes at half the throughput `npm run bench:ingest` measures
   * (about 9,000 single events a second), leaving room for reads and bursts.
   */
  eventsPerReplica: 4_000,
  /** A raw event row in PostgreSQL with its indexes, in bytes. */
  bytesPerEventRow: 600,
} as const;

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** A memory quantity in Mi or Gi, rounded up. */
export function memoryQuantity(bytes: number): string {
  return bytes >= 4 * GiB ? `${Math.ceil(bytes / GiB)}Gi` : `${Math.ceil(bytes / MiB / 64) * 64}Mi`;
}

/** A volume size in Gi (at least 1), rounded up. */
export function volumeQuantity(bytes: number): string {
  return `${Math.max(1, Math.ceil(bytes / GiB))}Gi`;
}

/** A CPU quantity in millicores, rounded up to 100m. */
export function cpuQuantity(cores: number): string {
  const milli = Math.max(100, Math.ceil((cores * 1000) / 100) * 100);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** Requests at the expected use, limits with room for a burst: memory 1.5x, CPU 2x. */
function pod(cores: number, memoryBytes: number): PodSize {
  return {
    requests: { cpu: cpuQuantity(cores), memory: memoryQuantity(memoryBytes) },
    limits: { cpu: cpuQuantity(cores * 2), memory: memoryQuantity(memoryBytes * 1.5) },
  };
}

/** Head memory of one Prometheus holding `series` with `labels` label pairs, `samplesHeld` samples in all. */
export function prometheusHeadBytes(series: number, labels: number, samplesHeld: number): number {
  const c = CONSTANTS;
  const perSeries = c.bytesPerSeries + c.bytesPerLabelPair * labels + c.bytesPerUniqueValue + 2 * c.metricNameLength;
  const samples = samplesHeld * c.bytesPerSample * c.chunkOverhead;
  return (series * perSeries + samples) * c.garbageFactor * c.measuredFactor;
}

function positive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`);
}

/** Sizes every component the input describes. */
export function size(input: SizingInput): Sizing {
  const c = CONSTANTS;
  positive('series', input.series);
  positive('scrape interval', input.scrapeIntervalSeconds);
  positive('retention', input.retentionSeconds);
  const labels = input.labelsPerSeries ?? 10;
  const replicas = input.prometheusReplicas ?? 2;

  const shards = Math.ceil(input.series / c.maxSeriesPerShard);
  const seriesPerShard = Math.ceil(input.series / shards);
  const samplesPerSecond = seriesPerShard / input.scrapeIntervalSeconds;
  const heldSamples = samplesPerSecond * Math.min(c.headSeconds, input.retentionSeconds);
  const memoryBytes = prometheusHeadBytes(seriesPerShard, labels, heldSamples) + c.baseMemoryBytes;
  const blocks = input.retentionSeconds * samplesPerSecond * c.bytesPerSample;
  const storageBytes = (blocks + heldSamples * c.bytesPerSample * c.chunkOverhead) * c.storageHeadroom;
  const prometheus: PrometheusSize = {
    shards,
    replicasPerShard: replicas,
    seriesPerShard,
    samplesPerSecondPerShard: Math.round(samplesPerSecond),
    memoryBytes: Math.round(memoryBytes),
    pod: pod(Math.max(0.5, samplesPerSecond / c.samplesPerCore), memoryBytes),
    storageBytes: Math.round(storageBytes),
    // Prometheus counts blocks, WAL and head chunks against the size (its units are powers of 1024): the volume less a tenth.
    retentionSize: `${Math.max(1, Math.floor(Math.ceil(storageBytes / GiB) * 0.9))}GB`,
    volume: volumeQuantity(storageBytes),
  };

  let elasticsearch: ElasticsearchSize | undefined;
  let jaeger: JaegerSize | undefined;
  const keptSpans = input.traces ? input.traces.spansPerSecond * input.traces.samplingRate : 0;
  if (input.logs || input.traces) {
    if (input.logs) {
      positive('log GB a day', input.logs.gbPerDay);
      positive('log retention', input.logs.retentionDays);
    }
    if (input.traces) {
      positive('spans a second', input.traces.spansPerSecond);
      positive('trace retention', input.traces.retentionDays);
      if (!(input.traces.samplingRate > 0 && input.traces.samplingRate <= 1)) throw new RangeError(`sampling rate must be in (0, 1], got ${input.traces.samplingRate}`);
    }
    const logBytesPerDay = input.logs ? input.logs.gbPerDay * 1e9 * c.elasticsearchIndexFactor : 0;
    const spanBytesPerDay = keptSpans * 86_400 * c.bytesPerSpan;
    const data = (logBytesPerDay * (input.logs?.retentionDays ?? 0) + spanBytesPerDay * (input.traces?.retentionDays ?? 0)) * 2; // a replica of every shard
    const totalStorageBytes = data * (1 + c.elasticsearchWatermark + c.elasticsearchMargin);
    // Memory per node: 64 GiB at most (heap under 32 GiB at 50%); nodes from the memory-to-data ratio, at least three for a quorum.
    const memoryPerNode = Math.min(64 * GiB, Math.max(4 * GiB, totalStorageBytes / c.elasticsearchMemoryToData / 3));
    const nodes = Math.max(3, Math.ceil(totalStorageBytes / c.elasticsearchMemoryToData / memoryPerNode));
    elasticsearch = {
      bytesPerDay: Math.round(logBytesPerDay + spanBytesPerDay),
      totalStorageBytes: Math.round(totalStorageBytes),
      nodes,
      volumePerNode: volumeQuantity(totalStorageBytes / nodes),
      pod: { requests: { cpu: cpuQuantity(memoryPerNode / GiB / 8), memory: memoryQuantity(memoryPerNode) }, limits: { cpu: cpuQuantity(memoryPerNode / GiB / 4), memory: memoryQuantity(memoryPerNode) } },
      heapPercent: 50,
    };
    if (input.traces) jaeger = { keptSpansPerSecond: Math.round(keptSpans), collectorReplicas: Math.max(2, Math.ceil(keptSpans / c.spansPerCollector)) };
  }

  let ingest: IngestSize | undefined;
  if (input.events) {
    positive('events a second', input.events.perSecond);
    positive('event retention', input.events.retentionDays);
    const databaseBytes = input.events.perSecond * 86_400 * input.events.retentionDays * c.bytesPerEventRow * c.storageHeadroom;
    const replicasNeeded = Math.max(2, Math.ceil(input.events.perSecond / c.eventsPerReplica));
    ingest = { replicas: replicasNeeded, pod: pod(Math.min(2, (input.events.perSecond / replicasNeeded / c.eventsPerReplica) * 2), 512 * MiB), databaseBytes: Math.round(databaseBytes), databaseVolume: volumeQuantity(databaseBytes) };
  }

  return {
    input: { ...input, labelsPerSeries: labels, prometheusReplicas: replicas },
    prometheus,
    ...(elasticsearch ? { elasticsearch } : {}),
    ...(jaeger ? { jaeger } : {}),
    ...(ingest ? { ingest } : {}),
  };
}

/**
 * The part of an environment file the sizes fill in (components.prometheus,
 * components.elasticsearch, components.ingest), to merge into one.
 */
export function environmentFragment(s: Sizing, retention: string): Record<string, unknown> {
  const components: Record<string, unknown> = {
    prometheus: {
      replicas: s.prometheus.replicasPerShard,
      resources: s.prometheus.pod,
      storage: { type: 'persistent', size: s.prometheus.volume },
      retention: { time: retention, size: s.prometheus.retentionSize },
      // Each shard gets the replicas, resources and volume above; one shard is the default and stays unwritten.
      ...(s.prometheus.shards > 1 ? { shards: s.prometheus.shards } : {}),
    },
  };
  if (s.elasticsearch) {
    components['elasticsearch'] = { replicas: s.elasticsearch.nodes, resources: s.elasticsearch.pod, storage: { type: 'persistent', size: s.elasticsearch.volumePerNode }, heapPercent: s.elasticsearch.heapPercent };
  }
  if (s.ingest) components['ingest'] = { replicas: s.ingest.replicas, resources: s.ingest.pod };
  return { components };
}
