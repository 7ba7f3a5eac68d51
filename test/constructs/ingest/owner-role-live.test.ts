import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_ROLE, DUMP_SCRIPT, RESTORE_SCRIPT } from '../../../src/constructs/ingest/backup.js';
import { CREATE_OWNER, CREATE_READER, CREATE_SERVICE_ROLES, OWNER_ROLE, READER_ROLE, SEPARATE_SUPERUSER_SQL, SUPERUSER_ROLE } from '../../../src/constructs/ingest/postgres.js';
import { openPg, type Database } from '../../../src/ingest/db.js';
import { MIGRATIONS, migrate } from '../../../src/ingest/migrations.js';
import { runRollup } from '../../../src/ingest/rollup.js';
import { auth, makeApp } from '../../ingest/helpers/app.js';
import { PG_BIN, postgresUnavailable } from '../../ingest/helpers/postgres.js';
import { type Started, freePort, start, waitFor } from '../../support/processes.js';
import { find, environment, synth, type Json } from '../helpers.js';

/*
 * The ingest service's database login is not a superuser: on a real
 * PostgreSQL, the init scripts the pod runs make `ingest` a plain role that
 * owns the database, the service's migrations and writes work as it, and the
 * one-time SQL of the README turns a database of the old layout (where
 * `ingest` was the image's superuser) into the new one without losing data.
 */

const run = promisify(execFile);
const unavailable = postgresUnavailable();
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const asPostgres = (cmd: string, args: string[]): [string, string[]] => (isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);

