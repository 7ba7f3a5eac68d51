import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRow } from '../../src/ingest/audit.js';
import { openPg, openPglite, type Database } from '../../src/ingest/db.js';
import { migrate } from '../../src/ingest/migrations.js';
import { insertRows, insertStatement, WriteQueue } from '../../src/ingest/write-queue.js';
import { postgresUnavailable, TestPostgres } from './helpers/postgres.js';

const unavailable = postgresUnavailable();

interface Target {
  readonly name: string;
  open(): Promise<{ db: Database; stop(): Promise<void> }>;
}

const TARGETS: Target[] = [
  {
    name: 'PGlite',
    async open() {
      const db = await openPglite('memory://');
      return { db, stop: () => db.close() };
    },
  },
  ...(unavailable
    ? []
    : [
        {
          name: 'PostgreSQL',
          async open() {
            const pg = await TestPostgres.create();
            const db = openPg({ connectionString: pg.url, poolSize: 4, timeoutMs: 5_000 });
            return {
              db,
              async stop() {
                await db.close();
                await pg.destroy();
              },
            };
          },
        },
      ]),
];

const event = (over: Partial<Record<'id' | 'type' | 'user' | 'ts' | 'project', string | null>> & { props?: unknown } = {}) => [
  over.id ?? null,
  over.type ?? 'page_view',
  over.user === undefined ? 'u1' : over.user,
  's1',
  over.ts ?? '2024-01-15T14:30:00.123+02:00',
  over.props ?? {},
  'app',
  over.project ?? 'default',
];

const audit = (requestId: string) =>
  auditRow({ actor: 'app', action: 'events.ingest', resourceType: 'events', outcome: 'success', requestId, metadata: { count: 1 } });

