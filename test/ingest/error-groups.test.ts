import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/ingest/app.js';
import type { IngestApp } from '../../src/ingest/context.js';
import { openPg, openPglite, type Database } from '../../src/ingest/db.js';
import { errorService } from '../../src/ingest/error-groups.js';
import { migrate, MIGRATIONS } from '../../src/ingest/migrations.js';
import { MAX_ERROR_SERVICES } from '../../src/ingest/telemetry/service-metrics.js';
import { WriteQueue } from '../../src/ingest/write-queue.js';
import { auth, KEYS, makeApp, testConfig, type TestApp } from './helpers/app.js';
import { postgresUnavailable, TestPostgres } from './helpers/postgres.js';

/** The value of one series of a Prometheus exposition, 0 when the series is absent. */
function sample(exposition: string, name: string, labels: Record<string, string>): number {
  for (const line of exposition.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.keys(got).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return 0;
}

/** A stack trace whose top frame names the function: each name is its own fingerprint. */
const stackOf = (fn: string) => `Error: boom\n    at ${fn} (/srv/app/src/handlers.js:10:5)\n    at run (/srv/app/src/server.js:3:1)`;
const report = (fn: string, extra: Record<string, unknown> = {}) => ({ type: 'TypeError', message: `failed in ${fn}`, stack: stackOf(fn), ...extra });

describe('error groups and their counters (embedded PostgreSQL)', () => {
  let t: TestApp;
  const metrics = async () => (await t.app.inject({ url: '/metrics' })).body;
  const newGroups = async (service: string) => sample(await metrics(), 'ingest_new_error_groups_total', { service_name: service });
  const reports = async (service: string, level: string) => sample(await metrics(), 'ingest_error_reports_total', { service_name: service, level });
  const post = (payload: unknown) => t.app.inject({ method: 'POST', url: '/api/v1/errors', headers: auth('ingest'), payload: payload as object });

  beforeAll(async () => {
    t = await makeApp({ logLevel: 'silent' });
  });
  afterAll(async () => t?.app.close());

  it('counts a fingerprint as a new group on its first report only', async () => {
    expect((await post(report('first'))).statusCode).toBe(200);
    expect(await newGroups('app')).toBe(1);
    // The same code path again, alone and twice in one request: reports, no new group.
    expect((await post(report('first', { message: 'failed again' }))).statusCode).toBe(200);
    expect((await post([report('first'), report('first')])).statusCode).toBe(200);
    expect(await newGroups('app')).toBe(1);
    expect(await reports('app', 'error')).toBe(4);
    // Two new fingerprints in one request are two groups.
    expect((await post([report('second'), report('third', { level: 'fatal' }), report('second')])).statusCode).toBe(200);
    expect(await newGroups('app')).toBe(3);
    expect(await reports('app', 'error')).toBe(6);
    expect(await reports('app', 'fatal')).toBe(1);
    const { rows } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM error_groups');
    expect(rows[0]?.n).toBe(3);
  });

  it('takes the service from the report\'s service tag, normalised, else from the key that sent it', async () => {
    const res = await post(report('tagged', { tags: { service: '  Chat API ' } }));
    expect(res.statusCode).toBe(200);
    expect(await newGroups('chat_api')).toBe(1);
    expect(await reports('chat_api', 'error')).toBe(1);
    const fp = (res.json() as { fingerprints: string[] }).fingerprints[0];
    const { rows } = await t.db.query<{ service: string; type: string; culprit: string; level: string }>('SELECT service, type, culprit, level FROM error_groups WHERE fingerprint = $1', [fp]);
    expect(rows).toEqual([{ service: 'chat_api', type: 'TypeError', culprit: 'tagged (src/handlers.js)', level: 'error' }]);
    expect(errorService(undefined, 'Billing-Worker')).toBe('billing-worker');
    expect(errorService({ service: '' }, 'app')).toBe('app');
  });

  it('counts a Sentry event like an error report, and its repeat as no new group', async () => {
    const event = { event_id: 'aa'.repeat(16), level: 'warning', tags: { service: 'shop' }, exception: { values: [{ type: 'RangeError', value: 'bad', stacktrace: { frames: [{ filename: '/srv/shop/cart.js', function: 'total', lineno: 3 }] } }] } };
    const send = (e: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/api/1/store/', headers: { ...auth('ingest'), 'content-type': 'application/json' }, payload: JSON.stringify(e) });
    expect((await send(event)).statusCode).toBe(200);
    expect((await send({ ...event, event_id: 'bb'.repeat(16) })).statusCode).toBe(200);
    expect(await newGroups('shop')).toBe(1);
    expect(await reports('shop', 'warning')).toBe(2);
  });

  it('counts no report and no group when the write is refused', async () => {
    const errorSeries = async () => (await metrics()).split('\n').filter((l) => /^ingest_(error_reports|new_error_groups)_total\{/.test(l));
    const before = await errorSeries();
    expect(before.length).toBeGreaterThan(0);
    const bad = await post([report('refused'), { type: 'TypeError', message: 'x', level: 'catastrophic' }]);
    expect(bad.statusCode).toBe(400);
    expect(await errorSeries()).toEqual(before);
    const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM error_groups WHERE culprit = 'refused (src/handlers.js)'");
    expect(rows[0]?.n).toBe(0);
  });

  it('fills in the groups of the reports stored before, so that none of them counts as new', async () => {
    const db = await openPglite('memory://');
    try {
      await migrate(db, MIGRATIONS.filter((m) => m.version < 5));
      const insert = "INSERT INTO error_events (fingerprint, type, message, level, tags, ts, api_key) VALUES ($1, 'TypeError', 'm', $2, $3, $4, 'app')";
      await db.query(insert, ['fp-a', 'error', {}, '2026-01-02T00:00:00Z']);
      await db.query(insert, ['fp-a', 'warning', { service: ' Chat API' }, '2026-01-01T00:00:00Z']);
      await db.query(insert, ['fp-b', 'error', {}, '2026-01-03T00:00:00Z']);
      expect(await migrate(db)).toContain(5);
      const { rows } = await db.query<{ fingerprint: string; service: string; level: string; first_seen: Date }>('SELECT fingerprint, service, level, first_seen FROM error_groups ORDER BY fingerprint');
      // The earliest report of each fingerprint, its service computed as errorService() computes it for a new report.
      expect(rows.map((r) => ({ ...r, first_seen: new Date(r.first_seen).toISOString() }))).toEqual([
        { fingerprint: 'fp-a', service: errorService({ service: ' Chat API' }, 'app'), level: 'warning', first_seen: '2026-01-01T00:00:00.000Z' },
        { fingerprint: 'fp-b', service: 'app', level: 'error', first_seen: '2026-01-03T00:00:00.000Z' },
      ]);
      expect(rows[0]?.service).toBe('chat_api');
    } finally {
      await db.close();
    }
  });

  it('gives each project its own groups: a fingerprint known in one project is new in another, within one statement too', async () => {
    const db = await openPglite('memory://');
    try {
      await migrate(db);
      const queue = new WriteQueue(db, { maxRows: 1_000, flushMaxRows: 1_000, concurrency: 1 });
      const group = (project: string, service: string) => [project, 'shared-fp', service, 'TypeError', null, 'error', new Date().toISOString()];
      expect(await queue.enqueue({ error_groups: [group('shop', 'cart')] })).toEqual({ error_groups: [{ project: 'shop', fingerprint: 'shared-fp', service: 'cart' }] });
      // One batch: the shop's second sight of the fingerprint, then the blog's first. Only the blog's comes back, and to the blog's writer.
      const [shop, blog] = await Promise.all([queue.enqueue({ error_groups: [group('shop', 'cart')] }), queue.enqueue({ error_groups: [group('blog', 'comments')] })]);
      expect(shop).toEqual({});
      expect(blog).toEqual({ error_groups: [{ project: 'blog', fingerprint: 'shared-fp', service: 'comments' }] });
      const { rows } = await db.query<{ project: string; service: string }>("SELECT project, service FROM error_groups WHERE fingerprint = 'shared-fp' ORDER BY project");
      expect(rows).toEqual([{ project: 'blog', service: 'comments' }, { project: 'shop', service: 'cart' }]);
    } finally {
      await db.close();
    }
  });

  it(`keeps at most ${MAX_ERROR_SERVICES} services as label values and counts the others as "other"`, async () => {
    const fresh = await makeApp({ logLevel: 'silent' });
    try {
      const batch = Array.from({ length: MAX_ERROR_SERVICES + 5 }, (_, i) => report(`capped${i}`, { tags: { service: `svc-${i}` } }));
      expect((await fresh.app.inject({ method: 'POST', url: '/api/v1/errors', headers: auth('ingest'), payload: batch })).statusCode).toBe(200);
      const text = (await fresh.app.inject({ url: '/metrics' })).body;
      const services = new Set([...text.matchAll(/^ingest_new_error_groups_total\{service_name="([^"]*)"\}/gm)].map((m) => m[1]));
      expect(services.size).toBe(MAX_ERROR_SERVICES + 1);
      expect(sample(text, 'ingest_new_error_groups_total', { service_name: 'other' })).toBe(5);
      expect(sample(text, 'ingest_error_reports_total', { service_name: 'other', level: 'error' })).toBe(5);
      // The database keeps every service; only the label set is capped.
      const { rows } = await fresh.db.query<{ n: number }>('SELECT count(DISTINCT service)::int AS n FROM error_groups');
      expect(rows[0]?.n).toBe(MAX_ERROR_SERVICES + 5);
    } finally {
      await fresh.app.close();
    }
  });
});

const unavailable = postgresUnavailable();
if (unavailable) console.warn(`skipping the real-PostgreSQL error group suite: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('error groups under concurrency (real PostgreSQL)', () => {
  let server: TestPostgres;
  let db: Database;

  beforeAll(async () => {
    server = await TestPostgres.create();
    db = openPg({ connectionString: server.url, poolSize: 2, timeoutMs: 5_000 });
    await migrate(db);
  });
  afterAll(async () => {
    await db?.close();
    await server?.destroy();
  });

  /**
   * Sends `writers` concurrent first reports of each fingerprint through the
   * HTTP server and returns what the counter and the table say.
   */
  async function race(app: IngestApp, fingerprints: readonly string[], writers: number) {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const answers = await Promise.all(
      fingerprints.flatMap((fn) =>
        Array.from({ length: writers }, () =>
          fetch(`http://127.0.0.1:${port}/api/v1/errors`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEYS.ingest }, body: JSON.stringify(report(fn)) }),
        ),
      ),
    );
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM error_groups WHERE culprit = ANY($1)", [fingerprints.map((fn) => `${fn} (src/handlers.js)`)]);
    return { statuses: answers.map((r) => r.status), newGroups: sample(text, 'ingest_new_error_groups_total', { service_name: 'app' }), reports: sample(text, 'ingest_error_reports_total', { service_name: 'app', level: 'error' }), groups: rows[0]?.n };
  }

  it('counts concurrent first reports of a fingerprint once when the group commit puts them in one statement', async () => {
    const app = await buildApp({ config: testConfig({ databaseUrl: server.url, logLevel: 'silent', rateLimitPerSecond: 0 }), defaultMetrics: false });
    try {
      const r = await race(app, ['batched1', 'batched2'], 20);
      expect(r.statuses.every((s) => s === 200)).toBe(true);
      expect(r.reports).toBe(40);
      expect(r.groups).toBe(2);
      expect(r.newGroups).toBe(2);
    } finally {
      await app.close();
    }
  });

  it('gives a group to the transaction that inserted it first: the other waits for its commit and gets nothing back', async () => {
    const { insertStatement } = await import('../../src/ingest/write-queue.js');
    const group = ['default', 'interleaved-fp', 'a', 'TypeError', null, 'error', new Date().toISOString()];
    const first = new pg.Client({ connectionString: server.url });
    const second = new pg.Client({ connectionString: server.url });
    await first.connect();
    await second.connect();
    try {
      const stmt = insertStatement({ error_groups: [group] });
      expect(stmt.returning).toBe('error_groups');
      await first.query('BEGIN');
      await second.query('BEGIN');
      const one = await first.query(stmt.text!, stmt.params);
      // The second insert of the same fingerprint blocks on the first transaction's uncommitted row.
      let settled = false;
      const two = second.query(stmt.text!, stmt.params).finally(() => (settled = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(settled).toBe(false);
      await first.query('COMMIT');
      expect(one.rows).toEqual([{ project: 'default', fingerprint: 'interleaved-fp', service: 'a' }]);
      expect((await two).rows).toEqual([]);
      await second.query('COMMIT');
    } finally {
      await first.end();
      await second.end();
    }
  });

  it('counts concurrent first reports of a fingerprint once when they commit in separate transactions', async () => {
    // One request per statement and several statements at once: the inserts of one fingerprint race in
    // PostgreSQL, where the unique key makes all but one wait and then insert nothing.
    const app = await buildApp({
      config: testConfig({ databaseUrl: server.url, logLevel: 'silent', rateLimitPerSecond: 0, flushMaxRows: 1, flushConcurrency: 8, dbPoolSize: 8 }),
      defaultMetrics: false,
    });
    try {
      const r = await race(app, ['raced1', 'raced2', 'raced3'], 16);
      expect(r.statuses.every((s) => s === 200)).toBe(true);
      expect(r.reports).toBe(48);
      expect(r.groups).toBe(3);
      expect(r.newGroups).toBe(3);
      // One statement per request, not one batch that deduplicated them.
      const statements = sample(await (await app.inject({ url: '/metrics' })).body, 'ingest_db_write_rows_count', {});
      expect(statements).toBe(48);
    } finally {
      await app.close();
    }
  });
});
