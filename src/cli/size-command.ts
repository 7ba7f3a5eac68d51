import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { durationSeconds, isDuration } from '../authoring/types.js';
import { CONSTANTS, environmentFragment, size, type Sizing, type SizingInput } from '../sizing/model.js';

export const SIZE_USAGE = `  size     replicas, shards, requests/limits and storage per component for an
           expected load (formulas and their sources: README "Sizing")
           --series N              active series (required)
           --scrape-interval D     default 30s
           --retention D           metrics kept (default 15d)
           --labels N              label pairs of a typical series (default 10)
           --replicas N            copies of each Prometheus (default 2)
           --log-gb-per-day N      raw logs a day, with --log-retention D (default 7d)
           --spans-per-second N    spans produced, with --sampling R (default 0.1)
                                   and --trace-retention D (default 7d)
           --events-per-second N   events sent to the ingest service, with
                                   --event-retention D (default 90d)
           --json                  the sizes and the environment fragment as JSON
`;

/** A user's mistake in the options: the CLI prints it without a stack trace. */
export class SizeError extends Error {
  readonly code = 'E_CONFIG';
}

function number(name: string, value: string | undefined, opts: { integer?: boolean } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.replace(/_/g, ''));
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || (opts.integer && !Number.isInteger(n))) {
    throw new SizeError(`--${name} must be a positive ${opts.integer ? 'whole number' : 'number'}, got "${value}"`);
  }
  return n;
}

function seconds(name: string, value: string): number {
  if (!isDuration(value) || durationSeconds(value) <= 0) throw new SizeError(`--${name} must be a Prometheus duration such as "30s" or "15d", got "${value}"`);
  return durationSeconds(value);
}

const OPTIONS = {
  series: { type: 'string' },
  'scrape-interval': { type: 'string' },
  retention: { type: 'string' },
  labels: { type: 'string' },
  replicas: { type: 'string' },
  'log-gb-per-day': { type: 'string' },
  'log-retention': { type: 'string' },
  'spans-per-second': { type: 'string' },
  sampling: { type: 'string' },
  'trace-retention': { type: 'string' },
  'events-per-second': { type: 'string' },
  'event-retention': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The options as a sizing input; refuses what is missing or malformed, naming the option. */
export function sizingInput(args: string[]): { input: SizingInput; retention: string; json: boolean } | 'help' {
  const { values } = parseArgs({ args, options: OPTIONS, strict: true });
  if (values.help) return 'help';
  const series = number('series', values.series, { integer: true });
  if (series === undefined) throw new SizeError('--series is required: the active series to plan for (prometheus_tsdb_head_series of today, times the growth you expect)');
  const retention = values.retention ?? '15d';
  const days = (name: string, value: string) => seconds(name, value) / 86_400;
  const logs = number('log-gb-per-day', values['log-gb-per-day']);
  const spans = number('spans-per-second', values['spans-per-second']);
  const events = number('events-per-second', values['events-per-second']);
  const sampling = number('sampling', values.sampling) ?? 0.1;
  if (sampling > 1) throw new SizeError(`--sampling must be a share of traces between 0 and 1, got "${values.sampling}"`);
  for (const [option, needs] of [['log-retention', logs], ['sampling', spans], ['trace-retention', spans], ['event-retention', events]] as const) {
    const given = values[option];
    if (given !== undefined && needs === undefined) throw new SizeError(`--${option} applies only with --${option === 'log-retention' ? 'log-gb-per-day' : option === 'event-retention' ? 'events-per-second' : 'spans-per-second'}`);
  }
  const input: SizingInput = {
    series,
    scrapeIntervalSeconds: seconds('scrape-interval', values['scrape-interval'] ?? '30s'),
    retentionSeconds: seconds('retention', retention),
    ...(values.labels !== undefined ? { labelsPerSeries: number('labels', values.labels, { integer: true })! } : {}),
    ...(values.replicas !== undefined ? { prometheusReplicas: number('replicas', values.replicas, { integer: true })! } : {}),
    ...(logs !== undefined ? { logs: { gbPerDay: logs, retentionDays: days('log-retention', values['log-retention'] ?? '7d') } } : {}),
    ...(spans !== undefined ? { traces: { spansPerSecond: spans, samplingRate: sampling, retentionDays: days('trace-retention', values['trace-retention'] ?? '7d') } } : {}),
    ...(events !== undefined ? { events: { perSecond: events, retentionDays: days('event-retention', values['event-retention'] ?? '90d') } } : {}),
  };
  return { input, retention, json: values.json === true };
}

const GB = (bytes: number): string => `${(bytes / 1e9).toFixed(bytes < 10e9 ? 1 : 0)} GB`;

/** The sizes for people: one block per component, then the environment fragment. */
export function formatSizing(s: Sizing, retention: string): string {
  const p = s.prometheus;
  const lines = [
    `Prometheus: ${p.shards} shard${p.shards === 1 ? '' : 's'} x ${p.replicasPerShard} replicas, ${p.seriesPerShard.toLocaleString('en')} series and ${p.samplesPerSecondPerShard.toLocaleString('en')} samples/s each`,
    `  memory ${GB(p.memoryBytes)} expected: requests ${p.pod.requests.cpu} CPU / ${p.pod.requests.memory}, limits ${p.pod.limits.cpu} / ${p.pod.limits.memory}`,
    `  storage ${GB(p.storageBytes)} per replica: volume ${p.volume}, retention.size ${p.retentionSize}`,
  ];
  if (p.shards > 1) lines.push(`  more than ${CONSTANTS.maxSeriesPerShard.toLocaleString('en')} series: shard by hashmod over targets; the environment fragment sizes one shard`);
  if (s.elasticsearch) {
    const e = s.elasticsearch;
    lines.push(
      `Elasticsearch: ${e.nodes} nodes, ${GB(e.bytesPerDay)} a day (logs and kept spans), ${GB(e.totalStorageBytes)} with a replica, watermark and margin`,
      `  per node: volume ${e.volumePerNode}, requests ${e.pod.requests.cpu} CPU / ${e.pod.requests.memory}, limits ${e.pod.limits.cpu} / ${e.pod.limits.memory}, heap ${e.heapPercent}%`,
    );
  }
  if (s.jaeger) lines.push(`Jaeger: ${s.jaeger.keptSpansPerSecond.toLocaleString('en')} kept spans/s, ${s.jaeger.collectorReplicas} collectors`);
  if (s.ingest) {
    const i = s.ingest;
    lines.push(`Ingest service: ${i.replicas} replicas, requests ${i.pod.requests.cpu} CPU / ${i.pod.requests.memory}; its PostgreSQL ${GB(i.databaseBytes)}, volume ${i.databaseVolume}`);
  }
  lines.push('', 'In an environment file:', '', stringify(environmentFragment(s, retention)).trimEnd());
  return `${lines.join('\n')}\n`;
}

/** `obstack size`: prints the sizes (or JSON), 0; a wrong option is an error naming it. */
export function sizeCommand(args: string[]): number {
  const parsed = sizingInput(args);
  if (parsed === 'help') {
    process.stdout.write(`usage: obstack size --series N [options]\n\n${SIZE_USAGE}`);
    return 0;
  }
  const sizing = size(parsed.input);
  if (parsed.json) process.stdout.write(`${JSON.stringify({ ...sizing, environment: environmentFragment(sizing, parsed.retention) }, null, 2)}\n`);
  else process.stdout.write(formatSizing(sizing, parsed.retention));
  return 0;
}
