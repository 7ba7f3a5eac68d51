import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { logAudit } from '../../../src/ingest/audit.js';
import { ecsLoggerOptions } from '../../../src/ingest/telemetry/logger.js';
import { LOG_STREAMS, logMappings } from '../../../src/constructs/logging/index-setup.js';
import { normalizationSteps } from '../../../src/constructs/logging/log-shapes.js';
import { type LsEvent, LogstashTimestamp, renderFilters, runFilters, type Step } from '../../../src/constructs/logging/logstash-filters.js';
import { type Json, example, find, synth } from '../helpers.js';
import { IndexMapping } from './es-mapping.js';
import before from './fixtures/logs-template-before-normalization.json' with { type: 'json' };
import { LINES } from './fixtures/log-lines.js';

const READ_AT = Date.parse('2024-01-15T15:00:00.000Z');

/** The event the beats input hands the pipeline for a container's line: Filebeat's fields around `message`. */
function beatsEvent(line: string): LsEvent {
  return {
    '@timestamp': new LogstashTimestamp(READ_AT),
    '@version': '1',
    '@metadata': { beat: 'filebeat', version: '8.19.3' },
    message: line,
    log: { offset: 18230, file: { path: '/var/log/containers/checkout-7d9f8c6b5-x2x9z_shop_checkout-0123abcd.log' } },
    stream: 'stdout',
    input: { type: 'filestream' },
    agent: { name: 'node-1', type: 'filebeat', version: '8.19.3', id: 'a1', ephemeral_id: 'e1' },
    ecs: { version: '8.0.0' },
    host: { name: 'node-1' },
    container: { id: '0123abcd', runtime: 'containerd', image: { name: 'registry.example/checkout:1.4.2' } },
    kubernetes: {
      namespace: 'shop',
      pod: { name: 'checkout-7d9f8c6b5-x2x9z', uid: '5f0c' },
      container: { name: 'checkout' },
      node: { name: 'node-1' },
      labels: { app: 'checkout', 'pod-template-hash': '7d9f8c6b5' },
    },
    tags: ['beats_input_codec_plain_applied'],
  };
}

/**
 * What Logstash's elasticsearch output sends in data stream mode: the event
 * without @metadata, @timestamp as text, data_stream.* set to the stream written.
 */
function sent(event: LsEvent, dataset: string): Record<string, unknown> {
  const doc = JSON.parse(JSON.stringify({ ...event, '@metadata': undefined })) as Record<string, unknown>;
  const ds = { type: 'logs', dataset, namespace: 'default' };
  doc.data_stream = typeof doc.data_stream === 'object' && doc.data_stream !== null && !Array.isArray(doc.data_stream) ? { ...doc.data_stream, ...ds } : ds;
  return doc;
}

const synthesized = synth(example('prod'));
const setup = (find(synthesized.objects, 'ConfigMap', 'elasticsearch-setup') as Json).data as Record<string, string>;
const logsTemplate = JSON.parse(setup[`template-${LOG_STREAMS.logs.template}.json`] ?? '') as Json;
const steps: Step[] = normalizationSteps(logMappings().properties as Record<string, unknown>);
const normalize = (line: string): LsEvent => runFilters(steps, beatsEvent(line));
const doc = (line: string): Record<string, unknown> => sent(normalize(line), LOG_STREAMS.logs.dataset);

/** The ingest service's own lines (pino with its ECS options): they go through the same pipeline. */
function ingestLines(): string[] {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk).trim()); done(); } });
  const log = pino(ecsLoggerOptions({ level: 'info', serviceName: 'ingest', serviceVersion: '0.1.0' }), sink);
  log.error({ error: Object.assign(new Error('boom'), { code: 'E1' }) }, 'failed');
  const request = log.child({ 'http.request.id': 'req-1' });
  logAudit(request as never, { actor: 'ops', action: 'user.erase', resourceType: 'user', resourceId: 'u1', outcome: 'success', reason: null, ip: '10.0.0.1', userAgent: 'curl', requestId: 'req-1', metadata: { rows: 3 } } as never);
  request.info({ 'event.dataset': 'obstack_ingest.access', 'http.request.method': 'GET', 'url.path': '/x', 'http.route': '/x', 'http.response.status_code': 200, 'event.duration': 1000 }, 'request completed');
  return lines;
}

