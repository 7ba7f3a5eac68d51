import type { Database, Queryable } from './db.js';
import { DatabaseUnavailableError } from './db.js';

/**
 * The tables written through the queue, with their columns in insert order.
 * A table's rows travel as one JSON parameter (`jsonb_array_elements($n)`):
 * the statement has one parameter per table whatever the number of rows, so
 * it never reaches the 65535-parameter limit of a multi-row VALUES list.
 *
 * `optionalKey` names the column of a partial unique index (`WHERE … IS NOT
 * NULL`), the only key the suffix's ON CONFLICT can meet: the rows without it
 * cannot conflict and are inserted by a second part of the statement without
 * the suffix, since the speculative insertion of ON CONFLICT costs PostgreSQL
 * about a tenth of the row.
 */
export const TABLES = {
  events: {
    columns: [
      ['event_id', 'uuid'],
      ['type', 'text'],
      ['user_id', 'text'],
      ['session_id', 'text'],
      ['ts', 'timestamptz'],
      ['properties', 'jsonb'],
      ['api_key', 'text'],
      ['project', 'text'],
    ],
    // A client retrying after a lost answer does not store the event twice. Ids are unique per project, so
    // that no project can find out, or keep out, the ids of another.
    suffix: 'ON CONFLICT (project, event_id) WHERE event_id IS NOT NULL DO NOTHING',
    optionalKey: 'event_id',
  },
  error_events: {
    columns: [
      ['fingerprint', 'text'],
      ['type', 'text'],
      ['message', 'text'],
      ['stack', 'text'],
      ['release', 'text'],
      ['environment', 'text'],
      ['level', 'text'],
      ['user_id', 'text'],
      ['tags', 'jsonb'],
      ['ts', 'timestamptz'],
      ['api_key', 'text'],
      ['event_id', 'uuid'],
      ['project', 'text'],
    ],
    suffix: 'ON CONFLICT (project, event_id) WHERE event_id IS NOT NULL DO NOTHING',
    optionalKey: 'event_id',
  },
  error_groups: {
    columns: [
      ['project', 'text'],
      ['fingerprint', 'text'],
      ['service', 'text'],
      ['type', 'text'],
      ['culprit', 'text'],
      ['level', 'text'],
      ['first_seen', 'timestamptz'],
    ],
    // The rows inserted are the fingerprints a project sees for the first time: a row of a batch whose project and
    // fingerprint another row of the batch or another transaction inserted first (that one waits for it) comes back
    // from no statement.
    suffix: 'ON CONFLICT (project, fingerprint) DO NOTHING RETURNING project, fingerprint, service',
    returns: ['project', 'fingerprint'],
  },
  business_metrics: {
    columns: [
      ['name', 'text'],
      ['value', 'float8'],
      ['target', 'float8'],
      ['dimension', 'text'],
      ['metadata', 'jsonb'],
      ['api_key', 'text'],
      ['project', 'text'],
    ],
    suffix: '',
  },
  audit_log: {
    columns: [
      ['actor', 'text'],
      ['action', 'text'],
      ['resource_type', 'text'],
      ['resource_id', 'text'],
      ['outcome', 'text'],
      ['reason', 'text'],
      ['ip_address', 'text'],
      ['user_agent', 'text'],
      ['request_id', 'text'],
      ['metadata', 'jsonb'],
      ['project', 'text'],
      ['user_id', 'text'],
      ['session_id', 'text'],
      ['compliance_tags', 'jsonb'],
    ],
    suffix: '',
  },
} as const satisfies Record<string, { columns: readonly (readonly [string, string])[]; suffix: string; returns?: readonly string[]; optionalKey?: string }>;

export type TableName = keyof typeof TABLES;
/** Rows per table, each row a tuple in the order of `TABLES[t].columns`. */
export type Rows = { [T in TableName]?: unknown[][] };
/**
 * What the RETURNING clause of a table with `returns` gave back for one
 * writer's rows, matched on the columns `returns` names; a key two writers of
 * a batch sent comes back to the first of them only.
 */
