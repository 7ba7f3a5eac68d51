import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { NodeClient, Scope, defaultStackParser, linkedErrorsIntegration, makeNodeTransport } from '@sentry/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/ingest/fingerprint.js';
import { API_KEYS, KEYS, auth, makeApp, type TestApp } from './helpers/app.js';

// A Sentry DSN's public key must be word characters only (the SDKs' DSN pattern is `\w+`), so these keys have no dashes.
const SENTRY_KEY = 'sentry0ingest0key0123456789abcdef';
const SENTRY_READ_KEY = 'sentry0read0key0123456789abcdef00';
const apiKeys = [
  ...API_KEYS,
  { name: 'shop', key: SENTRY_KEY, scopes: ['ingest' as const], sentryProjectId: '1' },
  { name: 'shop-read', key: SENTRY_READ_KEY, scopes: ['read' as const] },
];

type Item = readonly [Record<string, unknown>, string | Buffer];

/** An envelope as the SDKs serialise it: header line, then per item a header line and the payload. */
function envelope(header: Record<string, unknown>, items: readonly Item[]): Buffer {
  const parts = [Buffer.from(JSON.stringify(header))];
  for (const [h, p] of items) parts.push(Buffer.from(`\n${JSON.stringify(h)}\n`), Buffer.from(p));
  return Buffer.concat(parts);
}

const EVENT_ID = '38cfdd480aaf40f2ac5b9f8f850ee601';

/** An event shaped as @sentry/node 11 sends it: frames oldest first, the thrown error last of `exception.values`. */
function nodeEvent(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: EVENT_ID,
    level: 'error',
    platform: 'node',
    timestamp: 1_767_225_600.25, // 2026-01-01T00:00:00.250Z
    environment: 'staging',
    release: 'shop@2.4.0',
    user: { id: 'u-42', email: 'someone@example.com' },
    tags: { region: 'eu', retry: 3, canary: true, nested: { ignored: 1 } },
    exception: {
      values: [
        {
          type: 'TypeError',
          value: 'cart is undefined',
          stacktrace: {
            frames: [
              { filename: '/srv/shop/src/server.js', function: '<anonymous>', lineno: 35, colno: 7, in_app: true },
              { filename: '/srv/shop/src/checkout.js', function: 'checkout', lineno: 33, colno: 26, in_app: true },
              { filename: 'node:internal/process/task_queues', function: 'process.processTicksAndRejections', lineno: 95, colno: 5, in_app: false },
              { filename: '/srv/shop/src/cart.js', function: 'Object.?', lineno: 2, colno: 1, in_app: true },
              { filename: '/srv/shop/src/cart.js', function: 'total', lineno: 12, colno: 44, in_app: true },
            ],
          },
          mechanism: { type: 'generic', handled: true },
        },
      ],
    },
    ...over,
  };
}

/** The same error as V8 prints its `err.stack`, which is what a client sends to POST /api/v1/errors. */
const V8_STACK = [
  'TypeError: cart is undefined',
  '    at total (/srv/shop/src/cart.js:12:44)',
  '    at Object.<anonymous> (/srv/shop/src/cart.js:2:1)',
  '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
  '    at async checkout (/srv/shop/src/checkout.js:33:26)',
  '    at async <anonymous> (/srv/shop/src/server.js:35:7)',
].join('\n');

const eventEnvelope = (event = nodeEvent(), header: Record<string, unknown> = { event_id: EVENT_ID, sent_at: new Date().toISOString() }) =>
  envelope(header, [[{ type: 'event' }, JSON.stringify(event)]]);

/** An event envelope with an id of its own: the service stores an event id once. */
const freshEnvelope = () => eventEnvelope(nodeEvent({ event_id: randomUUID().replaceAll('-', '') }));

const withKey = (path = '/api/1/envelope/', key: string = SENTRY_KEY) =>
  `${path}?sentry_version=7&sentry_key=${key}&sentry_client=sentry.javascript.node%2F11.12.0`;

