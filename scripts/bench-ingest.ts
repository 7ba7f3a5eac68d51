/**
 * `npm run bench:ingest`: the ingest service on a real PostgreSQL, loaded with
 * autocannon. Prints the no-op ceiling of a bare Fastify route, measured
 * before and after the single events so that a change in the machine's load
 * shows, then single events and 100-event batches at 50 connections for 10 s
 * each, the events in the database against the events answered 2xx, where the
 * CPU went (per request, in the server, in PostgreSQL and in the load
 * generator), and whether the targets are met: single events at 0.5x the
 * ceiling or more, batches at 100,000 events/s or more. Then it kills
 * PostgreSQL under load and restarts it: writes are refused with 503
 * meanwhile, and every event answered 2xx is in the database afterwards.
 * Last, PostgreSQL alone, without HTTP or the service: the write queue's own
 * statement sent back to back, for the database's share of each target on
 * this machine.
 *
 * The servers run in child processes so that autocannon does not share their
 * event loop; all three share the machine's cores. The service runs with its
 * production settings (log level info, lines written to /dev/null instead of
 * a container's stdout) and only the rate limit off.
 *
 * Options: --duration S (default 10), --connections N (default 50),
 * --config JSON (settings of the service, e.g. '{"flushConcurrency":2}').
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import pg from 'pg';
import { buildApp } from '../src/ingest/app.js';
import { auditRow } from '../src/ingest/audit.js';
import { parseConfig, type IngestConfigInput } from '../src/ingest/config.js';
import { eventRow } from '../src/ingest/routes/events.js';
import { logDestination } from '../src/ingest/telemetry/logger.js';
import { insertStatement, type Rows } from '../src/ingest/write-queue.js';
import { writeThroughOutage } from '../test/ingest/helpers/outage.js';
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
/** The targets: single events at this share of the no-op ceiling, 100-event batches at this many events per second. */
const SINGLE_SHARE = 0.5;
const BATCH_EVENTS_PER_SECOND = 100_000;
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

async function serve(mode: string, port: number, databaseUrl: string | undefined, settings: string): Promise<void> {
  if (mode === 'noop') {
    const app = Fastify({ logger: false });
    app.post('/noop', async () => ({ ok: true }));
    await app.listen({ host: '127.0.0.1', port });
  } else {
    const config = parseConfig({
      apiKeys: [{ name: 'bench', key: KEY, scopes: ['ingest'] }],
      databaseUrl,
      rateLimitPerSecond: 0,
      ...(JSON.parse(settings || '{}') as Partial<IngestConfigInput>),
    });
    const app = await buildApp({ config, logStream: logDestination('/dev/null') });
    await app.listen({ host: '127.0.0.1', port });
    process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
  }
  process.stdout.write('listening\n');
}

function startChild(mode: string, port: number, databaseUrl = '', settings = ''): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', mode, String(port), databaseUrl, settings], {
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

const TICKS = 100; // USER_HZ on Linux

/** CPU seconds of a process and, with `tree`, of its live descendants and reaped children. */
function cpuSeconds(pid: number | undefined, tree: boolean): number {
  if (pid === undefined) return 0;
  const stats = new Map<number, string[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      stats.set(Number(name), readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]!.split(' '));
    } catch {
      // the process ended while we looked
    }
  }
  const own = (f: string[]) => (Number(f[11]) + Number(f[12])) / TICKS;
  const reaped = (f: string[]) => (Number(f[13]) + Number(f[14])) / TICKS;
  const root = stats.get(pid);
  if (!root) return 0;
  if (!tree) return own(root);
  let total = own(root) + reaped(root);
  const parents = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, f] of stats) {
      if (!parents.has(p) && parents.has(Number(f[1]))) {
        parents.add(p);
        total += own(f);
        grew = true;
      }
    }
  }
  return total;
}

interface Phase {
  name: string;
  rps: number;
  eps: number;
  p99: number;
  mean: number;
  ok: number;
  other: number;
  /** CPU microseconds per answered request: server, PostgreSQL, load generator. */
  cpu: { server: number; db: number; load: number };
}

function event(type: string, i: number) {
  return { type, user_id: `user-${i % 1000}`, session_id: `s-${i % 5000}`, properties: { path: '/chat', plan: 'pro' } };
}

/** The rows the events route hands to the queue for `requests` requests of `events` events each, with their audit rows. */
function queueRows(type: string, requests: number, events: number): Rows {
  const now = new Date().toISOString();
  const rows = { events: [] as unknown[][], audit_log: [] as unknown[][] };
  for (let r = 0; r < requests; r++) {
    for (let i = 0; i < events; i++) {
      rows.events.push(eventRow(event(type, r * events + i), 'bench', 'default', now));
    }
    rows.audit_log.push(
      auditRow({ actor: 'bench', project: 'default', outcome: 'success', action: 'events.ingest', resourceType: 'events', metadata: { count: events }, ip: '127.0.0.0', requestId: `req-${r}` }),
    );
  }
  return rows;
}

