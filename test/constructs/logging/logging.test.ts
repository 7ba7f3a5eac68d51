import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { logAudit } from '../../../src/ingest/audit.js';
import { ecsLoggerOptions } from '../../../src/ingest/telemetry/logger.js';
import { SETUP_SCRIPT } from '../../../src/constructs/logging/elasticsearch-setup.js';
import { heapMiB } from '../../../src/constructs/logging/elasticsearch.js';
import { LOG_STREAMS, logMappings, roles } from '../../../src/constructs/logging/index-setup.js';
import { DATA_VIEWS, KIBANA_SETUP_SCRIPT, kibanaSavedObjects } from '../../../src/constructs/logging/kibana.js';
import { normalizationSteps } from '../../../src/constructs/logging/log-shapes.js';
import { renderFilters } from '../../../src/constructs/logging/logstash-filters.js';
import { escapeLogstashString, renderDeadLetterPipeline, renderPipeline, type PipelineValues } from '../../../src/constructs/logging/pipeline.js';
import { templateSource } from '../../../templates/index.js';
import { type Json, environment, example, find, synth } from '../helpers.js';

const setupFiles = (objects: readonly Json[]): Record<string, string> => (find(objects, 'ConfigMap', 'elasticsearch-setup') as Json).data;

describe('Elasticsearch', () => {
  it('runs three nodes with persistent volumes, a disruption budget, anti-affinity and transport TLS in prod', () => {
    const { objects } = synth(example('prod'));
    const sts = find(objects, 'StatefulSet', 'elasticsearch') as Json;
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('200Gi');
    expect(sts.spec.template.spec.affinity.podAntiAffinity).toBeDefined();
    expect((find(objects, 'PodDisruptionBudget', 'elasticsearch') as Json).spec.maxUnavailable).toBe(1);
    const yml = parse((find(objects, 'ConfigMap', 'elasticsearch-config') as Json).data['elasticsearch.yml']) as Json;
    expect(yml['xpack.security.enabled']).toBe(true);
    expect(yml['xpack.security.transport.ssl.enabled']).toBe(true);
    expect(yml['cluster.initial_master_nodes']).toEqual(['elasticsearch-0', 'elasticsearch-1', 'elasticsearch-2']);
    expect(yml['node.store.allow_mmap']).toBe(false);
    const volumes = sts.spec.template.spec.volumes.map((v: Json) => v.secret?.secretName).filter(Boolean);
    expect(volumes).toContain('elasticsearch-transport-tls');
    // No privileged init container: every container drops every capability.
    for (const c of [...sts.spec.template.spec.containers, ...sts.spec.template.spec.initContainers]) expect(c.securityContext.privileged).toBe(false);
  });

  it('runs a single node in dev, without transport TLS, heap half the memory limit', () => {
    const { objects } = synth(example('dev'));
    const sts = find(objects, 'StatefulSet', 'elasticsearch') as Json;
    expect(sts.spec.replicas).toBe(1);
    const yml = parse((find(objects, 'ConfigMap', 'elasticsearch-config') as Json).data['elasticsearch.yml']) as Json;
    expect(yml['discovery.type']).toBe('single-node');
    const env = sts.spec.template.spec.containers[0].env;
    expect(env.find((e: Json) => e.name === 'ES_JAVA_OPTS').value).toBe('-Xms512m -Xmx512m');
    expect(env.find((e: Json) => e.name === 'ELASTIC_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'elasticsearch-credentials', key: 'elastic' });
    expect(heapMiB('64Gi', 50)).toBe(31 * 1024);
  });

  it('refuses more than one node without transport TLS', () => {
    expect(() => environment({ components: { elasticsearch: { replicas: 3 } } })).toThrow(/transportTls/);
  });
});

describe('index setup', () => {
  for (const name of ['dev', 'staging', 'prod'] as const) {
    it(`${name}: the ILM delete phases equal the environment's log and audit retention`, () => {
      const env = example(name);
      const files = setupFiles(synth(env).objects);
      const logs = JSON.parse(files['ilm-obstack-logs.json'] ?? '') as Json;
      const audit = JSON.parse(files['ilm-obstack-audit.json'] ?? '') as Json;
      expect(logs.policy.phases.delete.min_age).toBe(`${env.logs.retentionDays}d`);
      expect(audit.policy.phases.delete.min_age).toBe(`${env.logs.auditRetentionDays}d`);
      const template = JSON.parse(files['template-obstack-audit.json'] ?? '') as Json;
      expect(template.template.settings['index.lifecycle.name']).toBe('obstack-audit');
    });
  }

  it('follows a retention changed in the environment, with a new Job name', () => {
    const a = synth(environment({ logs: { retentionDays: 10 } }));
    const b = synth(environment({ logs: { retentionDays: 45 } }));
    expect(JSON.parse(setupFiles(b.objects)['ilm-obstack-logs.json'] ?? '').policy.phases.delete.min_age).toBe('45d');
    const job = (objs: readonly Json[]) => objs.find((o) => o.kind === 'Job' && o.metadata.name.startsWith('elasticsearch-setup-')).metadata.name;
    expect(job(a.objects)).not.toBe(job(b.objects));
  });

  it('maps every field the ingest service logs', () => {
    const lines: Json[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
    const log = pino(ecsLoggerOptions({ level: 'info', serviceName: 'ingest', serviceVersion: '0.1.0' }), sink);
    log.error({ error: Object.assign(new Error('boom'), { code: 'E1' }) }, 'failed');
    const request = log.child({ 'http.request.id': 'req-1' });
    logAudit(request as never, { actor: 'ops', action: 'user.erase', resourceType: 'user', resourceId: 'u1', outcome: 'success', reason: null, ip: '10.0.0.1', userAgent: 'curl', requestId: 'req-1', metadata: { rows: 3 } } as never);
    // The access line of src/ingest/app.ts, and the fields the requirements name.
    request.info({ 'event.dataset': 'obstack_ingest.access', 'http.request.method': 'GET', 'url.path': '/x', 'http.route': '/x', 'http.response.status_code': 200, 'event.duration': 1000, 'user.name': 'ops', 'trace.id': 'abc', 'span.id': 'def', 'user.id': 'u1' }, 'request completed');
    const mappings = logMappings() as Json;
    const resolve = (path: string): Json => {
      let node: Json = { properties: mappings.properties };
      for (const part of path.split('.')) {
        if (node.type === 'flattened') return node;
        node = node.properties?.[part];
        if (!node) return undefined;
      }
      return node;
    };
    const paths = new Set<string>();
    const walk = (o: Json, prefix: string): void => {
      for (const [k, v] of Object.entries(o)) {
        const p = prefix ? `${prefix}.${k}` : k;
        if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, p);
        else paths.add(p);
      }
    };
    for (const l of lines) walk(l, '');
    expect(paths).toContain('trace.id');
    expect(paths).toContain('http.request.id');
    for (const p of paths) expect(resolve(p)?.type, `${p} is mapped`).toBeDefined();
    expect(resolve('@timestamp').type).toBe('date');
    expect(resolve('log.level').type).toBe('keyword');
    expect(resolve('message').type).toBe('match_only_text');
  });

  it('sends passwords as JSON strings whatever characters they hold, through a script that treats them as data', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obstack-setup-'));
    const files = setupFiles(synth(environment()).objects);
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    const bin = join(dir, 'bin');
    spawnSync('mkdir', [bin]);
    // A stand-in for curl: records the URL and the body, answers 200.
    writeFileSync(join(bin, 'curl'), `#!/bin/bash\nurl="\${@: -1}"; body=""\nfor a in "$@"; do case "$a" in @*) body="$(cat "\${a#@}")";; esac; done\nprintf '%s\\t%s\\n' "$url" "$body" >> "${dir}/calls"\nprintf 200\n`);
    chmodSync(join(bin, 'curl'), 0o755);
    const hostile = 'p"a\\ss$(touch /tmp/pwned)`x`\'{}';
    const r = spawnSync('/bin/bash', [join(dir, 'run.sh')], {
      env: { PATH: `${bin}:/usr/bin:/bin`, SETUP_DIR: dir, TMPDIR: dir, BASE_URL: 'http://es:9200', AUTH_USER: 'elastic', AUTH_PASSWORD: 'x', KIBANA_SYSTEM_PASSWORD: hostile, LOGSTASH_PASSWORD: hostile, GRAFANA_PASSWORD: 'g', JAEGER_PASSWORD: 'j', MONITORING_PASSWORD: 'm' },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
    const body = (suffix: string): Json => JSON.parse(calls.find(([u]) => u?.endsWith(suffix))?.[1] ?? '');
    expect(body('/_security/user/logstash_writer')).toEqual({ password: hostile, roles: ['obstack_logstash_writer'], full_name: 'logstash_writer', metadata: { managed_by: 'obstack' } });
    expect(body('/_security/user/kibana_system/_password')).toEqual({ password: hostile });
    expect(calls.map(([u]) => u)).toContain('http://es:9200/_index_template/obstack-logs');
    expect(SETUP_SCRIPT).not.toMatch(/eval /);
  });
});

const VALUES: PipelineValues = {
  beatsPort: 5044,
  elasticsearchUrl: 'http://elasticsearch:9200',
  user: 'logstash_writer',
  logsDataset: 'obstack',
  auditDataset: 'obstack.audit',
  dataStreamNamespace: 'default',
  labels: { environment: 'dev', cluster: 'eu-1' },
  personalData: [{ field: 'user.email', action: 'remove' }, { field: 'source.ip', action: 'hash' }],
  normalization: renderFilters(normalizationSteps(logMappings().properties as Record<string, unknown>)),
};

/** The block structure of a Logstash config: `name {` at each depth, strings, regular expressions and comments skipped. */
function structure(config: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let word = '';
  for (let i = 0; i < config.length; i++) {
    const c = config[i] ?? '';
    if (c === '#') { while (i < config.length && config[i] !== '\n') i++; continue; }
    if (c === '"' || c === "'") {
      i++;
      while (i < config.length && config[i] !== c) { if (config[i] === '\\') i++; i++; }
      if (i >= config.length) throw new Error('unterminated string');
      word = '';
      continue;
    }
    if (c === '/' && /[=!]~\s*$/.test(config.slice(Math.max(0, i - 8), i))) {
      i++;
      while (i < config.length && config[i] !== '/') { if (config[i] === '\\') i++; i++; }
      word = '';
      continue;
    }
    if (c === '{') { out.push(`${depth}:${word}`); depth++; word = ''; continue; }
    if (c === '}') { depth--; if (depth < 0) throw new Error('unbalanced }'); word = ''; continue; }
    if (/[A-Za-z_]/.test(c)) word = /\s/.test(config[i - 1] ?? ' ') || word === '' ? c : word + c;
    else if (!/\s/.test(c)) word = '';
  }
  if (depth !== 0) throw new Error(`unbalanced braces, depth ${depth}`);
  return out;
}

function unescape(literal: string): string {
  return literal.slice(1, -1).replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', r: '\r', t: '\t', '0': '\0' })[c] ?? c);
}

describe('the Logstash pipeline', () => {
  const template = templateSource('logstash/pipeline.conf.hbs');

  it('has input, filter and output, beats in and data streams out, personal data removed or hashed', () => {
    const text = renderPipeline(template, VALUES);
    const top = structure(text).filter((s) => s.startsWith('0:'));
    expect(top).toEqual(['0:input', '0:filter', '0:output']);
    expect(text).toContain('remove_field => ["[user][email]", "[unparsed][user][email]"]');
    // A hashed field given an object cannot be hashed: the object kept aside is removed too.
    expect(text).toContain('remove_field => ["[unparsed][source][ip]"]');
    expect(text).toContain('source => "[source][ip]"');
    expect(text).toContain('key => "${PII_HASH_KEY}"');
    expect(text).toContain('"[http][request][id]"');
    expect(text).toContain('data_stream_dataset => "obstack.audit"');
  });

  it('keeps its structure whatever a label value holds: quotes, braces, newlines, a whole output section', () => {
    const hostile = [
      '"} output { exec { command => "rm -rf /" } } filter {"',
      "it's \\\" } }\n}\noutput { stdout {} }\n#",
      'a\\',
      '\\" ] } input { tcp { port => 1 } }',
      'tab\there\r\nand\0nul',
    ];
    const benign = structure(renderPipeline(template, VALUES));
    for (const value of hostile) {
      const text = renderPipeline(template, { ...VALUES, labels: { ...VALUES.labels, cluster: value } });
      expect(structure(text)).toEqual(benign);
      const literal = /add_field => \{ "\[labels\]\[cluster\]" => ("(?:[^"\\]|\\.)*") \}/.exec(text)?.[1];
      expect(literal && unescape(literal)).toBe(value);
      expect(text.split('\n').length).toBe(renderPipeline(template, VALUES).split('\n').length);
    }
  });

  it('refuses what escaping cannot neutralise: ${…} and field paths that would break a reference', () => {
    expect(() => escapeLogstashString('${ELASTICSEARCH_PASSWORD}')).toThrow(/environment variable/);
    expect(() => renderPipeline(template, { ...VALUES, personalData: [{ field: 'a][b', action: 'remove' }] })).toThrow(/field path/);
    expect(() => environment({ logs: { labels: { x: 'leak ${PII_HASH_KEY}' } } })).toThrow(/\$\{/);
    expect(() => environment({ logs: { personalData: [{ field: 'user"]} output {', action: 'remove' }] } })).toThrow(/field path/);
  });

  it('is the pipeline the Logstash ConfigMap carries, with escapes on and a persisted queue in prod', () => {
    const { objects, stack } = synth(example('prod'));
    const cm = (find(objects, 'ConfigMap', 'logstash') as Json).data;
    expect(cm['logstash.conf']).toBe(stack.logsAndTraces.logstash?.pipeline);
    const yml = parse(cm['logstash.yml']) as Json;
    expect(yml['config.support_escapes']).toBe(true);
    expect(yml['queue.type']).toBe('persisted');
    expect((find(objects, 'StatefulSet', 'logstash') as Json).spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('20Gi');
  });
});

describe('Filebeat and Kibana', () => {
  it('reads container logs read-only under a written exemption and ships to Logstash', () => {
    const { objects } = synth(example('dev'));
    const ds = find(objects, 'DaemonSet', 'filebeat') as Json;
    const hostPaths = ds.spec.template.spec.volumes.filter((v: Json) => v.hostPath).map((v: Json) => v.hostPath.path);
    expect(hostPaths).toEqual(['/var/log/containers', '/var/log/pods']);
    const mounts = ds.spec.template.spec.containers[0].volumeMounts.filter((m: Json) => m.name.startsWith('host-logs'));
    for (const m of mounts) expect(m.readOnly).toBe(true);
    expect(ds.spec.template.metadata.annotations['exemptions.obstack.io/host-path']).toMatch(/read-only/);
    const config = parse((find(objects, 'ConfigMap', 'filebeat') as Json).data['filebeat.yml']) as Json;
    expect(config['output.logstash'].hosts).toEqual(['logstash.obstack-dev.svc.cluster.local:5044']);
  });

  it('connects Kibana as kibana_system and imports its saved objects with a Job', () => {
    const { objects } = synth(example('dev'));
    const env = (find(objects, 'Deployment', 'kibana') as Json).spec.template.spec.containers[0].env;
    expect(env.find((e: Json) => e.name === 'ELASTICSEARCH_USERNAME').value).toBe('kibana_system');
    const files = (find(objects, 'ConfigMap', 'kibana-setup') as Json).data;
    const lines = (files['saved-objects.ndjson'] as string).trimEnd().split('\n').map((l) => JSON.parse(l) as Json);
    expect(lines).toEqual(JSON.parse(JSON.stringify(kibanaSavedObjects())));
    expect(JSON.parse(files['default.json'])).toEqual({ data_view_id: 'obstack-logs', force: true });
    expect(objects.some((o) => o.kind === 'Job' && o.metadata.name.startsWith('kibana-setup-'))).toBe(true);
  });
});

describe('Kibana saved objects', () => {
  const objects = kibanaSavedObjects();
  const byId = (id: string): Json => objects.find((o) => o.id === id);

  it('are data views for logs, audit and dead letters, each on its own streams and @timestamp', () => {
    const views = objects.filter((o) => o.type === 'index-pattern');
    expect(views.map((v) => [v.id, v.attributes.name, v.attributes.title])).toEqual([
      ['obstack-logs', 'Logs', 'logs-obstack*'],
      ['obstack-audit', 'Audit', 'logs-obstack.audit-*'],
      ['obstack-dead-letters', 'Dead letters', 'logs-deadletter.obstack-*'],
    ]);
    for (const v of views) expect(v.attributes.timeFieldName).toBe('@timestamp');
    // Dead letters are not log lines: the logs view does not match them.
    expect(new RegExp(`^${DATA_VIEWS.logs.title.replace('*', '.*')}$`).test('logs-deadletter.obstack-default')).toBe(false);
    expect(LOG_STREAMS.deadLetters.pattern).toBe(DATA_VIEWS.deadLetters.title);
  });

  it('are saved searches Errors, Audit and Logs by service, each referencing an imported data view', () => {
    const ids = new Set(objects.map((o) => o.id));
    for (const s of objects.filter((o) => o.type === 'search')) {
      const source = JSON.parse((s.attributes as Json).kibanaSavedObjectMeta.searchSourceJSON as string) as Json;
      expect(source.indexRefName).toBe('kibanaSavedObjectMeta.searchSourceJSON.index');
      expect(s.references).toEqual([{ name: source.indexRefName, type: 'index-pattern', id: expect.any(String) }]);
      expect(ids.has(s.references[0]?.id ?? '')).toBe(true);
      expect(source.query.language).toBe('kuery');
    }
    const errors = byId('obstack-search-errors');
    expect(errors.attributes.title).toBe('Errors');
    expect(JSON.parse(errors.attributes.kibanaSavedObjectMeta.searchSourceJSON).query.query).toBe('log.level : ("error" or "critical" or "fatal")');
    expect(byId('obstack-search-audit').references[0].id).toBe('obstack-audit');
    const byService = byId('obstack-search-logs-by-service');
    expect(byService.attributes).toMatchObject({ title: 'Logs by service', breakdownField: 'service.name', sort: [['service.name', 'asc'], ['@timestamp', 'desc']] });
  });

  it('are posted as multipart to the import API with overwrite, and a partial import fails the Job', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obstack-kibana-'));
    const files = (find(synth(environment()).objects, 'ConfigMap', 'kibana-setup') as Json).data as Record<string, string>;
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    const bin = join(dir, 'bin');
    spawnSync('mkdir', [bin]);
    // A stand-in for curl: records its arguments, answers 200 with the body in $ANSWER.
    writeFileSync(join(bin, 'curl'), `#!/bin/bash\nprintf '%s\\n' "$*" >> "${dir}/calls"\nout=""; prev=""\nfor a in "$@"; do [ "$prev" = -o ] && out="$a"; prev="$a"; done\n[ -n "$out" ] && printf '%s' "$ANSWER" > "$out"\nprintf 200\n`);
    chmodSync(join(bin, 'curl'), 0o755);
    const run = (answer: string) =>
      spawnSync('/bin/bash', [join(dir, 'run.sh')], {
        env: { PATH: `${bin}:/usr/bin:/bin`, SETUP_DIR: dir, TMPDIR: dir, BASE_URL: 'http://kibana:5601', AUTH_USER: 'elastic', AUTH_PASSWORD: 'x', ANSWER: answer },
        encoding: 'utf8',
      });
    const ok = run('{"success":true,"successCount":6}');
    expect(ok.status).toBe(0);
    const calls = readFileSync(join(dir, 'calls'), 'utf8');
    expect(calls).toContain(`--form file=@${dir}/saved-objects.ndjson http://kibana:5601/api/saved_objects/_import?overwrite=true`);
    expect(calls).toContain('http://kibana:5601/api/data_views/default');
    const partial = run('{"success":false,"successCount":5,"errors":[{"id":"obstack-errors","error":{"type":"missing_references"}}]}');
    expect(partial.status).not.toBe(0);
    expect(partial.stderr).toMatch(/saved objects import answered 200: .*missing_references/);
    expect(KIBANA_SETUP_SCRIPT).not.toMatch(/eval /);
  });
});

describe('dead letters', () => {
  const { objects } = synth(example('prod'));
  const cm = (find(objects, 'ConfigMap', 'logstash') as Json).data as Record<string, string>;

  it('are kept by Logstash in a capped queue on the data volume, read by a second pipeline', () => {
    const yml = parse(cm['logstash.yml'] ?? '') as Json;
    expect(yml).toMatchObject({ 'dead_letter_queue.enable': true, 'dead_letter_queue.max_bytes': '512mb', 'dead_letter_queue.storage_policy': 'drop_older', 'path.dead_letter_queue': '/usr/share/logstash/data/dead_letter_queue' });
    expect(parse(cm['pipelines.yml'] ?? '')).toEqual([
      { 'pipeline.id': 'main', 'path.config': '/usr/share/logstash/pipeline/logstash.conf' },
      { 'pipeline.id': 'dead-letters', 'path.config': '/usr/share/logstash/pipeline/dead-letters.conf', 'pipeline.workers': 1, 'queue.type': 'memory' },
    ]);
    const pod = (find(objects, 'StatefulSet', 'logstash') as Json).spec.template.spec;
    const logstash = pod.containers.find((c: Json) => c.name === 'logstash');
    expect(logstash.securityContext.readOnlyRootFilesystem).toBe(true);
    const mounts = logstash.volumeMounts as Json[];
    // The queue lives under path.data, a writable volume (a claim in prod).
    expect(mounts.find((m) => m.mountPath === '/usr/share/logstash/data').name).toBe('data');
    expect((find(objects, 'StatefulSet', 'logstash') as Json).spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    expect(mounts.find((m) => m.mountPath === '/usr/share/logstash/pipeline/dead-letters.conf')).toMatchObject({ name: 'config-source', subPath: 'dead-letters.conf', readOnly: true });
  });

  it('are written to their own data stream, as JSON text with the reason', () => {
    const conf = cm['dead-letters.conf'] ?? '';
    expect(structure(conf).filter((s) => s.startsWith('0:'))).toEqual(['0:input', '0:filter', '0:output']);
    expect(conf).toContain('path => "/usr/share/logstash/data/dead_letter_queue"');
    expect(conf).toContain('pipeline_id => "main"');
    expect(conf).toContain('"[@metadata][dead_letter_queue][reason]" => "[dead_letter][reason]"');
    expect(conf).toContain('data_stream_dataset => "deadletter.obstack"');
    expect(() => renderDeadLetterPipeline(templateSource('logstash/dead-letters.conf.hbs'), { queuePath: '/q', sourcePipeline: 'main', elasticsearchUrl: '${X}', user: 'u', deadLetterDataset: 'd', dataStreamNamespace: 'default' })).toThrow(/environment variable/);
  });

  it('have their own template, ILM policy and retention, and only the writer may add to them', () => {
    const files = setupFiles(objects);
    const template = JSON.parse(files['template-obstack-deadletter.json'] ?? '') as Json;
    expect(template.index_patterns).toEqual(['logs-deadletter.obstack-*']);
    expect(template.template.settings['index.lifecycle.name']).toBe('obstack-deadletter');
    expect(template.template.mappings.dynamic).toBe(false);
    expect(JSON.parse(files['ilm-obstack-deadletter.json'] ?? '').policy.phases.delete.min_age).toBe(`${example('prod').logs.retentionDays}d`);
    const r = roles('obstack');
    expect(r.obstack_logstash_writer?.indices).toEqual([{ names: ['logs-obstack*', 'logs-deadletter.obstack-*'], privileges: ['create_doc', 'auto_configure', 'view_index_metadata'] }]);
    expect(JSON.stringify(r.obstack_logs_reader)).not.toContain('deadletter');
  });
});
