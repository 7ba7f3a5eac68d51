import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/ingest/app.js';
import type { IngestApp } from '../../src/ingest/context.js';
import { openPg, type Database } from '../../src/ingest/db.js';
import { MIGRATIONS, migrate } from '../../src/ingest/migrations.js';
import { API_KEYS, KEYS, testConfig } from './helpers/app.js';
import { writeThroughOutage } from './helpers/outage.js';
import { freePort, postgresUnavailable, TestPostgres } from './helpers/postgres.js';

const unavailable = postgresUnavailable();
if (unavailable) console.warn(`skipping the real-PostgreSQL suite: ${unavailable}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(unavailable !== undefined)('ingest service on a real PostgreSQL', () => {
  let pg: TestPostgres;
  let app: IngestApp;
  let base: string;
  let db: Database;

  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEYS.ingest }, body: JSON.stringify(body) });
  const count = async (sql: string, params: unknown[] = []) => (await db.query<{ n: number }>(sql, params)).rows[0]?.n ?? -1;

  beforeAll(async () => {
    pg = await TestPostgres.create();
    db = openPg({ connectionString: pg.url, poolSize: 2, timeoutMs: 2_000 });
    app = await buildApp({ config: testConfig({ databaseUrl: pg.url, dbTimeoutMs: 1_000, logLevel: 'silent', rateLimitPerSecond: 0 }), defaultMetrics: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });

  afterAll(async () => {
    await app?.close();
    await db?.close();
    await pg?.destroy();
  });

  it('applies the migrations once, under a lock, and refuses an edited migration', async () => {
    expect(await count('SELECT count(*)::int AS n FROM schema_migrations')).toBe(MIGRATIONS.length);
    expect(await Promise.all([migrate(db), migrate(db)])).toEqual([[], []]);
    await expect(migrate(db, [{ version: 1, name: 'initial schema', sql: 'SELECT 1' }])).rejects.toThrow(/was changed after it was applied/);
  });

  it("lets Grafana's read-only role read the aggregates, alerts and audit log, but not raw events or error reports", async () => {
    await db.exec('CREATE DATABASE dashboards_check');
    await db.exec("CREATE ROLE grafana_reader LOGIN PASSWORD 'x'");
    const other = openPg({ connectionString: pg.url.replace(/\/[^/]*$/, '/dashboards_check'), poolSize: 1, timeoutMs: 2_000 });
    try {
      await migrate(other);
      const can = async (table: string) =>
        (await other.query<{ ok: boolean }>("SELECT has_table_privilege('grafana_reader', $1, 'SELECT') AS ok", [table])).rows[0]?.ok;
      for (const table of ['daily_rollups', 'daily_active_users', 'business_metrics', 'alerts', 'audit_log']) expect(await can(table), table).toBe(true);
      for (const table of ['events', 'error_events']) expect(await can(table), table).toBe(false);
    } finally {
      await other.close();
    }
  });

  it('commits concurrent requests together (group commit) and answers each after its commit', async () => {
    const before = await count('SELECT count(*)::int AS n FROM events');
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => post('/api/v1/events', { type: 'page_view', user_id: `u${i}` })));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect(await count('SELECT count(*)::int AS n FROM events')).toBe(before + 200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const transactions = Number(/ingest_db_write_rows_count (\d+)/.exec(metrics)?.[1]);
    // Each request writes an event and an audit row; far fewer transactions than requests means they were grouped.
    expect(transactions).toBeLessThan(200);
  });

  it('refuses writes with 503 while PostgreSQL is down, turns unready, and loses no acknowledged event', async () => {
    const metrics = async () => (await fetch(`${base}/metrics`)).text();
    const r = await writeThroughOutage({
      base,
      key: KEYS.ingest,
      db: pg,
      writers: 8,
      stop: 'fast',
      downMs: 700,
      whileDown: async () => expect(await metrics()).toContain('ingest_db_up 0'),
      afterRestart: async () => expect(await metrics()).toContain('ingest_db_up 1'),
    });
    expect(r.readyWhileDown).toBe(503);
    expect(r.readyAfterRestart).toBe(200);
    expect(r.ackedBeforeStop).toBeGreaterThan(0);
    expect(r.refusedWhileDown).toBeGreaterThan(0);
    expect([...r.statuses.keys()].sort()).toEqual([200, 503]);
    const stored = new Set(
      (await db.query<{ id: string }>("SELECT event_id::text AS id FROM events WHERE type = 'outage_test'")).rows.map((row) => row.id),
    );
    const lost = r.acked.filter((id) => !stored.has(id));
    expect(lost).toEqual([]);
    expect(r.acked.length).toBeGreaterThan(r.ackedBeforeStop);
  });

  it('commits what is queued when it shuts down', async () => {
    const other = await buildApp({ config: testConfig({ databaseUrl: pg.url, logLevel: 'silent' }), defaultMetrics: false });
    const pending = Array.from({ length: 50 }, (_, i) =>
      other.inject({ method: 'POST', url: '/api/v1/events', headers: { 'x-api-key': KEYS.ingest }, payload: { type: 'shutdown_test', user_id: `s${i}` } }),
    );
    await sleep(0);
    const closing = other.close();
    const answers = await Promise.all(pending);
    await closing;
    const ok = answers.filter((r) => r.statusCode === 200).length;
    expect(answers.every((r) => r.statusCode === 200 || r.statusCode === 503)).toBe(true);
    expect(await count("SELECT count(*)::int AS n FROM events WHERE type = 'shutdown_test'")).toBe(ok);
  });

  it('server.ts validates its environment, serves, and exits 0 on SIGTERM after committing', async () => {
    const port = await freePort();
    const env = { ...process.env, DATABASE_URL: pg.url, PORT: String(port), HOST: '127.0.0.1', INGEST_API_KEYS: JSON.stringify(API_KEYS), LOG_LEVEL: 'info', INGEST_ERASURE_KEY: 'e'.repeat(32) };
    const bad = spawn(process.execPath, ['--import', 'tsx', 'src/ingest/server.ts'], { env: { ...env, INGEST_RETENTION_DAYS: 'forever' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let badErr = '';
    bad.stderr.on('data', (d: Buffer) => (badErr += d.toString()));
    const badCode = await new Promise<number | null>((resolve) => bad.on('exit', resolve));
    expect(badCode).toBe(78);
    expect(badErr).toContain('INGEST_RETENTION_DAYS');

    const child = spawn(process.execPath, ['--import', 'tsx', 'src/ingest/server.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    let up = false;
    for (let i = 0; i < 200 && !up; i++) {
      up = await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false);
      if (!up) await sleep(100);
    }
    expect(up).toBe(true);
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEYS.ingest },
      body: JSON.stringify({ type: 'sigterm_test' }),
    });
    expect(res.status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('"message":"stopped"');
    expect(await count("SELECT count(*)::int AS n FROM events WHERE type = 'sigterm_test'")).toBe(1);
  });
});