describe('log lines of structlog, python-json-logger, pino and ECS loggers', () => {
  it('are all stored: none is refused by the synthesized index template, in either order, in one index', () => {
    const all = [...LINES.map((l) => l.line), ...ingestLines(), 'plain text line from a shell script', '{"not json'];
    expect(new Set(LINES.map((l) => l.logger))).toEqual(new Set(['structlog', 'python-json-logger', 'pino', 'ecs']));
    for (const order of [all, [...all].reverse()]) {
      const index = new IndexMapping(logsTemplate);
      for (const line of order) expect(index.index(doc(line)).refused, line).toBeUndefined();
    }
  });

  it('the structlog line was refused by the template as it was before, and normalization is what lets it in', () => {
    const structlog = LINES[0]?.line ?? '';
    // The pipeline before: the JSON decoded into the event, nothing moved.
    const decoded = sent({ ...runFilters([{ kind: 'json', source: 'message' }], beatsEvent(structlog)) }, 'obstack');
    expect(new IndexMapping(before).index(decoded).refused).toMatch(/object mapping for \[event\] tried to parse field \[event\] as object, but found a concrete value/);
    // The new mapping alone does not make it fit: `event` is an ECS object.
    expect(new IndexMapping(logsTemplate).index(decoded).refused).toMatch(/object mapping for \[event\]/);
    expect(new IndexMapping(logsTemplate).index(doc(structlog)).refused).toBeUndefined();
  });

  it('puts each logger’s fields where ECS and the saved searches expect them', () => {
    const [structlog, bound, objects, epoch, , numeric, python, pythonExtra, pythonCritical, pinoDefaults, pinoHttp, pinoError, pinoFatal, ecsPython, ecsPino, ecsOdd] = LINES.map((l) => doc(l.line)) as Json[];
    expect(structlog).toMatchObject({ message: 'user logged in', '@timestamp': '2024-01-15T14:30:00.123Z', log: { level: 'info', logger: 'app.auth' }, user: { id: '42' } });
    expect(structlog.event).toBeUndefined();
    expect(bound).toMatchObject({ message: 'order placed', service: { name: 'api' }, http: { request: { id: '9f1c2b7e-4b1a-4c1e-9d3f-2a6f0c1b8e55' } }, order_id: 1234 });
    expect(objects).toMatchObject({ service: { name: 'api', version: '1.4.2' }, unparsed: { correlation_id: { id: 'c-1', source: 'x-request-id' } } });
    expect(epoch['@timestamp']).toBe('2024-01-15T14:30:03.250Z');
    expect(numeric).toMatchObject({ http: { request: { id: '778899' } }, error: { message: 'connection reset by peer' }, log: { level: 'warning' } });
    expect(python).toMatchObject({ message: 'payment accepted', '@timestamp': '2024-01-15T14:30:06.123Z', log: { level: 'info', logger: 'app.payments' } });
    expect(pythonExtra).toMatchObject({ service: { name: 'payments' }, http: { request: { id: 'c-2' } }, log: { level: 'warning' } });
    expect(pythonCritical).toMatchObject({ log: { level: 'critical' }, event: { action: 'connect', outcome: 'failure' } });
    expect(pinoDefaults).toMatchObject({ message: 'server listening', '@timestamp': '2024-01-15T14:30:09.123Z', log: { level: 'info' }, process: { pid: 4242 }, host: { hostname: 'checkout-7d9f8c6b5-x2x9z', name: 'node-1' } });
    expect(pinoHttp).toMatchObject({ service: { name: 'checkout' }, http: { request: { id: 'c-3' } }, req: { method: 'GET' } });
    expect(pinoError).toMatchObject({ log: { level: 'error' }, err: { message: 'boom' } });
    // A string event next to a message is the event's action.
    expect(pinoFatal).toMatchObject({ message: 'out of memory', event: { action: 'shutdown' }, log: { level: 'fatal' }, trace: { id: '4bf92f3577b34da6a3ce929d0e0e4736' } });
    expect(ecsPython).toMatchObject({ '@timestamp': '2024-01-15T14:30:13.123Z', log: { level: 'info', logger: 'billing' }, service: { name: 'billing' }, process: { pid: 7 } });
    expect(ecsPino).toMatchObject({ log: { level: 'error' }, service: { name: 'checkout' }, event: { dataset: 'checkout' }, error: { message: 'card declined' } });
    expect(ecsOdd).toMatchObject({ '@timestamp': '2024-01-15T14:30:15.000Z', service: { name: 'quota' }, unparsed: { timestamp: { seconds: 1705329015, nanos: 0 } } });
    // Filebeat's own fields survive, and the raw line is not stored twice.
    expect(pinoDefaults).toMatchObject({ kubernetes: { namespace: 'shop' }, container: { runtime: 'containerd' } });
    expect(JSON.stringify(pinoDefaults)).not.toContain('"line"');
  });

  it('keeps a plain line as its message, and tags a line that looks like JSON but is not', () => {
    expect(doc('Starting server on :8080')).toMatchObject({ message: 'Starting server on :8080', '@timestamp': '2024-01-15T15:00:00.000Z' });
    const broken = doc('{"level":30,"msg":"cut');
    expect(broken.message).toBe('{"level":30,"msg":"cut');
    expect(broken.tags).toContain('_jsonparsefailure');
  });

  it('moves any object given to a value field, and any value given to an object field, out of the way', () => {
    const odd = doc(JSON.stringify({ message: { text: 'hi' }, log: { level: { name: 'INFO' } }, trace: 12, http: ['a', 'b'], labels: 'x', 'process.pid': { n: 1 } }));
    expect(odd).toMatchObject({
      message: expect.stringContaining('"text":"hi"'),
      unparsed: { message: { text: 'hi' }, log: { level: { name: 'INFO' } }, http: 'a b', labels: 'x', process: { pid: { n: 1 } } },
      trace: { id: '12' },
    });
    expect(new IndexMapping(logsTemplate).index(odd).refused).toBeUndefined();
  });

  it('is the filter the Logstash ConfigMap carries', () => {
    const conf = (find(synthesized.objects, 'ConfigMap', 'logstash') as Json).data['logstash.conf'] as string;
    expect(conf).toContain(renderFilters(steps));
    expect(conf).toContain('if [event] =~ /^/ {');
    expect(conf).toContain('mutate { rename => { "[service]" => "[service][name]" } }');
  });
});