export type Returned = { [T in TableName]?: Record<string, unknown>[] };

/** The table of a statement whose RETURNING reaches the client: at most one table returns, and it is inserted last. */
const returns = (table: TableName) => 'returns' in TABLES[table];

/** The write was refused before reaching the database; callers answer 503. */
export class QueueRefusedError extends Error {
  readonly code = 'QUEUE_REFUSED';
  constructor(readonly reason: 'full' | 'closed') {
    super(reason === 'full' ? 'write queue full' : 'service shutting down');
    this.name = 'QueueRefusedError';
  }
}

interface Entry {
  readonly rows: Rows;
  readonly count: number;
  /** The rows as JSON, made when they are queued (see `fragmentsOf`). */
  readonly fragments: Fragments;
  readonly resolve: (returned: Returned) => void;
  readonly reject: (err: unknown) => void;
}

export interface WriteQueueOptions {
  readonly maxRows: number;
  readonly flushMaxRows: number;
  readonly concurrency: number;
  readonly onFlush?: (info: { rows: number; requests: number; seconds: number; ok: boolean }) => void;
  readonly onError?: (err: unknown) => void;
}

/** The queue's tables, for loops over a `Rows` without `for…in` (slow on the many shapes of object literals that reach it). */
const TABLE_NAMES = Object.keys(TABLES) as TableName[];

function countRows(rows: Rows): number {
  let n = 0;
  for (const table of TABLE_NAMES) n += rows[table]?.length ?? 0;
  return n;
}

/**
 * SQLSTATE classes that mean the rows themselves were refused (data or
 * constraint errors, or our own SQL): retrying alone isolates the culprit.
 * Anything else (connection lost, server shutting down, timeouts) means the
 * database is unavailable.
 */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|42)/.test(code);
}

/** A deadlock (40P01) or serialization failure (40001), as the driver or DatabaseUnavailableError's cause reports it. */
function isConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  return code === '40P01' || code === '40001' || cause === '40P01' || cause === '40001';
}

/** Attempts of one statement that PostgreSQL ends for a deadlock before its writers are answered 503. */
const MAX_ATTEMPTS = 3;

/**
 * Group commit: concurrent writers' rows are committed together in one
 * statement and each writer's promise settles only after that commit. Up to
 * two statements are in flight; while they are, new rows wait and join the
 * next batch, so the batch size grows with the load. Up to `concurrency` run
 * at once when full batches of `flushMaxRows` are waiting.
 */