interface Row {
  fingerprint: string;
  type: string;
  message: string;
  stack: string | null;
  release: string | null;
  environment: string | null;
  level: string;
  user_id: string | null;
  tags: Record<string, string>;
  ts: string;
  api_key: string;
}

async function rows(t: TestApp, where = 'true'): Promise<Row[]> {
  const res = await t.db.query<Row>(
    `SELECT fingerprint, type, message, stack, release, environment, level, user_id, tags, api_key,
            to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts
       FROM error_events WHERE ${where} ORDER BY id`,
  );
  return res.rows;
}

describe('Sentry envelopes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp({ apiKeys, rateLimitPerSecond: 0 });
  });
  afterAll(async () => {
    await t.app.close();
    await t.db.close();
  });

  const post = (payload: Buffer | string, url = withKey(), headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url, headers, payload });

  it('stores an event with its exception, frames, level, release, environment, user, tags and time, answering its id', async () => {
    const res = await post(eventEnvelope());
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: EVENT_ID });
    const [row] = await rows(t);
    expect(row).toMatchObject({
      type: 'TypeError',
      message: 'cart is undefined',
      release: 'shop@2.4.0',
      environment: 'staging',
      level: 'error',
      user_id: 'u-42',
      tags: { region: 'eu', retry: '3', canary: 'true' },
      ts: '2026-01-01T00:00:00.250Z',
      api_key: 'shop',
    });
    // Frames innermost first, as V8 prints them; Sentry's `Object.?` is V8's `Object.<anonymous>`.
    expect(row?.stack?.split('\n')).toEqual([
      'TypeError: cart is undefined',
      '    at total (/srv/shop/src/cart.js:12:44)',
      '    at Object.<anonymous> (/srv/shop/src/cart.js:2:1)',
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
      '    at checkout (/srv/shop/src/checkout.js:33:26)',
      '    at <anonymous> (/srv/shop/src/server.js:35:7)',
    ]);
    const audit = await t.db.query<{ actor: string; metadata: Record<string, unknown> }>("SELECT actor, metadata FROM audit_log WHERE action = 'errors.report'");
    expect(audit.rows).toEqual([{ actor: 'shop', metadata: { count: 1, source: 'sentry' } }]);
  });

  it('groups an error sent through Sentry with the same error sent to POST /api/v1/errors', async () => {
    const json = await t.app.inject({
      method: 'POST',
      url: '/api/v1/errors',
      headers: auth('ingest'),
      payload: { type: 'TypeError', message: 'cart is undefined', stack: V8_STACK },
    });
    expect(json.statusCode).toBe(200);
    const [fp] = json.json<{ fingerprints: string[] }>().fingerprints;
    const [sentry] = await rows(t, "api_key = 'shop'");
    expect(sentry?.fingerprint).toBe(fp);
    expect(fp).toBe(fingerprint('TypeError', 'cart is undefined', V8_STACK));
    const list = await t.app.inject({ url: '/api/v1/errors', headers: auth('read') });
    expect(list.json<{ groups: unknown[] }>().groups).toContainEqual(
      expect.objectContaining({ fingerprint: fp, type: 'TypeError', count: 2, releases: ['shop@2.4.0'] }),
    );
  });

  it('reads a length-delimited payload that holds newlines, and items after it', async () => {
    await t.db.query('DELETE FROM error_events');
    const attachment = 'line one\nline two\n\n{"type":"event"}\n';
    const event = JSON.stringify(nodeEvent({ event_id: 'aa'.repeat(16) }));
    const body = envelope({ event_id: 'aa'.repeat(16) }, [
      [{ type: 'attachment', length: Buffer.byteLength(attachment), filename: 'log.txt' }, attachment],
      [{ type: 'event', length: Buffer.byteLength(event) }, event],
      [{ type: 'client_report' }, '{"timestamp":1,"discarded_events":[]}'],
    ]);
    const res = await post(Buffer.concat([body, Buffer.from('\n')]), withKey(), { 'content-type': 'application/x-sentry-envelope' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: 'aa'.repeat(16) });
    expect(await t.count('error_events')).toBe(1);
  });

  it('accepts no content type, the envelope type and text/plain, while the JSON routes still refuse text/plain', async () => {
    await t.db.query('DELETE FROM error_events');
    const contentTypes: Record<string, string>[] = [{}, { 'content-type': 'application/x-sentry-envelope' }, { 'content-type': 'text/plain;charset=UTF-8' }];
    for (const headers of contentTypes) {
      expect((await post(freshEnvelope(), withKey(), headers)).statusCode).toBe(200);
    }
    expect(await t.count('error_events')).toBe(3);
    const json = await t.app.inject({ method: 'POST', url: '/api/v1/errors', headers: { ...auth('ingest'), 'content-type': 'text/plain' }, payload: 'x' });
    expect(json.statusCode).toBe(415);
  });

  it('decompresses gzip, deflate and br bodies', async () => {
    await t.db.query('DELETE FROM error_events');
    for (const [encoding, compress] of [['gzip', gzipSync], ['deflate', deflateSync], ['br', brotliCompressSync]] as const) {
      const compressed = compress(freshEnvelope());
      const res = await post(compressed, withKey(), { 'content-encoding': encoding });
      expect(res.statusCode, encoding).toBe(200);
    }
    expect(await t.count('error_events')).toBe(3);
  });

  it('stores a message (captureMessage, with or without its synthetic exception) as type "message", grouped by its text', async () => {
    await t.db.query('DELETE FROM error_events');
    const plain = { event_id: 'bb'.repeat(16), level: 'warning', message: 'payment provider slow: 1200 ms', timestamp: '2026-01-02T03:04:05' };
    // @sentry/node 11 attaches a synthetic exception (no type) to a message.
    const synthetic = {
      event_id: 'cc'.repeat(16),
      level: 'log',
      message: 'payment provider slow: 900 ms',
      exception: { values: [{ value: 'payment provider slow: 900 ms', stacktrace: { frames: [] }, mechanism: { type: 'generic', synthetic: true } }] },
    };
    const body = envelope({}, [
      [{ type: 'event' }, JSON.stringify(plain)],
      [{ type: 'event' }, JSON.stringify(synthetic)],
    ]);
    const res = await post(body);
    expect(res.json()).toEqual({ id: 'bb'.repeat(16) });
    const stored = await rows(t);
    expect(stored.map((r) => [r.type, r.message, r.level, r.stack])).toEqual([
      ['message', 'payment provider slow: 1200 ms', 'warning', null],
      ['message', 'payment provider slow: 900 ms', 'info', null],
    ]);
    // A time without a zone is UTC, as Sentry reads it.
    expect(stored[0]?.ts).toBe('2026-01-02T03:04:05.000Z');
    expect(stored[0]?.fingerprint).toBe(stored[1]?.fingerprint);
  });

  it('keeps the thrown error of a chain and its causes, honours a custom fingerprint, and takes the receive time for a future timestamp', async () => {
    await t.db.query('DELETE FROM error_events');
    const cause = { type: 'RangeError', value: 'index 7 out of range', stacktrace: { frames: [{ filename: '/srv/shop/src/db.js', function: 'read', lineno: 4 }] } };
    const thrown = { type: 'Error', value: 'checkout failed', stacktrace: { frames: [{ filename: '/srv/shop/src/checkout.js', function: 'checkout', lineno: 9, colno: 3 }] } };
    const future = Date.now() / 1000 + 86_400;
    const body = envelope({}, [
      [{ type: 'event' }, JSON.stringify({ exception: { values: [cause, thrown] }, timestamp: future })],
      [{ type: 'event' }, JSON.stringify({ exception: { values: [thrown] }, fingerprint: ['{{ default }}', 'tenant-a'] })],
      [{ type: 'event' }, JSON.stringify({ exception: { values: [thrown] }, fingerprint: ['{{ default }}'] })],
    ]);
    const before = Date.now();
    expect((await post(body)).statusCode).toBe(200);
    const [chained, custom, plain] = await rows(t);
    expect(chained).toMatchObject({ type: 'Error', message: 'checkout failed', level: 'error' });
    expect(chained?.stack).toBe(
      'Error: checkout failed\n    at checkout (/srv/shop/src/checkout.js:9:3)\nCaused by: RangeError: index 7 out of range\n    at read (/srv/shop/src/db.js:4)',
    );
    expect(Date.parse(chained!.ts)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(chained!.ts)).toBeLessThanOrEqual(Date.now());
    // The causes are kept for reading, but the group is the thrown error's.
    expect(plain?.fingerprint).toBe(chained?.fingerprint);
    expect(custom?.fingerprint).not.toBe(plain?.fingerprint);
  });

  it('accepts and ignores every other item type, storing nothing and counting them', async () => {
    await t.db.query('DELETE FROM error_events');
    const body = envelope({ sent_at: new Date().toISOString() }, [
      [{ type: 'session' }, JSON.stringify({ sid: 'x', status: 'ok' })],
      [{ type: 'sessions' }, JSON.stringify({ aggregates: [] })],
      [{ type: 'client_report' }, JSON.stringify({ discarded_events: [] })],
      [{ type: 'transaction' }, JSON.stringify({ type: 'transaction', spans: [] })],
      [{ type: 'check_in' }, JSON.stringify({ check_in_id: 'c', status: 'ok' })],
      [{ type: 'attachment', length: 3 }, 'a\nb'],
      [{ type: 'made_up_type' }, 'not even json'],
    ]);
    const res = await post(body);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({});
    expect(await t.count('error_events')).toBe(0);
    const metrics = (await t.app.inject({ url: '/metrics' })).body;
    expect(metrics).toContain('ingest_sentry_items_total{type="session",outcome="ignored"} 1');
    expect(metrics).toContain('ingest_sentry_items_total{type="check_in",outcome="ignored"} 1');
    expect(metrics).toContain('ingest_sentry_items_total{type="other",outcome="ignored"} 1');
    expect(metrics).toMatch(/ingest_sentry_items_total\{type="event",outcome="stored"\} \d+/);
  });

  it('takes the key from X-Sentry-Auth, the query string or x-api-key, and not from the envelope header DSN alone (read before the body)', async () => {
    await t.db.query('DELETE FROM error_events');
    const sentryAuth = { 'x-sentry-auth': `Sentry sentry_version=7, sentry_client=raven-python/6.10.0, sentry_key=${SENTRY_KEY}` };
    expect((await post(freshEnvelope(), '/api/1/envelope/', sentryAuth)).statusCode).toBe(200);
    expect((await post(freshEnvelope(), withKey())).statusCode).toBe(200);
    const tunnelled = eventEnvelope(nodeEvent({ event_id: randomUUID().replaceAll('-', '') }), { event_id: EVENT_ID, dsn: `https://${SENTRY_KEY}@sentry.example.com/1` });
    // A key only inside the body would mean reading (and decompressing) the body of a request without a key.
    expect((await post(tunnelled, '/api/1/envelope/')).statusCode).toBe(401);
    // A tunnel adds the key to the URL it posts to.
    expect((await post(tunnelled, `/api/1/envelope/?sentry_key=${SENTRY_KEY}`)).statusCode).toBe(200);
    expect((await post(freshEnvelope(), '/api/1/envelope/', auth('ingest'))).statusCode).toBe(200);
    expect((await post(freshEnvelope(), '/api/1/envelope', auth('ingest'))).statusCode).toBe(200);
    expect(await t.count('error_events')).toBe(5);
  });

  it('stores an event sent again (an SDK retrying after a lost answer) once, through either API', async () => {
    await t.db.query('DELETE FROM error_events');
    const id = randomUUID();
    const again = eventEnvelope(nodeEvent({ event_id: id.replaceAll('-', '') }));
    for (let i = 0; i < 2; i++) expect((await post(again, withKey())).json()).toEqual({ id: EVENT_ID });
    expect(await t.count('error_events')).toBe(1);
    // The same id sent as a JSON report (with dashes) is the same report.
    const json = await t.app.inject({ method: 'POST', url: '/api/v1/errors', headers: auth('ingest'), payload: { event_id: id, type: 'TypeError', message: 'cart is undefined' } });
    expect(json.statusCode).toBe(200);
    expect(await t.count('error_events')).toBe(1);
    const other = await t.app.inject({ method: 'POST', url: '/api/v1/errors', headers: auth('ingest'), payload: { event_id: randomUUID(), type: 'TypeError', message: 'cart is undefined' } });
    expect(other.statusCode).toBe(200);
    expect(await t.count('error_events')).toBe(2);
  });

  it('refuses a missing or wrong key with 401 and a key without the ingest scope with 403, storing nothing and logging no key', async () => {
    await t.db.query('DELETE FROM error_events');
    const cases: [string, Record<string, string>, Buffer, number][] = [
      [withKey('/api/1/envelope/', 'sentry0wrong0key0123456789abcdef0'), {}, eventEnvelope(), 401],
      ['/api/1/envelope/', { 'x-sentry-auth': 'Sentry sentry_key=nope0123456789abcdef0123456789, sentry_version=7' }, eventEnvelope(), 401],
      ['/api/1/envelope/', {}, eventEnvelope(), 401],
      ['/api/1/envelope/', {}, eventEnvelope(nodeEvent(), { dsn: 'https://nope0123456789abcdef0123456789@sentry.example.com/1' }), 401],
      // An unknown caller gets the 401 even when its body is broken.
      ['/api/1/envelope/', {}, Buffer.from('{not json\n{"type":"event"}\n{}'), 401],
      [withKey('/api/1/envelope/', SENTRY_READ_KEY), {}, eventEnvelope(), 403],
      [withKey('/api/1/store/', 'sentry0wrong0key0123456789abcdef0'), {}, Buffer.from(JSON.stringify(nodeEvent())), 401],
    ];
    for (const [url, headers, body, status] of cases) {
      const res = await post(body, url, headers);
      expect(res.statusCode, url).toBe(status);
      expect(res.json()).toEqual(status === 401 ? { error: 'unauthorized', message: 'authentication required' } : { error: 'forbidden', message: 'forbidden' });
    }
    expect(await t.count('error_events')).toBe(0);
    const logs = JSON.stringify(t.logs);
    expect(logs).not.toContain(SENTRY_KEY);
    expect(logs).not.toContain(SENTRY_READ_KEY);
    expect(logs).not.toContain('sentry0wrong0key');
  });

  it('takes one JSON event on the older /store/ endpoint', async () => {
    await t.db.query('DELETE FROM error_events');
    const res = await post(gzipSync(JSON.stringify(nodeEvent())), withKey('/api/1/store/'), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: EVENT_ID });
    expect(await rows(t)).toEqual([expect.objectContaining({ type: 'TypeError', message: 'cart is undefined', api_key: 'shop' })]);
  });
});

