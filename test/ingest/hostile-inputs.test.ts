import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { openPg, type Database } from '../../src/ingest/db.js';
import { runRollup } from '../../src/ingest/rollup.js';
import { API_KEYS, auth, makeApp, type TestApp } from './helpers/app.js';
import { postgresUnavailable, TestPostgres } from './helpers/postgres.js';

/**
 * Hostile input, route by route: every answer is 2xx or 4xx, a 4xx names the
 * field and shows no stack, and what a 2xx accepted is in the database as sent.
 */

const json = { 'content-type': 'application/json' };
const SECOND_SENDER = 'test-ingest-key-second-sender-01';
const KEYS = [...API_KEYS, { name: 'other-app', key: SECOND_SENDER, scopes: ['ingest' as const] }];

const NUL = 'a\u0000b';
const LONE_HIGH = 'a\ud800b';
const LONE_LOW = 'a\udc00b';
/** A proper pair (an emoji) is valid Unicode and must be stored as sent. */
const PAIR = 'a\ud83d\ude00b';

const iso = (ms: number) => new Date(ms).toISOString();
/** `ms` written with the zone offset `sign hh:mm`. */
function withOffset(ms: number, offset: string): string {
  const m = /^([+-])(\d\d):(\d\d)$/.exec(offset)!;
  const minutes = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  return `${iso(ms + minutes * 60_000).slice(0, 23)}${offset}`;
}

/** Offsets and dates PostgreSQL refuses, or the service does not keep, each written for a recent instant where it can be. */
const BAD_TIMES = (now: number) => [
  withOffset(now, '+14:01'),
  withOffset(now, '-14:01'),
  withOffset(now, '+15:59'),
  withOffset(now, '+16:00'),
  withOffset(now, '+23:59'),
  withOffset(now, '-23:59'),
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '1969-12-31T23:59:59Z',
  '9999-12-31T23:59:59-14:00',
  '+010000-01-01T00:00:00Z',
  '2024-02-30T00:00:00Z',
  '2024-01-15T14:30:00',
];
const BAD_TEXTS = [NUL, LONE_HIGH, LONE_LOW, `${'x'.repeat(10)}\ud800`, '\udfff'];
/** JSON that parses to what no column holds: 1e400 is Infinity in JavaScript. */
const HUGE_NUMBER = '1e400';

interface Case {
  readonly name: string;
  readonly method?: 'POST' | 'GET' | 'DELETE';
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly payload?: string;
  /** The field a 4xx must name; undefined when a 2xx is a right answer too (the class of input is accepted). */
  readonly field?: string;
}

const body = (value: unknown) => JSON.stringify(value);

function alert(over: Record<string, unknown> = {}) {
  return {
    status: 'firing',
    labels: { alertname: 'HighErrorRate', severity: 'P2' },
    annotations: { summary: 'errors' },
    startsAt: iso(Date.now() - 60_000),
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus/graph',
    fingerprint: 'abc123',
    ...over,
  };
}
function webhook(over: Record<string, unknown> = {}, alertOver: Record<string, unknown> = {}) {
  return {
    version: '4',
    groupKey: '{}:{alertname="HighErrorRate"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'history',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager',
    alerts: [alert(alertOver)],
    ...over,
  };
}