export class WriteQueue {
  private pending: Entry[] = [];
  private pendingRows = 0;
  private inflightRows = 0;
  private inflight = 0;
  private scheduled = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly db: Database,
    private readonly opts: WriteQueueOptions,
  ) {}

  /** Rows accepted but not yet committed. */
  get depth(): number {
    return this.pendingRows + this.inflightRows;
  }

  get isFull(): boolean {
    return this.depth >= this.opts.maxRows;
  }

  /** Resolves once `rows` are committed, with what their tables returned; rejects with QueueRefusedError or a database error. */
  enqueue(rows: Rows): Promise<Returned> {
    const count = countRows(rows);
    if (this.closed) return Promise.reject(new QueueRefusedError('closed'));
    if (count === 0) return Promise.resolve({});
    if (this.depth + count > this.opts.maxRows) return Promise.reject(new QueueRefusedError('full'));
    // The JSON is made now, while an earlier statement runs, rather than when this one is sent.
    const fragments = fragmentsOf(rows);
    return new Promise<Returned>((resolve, reject) => {
      this.pending.push({ rows, count, fragments, resolve, reject });
      this.pendingRows += count;
      this.schedule();
    });
  }

  /** Resolves when everything accepted so far is committed or failed. */
  drain(): Promise<void> {
    if (this.depth === 0 && this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new rows and waits for the queued ones. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate lets every request parsed in this turn of the event loop join the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const concurrency = Math.min(this.opts.concurrency, this.db.maxConcurrency);
    const overlap = Math.min(2, concurrency);
    // Two statements overlap: while one commits, the rows that came meanwhile are sent, so that
    // neither the service nor the database waits for the other, and PostgreSQL works on two
    // CPUs. More start only when full batches wait, so that statements stay few and large and
    // PostgreSQL does less per row (concurrent inserts into one table contend for its pages).
    while (this.pending.length > 0 && (this.inflight < overlap || (this.inflight < concurrency && this.pendingRows >= this.opts.flushMaxRows))) {
      let take = 0;
      let rows = 0;
      while (take < this.pending.length && (take === 0 || rows + this.pending[take]!.count <= this.opts.flushMaxRows)) {
        rows += this.pending[take]!.count;
        take++;
      }
      const batch = this.pending.splice(0, take);
      this.pendingRows -= rows;
      this.inflightRows += rows;
      this.inflight++;
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        this.inflight--;
        this.inflightRows -= rows;
        if (this.pending.length > 0) this.pump();
        else if (this.inflight === 0) this.notifyIdle();
      };
      void this.flush(batch, rows, end).finally(end);
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Commits a batch and settles its writers. Once the statement is
   * committed, `sent` hands its place to the next batch before the writers
   * are answered, so that the database starts on the next statement while
   * this one's answers are written.
   */
  private async flush(batch: Entry[], rows: number, sent: () => void): Promise<void> {
    const started = performance.now();
    try {
      const returned = await this.commitRetried(batch);
      this.report(rows, batch.length, started, true);
      sent();
      batch.forEach((e, i) => e.resolve(returned[i]!));
    } catch (err) {
      this.report(rows, batch.length, started, false);
      if (batch.length > 1 && isDataError(err)) {
        // One writer's rows broke the batch: commit each alone so the others still succeed.
        for (const e of batch) {
          try {
            const [returned] = await this.commitRetried([e]);
            e.resolve(returned!);
          } catch (single) {
            e.reject(this.classify(single));
          }
        }
        return;
      }
      const classified = this.classify(err);
      for (const e of batch) e.reject(classified);
    }
  }

  private classify(err: unknown): unknown {
    if (isDataError(err)) {
      this.opts.onError?.(err);
      return err;
    }
    this.opts.onError?.(err);
    return err instanceof DatabaseUnavailableError ? err : new DatabaseUnavailableError(err);
  }

  private report(rows: number, requests: number, started: number, ok: boolean): void {
    this.opts.onFlush?.({ rows, requests, seconds: (performance.now() - started) / 1000, ok });
  }

  /**
   * `commit`, again when PostgreSQL rolled the statement back for a deadlock
   * or a serialization failure: two statements inserting the same new keys
   * (a fingerprint, an event id) in opposite orders wait for each other, and
   * PostgreSQL ends one of them, which committed nothing.
   */
  private async commitRetried(parts: Entry[]): Promise<Returned[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.commit(parts);
      } catch (err) {
        if (attempt >= MAX_ATTEMPTS || !isConflict(err)) throw err;
      }
    }
  }

  /** Commits the writers' rows in one statement; what it returned, writer by writer. */
  private async commit(parts: Entry[]): Promise<Returned[]> {
    const { text, params, name, returning } = batchStatement(parts.map((p) => p.fragments));
    if (!text) return parts.map(() => ({}));
    const { rows } = await this.db.query<Record<string, unknown>>(text, params, name);
    return returning === undefined ? parts.map(() => ({})) : shareReturned(parts.map((p) => p.rows), returning, rows);
  }
}

