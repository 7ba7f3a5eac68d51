import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_ROLE, DUMP_SCRIPT, RESTORE_SCRIPT } from '../../../src/constructs/ingest/backup.js';
import { CREATE_READER, CREATE_SERVICE_ROLES, MONITOR_ROLE, READER_ROLE } from '../../../src/constructs/ingest/postgres.js';
import { openPg, type Database } from '../../../src/ingest/db.js';
import { MIGRATIONS, migrate } from '../../../src/ingest/migrations.js';
import { runRollup } from '../../../src/ingest/rollup.js';
import { auth, makeApp } from '../../ingest/helpers/app.js';
import { postgresUnavailable, TestPostgres } from '../../ingest/helpers/postgres.js';
import { freePort, start, waitFor } from '../../support/processes.js';

/*
 * The backup of the ingest database, end to end on a real PostgreSQL: the
 * roles made by the database's init scripts, the schema by the service's
 * migrations, rows written through the service, a dump taken by the CronJob's
 * very script as the read-only backup role, and the documented restore.
 */

const run = promisify(execFile);
const unavailable = postgresUnavailable();

/** Runs one of the pods' sh scripts with libpq's variables pointing at the test server. */
async function sh(script: string, env: Record<string, string>): Promise<string> {
  const { stdout } = await run('/bin/sh', ['-c', script], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

describe.skipIf(unavailable !== undefined)('a backup of the ingest database, taken and restored on a real PostgreSQL', () => {
  let pg: TestPostgres;
  let backupDir: string;
  const conn = (user: string, database = 'ingest') => ({ PGHOST: '127.0.0.1', PGPORT: String(pg.port), PGUSER: user, PGDATABASE: database, PGPASSWORD: 'unused-with-trust-auth' });
  const open = (user: string, database = 'ingest'): Database =>
    openPg({ connectionString: `postgres://${user}@127.0.0.1:${pg.port}/${database}`, poolSize: 4, timeoutMs: 30_000 });
  const psql = (sql: string, database = 'postgres') => execFileSync('psql', ['-v', 'ON_ERROR_STOP=1', '-qAt', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', database, '-c', sql], { encoding: 'utf8' });
  const latestDump = (): string => {
    const dumps = readdirSync(backupDir).filter((f) => /^ingest-\d{8}T\d{6}Z\.dump$/.test(f)).sort();
    const last = dumps[dumps.length - 1];
    if (!last) throw new Error(`no dump in ${backupDir}: ${readdirSync(backupDir).join(', ')}`);
    return join(backupDir, last);
  };

  beforeAll(async () => {
    pg = await TestPostgres.create();
    backupDir = mkdtempSync(join(tmpdir(), 'obstack-backup-'));
    chmodSync(backupDir, 0o777);
    // What the postgres image's entrypoint does with POSTGRES_USER and POSTGRES_DB, then its init scripts, as the pod runs them.
    psql('CREATE ROLE ingest SUPERUSER LOGIN');
    psql('CREATE DATABASE ingest OWNER ingest');
    const initEnv = { ...conn('ingest'), POSTGRES_USER: 'ingest', POSTGRES_DB: 'ingest', READER_PASSWORD: 'reader-pw', MONITOR_PASSWORD: 'monitor-pw', BACKUP_PASSWORD: "it's a 'quoted' pw" };
    await sh(CREATE_READER, initEnv);
    await sh(CREATE_SERVICE_ROLES, initEnv);
  }, 60_000);

  afterAll(async () => {
    await pg?.destroy();
    if (backupDir) rmSync(backupDir, { recursive: true, force: true });
  });

  it('gives the backup role read access to everything and the right to change nothing', () => {
    expect(psql(`SELECT pg_has_role('${BACKUP_ROLE}', 'pg_read_all_data', 'MEMBER'), pg_has_role('${BACKUP_ROLE}', 'pg_write_all_data', 'MEMBER'), rolsuper FROM pg_roles WHERE rolname = '${BACKUP_ROLE}'`).trim()).toBe('t|f|f');
    expect(psql(`SELECT pg_has_role('${MONITOR_ROLE}', 'pg_monitor', 'MEMBER'), pg_has_role('${MONITOR_ROLE}', 'pg_read_all_data', 'MEMBER') FROM pg_roles WHERE rolname = '${MONITOR_ROLE}'`).trim()).toBe('t|f');
  });

  it("lets postgres_exporter log in as its pg_monitor role and see other roles' sessions", async () => {
    const port = await freePort();
    const exporter = start('/usr/bin/env', [
      `DATA_SOURCE_URI=127.0.0.1:${pg.port}/ingest?sslmode=disable`,
      `DATA_SOURCE_USER=${MONITOR_ROLE}`,
      'DATA_SOURCE_PASS=monitor-pw',
      'prometheus-postgres-exporter',
      `--web.listen-address=127.0.0.1:${port}`,
    ]);
    // The owner holds a transaction open: only a role with pg_read_all_stats sees when it started.
    const owner = open('ingest');
    let release: () => void = () => {};
    const held = owner.transaction(async (tx) => {
      await tx.query('SELECT 1');
      await new Promise<void>((r) => (release = r));
    });
    try {
      const metrics = await waitFor(async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return /pg_stat_activity_max_tx_duration\{[^}]*datname="ingest"[^}]*state="idle in transaction"[^}]*\} [1-9]/.test(text) ? text : undefined;
      }, 30_000, 'postgres_exporter', exporter);
      expect(metrics).toMatch(/^pg_up 1$/m);
    } finally {
      release();
      await held;
      await owner.close();
      await exporter.stop();
    }
  }, 60_000);

  it('restores rows, sequences, grants and the migration version after the database is dropped', async () => {
    const db = open('ingest');
    expect(await migrate(db)).toEqual(MIGRATIONS.map((m) => m.version));
    const t = await makeApp({}, db);
    for (let i = 0; i < 20; i++) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/events', headers: auth('ingest'), payload: { type: 'page_view', user_id: `user-${i % 7}`, properties: { path: `/p/${i}` } } });
      expect(res.statusCode).toBeLessThan(300);
    }
    await t.app.close();
    await runRollup(db, { days: 1 });
    const before = await state(db);
    expect(before.events).toBe(20);
    expect(before.rollups).toBeGreaterThan(0);
    expect(before.readerGrants).toContain('daily_rollups=true');
    expect(before.readerGrants).toContain('events=false');
    expect(before.readerFunction).toBe(true);
    await db.close();

    // The CronJob's dump container, as the read-only role.
    const out = await sh(DUMP_SCRIPT, { ...conn(BACKUP_ROLE), BACKUP_DIR: backupDir });
    expect(out).toMatch(/^dumped ingest-\d{8}T\d{6}Z\.dump: \d+ bytes$/m);
    const dump = latestDump();
    expect(statSync(dump).size).toBeGreaterThan(1000);
    expect(readdirSync(backupDir).some((f) => f.endsWith('.partial'))).toBe(false);

    // Disaster: the database is gone. The README's steps: create it empty, owned by ingest, and restore.
    psql('DROP DATABASE ingest WITH (FORCE)');
    psql('CREATE DATABASE ingest OWNER ingest');
    await sh(RESTORE_SCRIPT, { ...conn('ingest'), DUMP_FILE: dump });

    const restored = open('ingest');
    try {
      expect(await state(restored)).toEqual(before);
      // Nothing left to migrate, and the next event continues the sequence rather than colliding with a restored id.
      expect(await migrate(restored)).toEqual([]);
      const { rows } = await restored.query<{ id: string }>(`INSERT INTO events (type, ts, api_key) VALUES ('page_view', now(), 'after-restore') RETURNING id`);
      expect(Number(rows[0]?.id)).toBe(before.lastEventId + 1);
    } finally {
      await restored.close();
    }
    // grafana_reader logs in and reads the aggregates, and still not the raw events.
    const grafana = open(READER_ROLE);
    try {
      expect((await grafana.query('SELECT count(*)::int AS n FROM daily_rollups')).rows[0]).toEqual({ n: before.rollups });
      await expect(grafana.query('SELECT count(*) FROM events')).rejects.toThrow(/permission denied/);
    } finally {
      await grafana.close();
    }
  }, 120_000);

  it('restores over a damaged database: --clean drops and recreates every object of the dump', async () => {
    const db = open('ingest');
    const before = await state(db);
    await sh(DUMP_SCRIPT, { ...conn(BACKUP_ROLE), BACKUP_DIR: backupDir });
    const dump = latestDump();
    await db.query('DELETE FROM daily_rollups');
    await db.query('DROP TABLE audit_log');
    await db.close();
    await sh(RESTORE_SCRIPT, { ...conn('ingest'), DUMP_FILE: dump });
    const restored = open('ingest');
    try {
      expect(await state(restored)).toEqual(before);
    } finally {
      await restored.close();
    }
  }, 120_000);

  it('refuses to restore a file that is not a dump, and leaves the database as it was', async () => {
    const db = open('ingest');
    const before = await state(db);
    await db.close();
    await expect(sh(RESTORE_SCRIPT, { ...conn('ingest'), DUMP_FILE: join(backupDir, 'missing.dump') })).rejects.toThrow(/pg_restore/);
    const after = open('ingest');
    try {
      expect(await state(after)).toEqual(before);
    } finally {
      await after.close();
    }
  }, 60_000);

  it('takes a consistent dump of a database under writes: one snapshot, not table after table', async () => {
    const db = open('ingest');
    // Enough rows that the dump takes a while, so that writes land while it runs.
    await db.query(`INSERT INTO events (type, ts, api_key, properties) SELECT 'bulk', now() - (g || ' seconds')::interval, 'bulk', jsonb_build_object('n', g, 'pad', repeat('x', 200)) FROM generate_series(1, 150000) g`);
    await db.query(`INSERT INTO job_runs (job, last_run_at, details) VALUES ('consistency-writer', now(), '{"n": 0}') ON CONFLICT (job) DO UPDATE SET details = '{"n": 0}'`);
    // Each transaction adds an event and counts it in job_runs: the two tables agree in every committed state.
    let stop = false;
    let committed = 0;
    const writer = async () => {
      while (!stop) {
        await db.transaction(async (tx) => {
          await tx.query(`INSERT INTO events (type, ts, api_key) VALUES ('consistency', now(), 'consistency')`);
          await tx.query(`UPDATE job_runs SET details = jsonb_build_object('n', (details->>'n')::int + 1) WHERE job = 'consistency-writer'`);
        });
        committed++;
      }
    };
    // The service writes too, through its own pool and queue.
    const service = await makeApp({}, open('ingest'));
    let serviceWrites = 0;
    const serviceWriter = async () => {
      while (!stop) {
        const res = await service.app.inject({ method: 'POST', url: '/api/v1/events', headers: auth('ingest'), payload: { type: 'feature_used', user_id: 'writer', properties: { feature: 'export' } } });
        if (res.statusCode < 300) serviceWrites++;
      }
    };
    const writers = [writer(), writer(), serviceWriter()];
    await new Promise((r) => setTimeout(r, 200));
    const atStart = committed;
    const started = Date.now();
    await sh(DUMP_SCRIPT, { ...conn(BACKUP_ROLE), BACKUP_DIR: backupDir });
    const duringDump = committed - atStart;
    const dumpMs = Date.now() - started;
    stop = true;
    await Promise.all(writers);
    await service.app.close();
    await service.db.close();
    expect(duringDump, `writes committed during the ${dumpMs} ms dump`).toBeGreaterThan(0);
    expect(serviceWrites).toBeGreaterThan(0);

    psql('DROP DATABASE IF EXISTS ingest_check');
    psql('CREATE DATABASE ingest_check OWNER ingest');
    await sh(RESTORE_SCRIPT, { ...conn('ingest', 'ingest_check'), DUMP_FILE: latestDump() });
    const check = open('ingest', 'ingest_check');
    try {
      const { rows } = await check.query<{ events: number; counted: number }>(
        `SELECT (SELECT count(*)::int FROM events WHERE api_key = 'consistency') AS events, (SELECT (details->>'n')::int FROM job_runs WHERE job = 'consistency-writer') AS counted`,
      );
      const r = rows[0];
      expect(r?.events).toBe(r?.counted);
      // A snapshot from the middle of the writing: some of it, not all of it.
      expect(r?.events).toBeGreaterThan(0);
      expect(r?.events).toBeLessThan(committed);
    } finally {
      await check.close();
      await db.close();
    }
  }, 180_000);
});

