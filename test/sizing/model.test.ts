import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseEnvironmentText } from '../../src/config/index.js';
import { synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { checkSynthesized } from '../../src/cli/check.js';
import { stackRuleFiles } from '../../rules/index.js';
import { stackDashboards } from '../../dashboards/index.js';
import { cpuQuantity, CONSTANTS, environmentFragment, memoryQuantity, size, volumeQuantity } from '../../src/sizing/model.js';
import { obstack } from '../cli/run-captured.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DAY = 86_400;
const GiB = 2 ** 30;

/** Kubernetes quantities back to numbers, to compare sizes with the figures they come from. */
const bytesOf = (q: string): number => Number(q.replace(/(Mi|Gi)$/, '')) * (q.endsWith('Gi') ? GiB : 2 ** 20);

describe('the sizing model', () => {
  const base = { series: 1_000_000, scrapeIntervalSeconds: 30, retentionSeconds: 15 * DAY };

  it('sizes Prometheus storage as retention x samples/s x bytes per sample, with headroom', () => {
    const s = size(base);
    expect(s.prometheus.samplesPerSecondPerShard).toBe(33_333);
    const blocks = 15 * DAY * (1_000_000 / 30) * CONSTANTS.bytesPerSample;
    expect(s.prometheus.storageBytes).toBeGreaterThan(blocks);
    expect(s.prometheus.storageBytes).toBeLessThan(blocks * 1.5);
    // Twice the retention is about twice the storage; twice the interval, half.
    expect(size({ ...base, retentionSeconds: 30 * DAY }).prometheus.storageBytes / s.prometheus.storageBytes).toBeCloseTo(2, 1);
    expect(size({ ...base, scrapeIntervalSeconds: 60 }).prometheus.storageBytes / s.prometheus.storageBytes).toBeCloseTo(0.5, 1);
    // The volume holds the storage; retention.size (GiB, as Prometheus counts) leaves a tenth of it free.
    expect(bytesOf(s.prometheus.volume)).toBeGreaterThanOrEqual(s.prometheus.storageBytes);
    expect(Number(s.prometheus.retentionSize.replace('GB', '')) * GiB).toBeLessThan(bytesOf(s.prometheus.volume));
  });

  it('grows memory with series and labels, and requests at least the expected memory', () => {
    const one = size(base);
    const two = size({ ...base, series: 1_800_000 });
    expect(two.prometheus.memoryBytes).toBeGreaterThan(one.prometheus.memoryBytes * 1.6);
    expect(size({ ...base, labelsPerSeries: 20 }).prometheus.memoryBytes).toBeGreaterThan(one.prometheus.memoryBytes);
    expect(bytesOf(one.prometheus.pod.requests.memory)).toBeGreaterThanOrEqual(one.prometheus.memoryBytes);
    expect(bytesOf(one.prometheus.pod.limits.memory)).toBeGreaterThan(bytesOf(one.prometheus.pod.requests.memory));
  });

  it('shards above the series one Prometheus should hold, each shard under the limit, replicas per shard', () => {
    expect(size(base).prometheus.shards).toBe(1);
    const big = size({ ...base, series: 5_000_000, prometheusReplicas: 3 });
    expect(big.prometheus.shards).toBe(3);
    expect(big.prometheus.seriesPerShard).toBeLessThanOrEqual(CONSTANTS.maxSeriesPerShard);
    expect(big.prometheus.seriesPerShard * big.prometheus.shards).toBeGreaterThanOrEqual(5_000_000);
    expect(big.prometheus.replicasPerShard).toBe(3);
  });

  it('sizes Elasticsearch from logs and kept spans with a replica, the watermark and a margin, at least three nodes', () => {
    const s = size({ ...base, logs: { gbPerDay: 50, retentionDays: 30 }, traces: { spansPerSecond: 20_000, samplingRate: 0.1, retentionDays: 7 } });
    const e = s.elasticsearch!;
    const logs = 50e9 * CONSTANTS.elasticsearchIndexFactor * 30;
    const spans = 2000 * DAY * CONSTANTS.bytesPerSpan * 7;
    expect(e.totalStorageBytes).toBeCloseTo((logs + spans) * 2 * 1.25, -6);
    expect(e.nodes).toBeGreaterThanOrEqual(3);
    expect(bytesOf(e.volumePerNode) * e.nodes).toBeGreaterThanOrEqual(e.totalStorageBytes);
    expect(s.jaeger).toEqual({ keptSpansPerSecond: 2000, collectorReplicas: 2 });
    // Without logs or traces nothing of theirs is sized.
    expect(size(base).elasticsearch).toBeUndefined();
  });

  it('gives the ingest service replicas for its events, never fewer than two', () => {
    expect(size({ ...base, events: { perSecond: 100, retentionDays: 90 } }).ingest!.replicas).toBe(2);
    expect(size({ ...base, events: { perSecond: 30_000, retentionDays: 90 } }).ingest!.replicas).toBe(Math.ceil(30_000 / CONSTANTS.eventsPerReplica));
  });

  it('refuses a load that is not a positive number, naming it', () => {
    expect(() => size({ ...base, series: 0 })).toThrow(/series must be a positive number/);
    expect(() => size({ ...base, traces: { spansPerSecond: 10, samplingRate: 2, retentionDays: 7 } })).toThrow(/sampling rate/);
  });

  it('writes Kubernetes quantities rounded up', () => {
    expect(memoryQuantity(100 * 2 ** 20)).toBe('128Mi');
    expect(memoryQuantity(5.2 * GiB)).toBe('6Gi');
    expect(volumeQuantity(10)).toBe('1Gi');
    expect(cpuQuantity(0.33)).toBe('400m');
    expect(cpuQuantity(2)).toBe('2');
  });

  it("gives an environment fragment that, merged into the prod example, synthesizes and passes every in-process check", () => {
    const s = size({ ...base, logs: { gbPerDay: 20, retentionDays: 30 }, events: { perSecond: 500, retentionDays: 90 } });
    const prod = parse(readFileSync(join(ROOT, 'examples', 'environments', 'prod.yaml'), 'utf8')) as { components: Record<string, Record<string, unknown>> };
    const fragment = environmentFragment(s, '15d') as { components: Record<string, Record<string, unknown>> };
    for (const [name, sizes] of Object.entries(fragment.components)) prod.components[name] = { ...prod.components[name], ...sizes };
    const env = parseEnvironmentText(stringify(prod), 'prod.yaml');
    expect(env.components.prometheus.storage).toEqual({ type: 'persistent', size: s.prometheus.volume });
    const result = synthesizeEnvironment(env, { ruleFiles: stackRuleFiles(env), dashboards: stackDashboards(env) });
    expect(checkSynthesized(result, { tools: false })).toEqual([]);
    const prometheus = result.objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'prometheus') as unknown as { spec: { template: { spec: { containers: { args?: string[]; resources: unknown }[] } } } };
    const container = prometheus.spec.template.spec.containers.find((c) => c.args?.some((a) => a.startsWith('--storage.tsdb.retention.size')))!;
    expect(container.args).toContain(`--storage.tsdb.retention.size=${s.prometheus.retentionSize}`);
    expect(container.resources).toEqual(s.prometheus.pod);
  });
});