/** Hands each part the returned rows whose key (the columns `returns` names) it sent, the first part that sent a key first. */
function shareReturned(parts: Rows[], table: TableName, returned: Record<string, unknown>[]): Returned[] {
  const spec = TABLES[table];
  const keyColumns: readonly string[] = 'returns' in spec ? spec.returns : [];
  const names: readonly string[] = spec.columns.map(([name]) => name);
  const positions = keyColumns.map((c) => names.indexOf(c));
  // JSON of the key's values: the same text for a sent row and for the row RETURNING gave back.
  const sentKey = (row: unknown[]) => JSON.stringify(positions.map((i) => row[i]));
  const returnedKey = (row: Record<string, unknown>) => JSON.stringify(keyColumns.map((c) => row[c]));
  const left = new Map<string, Record<string, unknown>[]>();
  for (const row of returned) {
    const k = returnedKey(row);
    const same = left.get(k);
    if (same) same.push(row);
    else left.set(k, [row]);
  }
  return parts.map((part) => {
    const mine: Record<string, unknown>[] = [];
    for (const row of part[table] ?? []) {
      const hit = left.get(sentKey(row))?.shift();
      if (hit) mine.push(hit);
    }
    return mine.length > 0 ? { [table]: mine } : {};
  });
}

/** The SQL of one part's insert, reading its rows from parameter `$n`; a part of rows without the optional key has no suffix. */
function insertSql(part: Pick<Part, 'table' | 'keyless'>, n: number): string {
  const spec = TABLES[part.table];
  const columns = spec.columns.map(([name]) => name).join(', ');
  const values = spec.columns
    .map(([, type], i) =>
      type === 'jsonb' ? `nullif(r->${i}, 'null')` : type === 'text' ? `r->>${i}` : `(r->>${i})::${type}`,
    )
    .join(', ');
  return `INSERT INTO ${part.table} (${columns}) SELECT ${values} FROM jsonb_array_elements($${n}::jsonb) AS r ${part.keyless ? '' : spec.suffix}`.trimEnd();
}

/** The rows of one table that one part of a statement inserts. */
interface Part {
  readonly table: TableName;
  /** The rows lack the table's optional key, so they need no ON CONFLICT. */
  readonly keyless: boolean;
  readonly rows: unknown[][];
}

/** Position of each table's optional key among its columns, -1 when it has none. */
const OPTIONAL_KEY = Object.fromEntries(
  TABLE_NAMES.map((t) => {
    const spec: { columns: readonly (readonly [string, string])[]; optionalKey?: string } = TABLES[t];
    return [t, spec.optionalKey === undefined ? -1 : spec.columns.findIndex(([name]) => name === spec.optionalKey)];
  }),
) as Record<TableName, number>;

/** A short name of each table for statement names, which PostgreSQL cuts at 63 bytes. */
const TABLE_CODE = Object.fromEntries(TABLE_NAMES.map((t, i) => [t, String(i)])) as Record<TableName, string>;

/** A table's rows as parts: those without the optional key, then those with it. */
function partsOf(table: TableName, rows: unknown[][]): Part[] {
  const k = OPTIONAL_KEY[table];
  if (k < 0) return [{ table, keyless: false, rows }];
  let keyless = 0;
  for (const row of rows) if (row[k] == null) keyless++;
  if (keyless === 0) return [{ table, keyless: false, rows }];
  if (keyless === rows.length) return [{ table, keyless: true, rows }];
  return [
    { table, keyless: true, rows: rows.filter((row) => row[k] == null) },
    { table, keyless: false, rows: rows.filter((row) => row[k] != null) },
  ];
}

/** A lone surrogate as JSON.stringify escapes it (a paired one is written as is), unless its backslash is itself escaped. */
const LONE_SURROGATE = /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/gi;

/**
 * The rows of one table as one JSON parameter: JSON.stringify is native and
 * PostgreSQL parses it faster than the driver builds one array literal per
 * column. jsonb refuses a lone surrogate, which text would have stored as
 * U+FFFD; the same replacement is made here so that such a string is not a
 * data error.
 */
function rowsParam(rows: unknown[][]): string {
  const json = JSON.stringify(rows);
  return json.includes('\\ud') ? json.replace(LONE_SURROGATE, '$1\\ufffd') : json;
}

