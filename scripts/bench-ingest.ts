/**
 * `npm run bench:ingest`: the ingest service on a real PostgreSQL, loaded with
 * autocannon. Prints the no-op ceiling of a bare Fastify route, then single
 * events and 100-event batches at 50 connections for 10 s each, and the
 * events in the database against the events answered 2xx.
 *
 * The servers run in child processes so that autocannon does not share their
 * event loop. Options: --duration S (default 10), --connections N (default 50).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import pg from 'pg';
import pino from 'pino';
import { buildApp } from '../src/ingest/app.js';
import { parseConfig } from '../src/ingest/config.js';
import { logDestination } from '../src/ingest/telemetry/logger.js';
import { freePort, postgresUnavailable, TestPostgres } from '../test/ingest/helpers/postgres.js';

interface CannonResult {
  requests: { average: number };
  latency: { p99: number; average: number };
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Cannon = (opts: Record<string, unknown>) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Cannon;

const KEY = 'bench-ingest-key-0123456789abcdef';
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};

async function serve(mode: string, port: number, databaseUrl: string | undefined): Promise<void> {
  if (mode === 'noop') {
    const app = Fastify({ logger: false });
    app.post('/noop', async () => ({ ok: true }));
    await app.listen({ host: '127.0.0.1', port });
  } else {
    const config = parseConfig({
      apiKeys: [{ name: 'bench', key: KEY, scopes: ['ingest'] }],
      databaseUrl,
      logLevel: (process.env['BENCH_LOG_LEVEL'] ?? 'info') as 'info',
      rateLimitPerSecond: 0,
      dbPoolSize: 10,
      traceSampleRatio: 0.1,
      ...(JSON.parse(process.env['BENCH_CONFIG'] ?? '{}') as object),
    });
    // Logs go where a container's stdout would, minus the collector: written, then discarded.
    const app = await buildApp({ config, logStream: process.env['BENCH_LOG_UNBUFFERED'] ? pino.destination({ dest: '/dev/null', sync: false }) : logDestination('/dev/null') });
    await app.listen({ host: '127.0.0.1', port });
    process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
  }
  process.stdout.write('listening\n');
}

function startChild(mode: string, port: number, databaseUrl?: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', mode, String(port), databaseUrl ?? ''], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

function event(type: string, i: number) {
  return { type, user_id: `user-${i % 1000}`, session_id: `s-${i % 5000}`, properties: { path: '/chat', plan: 'pro' } };
}

async function main(): Promise<void> {
  const serveAt = process.argv.indexOf('--serve');
  if (serveAt >= 0) {
    await serve(process.argv[serveAt + 1]!, Number(process.argv[serveAt + 2]), process.argv[serveAt + 3] || undefined);
    return;
  }
  const why = postgresUnavailable();
  if (why) {
    console.error(`bench:ingest needs PostgreSQL: ${why}`);
    process.exit(2);
  }
  const duration = arg('--duration', 10);
  const connections = arg('--connections', 50);
  const single = JSON.stringify(event('bench_single', 1));
  const batch = JSON.stringify({ events: Array.from({ length: 100 }, (_, i) => event('bench_batch', i)) });

  const pgServer = await TestPostgres.create();
  const rows: { phase: string; rps: number; eps: number; p99: number; ok: number; other: number }[] = [];
  try {
    const noopPort = await freePort();
    const noop = await startChild('noop', noopPort);
    const ceiling = await autocannon({
      url: `http://127.0.0.1:${noopPort}/noop`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: single,
      connections,
      duration,
    });
    await stopChild(noop);
    rows.push({ phase: 'no-op Fastify route (ceiling)', rps: ceiling.requests.average, eps: 0, p99: ceiling.latency.p99, ok: ceiling['2xx'], other: ceiling.non2xx + ceiling.errors });

    const port = await freePort();
    const ingest = await startChild('ingest', port, pgServer.url);
    const load = (body: string, opts: Record<string, unknown>) =>
      autocannon({
        url: `http://127.0.0.1:${port}/api/v1/events`,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': KEY },
        body,
        connections,
        ...opts,
      });
    /**
     * A phase of about `duration` seconds. autocannon stopped by time drops the requests in
     * flight, which the server may still commit; a fixed number of requests (the rate of a
     * 2 s warm-up times the duration) lets every request finish, so 2xx and rows compare exactly.
     */
    const phase = async (body: string, warmupBody: string) => {
      const warm = await load(warmupBody, { duration: 2 });
      const amount = Math.max(connections, Math.round(warm.requests.average * duration));
      const started = performance.now();
      const r = await load(body, { amount });
      return { r, seconds: (performance.now() - started) / 1000 };
    };
    const { r: s, seconds: sSecs } = await phase(single, JSON.stringify(event('bench_warmup', 0)));
    rows.push({ phase: `single event (${sSecs.toFixed(1)} s)`, rps: s['2xx'] / sSecs, eps: s['2xx'] / sSecs, p99: s.latency.p99, ok: s['2xx'], other: s.non2xx + s.errors + s.timeouts });
    const { r: b, seconds: bSecs } = await phase(batch, JSON.stringify({ events: Array.from({ length: 100 }, (_, i) => event('bench_warmup', i)) }));
    rows.push({ phase: `100-event batch (${bSecs.toFixed(1)} s)`, rps: b['2xx'] / bSecs, eps: (b['2xx'] * 100) / bSecs, p99: b.latency.p99, ok: b['2xx'], other: b.non2xx + b.errors + b.timeouts });
    await stopChild(ingest);

    const client = new pg.Client(pgServer.url);
    await client.connect();
    const counts = await client.query<{ type: string; n: number }>(
      "SELECT type, count(*)::int AS n FROM events WHERE type IN ('bench_single', 'bench_batch') GROUP BY type",
    );
    await client.end();
    const inDb = Object.fromEntries(counts.rows.map((r) => [r.type, r.n]));
    const expectSingle = s['2xx'];
    const expectBatch = b['2xx'] * 100;

    console.log(`\ningest bench: ${connections} connections, ${duration} s per phase, PostgreSQL ${pgServer.url}\n`);
    console.log('phase                           requests/s    events/s   p99 ms      2xx   other');
    for (const r of rows) {
      console.log(
        `${r.phase.padEnd(30)} ${r.rps.toFixed(0).padStart(11)} ${(r.eps ? r.eps.toFixed(0) : '-').padStart(11)} ${String(r.p99).padStart(8)} ${String(r.ok).padStart(8)} ${String(r.other).padStart(7)}`,
      );
    }
    console.log('\nevents in the database against events answered 2xx:');
    const line = (name: string, db: number, answered: number) => `  ${name} ${db} in DB, ${answered} answered 2xx  ${db === answered ? 'EQUAL' : 'DIFFERENT'}`;
    console.log(line('single:', inDb['bench_single'] ?? 0, expectSingle));
    console.log(line('batch: ', inDb['bench_batch'] ?? 0, expectBatch));
    const singleRps = s['2xx'] / sSecs;
    const batchEps = (b['2xx'] * 100) / bSecs;
    const ratio = singleRps / ceiling.requests.average;
    console.log('\ntargets:');
    console.log(`  single events >= 0.6x ceiling: ${ratio.toFixed(2)}x  ${ratio >= 0.6 ? 'met' : 'NOT met'}`);
    console.log(`  batches >= 50,000 events/s:    ${batchEps.toFixed(0)}  ${batchEps >= 50_000 ? 'met' : 'NOT met'}`);
    console.log(`  p99 <= 25 ms:                  single ${s.latency.p99} ms, batch ${b.latency.p99} ms  ${Math.max(s.latency.p99, b.latency.p99) <= 25 ? 'met' : 'NOT met'}`);
    if (inDb['bench_single'] !== expectSingle || inDb['bench_batch'] !== expectBatch) process.exitCode = 1;
  } finally {
    await pgServer.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
