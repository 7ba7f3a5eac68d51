import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadEnvironmentFile } from '../../src/config/index.js';
import { synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { checkSynthesized } from '../../src/cli/check.js';
import { stackRuleFiles } from '../../rules/index.js';
import { stackDashboards } from '../../dashboards/index.js';
import { environmentFragment, size } from '../../src/sizing/model.js';
import { obstack } from '../cli/run-captured.js';

const FILE = join(import.meta.dirname, '..', '..', 'examples', 'scale', 'large.yaml');

type Json = Record<string, any>;

/**
 * examples/scale/large.yaml is the environment the README's "Scale" section
 * builds from `obstack size --series 1000000 --scrape-interval 30s
 * --retention 15d`: it must keep the model's sizes and pass every check.
 */
describe('the scale example (examples/scale/large.yaml)', () => {
  const env = loadEnvironmentFile(FILE);

  it("takes Prometheus's replicas, resources, volume and retention from obstack size", async () => {
    const fragment = environmentFragment(size({ series: 1_000_000, scrapeIntervalSeconds: 30, retentionSeconds: 15 * 86_400 }), '15d') as Json;
    const p = env.components.prometheus;
    const want = fragment.components.prometheus;
    expect({ replicas: p.replicas, resources: p.resources, size: p.storage.type === 'persistent' ? p.storage.size : undefined, retention: p.retention }).toEqual({
      replicas: want.replicas,
      resources: want.resources,
      size: want.storage.size,
      retention: want.retention,
    });
    expect(p.shards).toBe(want.shards ?? 1);
    expect(p.scrapeInterval).toBe('30s');
    // The command a reader runs gives the same fragment.
    const r = await obstack(['size', '--series', '1000000', '--scrape-interval', '30s', '--retention', '15d', '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Json).environment).toEqual(fragment);
  });

  it('turns on what a large cluster needs: Thanos, remote write, Elasticsearch tiers and snapshots, database dumps', () => {
    expect(env.components.thanos.enabled).toBe(true);
    expect(env.components.prometheus.remoteWrite.map((w) => w.name)).toEqual(['mimir']);
    expect(env.components.elasticsearch.tiers?.warm.replicas).toBeGreaterThanOrEqual(2);
    expect(env.components.elasticsearch.snapshots?.schedule).toBeDefined();
    expect(env.components.ingest.database.type === 'in-cluster' && env.components.ingest.database.backup?.schedule).toBeTruthy();
  });

  it('synthesizes and passes every check, promtool and amtool included', () => {
    const result = synthesizeEnvironment(env, { ruleFiles: stackRuleFiles(env), dashboards: stackDashboards(env) });
    expect(checkSynthesized(result, { tools: true })).toEqual([]);
    const names = (kind: string) => result.objects.filter((o) => o.kind === kind).map((o) => o.metadata.name);
    expect(names('StatefulSet')).toEqual(expect.arrayContaining(['prometheus', 'thanos-store', 'thanos-compact', 'elasticsearch', 'elasticsearch-warm']));
    expect(names('Deployment')).toContain('thanos-query');
    expect(names('CronJob')).toContain('ingest-postgres-backup');
    const config = parse(result.files.get('prometheus.yml') ?? '') as Json;
    expect(config.remote_write.map((w: Json) => w.name)).toEqual(['mimir']);
  }, 180_000);
});