interface Alone {
  name: string;
  connections: number;
  events: number;
  eventsPerSecond: number;
  /** CPU microseconds of PostgreSQL (every process) per event. */
  cpu: number;
}

/**
 * PostgreSQL alone: `connections` clients each send the queue's statement
 * for `rows` back to back for `seconds`, with durable commits as the service
 * has them. What it reaches is the most the service could reach on this
 * machine if the service and the load generator cost nothing.
 */
async function databaseAlone(pgServer: TestPostgres, name: string, rows: Rows, connections: number, seconds: number): Promise<Alone> {
  const { text, params, name: statement } = insertStatement(rows);
  const perStatement = rows.events!.length;
  const clients = await Promise.all(
    Array.from({ length: connections }, async () => {
      const c = new pg.Client(pgServer.url);
      await c.connect();
      await c.query({ name: statement, text: text!, values: params }); // prepared, as the service's connections have it
      return c;
    }),
  );
  const cpuBefore = cpuSeconds(pgServer.postmasterPid(), true);
  const started = performance.now();
  const until = started + seconds * 1000;
  let statements = 0;
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < until) {
        await c.query({ name: statement, text: text!, values: params });
        statements++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const events = statements * perStatement;
  const cpu = ((cpuSeconds(pgServer.postmasterPid(), true) - cpuBefore) / events) * 1e6;
  await Promise.all(clients.map((c) => c.end()));
  return { name, connections, events: events + connections * perStatement, eventsPerSecond: events / elapsed, cpu };
}