describe.each(TARGETS)('write queue on $name', (target) => {
  let db: Database;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ db, stop } = await target.open());
    await migrate(db);
  }, 60_000);
  afterAll(async () => stop?.());

  it('stores every kind of value a row can hold exactly as given', async () => {
    const id = randomUUID();
    const awkward = 'quote " backslash \\ newline \n tab \t emoji 😀 accents éß 中文 and a literal \\ud800';
    const props = { nested: { list: [1, 2.5, -3e-7, true, null, 'x'] }, awkward, big: 1e21 };
    const q = new WriteQueue(db, { maxRows: 1000, flushMaxRows: 100, concurrency: 2 });
    await q.enqueue({ events: [event({ id, type: 'feature_used', user: awkward, props })] });
    const { rows } = await db.query<{ user_id: string; ts: string; properties: unknown; event_id: string; api_key: string }>(
      `SELECT user_id, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS ts, properties, event_id::text, api_key FROM events WHERE event_id = $1`,
      [id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.user_id).toBe(awkward);
    expect(rows[0]!.ts).toBe('2024-01-15T12:30:00.123');
    expect(rows[0]!.properties).toEqual(props);
    expect(rows[0]!.api_key).toBe('app');
  });

  it('keeps NULL as NULL and stores a lone surrogate as U+FFFD instead of failing the batch', async () => {
    const marker = `lone-${randomUUID()}`;
    const q = new WriteQueue(db, { maxRows: 1000, flushMaxRows: 100, concurrency: 1 });
    await q.enqueue({ events: [event({ type: marker, user: null }), event({ type: marker, user: 'a\ud800b', props: { k: '\udc00' } })] });
    const { rows } = await db.query<{ user_id: string | null; properties: { k?: string } }>(
      'SELECT user_id, properties FROM events WHERE type = $1 ORDER BY id',
      [marker],
    );
    expect(rows.map((r) => r.user_id)).toEqual([null, 'a\ufffdb']);
    expect(rows[1]!.properties.k).toBe('\ufffd');
  });

  it('commits the rows of several tables in one statement, all or nothing', async () => {
    const ok = randomUUID();
    const { text, params } = insertStatement({ events: [event({ type: `multi-${ok}` })], audit_log: [audit(ok)] });
    expect(params).toHaveLength(2);
    await db.query(text!, params);
    expect((await db.query('SELECT 1 FROM events WHERE type = $1', [`multi-${ok}`])).rows).toHaveLength(1);
    expect((await db.query('SELECT 1 FROM audit_log WHERE request_id = $1', [ok])).rows).toHaveLength(1);

    // An audit row breaking its CHECK constraint takes the event of the same statement with it.
    const bad = randomUUID();
    const broken = audit(bad);
    broken[4] = 'maybe';
    const q = new WriteQueue(db, { maxRows: 1000, flushMaxRows: 100, concurrency: 1 });
    await expect(q.enqueue({ events: [event({ type: `multi-${bad}` })], audit_log: [broken] })).rejects.toMatchObject({ code: '23514' });
    expect((await db.query('SELECT 1 FROM events WHERE type = $1', [`multi-${bad}`])).rows).toHaveLength(0);
  });

  it('isolates the writer whose rows break a batch; the others are committed and answered', async () => {
    const tag = `iso-${randomUUID()}`;
    const q = new WriteQueue(db, { maxRows: 1000, flushMaxRows: 100, concurrency: 1 });
    const results = await Promise.allSettled([
      q.enqueue({ events: [event({ type: tag })] }),
      q.enqueue({ events: [event({ type: tag, ts: 'not a time' })] }),
      q.enqueue({ events: [event({ type: tag }), event({ type: tag })] }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await db.query('SELECT 1 FROM events WHERE type = $1', [tag])).rows).toHaveLength(3);
  });

  it('stores an event_id once however often it is sent, within a batch and across batches', async () => {
    const id = randomUUID();
    const q = new WriteQueue(db, { maxRows: 1000, flushMaxRows: 100, concurrency: 1 });
    await Promise.all([q.enqueue({ events: [event({ id })] }), q.enqueue({ events: [event({ id })] })]);
    await q.enqueue({ events: [event({ id })] });
    expect((await db.query('SELECT 1 FROM events WHERE event_id = $1', [id])).rows).toHaveLength(1);
  });

  it('stores events with and without ids in one statement: each id once, every event without one', async () => {
    const tag = `mixed-${randomUUID()}`;
    const id = randomUUID();
    const q = new WriteQueue(db, { maxRows: 1000, flushMaxRows: 100, concurrency: 1 });
    const statement = insertStatement({ events: [event({ type: tag }), event({ id, type: tag })] });
    // Rows without an id are inserted by a part without ON CONFLICT, those with one by a part with it.
    expect(statement.params).toHaveLength(2);
    expect(statement.text!.match(/ON CONFLICT/g)).toHaveLength(1);
    await Promise.all([
      q.enqueue({ events: [event({ type: tag }), event({ id, type: tag }), event({ type: tag })] }),
      q.enqueue({ events: [event({ id, type: tag }), event({ type: tag })] }),
    ]);
    await q.enqueue({ events: [event({ id, type: tag })] });
    const { rows } = await db.query<{ event_id: string | null; n: number }>(
      'SELECT event_id::text, count(*)::int AS n FROM events WHERE type = $1 GROUP BY event_id ORDER BY event_id NULLS FIRST',
      [tag],
    );
    expect(rows).toEqual([{ event_id: null, n: 3 }, { event_id: id, n: 1 }]);
  });

  it('keeps event ids per project: the same id in another project is another event, neither kept out nor merged', async () => {
    const id = randomUUID();
    const q = new WriteQueue(db, { maxRows: 1000, flushMaxRows: 100, concurrency: 1 });
    await Promise.all([q.enqueue({ events: [event({ id, type: 'first', project: 'shop' })] }), q.enqueue({ events: [event({ id, type: 'second', project: 'blog' })] })]);
    await q.enqueue({ events: [event({ id, type: 'again', project: 'blog' })] });
    const { rows } = await db.query<{ project: string; type: string }>('SELECT project, type FROM events WHERE event_id = $1 ORDER BY project', [id]);
    expect(rows).toEqual([{ project: 'blog', type: 'second' }, { project: 'shop', type: 'first' }]);
  });

  it('groups concurrent writers into few statements and answers each only after its commit', async () => {
    const tag = `group-${randomUUID()}`;
    const flushes: { rows: number; requests: number }[] = [];
    const q = new WriteQueue(db, { maxRows: 100_000, flushMaxRows: 5_000, concurrency: 4, onFlush: (f) => void flushes.push(f) });
    const writers = Array.from({ length: 200 }, () =>
      q.enqueue({ events: [event({ type: tag })], audit_log: [audit(tag)] }).then(async () => {
        // Resolved means committed: another connection already sees the row count at least this high.
        const n = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE type = $1', [tag])).rows[0]!.n;
        return n;
      }),
    );
    const seen = await Promise.all(writers);
    expect(Math.min(...seen)).toBeGreaterThan(0);
    expect(flushes.reduce((n, f) => n + f.requests, 0)).toBe(200);
    // 200 writers in one turn of the event loop fit one batch; no second statement runs alongside a partial one.
    expect(flushes.length).toBeLessThanOrEqual(2);
    expect((await db.query('SELECT 1 FROM events WHERE type = $1', [tag])).rows).toHaveLength(200);
  });

  it('overlaps two statements, a third only when full batches are waiting', async () => {
    const tag = `full-${randomUUID()}`;
    let inflight = 0;
    let most = 0;
    const counting: Database = {
      ...db,
      query: async (sql, params) => {
        inflight++;
        most = Math.max(most, inflight);
        try {
          return await db.query(sql, params);
        } finally {
          inflight--;
        }
      },
    };
    // Writers trickling in over many turns of the event loop: while one statement commits, the rows
    // that came meanwhile are sent in a second one; the rest join the next batch.
    const trickle = new WriteQueue(counting, { maxRows: 100_000, flushMaxRows: 1_000, concurrency: 3 });
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      pending.push(trickle.enqueue({ events: [event({ type: tag })] }));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(pending);
    expect(most).toBe(Math.min(2, db.maxConcurrency));

    // A backlog of full batches is committed by up to `concurrency` statements at once.
    most = 0;
    const flood = new WriteQueue(counting, { maxRows: 100_000, flushMaxRows: 10, concurrency: 3 });
    await Promise.all(Array.from({ length: 100 }, () => flood.enqueue({ events: [event({ type: tag })] })));
    expect(most).toBe(Math.min(3, db.maxConcurrency));
    expect((await db.query('SELECT 1 FROM events WHERE type = $1', [tag])).rows).toHaveLength(160);
  });

  it('sends the next statement before it answers the writers of the one just committed', async () => {
    const tag = `next-${randomUUID()}`;
    const log: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const recording: Database = {
      ...db,
      query: async <R,>(sql: string, params?: readonly unknown[], name?: string) => {
        log.push(`sent ${(params as string[]).length}`);
        const first = log.length === 1;
        const result = await db.query<R>(sql, params, name);
        // The first statement's answer is held back until the second writer is queued.
        if (first) await held;
        return result;
      },
    };
    // One statement at a time, so that the second writer waits for the first one's commit.
    const q = new WriteQueue(recording, { maxRows: 1_000, flushMaxRows: 1_000, concurrency: 1 });
    const first = q.enqueue({ events: [event({ type: tag })] }).then(() => log.push('first answered'));
    await new Promise((r) => setImmediate(r));
    const second = q.enqueue({ events: [event({ type: tag })], audit_log: [audit(tag)] }).then(() => log.push('second answered'));
    await new Promise((r) => setImmediate(r));
    release();
    await Promise.all([first, second]);
    // The database starts on the second statement (events and audit: two parameters) while the first writer is answered.
    expect(log).toEqual(['sent 1', 'sent 2', 'first answered', 'second answered']);
    expect((await db.query('SELECT 1 FROM events WHERE type = $1', [tag])).rows).toHaveLength(2);
  });

  it('sends what comes while a statement commits at once, and answers each writer after its own commit', async () => {
    const tag = `overlap-${randomUUID()}`;
    const started: number[] = [];
    const committed: number[] = [];
    // A database that takes 100 ms per statement, so that the order of starts and commits shows.
    const slow: Database = {
      ...db,
      query: async (sql, params, name) => {
        started.push(performance.now());
        try {
          return await db.query(sql, params, name);
        } finally {
          await new Promise((resolve) => setTimeout(resolve, 100));
          committed.push(performance.now());
        }
      },
    };
    const q = new WriteQueue(slow, { maxRows: 100_000, flushMaxRows: 1_000, concurrency: 4 });
    const t0 = performance.now();
    const first = q.enqueue({ events: [event({ type: tag })] }).then(() => performance.now());
    await new Promise((r) => setTimeout(r, 20));
    const second = q.enqueue({ events: [event({ type: tag })] }).then(() => performance.now());
    await new Promise((r) => setTimeout(r, 20));
    // Two statements in flight: these two wait for one of them, and go together.
    const third = Promise.all([q.enqueue({ events: [event({ type: tag })] }), q.enqueue({ events: [event({ type: tag })] })]).then(() => performance.now());
    const answered = await Promise.all([first, second, third]);
    if (db.maxConcurrency > 1) {
      expect(started).toHaveLength(3);
      // The second was sent while the first committed, not after it.
      expect(started[1]! - t0).toBeLessThan(80);
      // The third batch was sent once the first had committed.
      expect(started[2]!).toBeGreaterThanOrEqual(committed[0]!);
      // Nobody is answered before the commit of its rows.
      answered.forEach((at, i) => expect(at).toBeGreaterThanOrEqual(committed[i]!));
    } else {
      // One statement at a time (PGlite): everything that waited goes together once the first committed.
      expect(started).toHaveLength(2);
      expect(started[1]!).toBeGreaterThanOrEqual(committed[0]!);
      expect(answered[0]).toBeGreaterThanOrEqual(committed[0]!);
      expect(Math.min(answered[1]!, answered[2]!)).toBeGreaterThanOrEqual(committed[1]!);
    }
    expect((await db.query('SELECT 1 FROM events WHERE type = $1', [tag])).rows).toHaveLength(4);
  });

  it.skipIf(target.name !== 'PostgreSQL')('commits a statement again that PostgreSQL ended for a deadlock, and answers its writers', async () => {
    const project = `deadlock-${randomUUID()}`;
    const group = (fingerprint: string) => [project, fingerprint, 'svc', 'TypeError', null, 'error', new Date().toISOString()];
    const statements: string[] = [];
    const counting: Database = {
      ...db,
      query: async (sql, params, name) => {
        statements.push(name ?? sql);
        return db.query(sql, params, name);
      },
    };
    const q = new WriteQueue(counting, { maxRows: 1_000, flushMaxRows: 100, concurrency: 2 });
    let queued: Promise<unknown> | undefined;
    // Another transaction holds fingerprint b and then wants a, which the queue's statement took
    // before waiting for b: PostgreSQL ends the statement that waited first, the queue's.
    await db.transaction(async (tx) => {
      await insertRows(tx, 'error_groups', [group('b')]);
      queued = q.enqueue({ error_groups: [group('a'), group('b')] });
      await new Promise((r) => setTimeout(r, 300));
      await insertRows(tx, 'error_groups', [group('a')]);
    });
    // The second attempt finds both taken by the committed transaction: nothing new comes back.
    await expect(queued).resolves.toEqual({});
    expect(statements).toHaveLength(2);
    const { rows } = await db.query<{ fingerprint: string }>('SELECT fingerprint FROM error_groups WHERE project = $1 ORDER BY fingerprint', [project]);
    expect(rows.map((r) => r.fingerprint)).toEqual(['a', 'b']);
  }, 20_000);
});