/** Every class of hostile input, per route that takes input. */
function cases(now: number): Case[] {
  const out: Case[] = [];
  const add = (c: Case) => out.push(c);
  const event = (over: Record<string, unknown>) => body({ type: 'page_view', user_id: 'u1', ...over });
  const report = (over: Record<string, unknown>) => body({ type: 'TypeError', message: 'boom', ...over });
  const metric = (over: Record<string, unknown>) => body({ name: 'app_queue_depth', metric_type: 'gauge', value: 1, ...over });
  const kpi = (over: Record<string, unknown>) => body({ metric_name: 'revenue', value: 1, ...over });

  // Times: events, error reports, alert starts and ends, acknowledgement ends, error list `since`.
  for (const t of BAD_TIMES(now)) {
    add({ name: `event timestamp ${t}`, url: '/api/v1/events', payload: event({ timestamp: t }), field: 'body.timestamp' });
    add({ name: `error timestamp ${t}`, url: '/api/v1/errors', payload: report({ timestamp: t }), field: 'body.timestamp' });
    add({ name: `alert startsAt ${t}`, url: '/api/v1/alerts/webhook', payload: body(webhook({}, { startsAt: t })), field: 'body.alerts[0].startsAt' });
    add({ name: `acknowledge until ${t}`, url: '/api/v1/alerts/1/acknowledge', headers: { ...json, ...auth('admin') }, payload: body({ reason: 'r', until: t }), field: 'body.until' });
    add({ name: `errors since ${t}`, method: 'GET', url: `/api/v1/errors?since=${encodeURIComponent(t)}`, headers: auth('read'), field: 'query.since' });
  }
  for (const t of [withOffset(now + 86_400_000, '+14:01'), withOffset(now + 86_400_000, '+16:00'), '9999-12-31T23:59:59-14:00']) {
    add({ name: `alert endsAt ${t}`, url: '/api/v1/alerts/webhook', payload: body(webhook({ status: 'resolved' }, { status: 'resolved', endsAt: t })), field: 'body.alerts[0].endsAt' });
  }

  // Text: NUL and lone surrogates wherever a client's string is stored, nested ones included.
  for (const [i, s] of BAD_TEXTS.entries()) {
    add({ name: `event user_id #${i}`, url: '/api/v1/events', payload: event({ user_id: s }), field: 'body.user_id' });
    add({ name: `event session_id #${i}`, url: '/api/v1/events', payload: event({ session_id: s }), field: 'body.session_id' });
    add({ name: `event nested property #${i}`, url: '/api/v1/events', payload: event({ properties: { a: [{ b: s }] } }), field: 'body.properties.a[0].b' });
    add({ name: `event property key #${i}`, url: '/api/v1/events', payload: event({ properties: { [s]: 1 } }), field: 'body.properties' });
    add({ name: `batch event #${i}`, url: '/api/v1/events', payload: body({ events: [{ type: 'page_view' }, { type: 'page_view', session_id: s }] }), field: 'body.events[1].session_id' });
    add({ name: `error message #${i}`, url: '/api/v1/errors', payload: report({ message: s }), field: 'body.message' });
    add({ name: `error stack #${i}`, url: '/api/v1/errors', payload: report({ stack: s }), field: 'body.stack' });
    add({ name: `error tag value #${i}`, url: '/api/v1/errors', payload: report({ tags: { service: s } }), field: 'body.tags.service' });
    add({ name: `error tag key #${i}`, url: '/api/v1/errors', payload: report({ tags: { [s]: 'v' } }), field: 'body.tags' });
    add({ name: `errors release query #${i}`, method: 'GET', url: `/api/v1/errors?release=${encodeURIComponent(s.replace(/[\ud800-\udfff]/g, ''))}`, headers: auth('read') });
    add({ name: `metric help #${i}`, url: '/api/v1/monitoring/metrics', payload: metric({ name: `app_help_${i}`, help: s }), field: 'body.help' });
    add({ name: `metric label value #${i}`, url: '/api/v1/monitoring/metrics', payload: metric({ name: `app_label_${i}`, labels: { queue: s } }), field: 'body.labels.queue' });
    add({ name: `KPI metadata #${i}`, url: '/api/v1/monitoring/business-metrics', payload: kpi({ metadata: { deep: { list: [s] } } }), field: 'body.metadata.deep.list[0]' });
    add({ name: `alert label value #${i}`, url: '/api/v1/alerts/webhook', payload: body(webhook({}, { labels: { alertname: 'A', team: s } })), field: 'body.alerts[0].labels.team' });
    add({ name: `alert label key #${i}`, url: '/api/v1/alerts/webhook', payload: body(webhook({}, { labels: { alertname: 'A', [s]: 'x' } })), field: 'body.alerts[0].labels' });
    add({ name: `alert annotation #${i}`, url: '/api/v1/alerts/webhook', payload: body(webhook({}, { annotations: { summary: s } })), field: 'body.alerts[0].annotations.summary' });
    add({ name: `alert generatorURL #${i}`, url: '/api/v1/alerts/webhook', payload: body(webhook({}, { generatorURL: s })), field: 'body.alerts[0].generatorURL' });
    add({ name: `alert groupKey #${i}`, url: '/api/v1/alerts/webhook', payload: body(webhook({ groupKey: s })), field: 'body.groupKey' });
    add({ name: `alert receiver #${i}`, url: '/api/v1/alerts/webhook', payload: body(webhook({ receiver: s })), field: 'body.receiver' });
    add({ name: `alert common label #${i}`, url: '/api/v1/alerts/webhook', payload: body(webhook({ commonLabels: { x: s } })), field: 'body.commonLabels.x' });
    add({ name: `acknowledge reason #${i}`, url: '/api/v1/alerts/1/acknowledge', headers: { ...json, ...auth('admin') }, payload: body({ reason: s }), field: 'body.reason' });
    add({ name: `acknowledge by #${i}`, url: '/api/v1/alerts/1/acknowledge', headers: { ...json, ...auth('admin') }, payload: body({ reason: 'r', by: s }), field: 'body.by' });
  }
  add({ name: 'erasure of a NUL id', method: 'DELETE', url: '/api/v1/users/a%00b/data', headers: auth('admin'), field: 'params.id' });
  add({ name: 'erasure of an id that is not UTF-8', method: 'DELETE', url: '/api/v1/users/a%ED%A0%80b/data', headers: auth('admin') });
  add({ name: 'erasure of a huge id', method: 'DELETE', url: `/api/v1/users/${'x'.repeat(300)}/data`, headers: auth('admin') });

  // Names that are properties of every object.
  for (const name of ['toString', 'constructor', 'valueOf', 'hasOwnProperty', 'prototype']) {
    add({ name: `metric named ${name}`, url: '/api/v1/monitoring/metrics', payload: metric({ name }), field: 'body.name' });
    add({ name: `label named ${name}`, url: '/api/v1/monitoring/metrics', payload: metric({ name: 'app_proto_labels', labels: { [name]: 'x' } }), field: `body.labels.${name}` });
    add({ name: `error tag named ${name}`, url: '/api/v1/errors', payload: report({ tags: { [name]: 'x' } }), field: `body.tags.${name}` });
  }
  for (const name of ['constructor', 'prototype', '__proto__', 'hasownproperty']) {
    add({ name: `KPI named ${name}`, url: '/api/v1/monitoring/business-metrics', payload: kpi({ metric_name: name }), ...(name === 'hasownproperty' ? {} : { field: 'body.metric_name' }) });
  }
  add({ name: 'counter named toString_total is an ordinary name', url: '/api/v1/monitoring/metrics', payload: metric({ name: 'toString_total', metric_type: 'counter' }) });
  add({ name: 'a __proto__ key in a JSON body', url: '/api/v1/events', payload: '{"type":"page_view","__proto__":{"admin":true}}' });
  add({ name: 'a constructor.prototype key in a JSON body', url: '/api/v1/errors', payload: '{"type":"E","message":"m","tags":{"constructor":{"prototype":{"x":"1"}}}}' });

  // Numbers: beyond float8 (1e400 parses to Infinity), beyond the bounds, as strings, negative.
  add({ name: 'request duration 1e308', url: '/api/v1/events', payload: event({ type: 'request', properties: { duration_ms: 1e308, status: 200 } }), field: 'body.properties.duration_ms' });
  add({ name: 'request duration over a day', url: '/api/v1/events', payload: event({ type: 'request', properties: { duration_ms: 86_400_001, status: 200 } }), field: 'body.properties.duration_ms' });
  add({ name: 'request duration negative', url: '/api/v1/events', payload: event({ type: 'request', properties: { duration_ms: -1, status: 200 } }), field: 'body.properties.duration_ms' });
  add({ name: 'request duration as a string', url: '/api/v1/events', payload: event({ type: 'request', properties: { duration_ms: '5', status: 200 } }), field: 'body.properties.duration_ms' });
  add({ name: 'request status 1e400', url: '/api/v1/events', payload: `{"type":"request","properties":{"duration_ms":5,"status":${HUGE_NUMBER}}}`, field: 'body.properties.status' });
  add({ name: 'free property 1e400', url: '/api/v1/events', payload: `{"type":"page_view","properties":{"x":${HUGE_NUMBER}}}`, field: 'body.properties.x' });
  add({ name: 'session length over a week', url: '/api/v1/events', payload: event({ type: 'session_end', properties: { duration_seconds: 1e308 } }), field: 'body.properties.duration_seconds' });
  add({ name: 'rating NaN as a string', url: '/api/v1/events', payload: event({ type: 'conversation_rated', properties: { rating: 'NaN' } }), field: 'body.properties.rating' });
  add({ name: 'metric value 1e400', url: '/api/v1/monitoring/metrics', payload: `{"name":"app_queue_depth","metric_type":"gauge","value":${HUGE_NUMBER}}`, field: 'body.value' });
  add({ name: 'metric value -1e400', url: '/api/v1/monitoring/metrics', payload: `{"name":"app_queue_depth","metric_type":"gauge","value":-${HUGE_NUMBER}}`, field: 'body.value' });
  add({ name: 'metric value as a string', url: '/api/v1/monitoring/metrics', payload: metric({ value: '1' }), field: 'body.value' });
  add({ name: 'histogram with a repeated bucket', url: '/api/v1/monitoring/metrics', payload: metric({ name: 'app_wait_seconds', metric_type: 'histogram', buckets: [1, 1, 2] }), field: 'body.buckets' });
  add({ name: 'histogram bucket 1e400', url: '/api/v1/monitoring/metrics', payload: `{"name":"app_wait_seconds","metric_type":"histogram","value":1,"buckets":[${HUGE_NUMBER}]}`, field: 'body.buckets[0]' });
  add({ name: 'KPI value 1e308', url: '/api/v1/monitoring/business-metrics', payload: kpi({ value: 1e308 }), field: 'body.value' });
  add({ name: 'KPI value -1e308', url: '/api/v1/monitoring/business-metrics', payload: kpi({ value: -1e308 }), field: 'body.value' });
  add({ name: 'KPI target 1e400', url: '/api/v1/monitoring/business-metrics', payload: `{"metric_name":"revenue","value":1,"target":${HUGE_NUMBER}}`, field: 'body.target' });
  add({ name: 'truncatedAlerts 1e400', url: '/api/v1/alerts/webhook', payload: body(webhook()).replace('"truncatedAlerts":0', `"truncatedAlerts":${HUGE_NUMBER}`), field: 'body.truncatedAlerts' });
  add({ name: 'acknowledge an id beyond bigint', url: '/api/v1/alerts/99999999999999999999/acknowledge', headers: { ...json, ...auth('admin') }, payload: body({ reason: 'r' }), field: 'params.id' });
  add({ name: 'acknowledge an id that is 1e400', url: '/api/v1/alerts/1e400/acknowledge', headers: { ...json, ...auth('admin') }, payload: body({ reason: 'r' }), field: 'params.id' });
  for (const q of ['days=1e400', 'days=-1', 'days=abc', 'days=', 'days=1.5', 'days[]=1', 'days=1&days=2', 'days=0x10']) {
    add({ name: `analytics ?${q}`, method: 'GET', url: `/api/v1/monitoring/analytics?${q}`, headers: auth('read') });
  }
  for (const q of ['limit=1e400', 'limit=-5', 'status=%00', 'limit=99999999999999999999']) {
    add({ name: `alerts ?${q}`, method: 'GET', url: `/api/v1/alerts?${q}`, headers: auth('read') });
    add({ name: `errors ?${q}`, method: 'GET', url: `/api/v1/errors?${q}`, headers: auth('read') });
  }
  // The seed API's alert (no Alertmanager here: a valid one would be 503, so only what is refused before).
  const seedAlert = (over: Record<string, unknown>) => body({ name: 'High API Error Rate', severity: 'high', component: 'api_gateway', ...over });
  for (const [i, s] of BAD_TEXTS.entries()) {
    add({ name: `alert name #${i}`, url: '/api/v1/monitoring/alerts', payload: seedAlert({ name: s }), field: 'body.name' });
    add({ name: `alert description #${i}`, url: '/api/v1/monitoring/alerts', payload: seedAlert({ description: s }), field: 'body.description' });
    add({ name: `alert label value #${i}`, url: '/api/v1/monitoring/alerts', payload: seedAlert({ labels: { zone: s } }), field: 'body.labels.zone' });
  }
  add({ name: 'alert threshold 1e400', url: '/api/v1/monitoring/alerts', payload: seedAlert({}).replace('}', `,"threshold":${HUGE_NUMBER}}`), field: 'body.threshold' });
  add({ name: 'alert duration 1e400', url: '/api/v1/monitoring/alerts', payload: seedAlert({}).replace('}', `,"duration_seconds":${HUGE_NUMBER}}`), field: 'body.duration_seconds' });
  for (const name of ['__proto__', 'constructor', '__name__', 'project', 'severity']) {
    // A __proto__ key is refused by the JSON parser itself (400 invalid_json), before any field is looked at.
    add({ name: `alert label named ${name}`, url: '/api/v1/monitoring/alerts', payload: seedAlert({}).replace('}', `,"labels":{"${name}":"x"}}`), ...(name === '__proto__' ? {} : { field: 'body.labels' }) });
  }
  add({ name: 'alert component with a quote', url: '/api/v1/monitoring/alerts', payload: seedAlert({ component: 'a"}' }), field: 'body.component' });
  for (const id of ['%00', 'zz', '0'.repeat(32), 'a'.repeat(33), '%F0%9F%98%80']) {
    add({ name: `trace id ${id}`, method: 'GET', url: `/api/v1/monitoring/traces/${id}`, headers: auth('read'), field: 'params.trace_id' });
  }
  for (const q of ['component=%00', 'component=', 'window=1e400', 'window=5y', 'window=0s', `component=${'x'.repeat(200)}`]) {
    add({ name: `analytics ?${q}`, method: 'GET', url: `/api/v1/monitoring/analytics?${q}`, headers: auth('read'), field: `query.${q.split('=')[0]}` });
  }
  // Quoted into PromQL, never pasted: answered (Prometheus is not configured here), not refused or failed.
  add({ name: 'analytics component that looks like PromQL', method: 'GET', url: `/api/v1/monitoring/analytics?component=${encodeURIComponent('x"} or vector(1) #')}`, headers: auth('read') });
  add({ name: 'health with a query', method: 'GET', url: '/api/v1/monitoring/health?x=%00', headers: auth('read') });
  add({ name: 'business dashboard with a query', method: 'GET', url: '/api/v1/monitoring/business-dashboard?x=1e400', headers: auth('admin') });

  // The classics, on every JSON route.
  const jsonRoutes: [string, Record<string, string>][] = [
    ['/api/v1/events', auth('ingest')],
    ['/api/v1/errors', auth('ingest')],
    ['/api/v1/monitoring/metrics', auth('ingest')],
    ['/api/v1/monitoring/business-metrics', auth('ingest')],
    ['/api/v1/alerts/webhook', auth('ingest')],
    ['/api/v1/alerts/1/acknowledge', auth('admin')],
    ['/api/v1/monitoring/alerts', auth('ingest')],
  ];
  let deep = '1';
  for (let i = 0; i < 5_000; i++) deep = `[${deep}]`;
  const classics: [string, string | undefined, Record<string, string>][] = [
    ['empty body', '', json],
    ['no body and no content type', undefined, {}],
    ['invalid JSON', '{"type":', json],
    ['JSON null', 'null', json],
    ['a bare string', '"page_view"', json],
    ['a number', '42', json],
    ['an array of nulls', '[null, null]', json],
    ['deep nesting', `{"type":"page_view","properties":{"a":${deep}},"message":${deep},"reason":${deep},"name":${deep},"metric_name":${deep},"alerts":${deep}}`, json],
    ['a huge string', body({ type: 'x'.repeat(900_000), message: 'x'.repeat(10), reason: 'x'.repeat(900_000), name: 'x'.repeat(900_000) }), json],
    ['wrong content type', 'type=page_view', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['text/plain', '{"type":"page_view"}', { 'content-type': 'text/plain' }],
    ['extra fields', body({ type: 'page_view', message: 'm', reason: 'r', admin: true, version: '4' }), json],
    ['wrong types', body({ type: 1, message: [], reason: {}, name: null, metric_name: true, alerts: 'x' }), json],
    ['a body over the limit', body({ type: 'page_view', properties: { blob: 'x'.repeat(1_100_000) } }), json],
    ['UTF-16 content', '{"type":"page_view"}', { 'content-type': 'application/json; charset=utf-16' }],
  ];
  for (const [url, key] of jsonRoutes) {
    for (const [name, payload, headers] of classics) add({ name: `${url}: ${name}`, url, headers: { ...headers, ...key }, ...(payload === undefined ? {} : { payload }) });
  }
  return out;
}

/** A 4xx that names what was wrong and shows nothing internal; never a 5xx. */
function expectSafeAnswer(res: LightMyRequestResponse, c: Case): void {
  expect(res.statusCode, `${c.name}: ${res.body.slice(0, 300)}`).toBeLessThan(500);
  if (res.statusCode < 400) return;
  const answer = res.json<{ error: string; message: string; issues?: { path: string; message: string }[] }>();
  expect(typeof answer.error).toBe('string');
  expect(answer.message.length).toBeGreaterThan(0);
  expect(res.body).not.toMatch(/\n\s+at |node_modules|\.ts:\d+|Error: /);
  if (c.field !== undefined && res.statusCode === 400) {
    expect(answer.message, c.name).toContain(c.field);
    expect(answer.issues?.some((i) => i.path.startsWith(c.field!)), `${c.name}: ${JSON.stringify(answer.issues)}`).toBe(true);
  }
}

async function send(t: TestApp, c: Case, key = auth('ingest')) {
  return t.app.inject({
    method: c.method ?? 'POST',
    url: c.url,
    headers: c.headers ?? { ...json, ...key },
    ...(c.payload !== undefined ? { payload: c.payload } : {}),
  });
}

/** Every number in a JSON answer, with its path. */
function numbers(value: unknown, path = '$'): [string, unknown][] {
  if (typeof value === 'number') return [[path, value]];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => numbers(v, `${path}.${k}`));
}