async function main(): Promise<void> {
  const serveAt = process.argv.indexOf('--serve');
  if (serveAt >= 0) {
    const [mode, port, url, settings] = process.argv.slice(serveAt + 1);
    await serve(mode!, Number(port), url || undefined, settings ?? '');
    return;
  }
  const why = postgresUnavailable();
  if (why) {
    console.error(`bench:ingest needs PostgreSQL: ${why}`);
    process.exit(2);
  }
  const duration = Number(arg('--duration') ?? 10);
  const connections = Number(arg('--connections') ?? 50);
  const settings = arg('--config') ?? '';
  const single = JSON.stringify(event('bench_single', 1));
  const batch = JSON.stringify({ events: Array.from({ length: 100 }, (_, i) => event('bench_batch', i)) });

  const pgServer = await TestPostgres.create();
  const phases: Phase[] = [];
  /** Runs `load` and accounts the CPU each process spent on it. */
  const measured = async (server: ChildProcess, load: () => Promise<CannonResult>) => {
    const before = { server: cpuSeconds(server.pid, false), db: cpuSeconds(pgServer.postmasterPid(), true), load: process.cpuUsage() };
    const started = performance.now();
    const r = await load();
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(before.load);
    const per = (s: number) => (r['2xx'] > 0 ? (s / r['2xx']) * 1e6 : 0);
    const cpu = {
      server: per(cpuSeconds(server.pid, false) - before.server),
      db: per(cpuSeconds(pgServer.postmasterPid(), true) - before.db),
      load: per((used.user + used.system) / 1e6),
    };
    return { r, seconds, cpu };
  };
  try {
    const noopPort = await freePort();
    const noop = await startChild('noop', noopPort);
    const target = { url: `http://127.0.0.1:${noopPort}/noop`, method: 'POST', headers: { 'content-type': 'application/json' }, body: single, connections };
    await autocannon({ ...target, duration: 2 });
    /** The no-op route's phase; the ingest server waits idle meanwhile. */
    const ceilingPhase = async (when: string) => {
      const c = await measured(noop, () => autocannon({ ...target, duration }));
      phases.push({
        name: `no-op route (${when})`,
        rps: c.r['2xx'] / c.seconds,
        eps: 0,
        p99: c.r.latency.p99,
        mean: c.r.latency.average,
        ok: c.r['2xx'],
        other: c.r.non2xx + c.r.errors + c.r.timeouts,
        cpu: c.cpu,
      });
    };
    await ceilingPhase('ceiling, before');

    const port = await freePort();
    const ingest = await startChild('ingest', port, pgServer.url, settings);
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
     * 3 s warm-up times the duration, plus a fifth for the speed the warm-up gains) lets every
     * request finish, so 2xx and rows compare exactly.
     */
    const phase = async (name: string, body: string, warmupBody: string, events: number) => {
      const warm = await load(warmupBody, { duration: 3 });
      const amount = Math.max(connections, Math.round(warm.requests.average * duration * 1.2));
      const m = await measured(ingest, () => load(body, { amount }));
      const rps = m.r['2xx'] / m.seconds;
      phases.push({
        name: `${name} (${m.seconds.toFixed(1)} s)`,
        rps,
        eps: rps * events,
        p99: m.r.latency.p99,
        mean: m.r.latency.average,
        ok: m.r['2xx'],
        other: m.r.non2xx + m.r.errors + m.r.timeouts,
        cpu: m.cpu,
      });
      return m.r;
    };
    const s = await phase('single event', single, JSON.stringify(event('bench_warmup', 0)), 1);
    await ceilingPhase('ceiling, after');
    await stopChild(noop);
    const b = await phase('100-event batch', batch, JSON.stringify({ events: Array.from({ length: 100 }, (_, i) => event('bench_warmup', i)) }), 100);
    const outage = await writeThroughOutage({ base: `http://127.0.0.1:${port}`, key: KEY, db: pgServer, writers: connections, stop: 'immediate' });
    await stopChild(ingest);

    const aloneSeconds = Math.max(2, duration / 2);
    const alone = [
      await databaseAlone(pgServer, '25 requests of 100 events', queueRows('bench_database', 25, 100), 1, aloneSeconds),
      await databaseAlone(pgServer, '25 requests of 100 events', queueRows('bench_database', 25, 100), 2, aloneSeconds),
      await databaseAlone(pgServer, '16 single events', queueRows('bench_database', 16, 1), 2, aloneSeconds),
    ];

    const client = new pg.Client(pgServer.url);
    await client.connect();
    const stored = new Set(
      (await client.query<{ id: string }>("SELECT event_id::text AS id FROM events WHERE type = 'outage_test'")).rows.map((r) => r.id),
    );
    const lost = outage.acked.filter((id) => !stored.has(id)).length;
    const counts = await client.query<{ type: string; n: number }>(
      "SELECT type, count(*)::int AS n FROM events WHERE type IN ('bench_single', 'bench_batch', 'bench_database') GROUP BY type",
    );
    const version = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v;
    await client.end();
    const inDb = Object.fromEntries(counts.rows.map((r) => [r.type, r.n]));
    const expectSingle = s['2xx'];
    const expectBatch = b['2xx'] * 100;

    const [before, one, after, hundred] = phases as [Phase, Phase, Phase, Phase];
    // The ceiling is the mean of the no-op phases either side of the single events, at their mean CPU cost.
    const mean = (f: (p: Phase) => number) => (f(before) + f(after)) / 2;
    const ceiling = { rps: mean((p) => p.rps), cpu: { server: mean((p) => p.cpu.server), db: mean((p) => p.cpu.db), load: mean((p) => p.cpu.load) } };
    console.log(
      `\ningest bench: ${connections} connections, ${duration} s per phase, ${availableParallelism()} CPUs shared by server, PostgreSQL ${version} and load generator, Node.js ${process.versions.node}\n`,
    );
    console.log('phase                             requests/s   events/s  mean ms  p99 ms      2xx  other | CPU us per request: server    db  load');
    for (const p of phases) {
      console.log(
        `${p.name.padEnd(32)} ${p.rps.toFixed(0).padStart(11)} ${(p.eps ? p.eps.toFixed(0) : '-').padStart(10)} ${p.mean.toFixed(1).padStart(8)} ${String(p.p99).padStart(7)} ${String(p.ok).padStart(8)} ${String(p.other).padStart(6)} |${p.cpu.server.toFixed(0).padStart(27)} ${p.cpu.db.toFixed(0).padStart(5)} ${p.cpu.load.toFixed(0).padStart(5)}`,
      );
    }
    console.log('\nevents in the database against events answered 2xx:');
    const line = (name: string, db: number, answered: number) => `  ${name} ${db} in DB, ${answered} answered 2xx  ${db === answered ? 'EQUAL' : 'DIFFERENT'}`;
    console.log(line('single:', inDb['bench_single'] ?? 0, expectSingle));
    console.log(line('batch: ', inDb['bench_batch'] ?? 0, expectBatch));
    const expectAlone = alone.reduce((n, a) => n + a.events, 0);
    console.log(line('PostgreSQL alone (below):', inDb['bench_database'] ?? 0, expectAlone).replace('answered 2xx', 'committed'));

    const statuses = [...outage.statuses].sort(([a], [b]) => a - b).map(([code, n]) => `${n} x ${code === 0 ? 'no answer' : code}`).join(', ');
    console.log(`\nPostgreSQL killed (immediate shutdown) under load of ${connections} connections, restarted after ${outage.downSeconds.toFixed(1)} s:`);
    console.log(`  answers: ${statuses}; /health/ready answered ${outage.readyWhileDown} while the database was down`);
    console.log(`  ${outage.acked.length} events answered 2xx, ${outage.acked.length - lost} of them in the database after the restart: ${lost === 0 ? 'none lost' : `${lost} LOST`}`);

    console.log(`\nPostgreSQL alone, for ${aloneSeconds} s each: the write queue's statement sent back to back, durable commits, no HTTP and no service:`);
    for (const a of alone) {
      console.log(
        `  ${a.name} per statement, ${a.connections} connection${a.connections > 1 ? 's' : ' '}: ${a.eventsPerSecond.toFixed(0).padStart(7)} events/s, ${a.cpu.toFixed(1).padStart(5)} us of PostgreSQL CPU per event`,
      );
    }

    const ratio = one.rps / ceiling.rps;
    const cores = availableParallelism();
    const total = (p: Pick<Phase, 'cpu'>) => p.cpu.server + p.cpu.db + p.cpu.load;
    const drift = Math.abs(after.rps - before.rps) / ceiling.rps;
    console.log(`\ntargets (ceiling: ${ceiling.rps.toFixed(0)} requests/s, the mean of ${before.rps.toFixed(0)} before and ${after.rps.toFixed(0)} after the single events):`);
    console.log(`  single events >= ${SINGLE_SHARE}x ceiling:      ${ratio.toFixed(2)}x (${one.rps.toFixed(0)}/s)  ${ratio >= SINGLE_SHARE ? 'met' : 'NOT met'}`);
    console.log(
      `  batches >= ${BATCH_EVENTS_PER_SECOND.toLocaleString('en')} events/s:   ${hundred.eps.toFixed(0)} events/s  ${hundred.eps >= BATCH_EVENTS_PER_SECOND ? 'met' : 'NOT met'}`,
    );
    if (drift > 0.15) console.log(`  (the ceiling moved by ${(drift * 100).toFixed(0)}% during the run: something else was using the CPUs)`);
    console.log('\nlatency:');
    console.log(`  single events: mean ${one.mean.toFixed(1)} ms, p99 ${one.p99} ms`);
    // Little's law: with every connection waiting for its answer, mean latency = connections / rate.
    console.log(
      `  batches: p99 ${hundred.p99} ms; with ${connections} connections each waiting for its answer, the mean latency is connections / rate = ${((connections / hundred.rps) * 1000).toFixed(0)} ms`,
    );
    console.log('\nwhere the CPU goes (all processes share the cores):');
    console.log(
      `  the ceiling spends ${total(ceiling).toFixed(0)} us per request in all; a single event ${total(one).toFixed(0)} us (${one.cpu.server.toFixed(0)} server, ${one.cpu.db.toFixed(0)} PostgreSQL, ${one.cpu.load.toFixed(0)} load generator).`,
    );
    console.log(
      `  ${cores} CPUs fully busy would give at most ${((cores / total(one)) * 1e6).toFixed(0)} single events/s at that cost; ${SINGLE_SHARE}x the ceiling needs ${(SINGLE_SHARE * ceiling.rps).toFixed(0)}/s, i.e. at most ${((cores / (SINGLE_SHARE * ceiling.rps)) * 1e6).toFixed(0)} us per request in all.`,
    );
    // What the three processes kept busy, of the CPUs: below them, requests waited for commits rather than for a CPU.
    const busy = (p: Phase) => (p.rps * total(p)) / 1e6;
    console.log(`  single events kept ${busy(one).toFixed(2)} of ${cores} CPUs busy, the ceiling ${mean(busy).toFixed(2)}, the batches ${busy(hundred).toFixed(2)}.`);
    console.log(
      `  a 100-event batch spends ${total(hundred).toFixed(0)} us in all (${hundred.cpu.server.toFixed(0)} server, ${hundred.cpu.db.toFixed(0)} PostgreSQL, ${hundred.cpu.load.toFixed(0)} load generator): at most ${((cores / total(hundred)) * 1e8).toFixed(0)} events/s with the CPUs fully busy.`,
    );
    const [aloneOne, aloneTwo, aloneSingles] = alone as [Alone, Alone, Alone];
    console.log(
      `  PostgreSQL alone, with both CPUs to itself, inserted ${aloneOne.eventsPerSecond.toFixed(0)} batch events/s on one connection and ${aloneTwo.eventsPerSecond.toFixed(0)} on two (${aloneOne.cpu.toFixed(1)} and ${aloneTwo.cpu.toFixed(1)} us per event); the batch target asks ${BATCH_EVENTS_PER_SECOND.toLocaleString('en')}/s of it while the service and the load generator share the same CPUs.`,
    );
    console.log(
      `  a single event with its audit row costs PostgreSQL ${aloneSingles.cpu.toFixed(0)} us alone and ${one.cpu.db.toFixed(0)} us under the service's load; the no-op route's whole request costs ${total(ceiling).toFixed(0)} us.`,
    );
    if (inDb['bench_single'] !== expectSingle || inDb['bench_batch'] !== expectBatch || inDb['bench_database'] !== expectAlone || lost > 0) process.exitCode = 1;
  } finally {
    await pgServer.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