describe('obstack size', () => {
  it('prints the sizes and the fragment; --json gives both as data', async () => {
    const text = await obstack(['size', '--series', '1000000', '--scrape-interval', '30s', '--retention', '15d']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Prometheus: 1 shard x 2 replicas, 1,000,000 series and 33,333 samples/s each');
    expect(text.stdout).toContain('In an environment file:');
    const json = await obstack(['size', '--series', '1000000', '--scrape-interval', '30s', '--retention', '15d', '--json']);
    const data = JSON.parse(json.stdout) as { prometheus: { shards: number }; environment: { components: { prometheus: { retention: { time: string } } } } };
    expect(data.prometheus.shards).toBe(1);
    expect(data.environment.components.prometheus.retention.time).toBe('15d');
  });

  it('refuses a missing or malformed option with its name, exit 1', async () => {
    for (const [args, message] of [
      [['size'], '--series is required'],
      [['size', '--series', 'lots'], '--series must be a positive whole number, got "lots"'],
      [['size', '--series', '10', '--retention', '15'], '--retention must be a Prometheus duration'],
      [['size', '--series', '10', '--sampling', '0.5'], '--sampling applies only with --spans-per-second'],
      [['size', '--series', '10', '--spans-per-second', '10', '--sampling', '3'], '--sampling must be a share'],
    ] as const) {
      const r = await obstack([...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