const READ_ROUTES: [string, 'read' | 'admin'][] = [
  ['/api/v1/monitoring/analytics?days=30', 'read'],
  ['/api/v1/monitoring/analytics?days=1', 'read'],
  ['/api/v1/monitoring/health', 'read'],
  ['/api/v1/monitoring/business-dashboard', 'admin'],
  ['/api/v1/errors', 'read'],
  ['/api/v1/alerts', 'read'],
];

/** Each read route answers 200 with finite numbers only. */
async function expectReadable(t: TestApp): Promise<Record<string, unknown>> {
  const answers: Record<string, unknown> = {};
  for (const [url, scope] of READ_ROUTES) {
    const res = await t.app.inject({ method: 'GET', url, headers: auth(scope) });
    expect(res.statusCode, `${url}: ${res.body.slice(0, 300)}`).toBe(200);
    // A non-finite number would have been written as null; the raw text must hold none of JavaScript's spellings either.
    expect(res.body).not.toMatch(/Infinity|NaN/);
    const answer = res.json<unknown>();
    for (const [path, n] of numbers(answer)) expect(Number.isFinite(n), `${url} ${path}`).toBe(true);
    answers[url] = answer;
  }
  return answers;
}

function suite(name: string, open: () => Promise<{ db: Database; close: () => Promise<void> } | undefined>) {
  describe(name, () => {
    let t: TestApp;
    let close: () => Promise<void> = async () => {};
    const now = Date.now();

    beforeAll(async () => {
      const opened = await open();
      if (opened) close = opened.close;
      t = await makeApp({ apiKeys: KEYS, rateLimitPerSecond: 0 }, opened?.db);
    });
    afterAll(async () => {
      await t.app.close();
      await t.db.close();
      await close();
    });

    it('answers every hostile request with a 2xx or a 4xx naming the field, and a refusal stores nothing and audits no success', async () => {
      const failures: string[] = [];
      for (const c of cases(now)) {
        const before = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE outcome = 'success'`);
        const stored = await t.db.query<{ n: number }>(
          `SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM error_events) + (SELECT count(*) FROM business_metrics) + (SELECT count(*) FROM alerts) AS n`,
        );
        const res = await send(t, c);
        try {
          expectSafeAnswer(res, c);
          if (c.field !== undefined) expect(res.statusCode, `${c.name}: ${res.body.slice(0, 200)}`).toBe(400);
          if (res.statusCode >= 400) {
            await t.app.inject({ method: 'GET', url: '/health' }); // lets the write queue run
            const after = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE outcome = 'success'`);
            const now = await t.db.query<{ n: number }>(
              `SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM error_events) + (SELECT count(*) FROM business_metrics) + (SELECT count(*) FROM alerts) AS n`,
            );
            expect(after.rows[0]!.n, `${c.name}: success audited`).toBe(before.rows[0]!.n);
            expect(Number(now.rows[0]!.n), `${c.name}: rows stored`).toBe(Number(stored.rows[0]!.n));
          }
        } catch (err) {
          failures.push(`${c.name} → ${res.statusCode} ${res.body.slice(0, 200)}: ${(err as Error).message.split('\n')[0]}`);
        }
      }
      expect(failures).toEqual([]);
    });

    it('stores exactly what it accepts at the edges: offsets ±14:00, a surrogate pair, built-in names as data, the largest bounded numbers', async () => {
      const plus14 = withOffset(now - 60_000, '+14:00');
      const minus14 = withOffset(now - 120_000, '-14:00');
      const properties = { text: PAIR, nested: { list: [1.5, -0, 1e308, -1e-300, true, null] }, constructor: 'x', toString: { valueOf: 1 } };
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: { ...json, ...auth('ingest') },
        payload: body([
          { type: 'toString', user_id: `hostile-${PAIR}`, session_id: 'constructor', timestamp: plus14, properties },
          { type: 'request', user_id: 'hostile-2', timestamp: minus14, properties: { duration_ms: 86_400_000, status: 599 } },
        ]),
      });
      expect(res.statusCode, res.body).toBe(200);
      const { rows } = await t.db.query<{ type: string; user_id: string; session_id: string | null; ms: number; properties: unknown }>(
        `SELECT type, user_id, session_id, (extract(epoch FROM ts) * 1000)::float8 AS ms, properties FROM events WHERE user_id LIKE 'hostile-%' ORDER BY user_id`,
      );
      expect(rows).toHaveLength(2);
      expect(rows[0]).toMatchObject({ type: 'request', user_id: 'hostile-2', ms: Date.parse(minus14), properties: { duration_ms: 86_400_000, status: 599 } });
      expect(rows[1]).toMatchObject({ type: 'toString', user_id: `hostile-${PAIR}`, session_id: 'constructor', ms: Date.parse(plus14) });
      // jsonb keeps -0 as 0; everything else is as sent.
      expect(rows[1]!.properties).toEqual({ ...properties, nested: { list: [1.5, 0, 1e308, -1e-300, true, null] } });

      const report = await t.app.inject({
        method: 'POST',
        url: '/api/v1/errors',
        headers: { ...json, ...auth('ingest') },
        payload: body({ type: 'HostileError', message: `m ${PAIR}`, tags: { service: PAIR, toString_: 'x', proto: '__proto__' }, timestamp: plus14 }),
      });
      expect(report.statusCode, report.body).toBe(200);
      const stored = await t.db.query<{ message: string; tags: unknown; ms: number }>(
        `SELECT message, tags, (extract(epoch FROM ts) * 1000)::float8 AS ms FROM error_events WHERE type = 'HostileError'`,
      );
      expect(stored.rows).toEqual([{ message: `m ${PAIR}`, tags: { service: PAIR, toString_: 'x', proto: '__proto__' }, ms: Date.parse(plus14) }]);

      const hook = await t.app.inject({
        method: 'POST',
        url: '/api/v1/alerts/webhook',
        headers: { ...json, ...auth('ingest') },
        payload: body(webhook({}, { fingerprint: 'beef01', labels: { alertname: 'Edge', team: PAIR, constructor: 'x' }, startsAt: '1970-01-01T00:00:00Z', endsAt: '0001-01-01T00:00:00Z' })),
      });
      expect(hook.statusCode, hook.body).toBe(200);
      const a = await t.db.query<{ labels: unknown; starts: number; ends_at: unknown }>(
        `SELECT labels, (extract(epoch FROM starts_at) * 1000)::float8 AS starts, ends_at FROM alerts WHERE fingerprint = 'beef01'`,
      );
      expect(a.rows).toEqual([{ labels: { alertname: 'Edge', team: PAIR, constructor: 'x' }, starts: 0, ends_at: null }]);

      const kpi = await t.app.inject({
        method: 'POST',
        url: '/api/v1/monitoring/business-metrics',
        headers: { ...json, ...auth('ingest') },
        payload: body({ metrics: [{ metric_name: 'edge_max', value: 1e15, target: 5e-324 }, { metric_name: 'edge_min', value: -1e15, target: -1e15 }] }),
      });
      expect(kpi.statusCode, kpi.body).toBe(200);
      const k = await t.db.query<{ name: string; value: number; target: number }>(`SELECT name, value, target FROM business_metrics WHERE name LIKE 'edge_%' ORDER BY name`);
      expect(k.rows).toEqual([
        { name: 'edge_max', value: 1e15, target: 5e-324 },
        { name: 'edge_min', value: -1e15, target: -1e15 },
      ]);
    });

    it('cleans what a Sentry SDK sends rather than refusing it: NUL and lone surrogates become U+FFFD, impossible times the receive time', async () => {
      const sentry = (url: string, payload: string) =>
        t.app.inject({ method: 'POST', url, headers: { 'x-sentry-auth': `Sentry sentry_key=${API_KEYS[0]!.key}, sentry_version=7` }, payload });
      const id = (n: number) => `${n}`.padStart(32, 'e');
      const hostile = (n: number, timestamp: unknown) =>
        `{"event_id":"${id(n)}","timestamp":${JSON.stringify(timestamp)},"message":${JSON.stringify(`m${NUL}${LONE_HIGH}${PAIR}`)},` +
        `"user":{"id":${HUGE_NUMBER}},"tags":{"__proto__":"p","constructor":"c",${JSON.stringify(LONE_LOW)}:${JSON.stringify(NUL)}},` +
        `"fingerprint":[${HUGE_NUMBER}],"exception":{"values":[{"type":${JSON.stringify(LONE_HIGH)},"value":${JSON.stringify(`v${LONE_LOW}`)},"stacktrace":{"frames":[{"lineno":${HUGE_NUMBER}}]}}]}}`;
      const times: unknown[] = ['0000-01-01T00:00:00Z', '2024-01-15T14:30:00+23:59', 1e300, -1, '9999-12-31T23:59:59Z'];
      for (const [n, ts] of times.entries()) {
        const store = await sentry('/api/1/store/', hostile(n, ts));
        expect(store.statusCode, store.body).toBe(200);
        const envelope = await sentry('/api/1/envelope/', `{"event_id":"${id(n + 10)}"}
{"type":"event"}
${hostile(n + 10, ts)}
`);
        expect(envelope.statusCode, envelope.body).toBe(200);
      }
      for (const payload of ['', '{', 'null', '[1]', `{"message":${'['.repeat(5_000)}1${']'.repeat(5_000)}}`, JSON.stringify({ message: 'x'.repeat(900_000) })]) {
        for (const url of ['/api/1/store/', '/api/1/envelope/']) expectSafeAnswer(await sentry(url, payload), { name: `sentry ${url}`, url });
      }
      // The exception's value is the message; an id that is not a finite number is no id; a __proto__ tag is dropped.
      const { rows } = await t.db.query<{ type: string; message: string; user_id: string | null; tags: unknown; ms: number }>(
        `SELECT type, message, user_id, tags, (extract(epoch FROM ts) * 1000)::float8 AS ms FROM error_events WHERE event_id::text LIKE 'eeeeeeee-%' ORDER BY event_id`,
      );
      expect(rows).toHaveLength(2 * times.length);
      const received = Date.now();
      for (const r of rows) {
        expect(r).toEqual({ type: 'a\ufffdb', message: 'va\ufffdb', user_id: null, tags: { constructor: 'c', 'a\ufffdb': 'a\ufffdb' }, ms: expect.any(Number) });
      }
      // Before 1970 or ahead of the receive time: the receive time; an offset PostgreSQL refuses is read as the instant it names.
      const offsetInstant = Date.parse('2024-01-15T14:30:00+23:59');
      for (const r of rows) expect(r.ms === offsetInstant || (r.ms > received - 60_000 && r.ms <= received), String(r.ms)).toBe(true);
      expect(rows.filter((r) => r.ms === offsetInstant)).toHaveLength(2);
    });

    it('keeps every read route at 200 with finite numbers, whatever several senders stored at the bounds or was stored before them', async () => {
      const extremes = (i: number) => [
        { type: 'request', user_id: `edge-${i}`, properties: { duration_ms: 86_400_000, status: 599 } },
        { type: 'request', user_id: `edge-${i}`, properties: { duration_ms: 0, status: 100 } },
        { type: 'session_start', user_id: `edge-${i}` },
        { type: 'session_end', user_id: `edge-${i}`, properties: { duration_seconds: 7 * 86_400 } },
        { type: 'conversation_rated', user_id: `edge-${i}`, properties: { rating: 5 } },
        { type: 'feature_used', user_id: `edge-${i}`, properties: { feature: 'toString' } },
        { type: 'feature_used', user_id: `edge-${i}`, properties: { feature: '__proto__' } },
      ];
      for (const [i, key] of [auth('ingest'), { 'x-api-key': SECOND_SENDER }].entries()) {
        const events = await t.app.inject({ method: 'POST', url: '/api/v1/events', headers: { ...json, ...key }, payload: body(extremes(i)) });
        expect(events.statusCode, events.body).toBe(200);
        const kpis = await t.app.inject({
          method: 'POST',
          url: '/api/v1/monitoring/business-metrics',
          headers: { ...json, ...key },
          payload: body([
            { metric_name: 'edge_max', value: 1e15, target: 5e-324 },
            { metric_name: 'edge_min', value: -1e15, target: 1e-300 },
          ]),
        });
        expect(kpis.statusCode, kpis.body).toBe(200);
      }
      await runRollup(t.db, { days: 2 });
      const answers = await expectReadable(t);
      const summary = (answers['/api/v1/monitoring/analytics?days=1'] as { summary: { latency_ms: { p99: number }; requests: number } }).summary;
      expect(summary.requests).toBeGreaterThanOrEqual(4);
      expect(summary.latency_ms.p99).toBeLessThanOrEqual(86_400_000);
      const features = (answers['/api/v1/monitoring/analytics?days=30'] as { feature_usage: { feature: string }[] }).feature_usage.map((f) => f.feature);
      expect(features).toEqual(expect.arrayContaining(['toString', '__proto__']));

      // What no request can send any more, stored directly: the attack of two 1e308 durations, KPIs at float8's
      // limit, a rollup day already poisoned, a KPI named __proto__. Every read still answers 200 with finite numbers.
      const today = new Date().toISOString().slice(0, 10);
      await t.db.query(
        `INSERT INTO events (type, user_id, ts, properties, api_key) VALUES
           ('request', 'old', now(), '{"duration_ms": 1e308, "status": 200}', 'old'),
           ('request', 'old', now(), '{"duration_ms": 1e308, "status": 200}', 'old'),
           ('request', 'old', now(), '{"duration_ms": -1e308, "status": 1e400}', 'old'),
           ('session_end', 'old', now(), '{"duration_seconds": 1e400}', 'old'),
           ('conversation_rated', 'old', now(), '{"rating": "five"}', 'old')`,
      );
      await t.db.query(
        `INSERT INTO business_metrics (name, value, target, api_key, ts) VALUES
           ('edge_huge', 1.7e308, 1e-308, 'old', now() - interval '1 hour'), ('edge_huge', 1.7e308, 1e-308, 'old', now() - interval '2 hours'),
           ('edge_huge', 1.7e308, 1e-308, 'old', now()), ('__proto__', 1, 2, 'old', now()), ('constructor', 3, 4, 'old', now())`,
      );
      await runRollup(t.db, { days: 1 });
      // Two poisoned days: their sums are beyond float8.
      for (const ago of [1, 2]) {
        await t.db.query(`DELETE FROM daily_rollups WHERE day = $1::date - $2::int`, [today, ago]);
        await t.db.query(
          `INSERT INTO daily_rollups (day, metric, dimension, value) SELECT $1::date - $2::int, metric, dimension, value FROM (VALUES
             ('latency_p50_ms', '', 1.7e308::float8), ('latency_p95_ms', '', 1.7e308), ('latency_p99_ms', '', 1.7e308),
             ('requests', '', 1.7e308), ('request_errors', '', 1.7e308), ('events', 'request', 1.7e308), ('sessions', '', 1.7e308),
             ('active_users', '', 1.7e308), ('session_duration_sum_s', '', 1.7e308), ('session_duration_count', '', 1e-300),
             ('rating_sum', '', -1.7e308), ('rating_count', '', 1e-300), ('error_reports', '', 1.7e308),
             ('feature_uses', 'x', 1.7e308), ('feature_users', 'x', 1.7e308)) AS v(metric, dimension, value)`,
          [today, ago],
        );
      }
      const poisoned = await expectReadable(t);
      // Today's rollup ignored what is out of the accepted ranges: the same request count and p99 as before.
      const todays = (poisoned['/api/v1/monitoring/health'] as { today: { requests: number; latency_ms: { p99: number } } }).today;
      expect(todays.requests).toBe(summary.requests);
      expect(todays.latency_ms.p99).toBeLessThanOrEqual(86_400_000);
      const dashboard = poisoned['/api/v1/monitoring/business-dashboard'] as { kpis: Record<string, number>; targets: Record<string, { achievement: number | null }> };
      expect(Object.keys(dashboard.kpis)).toEqual(expect.arrayContaining(['__proto__', 'constructor', 'edge_huge', 'edge_max']));
      expect(dashboard.targets['edge_max']?.achievement).toBeNull();
    });
  });
}

suite('hostile inputs (PGlite)', async () => undefined);

const unavailable = postgresUnavailable();
describe.skipIf(unavailable !== undefined)('hostile inputs (PostgreSQL)', () => {
  // Dates, offsets and text against the real server: PGlite and PostgreSQL could differ in what they refuse.
  let pg: TestPostgres | undefined;
  suite('on a real server', async () => {
    pg = await TestPostgres.create();
    const db = openPg({ connectionString: pg.url, poolSize: 4, timeoutMs: 5_000 });
    return { db, close: async () => pg?.destroy() };
  });
});