/** A throw-away server whose bootstrap superuser is `superuser`, as the image's initdb makes it from POSTGRES_USER. */
async function server(superuser: string): Promise<{ port: number; proc: Started; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'obstack-owner-'));
  chmodSync(dir, 0o777);
  const [init, initArgs] = asPostgres(join(PG_BIN, 'initdb'), ['-D', join(dir, 'data'), '-U', superuser, '--auth=trust', '-E', 'UTF8', '--no-instructions']);
  execFileSync(init, initArgs, { stdio: 'pipe' });
  const port = await freePort();
  const [cmd, args] = asPostgres(join(PG_BIN, 'postgres'), ['-D', join(dir, 'data'), '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`]);
  const proc = start(cmd, args);
  await waitFor(async () => {
    try {
      execFileSync('pg_isready', ['-h', '127.0.0.1', '-p', String(port)], { stdio: 'pipe' });
      return true;
    } catch {
      return undefined;
    }
  }, 30_000, 'postgres', proc);
  return { port, proc, dir };
}

describe.skipIf(unavailable !== undefined)('the ingest database login, on a real PostgreSQL', () => {
  const servers: { proc: Started; dir: string }[] = [];
  const psqlOn = (port: number) => (user: string, sql: string, database = 'ingest', vars: Record<string, string> = {}) =>
    execFileSync('psql', ['-v', 'ON_ERROR_STOP=1', '-qAt', '-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', database, ...Object.entries(vars).flatMap(([k, v]) => ['--set', `${k}=${v}`])], {
      encoding: 'utf8',
      input: sql,
    });
  const openOn = (port: number) => (user: string): Database => openPg({ connectionString: `postgres://${user}@127.0.0.1:${port}/ingest`, poolSize: 4, timeoutMs: 30_000 });
  const sh = async (script: string, env: Record<string, string>) =>
    (await run('/bin/sh', ['-c', script], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env } })).stdout;
  const attributes = (psql: ReturnType<typeof psqlOn>) =>
    psql(SUPERUSER_ROLE, `SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolpassword IS NOT NULL FROM pg_authid WHERE rolname = '${OWNER_ROLE}'`).trim();
  const notOwned = (psql: ReturnType<typeof psqlOn>) =>
    psql(SUPERUSER_ROLE, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relowner <> '${OWNER_ROLE}'::regrole`).trim() +
    psql(SUPERUSER_ROLE, `SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND p.proowner <> '${OWNER_ROLE}'::regrole`).trim();
  const events = async (db: Database, n: number, prefix: string) => {
    const t = await makeApp({}, db);
    try {
      for (let i = 0; i < n; i++) {
        const res = await t.app.inject({ method: 'POST', url: '/api/v1/events', headers: auth('ingest'), payload: { type: 'page_view', user_id: `${prefix}-${i % 3}`, properties: { path: `/p/${i}` } } });
        expect(res.statusCode, res.body).toBeLessThan(300);
      }
    } finally {
      await t.app.close();
    }
  };

  afterAll(async () => {
    for (const s of servers) {
      await s.proc.stop();
      rmSync(s.dir, { recursive: true, force: true });
    }
  });

  describe('a database initialised by the pod', () => {
    let port: number;
    let psql: ReturnType<typeof psqlOn>;
    let open: ReturnType<typeof openOn>;

    beforeAll(async () => {
      const s = await server(SUPERUSER_ROLE);
      servers.push(s);
      port = s.port;
      psql = psqlOn(port);
      open = openOn(port);
      // The image's entrypoint: initdb with POSTGRES_USER as superuser, CREATE DATABASE POSTGRES_DB, then the init scripts in name order.
      psql(SUPERUSER_ROLE, 'CREATE DATABASE ingest', 'postgres');
      const env = {
        PGHOST: '127.0.0.1', PGPORT: String(port), POSTGRES_USER: SUPERUSER_ROLE, POSTGRES_DB: 'ingest',
        INGEST_PASSWORD: "owner 'pw'", READER_PASSWORD: 'reader-pw', MONITOR_PASSWORD: 'monitor-pw', BACKUP_PASSWORD: 'backup-pw',
      };
      for (const script of [CREATE_OWNER, CREATE_READER, CREATE_SERVICE_ROLES]) await sh(script, env);
    }, 60_000);

    it('makes ingest a plain login that owns the database, and migrates as it', async () => {
      expect(attributes(psql)).toBe('f|f|f|f|f|t');
      expect(psql(SUPERUSER_ROLE, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'ingest'`).trim()).toBe(OWNER_ROLE);
      const db = open(OWNER_ROLE);
      try {
        expect(await migrate(db)).toEqual(MIGRATIONS.map((m) => m.version));
        expect((await db.query<{ rolsuper: boolean }>('SELECT rolsuper FROM pg_roles WHERE rolname = current_user')).rows).toEqual([{ rolsuper: false }]);
      } finally {
        await db.close();
      }
      // Every table, sequence and function the migrations made belongs to ingest.
      expect(notOwned(psql)).toBe('00');
    }, 60_000);

    it("takes the service's writes, and grants the reader the aggregates only", async () => {
      const db = open(OWNER_ROLE);
      try {
        await events(db, 12, 'fresh');
        await runRollup(db, { days: 1 });
        expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]).toEqual({ n: 12 });
      } finally {
        await db.close();
      }
      const reader = open(READER_ROLE);
      try {
        expect(((await reader.query<{ n: number }>('SELECT count(*)::int AS n FROM daily_rollups')).rows[0]?.n ?? 0)).toBeGreaterThan(0);
        await expect(reader.query('SELECT count(*) FROM events')).rejects.toThrow(/permission denied/);
      } finally {
        await reader.close();
      }
    }, 60_000);

    it('refuses ingest what only a superuser may do', async () => {
      const db = open(OWNER_ROLE);
      try {
        await expect(db.query('CREATE ROLE intruder LOGIN')).rejects.toThrow(/permission denied/);
        await expect(db.query(`COPY (SELECT 1) TO PROGRAM 'true'`)).rejects.toThrow(/permission denied|must be superuser|pg_execute_server_program/);
        await expect(db.query(`ALTER SYSTEM SET work_mem = '1GB'`)).rejects.toThrow(/permission denied|must be superuser/);
        await expect(db.query('CREATE DATABASE other')).rejects.toThrow(/permission denied/);
      } finally {
        await db.close();
      }
    }, 30_000);

    it('restores a dump as ingest into a database the superuser recreated (the README steps)', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'obstack-owner-dump-'));
      chmodSync(dir, 0o777);
      try {
        await sh(DUMP_SCRIPT, { PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: BACKUP_ROLE, PGDATABASE: 'ingest', BACKUP_DIR: dir });
        const dump = execFileSync('sh', ['-c', `ls ${dir}/ingest-*.dump`], { encoding: 'utf8' }).trim();
        psql(SUPERUSER_ROLE, 'DROP DATABASE ingest WITH (FORCE)', 'postgres');
        psql(SUPERUSER_ROLE, `CREATE DATABASE ingest OWNER ${OWNER_ROLE}`, 'postgres');
        await sh(RESTORE_SCRIPT, { PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: OWNER_ROLE, PGDATABASE: 'ingest', DUMP_FILE: dump });
        expect(psql(OWNER_ROLE, 'SELECT count(*) FROM events').trim()).toBe('12');
        expect(notOwned(psql)).toBe('00');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);
  });

  describe('a database of the old layout, where ingest was the superuser', () => {
    it('keeps its data, and ingest keeps working as a plain owner, after the one-time SQL', async () => {
      const s = await server(OWNER_ROLE);
      servers.push(s);
      const psql = psqlOn(s.port);
      const open = openOn(s.port);
      psql(OWNER_ROLE, 'CREATE DATABASE ingest', 'postgres');
      await sh(CREATE_READER, { PGHOST: '127.0.0.1', PGPORT: String(s.port), POSTGRES_USER: OWNER_ROLE, POSTGRES_DB: 'ingest', READER_PASSWORD: 'reader-pw' });
      const before = open(OWNER_ROLE);
      try {
        await migrate(before);
        await events(before, 5, 'old');
        await runRollup(before, { days: 1 });
      } finally {
        await before.close();
      }
      expect(psql(OWNER_ROLE, `SELECT rolsuper FROM pg_roles WHERE rolname = '${OWNER_ROLE}'`).trim()).toBe('t');

      // The README's steps: a temporary superuser, the SQL as it, then drop it.
      psql(OWNER_ROLE, 'CREATE ROLE obstack_admin SUPERUSER LOGIN', 'postgres');
      psql('obstack_admin', SEPARATE_SUPERUSER_SQL, 'ingest', { superuser_password: 'super-pw', owner_password: "owner 'pw'" });
      psql(SUPERUSER_ROLE, 'DROP ROLE obstack_admin', 'postgres');

      expect(attributes(psql)).toBe('f|f|f|f|f|t');
      expect(psql(SUPERUSER_ROLE, `SELECT rolsuper FROM pg_roles WHERE rolname = '${SUPERUSER_ROLE}'`).trim()).toBe('t');
      expect(notOwned(psql)).toBe('00');
      const after = open(OWNER_ROLE);
      try {
        expect(await migrate(after)).toEqual([]);
        await events(after, 3, 'new');
        expect((await after.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]).toEqual({ n: 8 });
        await expect(after.query('CREATE ROLE intruder LOGIN')).rejects.toThrow(/permission denied/);
      } finally {
        await after.close();
      }
      // The reader's grants moved with the tables' owner.
      const reader = open(READER_ROLE);
      try {
        expect(((await reader.query<{ n: number }>('SELECT count(*)::int AS n FROM daily_rollups')).rows[0]?.n ?? 0)).toBeGreaterThan(0);
        await expect(reader.query('SELECT count(*) FROM events')).rejects.toThrow(/permission denied/);
      } finally {
        await reader.close();
      }
    }, 120_000);
  });
});