/** What a restore must bring back: rows of every table, the sequence, the migration version, and grafana_reader's grants. */
async function state(db: Database) {
  const one = async <T>(sql: string): Promise<T> => (await db.query<{ v: T }>(sql)).rows[0]?.v as T;
  return {
    events: await one<number>('SELECT count(*)::int AS v FROM events'),
    auditEntries: await one<number>('SELECT count(*)::int AS v FROM audit_log'),
    rollups: await one<number>('SELECT count(*)::int AS v FROM daily_rollups'),
    activeUsers: await one<number>('SELECT count(*)::int AS v FROM daily_active_users'),
    eventsDigest: await one<string>(`SELECT md5(string_agg(id || ':' || type || ':' || coalesce(user_id, '') || ':' || properties::text, ',' ORDER BY id)) AS v FROM events`),
    lastEventId: Number(await one<string>('SELECT last_value AS v FROM events_id_seq')),
    migrations: await one<number[]>('SELECT array_agg(version ORDER BY version) AS v FROM schema_migrations'),
    readerGrants: await one<string>(
      `SELECT string_agg(c.relname || '=' || has_table_privilege('${READER_ROLE}', c.oid, 'SELECT'), ',' ORDER BY c.relname) AS v FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'`,
    ),
    readerFunction: await one<boolean>(`SELECT has_function_privilege('${READER_ROLE}', 'error_group_stats(timestamptz, timestamptz)', 'EXECUTE') AS v`),
  };
}