describe('the Logstash filter subset, as Logstash runs it', () => {
  const run = (s: Step[], e: LsEvent): LsEvent => runFilters(s, e);

  it('=~ matches strings only; truthiness fails for absent, null, false, "" and "false"', () => {
    const tested = (v: unknown): [boolean, boolean] => {
      const e = run([
        { kind: 'if', condition: { kind: 'isString', field: 'v' }, then: [{ kind: 'replace', field: 's', value: 'y' }] },
        { kind: 'if', condition: { kind: 'truthy', field: 'v' }, then: [{ kind: 'replace', field: 't', value: 'y' }] },
      ], { v });
      return [e.s === 'y', e.t === 'y'];
    };
    expect(tested('x')).toEqual([true, true]);
    expect(tested('')).toEqual([true, false]);
    expect(tested('false')).toEqual([true, false]);
    expect(tested(0)).toEqual([false, true]);
    expect(tested(false)).toEqual([false, false]);
    expect(tested({ a: 1 })).toEqual([false, true]);
    expect(tested(null)).toEqual([false, false]);
  });

  it('rename removes before it sets, so a value can move inside its own name', () => {
    expect(run([{ kind: 'rename', from: 'service', to: 'service.name' }], { service: 'api' })).toEqual({ service: { name: 'api' } });
    expect(run([{ kind: 'rename', from: 'absent', to: 'x' }], {})).toEqual({});
  });

  it('convert then join: numbers and arrays become strings, objects stay', () => {
    const e = run([{ kind: 'stringify', fields: ['n', 'a', 'o', 'b'], join: true }], { n: 7, a: [1, 'x'], o: { k: 1 }, b: true });
    expect(e).toEqual({ n: '7', a: '1 x', o: { k: 1 }, b: 'true' });
  });

  it('date: epoch ms, epoch seconds, ISO 8601 and asctime; a miss is tagged and keeps the field', () => {
    const at = (value: unknown, formats: string[]): unknown => (run([{ kind: 'date', field: 't', formats }], { t: value })['@timestamp'] as LogstashTimestamp | undefined)?.toJSON();
    expect(at(1705329009123, ['UNIX_MS'])).toBe('2024-01-15T14:30:09.123Z');
    expect(at('1705329009123', ['UNIX_MS'])).toBe('2024-01-15T14:30:09.123Z');
    expect(at(1705329003.25, ['ISO8601', 'UNIX'])).toBe('2024-01-15T14:30:03.250Z');
    expect(at('2024-01-15T14:30:00.123456+01:00', ['ISO8601'])).toBe('2024-01-15T13:30:00.123Z');
    expect(at('2024-01-15 14:30:06,123', ['yyyy-MM-dd HH:mm:ss,SSS'])).toBe('2024-01-15T14:30:06.123Z');
    const miss = run([{ kind: 'date', field: 't', formats: ['ISO8601'] }], { t: { seconds: 1 } });
    expect(miss).toMatchObject({ t: { seconds: 1 }, tags: ['_obstack_time_unparsed'] });
  });

  it('renders the steps as Logstash text', () => {
    const text = renderFilters([
      { kind: 'if', condition: { kind: 'and', conditions: [{ kind: 'isString', field: 'level' }, { kind: 'not', condition: { kind: 'truthy', field: 'log.level' } }] }, then: [{ kind: 'rename', from: 'level', to: 'log.level' }] },
      { kind: 'date', field: 'time', formats: ['UNIX_MS'] },
    ]);
    expect(text).toContain('if [level] =~ /^/ and ![log][level] {');
    expect(text).toContain('mutate { rename => { "[level]" => "[log][level]" } }');
    expect(text).toContain('match => ["[time]", "UNIX_MS"]');
    expect(() => renderFilters([{ kind: 'replace', field: 'a', value: '%{[b]}' }])).toThrow(/plain text/);
    expect(() => renderFilters([{ kind: 'rename', from: 'a][b', to: 'c' }])).toThrow(/plain field path/);
  });
});