describe('the ingest PostgreSQL pod', () => {
  it('initialises the database with a superuser of its own and runs the owner script first', () => {
    const { objects } = synth(environment());
    const pod = (find(objects, 'StatefulSet', 'ingest-postgres') as Json).spec.template.spec.containers[0];
    expect(pod.env).toContainEqual({ name: 'POSTGRES_USER', value: 'postgres' });
    expect(pod.env).toContainEqual({ name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'ingest-postgres', key: 'superuser-password', optional: true } } });
    expect(pod.env).toContainEqual({ name: 'INGEST_PASSWORD', valueFrom: { secretKeyRef: { name: 'ingest-postgres', key: 'password' } } });
    const init = (find(objects, 'ConfigMap', 'ingest-postgres-init') as Json).data;
    expect(Object.keys(init).sort()[0]).toBe('05-owner-role.sh');
    expect(init['05-owner-role.sh']).toBe(CREATE_OWNER);
    // The README shows the one-time SQL the old-layout test runs, word for word.
    expect(readFileSync(join(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8')).toContain(SEPARATE_SUPERUSER_SQL);
    // The service still logs in as ingest.
    const service = (find(objects, 'Deployment', 'ingest') as Json).spec.template.spec.containers[0];
    expect(service.env.find((e: Json) => e.name === 'DATABASE_URL').value).toMatch(/^postgres:\/\/ingest@/);
  });
});