interface BadCase {
  readonly name: string;
  readonly body: Buffer | string;
  readonly url?: string;
  readonly headers?: Record<string, string>;
  readonly status: number;
  readonly error: string;
  /** Text the answer must contain: the part of the envelope at fault. */
  readonly names: string;
}

const event = JSON.stringify(nodeEvent());
const BAD: BadCase[] = [
  { name: 'empty body', body: '', status: 400, error: 'invalid_envelope', names: 'the body is empty' },
  { name: 'envelope header not JSON', body: `{"event_id":\n{"type":"event"}\n${event}`, status: 400, error: 'invalid_envelope', names: 'envelope.header: the first line is not valid JSON' },
  { name: 'envelope header not an object', body: `[1,2]\n{"type":"event"}\n${event}`, status: 400, error: 'invalid_envelope', names: 'envelope.header: the first line must be a JSON object' },
  { name: 'item header not JSON', body: `{}\n{"type":"event"}\n${event}\ntype=event\n{}`, status: 400, error: 'invalid_envelope', names: 'envelope.items[1].header: the item header is not valid JSON' },
  { name: 'item header without type', body: `{}\n{"length":2}\n{}`, status: 400, error: 'invalid_envelope', names: 'envelope.items[0].header.type: must be a non-empty string' },
  { name: 'length beyond the body', body: `{}\n{"type":"event","length":5000}\n${event}`, status: 400, error: 'invalid_envelope', names: `envelope.items[0].header.length: 5000 bytes, but the body has ${Buffer.byteLength(event)} left` },
  { name: 'negative length', body: `{}\n{"type":"event","length":-1}\n${event}`, status: 400, error: 'invalid_envelope', names: 'envelope.items[0].header.length: must be a non-negative integer' },
  { name: 'payload longer than its length', body: `{}\n{"type":"event","length":2}\n${event}`, status: 400, error: 'invalid_envelope', names: 'envelope.items[0].payload: must be followed by a newline after 2 bytes' },
  { name: 'event payload not JSON', body: `{}\n{"type":"event"}\n{"exception":`, status: 400, error: 'invalid_envelope', names: 'envelope.items[0].payload: the event payload is not valid JSON' },
  { name: 'event payload not an object', body: `{}\n{"type":"session"}\n{}\n{"type":"event"}\n["a"]`, status: 400, error: 'invalid_envelope', names: 'envelope.items[1].payload: the event payload must be a JSON object' },
  { name: 'an event after a bad one', body: `{}\n{"type":"event"}\n${event}\n{"type":"event"}\nnope`, status: 400, error: 'invalid_envelope', names: 'envelope.items[1].payload' },
  { name: 'too many items', body: `{}${'\n{"type":"client_report"}\n{}'.repeat(101)}`, status: 400, error: 'invalid_envelope', names: 'envelope.items: at most 100 items per envelope' },
  { name: 'oversized body', body: envelope({}, [[{ type: 'event' }, JSON.stringify(nodeEvent({ extra: { blob: 'x'.repeat(20_000) } }))]]), status: 413, error: 'body_too_large', names: '16384 bytes' },
  { name: 'oversized once decompressed', body: gzipSync(envelope({}, [[{ type: 'event' }, JSON.stringify(nodeEvent({ extra: { blob: 'x'.repeat(20_000) } }))]])), headers: { 'content-encoding': 'gzip' }, status: 413, error: 'body_too_large', names: 'decompressed body is larger than the limit of 16384 bytes' },
  { name: 'not gzip', body: eventEnvelope(), headers: { 'content-encoding': 'gzip' }, status: 400, error: 'invalid_encoding', names: 'not valid gzip data' },
  { name: 'truncated gzip', body: gzipSync(eventEnvelope()).subarray(0, 40), headers: { 'content-encoding': 'gzip' }, status: 400, error: 'invalid_encoding', names: 'not valid gzip data' },
  { name: 'unknown content encoding', body: eventEnvelope(), headers: { 'content-encoding': 'zstd' }, status: 415, error: 'unsupported_media_type', names: 'content-encoding zstd is not supported' },
  // The key is of project `default` with the DSN project id 1: any other id is refused before the body is read.
  { name: 'project id of another project', body: eventEnvelope(), url: withKey('/api/2/envelope/'), status: 403, error: 'wrong_project', names: "params.projectId: this key belongs to project default: the DSN's project id must be 1 (or the project's name), got \"2\"" },
  { name: 'another project, with a body that is not gzip', body: eventEnvelope(), url: withKey('/api/shop/store/'), headers: { 'content-encoding': 'gzip' }, status: 403, error: 'wrong_project', names: 'got "shop"' },
  { name: '/store/ body not JSON', body: 'nope', url: withKey('/api/1/store/'), status: 400, error: 'invalid_json', names: 'not a valid JSON event' },
  { name: '/store/ body an array', body: '[{}]', url: withKey('/api/1/store/'), status: 400, error: 'invalid_json', names: 'must be a JSON object' },
];