/** The text of each statement by name: a handful, one per set of tables written together. */
const statements = new Map<string, string>();

/** A statement's name and text for its parts, in order; prepared once per connection under that name. */
function statementOf(parts: readonly Pick<Part, 'table' | 'keyless'>[]): { name: string; text: string } {
  // The text depends only on the parts and their order.
  const name = `ingest_insert_${parts.map((p) => `${TABLE_CODE[p.table]}${p.keyless ? 'k' : ''}`).join('_')}`;
  let text = statements.get(name);
  if (text === undefined) {
    const sql = parts.map((part, i) => insertSql(part, i + 1));
    const last = sql.pop()!;
    const ctes = sql.map((part, i) => `w${i} AS (${part})`);
    text = ctes.length > 0 ? `WITH ${ctes.join(', ')} ${last}` : last;
    statements.set(name, text);
  }
  return { name, text };
}

/**
 * Rows of several tables as one statement: every table but the last is a
 * data-modifying CTE. A single statement is atomic on its own, so a batch
 * costs one round trip instead of BEGIN, one INSERT per table and COMMIT.
 */
export function insertStatement(rows: Rows): { text: string | undefined; params: string[]; name: string; returning?: TableName } {
  return batchStatement([fragmentsOf(rows)]);
}

/** The parts of a statement in their order: tables in `TABLES` order but the one that returns rows last, each table's rows without the optional key first. */
const PART_ORDER: readonly Pick<Part, 'table' | 'keyless'>[] = [...TABLE_NAMES]
  .sort((a, b) => Number(returns(a)) - Number(returns(b)))
  .flatMap((table) => [{ table, keyless: true }, { table, keyless: false }]);

/** One writer's rows as JSON, part by part (`PART_ORDER`'s index): the rows of the part's JSON array without its brackets. */
export type Fragments = (string | undefined)[];

/** A writer's rows as the JSON fragments of the parts they belong to. */
function fragmentsOf(rows: Rows): Fragments {
  const out: Fragments = [];
  for (const table of TABLE_NAMES) {
    const r = rows[table];
    if (!r || r.length === 0) continue;
    // A table without an optional key has all its rows in the keyed part (`partsOf`).
    for (const part of partsOf(table, r)) out[PART_AT[table][part.keyless ? 0 : 1]] = rowsParam(part.rows).slice(1, -1);
  }
  return out;
}

/** Where each table's parts are in `PART_ORDER`: [rows without the optional key, rows with it]. */
const PART_AT = Object.fromEntries(
  TABLE_NAMES.map((t) => [t, [PART_ORDER.findIndex((p) => p.table === t && p.keyless), PART_ORDER.findIndex((p) => p.table === t && !p.keyless)]]),
) as Record<TableName, [number, number]>;

/** The statement that inserts the rows of several writers, from their fragments: one JSON array per part. */
function batchStatement(writers: readonly Fragments[]): { text: string | undefined; params: string[]; name: string; returning?: TableName } {
  const parts: Pick<Part, 'table' | 'keyless'>[] = [];
  const params: string[] = [];
  for (let i = 0; i < PART_ORDER.length; i++) {
    let json: string | undefined;
    for (const w of writers) {
      const f = w[i];
      if (f === undefined) continue;
      json = json === undefined ? f : `${json},${f}`;
    }
    if (json === undefined) continue;
    parts.push(PART_ORDER[i]!);
    params.push(`[${json}]`);
  }
  if (parts.length === 0) return { text: undefined, params, name: 'ingest_insert_' };
  const { name, text } = statementOf(parts);
  const returning = parts.at(-1)!.table;
  return { text, params, name, ...(returns(returning) ? { returning } : {}) };
}

/** Inserts rows into one of the queue's tables with a single statement. */
export async function insertRows(tx: Queryable, table: TableName, rows: unknown[][]): Promise<void> {
  const { text, params, name } = insertStatement({ [table]: rows });
  if (text) await tx.query(text, params, name);
}
