import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { thanosRules } from '../../../rules/thanos.js';
import { compileRuleTests, isAlert, testCoverage } from '../../../src/authoring/index.js';
import { stackMetricCatalog } from '../../../src/validate/index.js';
import { runRuleTests } from '../../../src/validate/rules-tests.js';
import { type Json, environment, find, synth } from '../helpers.js';

const BUCKET = { secretName: 'thanos-bucket', key: 'objstore.yml' };
const on = environment({ components: { thanos: { enabled: true, objectStorage: BUCKET } } });
const off = environment();

describe('rules/thanos.ts', () => {
  it('fires and stays silent as each case says, in the real promtool, with Thanos on and off', () => {
    for (const env of [on, off]) {
      const groups = thanosRules(env);
      for (const [name, c] of testCoverage(groups)) {
        expect(c.fires, `${name} fires`).toBeGreaterThan(0);
        expect(c.silent, `${name} stays silent`).toBeGreaterThan(0);
      }
      const result = runRuleTests(compileRuleTests({ 'thanos.yaml': groups }));
      expect(result.output).not.toContain('FAILED');
      expect(result.ok).toBe(true);
    }
  }, 120_000);

  it('covers compaction halted, sidecar upload failures, bucket failures, query errors and the Ruler', () => {
    const names = thanosRules(on).flatMap((g) => g.rules.filter(isAlert).map((r) => r.name));
    expect(names).toEqual(
      expect.arrayContaining([
        'ThanosCompactHalted',
        'ThanosSidecarBucketOperationsFailed',
        'ThanosStoreBucketHighOperationFailures',
        'ThanosCompactBucketHighOperationFailures',
        'ThanosQueryHttpRequestQueryErrorRateHigh',
        'ThanosQueryGrpcClientErrorRate',
        'ThanosRuleSenderIsFailingAlerts',
      ]),
    );
  });

  it('read only metrics the catalog knows', () => {
    const catalog = stackMetricCatalog();
    for (const name of ['thanos_compact_halted', 'thanos_objstore_bucket_operation_failures_total', 'grpc_client_handled_total', 'thanos_alert_sender_alerts_dropped_total']) {
      expect(catalog.get(name)?.source, name).toBe('thanos');
    }
  });

  it('with Prometheus sharded, the Ruler evaluates the rule files and Prometheus does not', () => {
    const sharded = synth(environment({ components: { prometheus: { shards: 2 }, thanos: { enabled: true, objectStorage: BUCKET } } }));
    expect(sharded.objects.some((o) => o.kind === 'StatefulSet' && o.metadata.name === 'thanos-rule')).toBe(true);
    const shard = (find(sharded.objects, 'StatefulSet', 'prometheus-shard-0') as Json).spec.template.spec;
    expect(shard.volumes.map((v: Json) => v.name)).not.toContain('rules');
    expect(parse(sharded.files.get('prometheus.yml') ?? 'rule_files: []').rule_files ?? []).toEqual([]);
  });
});
