import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { INDEX_CLEANER_SCRIPT } from '../../../src/constructs/tracing/jaeger-config.js';
import { type Json, environment, example, find, synth } from '../helpers.js';

describe('Jaeger', () => {
  it('runs all-in-one with memory storage in dev, collector and query on Elasticsearch in prod', () => {
    const dev = synth(example('dev')).objects;
    const aio = parse((find(dev, 'ConfigMap', 'jaeger') as Json).data['config.yaml']) as Json;
    expect(aio.extensions.jaeger_storage.backends.traces.memory.max_traces).toBe(50000);
    expect(aio.receivers.otlp.protocols.grpc.endpoint).toBe('0.0.0.0:4317');
    expect(aio.receivers.otlp.protocols.http.endpoint).toBe('0.0.0.0:4318');
    const prod = synth(example('prod')).objects;
    for (const name of ['jaeger-collector', 'jaeger-query']) expect((find(prod, 'Deployment', name) as Json).spec.replicas).toBe(2);
    const collector = parse((find(prod, 'ConfigMap', 'jaeger-collector') as Json).data['config.yaml']) as Json;
    const es = collector.extensions.jaeger_storage.backends.traces.elasticsearch;
    expect(es.server_urls).toEqual(['http://elasticsearch.obstack.svc.cluster.local:9200']);
    expect(es.auth.basic).toEqual({ username: 'jaeger', password_file: '/etc/jaeger/elasticsearch/password' });
    expect(collector.service.pipelines.traces.exporters).toEqual(['jaeger_storage_exporter']);
    const query = parse((find(prod, 'ConfigMap', 'jaeger-query') as Json).data['config.yaml']) as Json;
    expect(query.service.extensions).toContain('jaeger_query');
    expect(query.receivers).toEqual({ nop: {} });
  });

  it('samples 10% by default, in the remote-sampling strategy and in the settings handed to services', () => {
    const { objects } = synth(example('prod'));
    const sampling = JSON.parse((find(objects, 'ConfigMap', 'jaeger-collector') as Json).data['sampling.json']) as Json;
    expect(sampling).toEqual({ default_strategy: { type: 'probabilistic', param: 0.1 } });
    const otel = (find(objects, 'ConfigMap', 'otel-settings') as Json).data;
    expect(otel).toMatchObject({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger-collector.obstack.svc.cluster.local:4318',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
    });
    const other = synth(environment({ traces: { samplingRate: 0.25 } })).objects;
    expect(JSON.parse((find(other, 'ConfigMap', 'jaeger') as Json).data['sampling.json']).default_strategy.param).toBe(0.25);
    expect((find(other, 'ConfigMap', 'otel-settings') as Json).data.OTEL_TRACES_SAMPLER_ARG).toBe('0.25');
  });

  it('is scraped by Prometheus on its metrics port', () => {
    const prom = parse(synth(example('prod')).files.get('prometheus.yml') ?? '') as Json;
    const jobs = prom.scrape_configs.map((j: Json) => j.job_name);
    expect(jobs).toEqual(expect.arrayContaining(['jaeger-collector', 'jaeger-query', 'elasticsearch', 'logstash']));
  });

  it('deletes trace indices older than traces.retentionDays, and nothing else', () => {
    const { objects } = synth(example('prod'));
    const cron = find(objects, 'CronJob', 'jaeger-index-cleaner') as Json;
    const env = cron.spec.jobTemplate.spec.template.spec.containers[0].env;
    expect(env.find((e: Json) => e.name === 'RETENTION_DAYS').value).toBe('14');
    const dir = mkdtempSync(join(tmpdir(), 'obstack-cleaner-'));
    writeFileSync(join(dir, 'run.sh'), INDEX_CLEANER_SCRIPT);
    const indices = [
      'obstack-jaeger-span-2025-03-01', 'obstack-jaeger-service-2025-03-02', 'obstack-jaeger-span-2025-03-03',
      'obstack-jaeger-dependencies-2025-03-09', 'obstack-jaeger-span-2025-03-10', 'obstack-jaeger-span-archive', 'obstack-jaeger-sampling-2025-02-01',
    ];
    writeFileSync(join(dir, 'curl'), `#!/bin/bash\nfor a in "$@"; do if [ "$a" = DELETE ]; then echo "\${@: -1}" >> "${dir}/deleted"; exit 0; fi; done\nprintf '%s\\n' ${indices.join(' ')}\n`);
    chmodSync(join(dir, 'curl'), 0o755);
    const r = spawnSync('/bin/bash', [join(dir, 'run.sh')], {
      // 2025-03-10T12:00Z with 7 days: the cut-off is 2025-03-03, kept.
      env: { PATH: `${dir}:/usr/bin:/bin`, NOW_EPOCH: String(Date.UTC(2025, 2, 10, 12) / 1000), RETENTION_DAYS: '7', INDEX_PREFIX: 'obstack', BASE_URL: 'http://es:9200', AUTH_USER: 'jaeger', AUTH_PASSWORD: 'x' },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'deleted'), 'utf8').trim().split('\n')).toEqual([
      'http://es:9200/obstack-jaeger-span-2025-03-01',
      'http://es:9200/obstack-jaeger-service-2025-03-02',
      'http://es:9200/obstack-jaeger-sampling-2025-02-01',
    ]);
  });
});

describe("Grafana's logs and traces datasources", () => {
  it('link a trace to its logs by trace.id, and a log line to its trace', () => {
    const { objects } = synth(example('prod'));
    const ds = parse((find(objects, 'ConfigMap', 'grafana-datasources') as Json).data['datasources.yaml']) as Json;
    const logs = ds.datasources.find((d: Json) => d.uid === 'elasticsearch-logs');
    const traces = ds.datasources.find((d: Json) => d.uid === 'jaeger');
    expect(logs.type).toBe('elasticsearch');
    expect(logs.url).toBe('http://elasticsearch.obstack.svc.cluster.local:9200');
    expect(logs.jsonData).toMatchObject({ index: 'logs-obstack*', timeField: '@timestamp', logMessageField: 'message', logLevelField: 'log.level' });
    expect(logs.jsonData.dataLinks).toEqual([{ field: 'trace.id', url: '${__value.raw}', datasourceUid: 'jaeger', urlDisplayLabel: 'View trace' }]);
    expect(logs.basicAuthUser).toBe('grafana_reader');
    expect(logs.secureJsonData.basicAuthPassword).toBe('$__env{GF_DS_ELASTICSEARCH_LOGS_PASSWORD}');
    expect(traces.type).toBe('jaeger');
    expect(traces.url).toBe('http://jaeger-query.obstack.svc.cluster.local:16686');
    expect(traces.jsonData.tracesToLogsV2).toMatchObject({ datasourceUid: 'elasticsearch-logs', customQuery: true, query: 'trace.id:"${__trace.traceId}"' });
    const grafanaEnv = (find(objects, 'Deployment', 'grafana') as Json).spec.template.spec.containers[0].env;
    expect(grafanaEnv.find((e: Json) => e.name === 'GF_DS_ELASTICSEARCH_LOGS_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'elasticsearch-credentials', key: 'grafana-reader' });
  });
});
