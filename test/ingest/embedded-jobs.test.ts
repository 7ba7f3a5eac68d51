import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_FILE, openPglite } from '../../src/ingest/db.js';
import { EXIT_BUSY } from '../../src/ingest/jobs.js';
import { API_KEYS, KEYS } from './helpers/app.js';
import { freePort } from './helpers/postgres.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `tsx <script> ...args` to its end; its exit code and output. */
function run(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('the embedded database (PGlite) and the jobs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ingest-embedded-'));
  const dataDir = join(dir, 'data');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs rollup in the service, refuses the separate job while the service holds the database, and lets it run after', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      INGEST_DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      INGEST_API_KEYS: JSON.stringify(API_KEYS),
      INGEST_ROLLUP_INTERVAL_SECONDS: '1',
      LOG_LEVEL: 'info',
    };
    delete env['DATABASE_URL'];
    delete env['INGEST_ERASURE_KEY'];
    const server = spawn(process.execPath, ['--import', 'tsx', 'src/ingest/server.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    server.stdout.on('data', (d: Buffer) => (out += d.toString()));
    server.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => server.on('exit', resolve));
    try {
      const base = `http://127.0.0.1:${port}`;
      let up = false;
      for (let i = 0; i < 300 && !up; i++) {
        up = await fetch(`${base}/health/ready`).then((r) => r.ok, () => false);
        if (!up) await sleep(100);
      }
      expect(up, out).toBe(true);
      expect(readFileSync(join(dataDir, LOCK_FILE), 'utf8').trim()).toBe(String(server.pid));

      const events = Array.from({ length: 7 }, (_, i) => ({ type: 'page_view', user_id: `u${i % 3}` }));
      const write = await fetch(`${base}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEYS.ingest }, body: JSON.stringify(events) });
      expect(write.status).toBe(200);

      // The schedule (every second here) rolls up what was written, with no job run from outside.
      const analytics = async () =>
        (await (await fetch(`${base}/api/v1/monitoring/analytics?days=1`, { headers: { 'x-api-key': KEYS.read } })).json()) as {
          summary: { page_views: number; daily_active_users: number };
          last_rollup_at: string | null;
        };
      let rolled = await analytics();
      for (let i = 0; i < 100 && rolled.summary.page_views !== 7; i++) {
        await sleep(100);
        rolled = await analytics();
      }
      expect(rolled.summary).toMatchObject({ page_views: 7, daily_active_users: 3 });
      expect(rolled.last_rollup_at).not.toBeNull();

      // The README's job, run by hand now, refuses: the service holds the database.
      for (const job of ['rollup', 'retention']) {
        const refused = await run('src/ingest/jobs.ts', [job], env);
        expect(refused.code, refused.out).toBe(EXIT_BUSY);
        expect(refused.out).toContain(`in use by process ${server.pid}`);
      }
      // Nothing it did reached the data: the lock still names the service, which answers the same figures.
      expect(readFileSync(join(dataDir, LOCK_FILE), 'utf8').trim()).toBe(String(server.pid));
      expect((await analytics()).summary).toMatchObject({ page_views: 7, daily_active_users: 3 });
      const again = await fetch(`${base}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEYS.ingest }, body: JSON.stringify({ type: 'page_view', user_id: 'u9' }) });
      expect(again.status).toBe(200);
    } finally {
      server.kill('SIGTERM');
    }
    expect(await exited, out).toBe(0);
    expect(out).toContain('"message":"rollup done"');
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);

    // With the service stopped the job runs, and sees everything the service committed.
    const done = await run('src/ingest/jobs.ts', ['rollup'], env);
    expect(done.code, done.out).toBe(0);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
    const db = await openPglite(dataDir);
    try {
      const { rows } = await db.query<{ value: number }>("SELECT value FROM daily_rollups WHERE metric = 'page_views' AND day = (now() AT TIME ZONE 'UTC')::date");
      expect(rows).toEqual([{ value: 8 }]);
    } finally {
      await db.close();
    }
  }, 120_000);

  it('takes over a lock left by a process that no longer exists, and refuses a second opener in the same process', async () => {
    const gone = spawn(process.execPath, ['-e', '0']);
    const pid = gone.pid!;
    await new Promise((r) => gone.on('exit', r));
    writeFileSync(join(dataDir, LOCK_FILE), `${pid}\n`);
    const db = await openPglite(dataDir);
    try {
      expect(readFileSync(join(dataDir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
      await expect(openPglite(dataDir)).rejects.toThrow(/is in use by process/);
    } finally {
      await db.close();
    }
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
  }, 60_000);
});