describe('bad Sentry input', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp({ apiKeys, bodyLimitBytes: 16_384 });
  });
  afterAll(async () => {
    await t.app.close();
    await t.db.close();
  });

  it.each(BAD)('$name → $status naming the problem, nothing stored', async (c) => {
    const res = await t.app.inject({ method: 'POST', url: c.url ?? withKey(), headers: c.headers ?? {}, payload: c.body });
    expect(res.statusCode).toBe(c.status);
    const body = res.json<{ error: string; message: string }>();
    expect(body.error).toBe(c.error);
    expect(body.message).toContain(c.names);
    expect(await t.count('error_events')).toBe(0);
  });

  it('audits the refusals without the key', async () => {
    await new Promise((r) => setTimeout(r, 50));
    const { rows: refused } = await t.db.query<{ reason: string }>("SELECT reason FROM audit_log WHERE action = 'request.refused'");
    expect(refused.map((r) => r.reason)).toEqual(expect.arrayContaining(['invalid_envelope', 'invalid_encoding', 'body_too_large']));
    expect(JSON.stringify(t.logs)).not.toContain(SENTRY_KEY);
  });
});

describe('@sentry/node against a listening server', () => {
  let t: TestApp;
  let port: number;
  const encodings: (string | undefined)[] = [];
  const clients: NodeClient[] = [];

  beforeAll(async () => {
    t = await makeApp({ apiKeys, rateLimitPerSecond: 0 });
    t.app.addHook('onRequest', async (request) => {
      if (request.url.startsWith('/api/1/')) encodings.push(request.headers['content-encoding'] as string | undefined);
    });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const c of clients) await c.close(2_000);
    await t.app.close();
    await t.db.close();
  });

  /**
   * A client of its own rather than Sentry.init(): no global instrumentation
   * of the test process, no default integrations but linked errors.
   */
  function sentry(key: string) {
    const client = new NodeClient({
      dsn: `http://${key}@127.0.0.1:${port}/1`,
      transport: makeNodeTransport,
      stackParser: defaultStackParser,
      integrations: [linkedErrorsIntegration()],
      release: 'shop@2.4.0',
      environment: 'staging',
      enableRuntimeChannelInjection: false,
    });
    const scope = new Scope();
    scope.setClient(client);
    client.init();
    const statuses: number[] = [];
    client.on('afterSendEvent', (_event, response) => statuses.push(response.statusCode ?? 0));
    clients.push(client);
    return { client, scope, statuses };
  }

  // An async call chain, five frames deep so that the fingerprint's top frames are all in this file.
  async function total(): Promise<number> {
    await Promise.resolve();
    throw new TypeError('cart is undefined');
  }
  async function price(): Promise<number> {
    return (await total()) * 2;
  }
  async function checkout(): Promise<number> {
    return (await price()) + 1;
  }
  /** Two call sites of one chain: Sentry's own dedupe tells them apart by line, our fingerprint does not. */
  async function handle(kind: 'cart' | 'button'): Promise<number> {
    if (kind === 'cart') return await checkout();
    return await checkout();
  }

  async function caught(run: () => Promise<unknown>): Promise<Error> {
    try {
      await run();
    } catch (err) {
      return err as Error;
    }
    throw new Error('did not throw');
  }

  it('stores a thrown error and a message, grouping the same error thrown twice into one fingerprint with count 2', async () => {
    const { client, scope, statuses } = sentry(SENTRY_KEY);
    scope.setUser({ id: 'u-7' });
    scope.setTag('region', 'eu');
    const first = await caught(() => handle('cart'));
    const second = await caught(() => handle('button'));
    const firstId = scope.captureException(first);
    scope.captureException(second);
    scope.captureMessage('payment provider slow', 'warning');
    expect(await client.flush(5_000)).toBe(true);
    expect(statuses).toEqual([200, 200, 200]);

    const res = await t.app.inject({ url: '/api/v1/errors', headers: auth('read') });
    const groups = res.json<{ groups: { fingerprint: string; type: string; message: string; level: string; count: number; users: number; releases: string[] }[] }>().groups;
    const typeErrors = groups.filter((g) => g.type === 'TypeError');
    expect(typeErrors).toEqual([expect.objectContaining({ message: 'cart is undefined', level: 'error', count: 2, users: 1, releases: ['shop@2.4.0'] })]);
    // The group is the one POST /api/v1/errors gives the same error's err.stack.
    expect(typeErrors[0]?.fingerprint).toBe(fingerprint(first.name, first.message, first.stack));
    expect(groups).toContainEqual(expect.objectContaining({ type: 'message', message: 'payment provider slow', level: 'warning', count: 1 }));

    const stored = await rows(t, "type = 'TypeError'");
    expect(stored[0]).toMatchObject({ environment: 'staging', user_id: 'u-7', tags: { region: 'eu' }, api_key: 'shop' });
    expect(stored[0]?.stack).toContain('at checkout (');
    const audit = await t.db.query<{ request_id: string }>("SELECT request_id FROM audit_log WHERE action = 'errors.report'");
    expect(audit.rows).toHaveLength(3);
    expect(firstId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('accepts the gzip body the SDK sends for an envelope over 32 KiB', async () => {
    const { client, scope, statuses } = sentry(SENTRY_KEY);
    scope.setExtra('payload', 'x'.repeat(40_000));
    scope.captureException(new RangeError('quantity 40000 too large'));
    expect(await client.flush(5_000)).toBe(true);
    expect(statuses).toEqual([200]);
    expect(encodings).toContain('gzip');
    expect(await rows(t, "type = 'RangeError'")).toEqual([expect.objectContaining({ message: 'quantity 40000 too large', release: 'shop@2.4.0' })]);
  });

  it('takes what Sentry.init() with its default integrations sends: events stored, sessions and spans ignored, nothing refused', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/ingest/fixtures/sentry-init.ts'], {
      env: { ...process.env, SENTRY_DSN: `http://${SENTRY_KEY}@127.0.0.1:${port}/1` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, output).toBe(0);
    expect(await rows(t, "release = 'shop@2.5.0'")).toEqual([
      expect.objectContaining({ type: 'SyntaxError', level: 'error', environment: 'production' }),
      expect.objectContaining({ type: 'message', message: 'checkout finished', level: 'info' }),
    ]);
    const metrics = (await t.app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/ingest_sentry_items_total\{type="(session|sessions|span|transaction)",outcome="ignored"\} [1-9]/);
    expect(metrics).not.toMatch(/http_requests_total\{method="POST",route="\/api\/:projectId\/envelope\/",status_code="(?!200)/);
  });

  it('refuses a DSN with a wrong key with 401 and stores nothing', async () => {
    const before = await t.count('error_events');
    const { client, scope, statuses } = sentry('sentry0wrong0key0123456789abcdef0');
    scope.captureException(new Error('never stored'));
    await client.flush(5_000);
    expect(statuses).toEqual([401]);
    expect(await t.count('error_events')).toBe(before);
    expect(JSON.stringify(t.logs)).not.toContain('sentry0wrong0key');
  });
});
