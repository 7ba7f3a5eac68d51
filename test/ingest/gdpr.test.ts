import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/ingest/config.js';
import { openPg, type Database } from '../../src/ingest/db.js';
import { runRollup, utcDay } from '../../src/ingest/rollup.js';
import { SCRUBBED, USER_ROWS, scrubber, userDigest } from '../../src/ingest/routes/users.js';
import { loggablePath, truncateIp } from '../../src/ingest/telemetry/logger.js';
import { API_KEYS, auth, makeApp, type TestApp } from './helpers/app.js';
import { postgresUnavailable, TestPostgres } from './helpers/postgres.js';

const ERASED = 'user-7f3a9c-erase-me';
const OTHER = 'user-2b81d0-keep-me';
const KEY_A = 'a'.repeat(40);
const KEY_B = 'b'.repeat(40);

/**
 * Columns of text or jsonb that hold no data about an end user: names the
 * application or the deployment chose (event types, metric and key names,
 * alert names), codes and digests. Every other such column must be in the
 * erasure's inventory (USER_ROWS or SCRUBBED): a table or column added later
 * fails the test until it is placed on one side.
 */
const NO_USER_DATA = new Set([
  'schema_migrations.name', 'schema_migrations.checksum',
  'events.type', 'events.api_key',
  'error_events.fingerprint', 'error_events.level', 'error_events.api_key',
  'error_groups.fingerprint', 'error_groups.level',
  'business_metrics.name', 'business_metrics.api_key',
  'alerts.fingerprint', 'alerts.alertname', 'alerts.severity', 'alerts.status', 'alerts.receiver',
  'alerts.acknowledged_by', 'alerts.silence_id', 'alerts.escalation_silence_id',
  'audit_log.actor', 'audit_log.action', 'audit_log.resource_type', 'audit_log.outcome', 'audit_log.ip_address', 'audit_log.request_id',
  'daily_rollups.metric', 'daily_rollups.dimension',
  'job_runs.job', 'job_runs.details',
  // The project a row belongs to: a name the deployment chose in the key file.
  ...['events', 'error_events', 'error_groups', 'business_metrics', 'alerts', 'audit_log', 'daily_rollups', 'daily_active_users'].map((t) => `${t}.project`),
]);

const textColumns = async (db: Database) =>
  (
    await db.query<{ table_name: string; column_name: string; data_type: string }>(
      `SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
        WHERE c.table_schema = current_schema() AND c.data_type IN ('text', 'jsonb', 'json', 'character varying', 'character')
        ORDER BY 1, 2`,
    )
  ).rows;

/** Every row of every table of the schema whose text or jsonb (as text) contains `needle`, as `table.column`. */
async function rowsContaining(db: Database, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const c of await textColumns(db)) {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${c.table_name}" WHERE strpos("${c.column_name}"::text, $1) > 0`, [needle]);
    if ((rows[0]?.n ?? 0) > 0) found.push(`${c.table_name}.${c.column_name} (${rows[0]!.n})`);
  }
  return found;
}

describe('the erasure digest', () => {
  it('is the HMAC-SHA256 of the id under INGEST_ERASURE_KEY, different under another key', async () => {
    expect(userDigest(ERASED, KEY_A)).toBe(`hmac-sha256:${createHmac('sha256', KEY_A).update(ERASED).digest('hex')}`);
    expect(userDigest(ERASED, KEY_A)).not.toBe(userDigest(ERASED, KEY_B));
    const t = await makeApp({ erasureKey: KEY_A });
    try {
      await t.app.inject({ method: 'POST', url: '/api/v1/events', headers: auth('ingest'), payload: { type: 'page_view', user_id: ERASED } });
      expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/users/${ERASED}/data`, headers: auth('admin') })).statusCode).toBe(200);
      const { rows } = await t.db.query<{ resource_id: string }>("SELECT resource_id FROM audit_log WHERE action = 'user.erase'");
      expect(rows).toEqual([{ resource_id: createHmac('sha256', KEY_A).update(ERASED).digest('hex').replace(/^/, 'hmac-sha256:') }]);
    } finally {
      await t.app.close();
      await t.db.close();
    }
  });

  it('needs its key from the environment outside the embedded mode, and names the variable', () => {
    const keys = JSON.stringify(API_KEYS);
    expect(() => loadConfig({ INGEST_API_KEYS: keys, DATABASE_URL: 'postgres://x@h/db' })).toThrow(/INGEST_ERASURE_KEY: required when DATABASE_URL is set/);
    expect(() => loadConfig({ INGEST_API_KEYS: keys, NODE_ENV: 'production' })).toThrow(/INGEST_ERASURE_KEY: required when NODE_ENV is production/);
    expect(() => loadConfig({ INGEST_API_KEYS: keys, DATABASE_URL: 'postgres://x@h/db', INGEST_ERASURE_KEY: 'short-key' })).toThrow(/INGEST_ERASURE_KEY: must be at least 32 characters/);
    let message = '';
    try {
      loadConfig({ INGEST_API_KEYS: keys, INGEST_ERASURE_KEY: 'short-key' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toContain('short-key');
    expect(loadConfig({ INGEST_API_KEYS: keys, DATABASE_URL: 'postgres://x@h/db', INGEST_ERASURE_KEY: KEY_A }).erasureKey).toBe(KEY_A);
    expect(loadConfig({ INGEST_API_KEYS: keys }).erasureKey).toBeUndefined();
  });
});

describe('logs without personal data', () => {
  it('cut addresses to their network and ids out of paths', () => {
    expect(truncateIp('203.0.113.77')).toBe('203.0.113.0');
    expect(truncateIp('::ffff:198.51.100.9')).toBe('198.51.100.0');
    expect(truncateIp('2001:db8:85a3:1234:5678::7')).toBe('2001:db8:85a3::');
    expect(truncateIp('2001:db8::1')).toBe('2001:db8:0::');
    expect(truncateIp('::1')).toBe('0:0:0::');
    expect(loggablePath('/api/v1/users/u-9/data?x=1', '/api/v1/users/:id/data')).toBe('/api/v1/users/:id/data');
    expect(loggablePath('/api/v1/users/u-9/dat?x=1')).toBe('/api/v1/users/:id/dat');
  });

  it('carry neither the erased id nor the full client address, in the lines of writes, refusals and the erasure', async () => {
    const t = await makeApp({ logLevel: 'debug' });
    try {
      const v4 = '203.0.113.77';
      const v6 = '2001:db8:85a3:1234:5678:9abc:def0:1';
      const write = await t.app.inject({ method: 'POST', url: '/api/v1/events', remoteAddress: v4, headers: auth('ingest'), payload: [{ type: 'page_view', user_id: ERASED, session_id: `s-${ERASED}` }] });
      expect(write.statusCode).toBe(200);
      await t.app.inject({ method: 'POST', url: '/api/v1/errors', remoteAddress: v6, headers: auth('ingest'), payload: { type: 'Error', message: `user ${ERASED} not found`, user_id: ERASED } });
      // Refused (403, wrong scope) and unmatched (404) erasures are logged at info with their path.
      expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/users/${ERASED}/data`, remoteAddress: v4, headers: auth('ingest') })).statusCode).toBe(403);
      expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/users/${ERASED}/dat`, remoteAddress: v4, headers: auth('admin') })).statusCode).toBe(404);
      const erase = await t.app.inject({ method: 'DELETE', url: `/api/v1/users/${ERASED}/data`, remoteAddress: v6, headers: auth('admin') });
      expect(erase.statusCode).toBe(200);
      const all = t.rawLogs.join('');
      // The lines were written: an access line of the erasure with its template, audit lines with cut addresses.
      const access = t.logs.filter((l) => l['event.dataset'] === 'obstack_ingest.access');
      expect(access.map((l) => l['url.path'])).toEqual(expect.arrayContaining(['/api/v1/users/:id/data', '/api/v1/users/:id/dat', '/api/v1/events']));
      const audit = t.logs.filter((l) => l['event.dataset'] === 'obstack_ingest.audit');
      expect(audit.map((l) => l['source.ip'])).toEqual(expect.arrayContaining(['203.0.113.0', '2001:db8:85a3::']));
      expect(audit.find((l) => l['event.action'] === 'user.erase')?.['audit.resource_id']).toBe(userDigest(ERASED));
      expect(all).not.toContain(ERASED);
      expect(all).not.toContain(v4);
      expect(all).not.toContain('2001:db8:85a3:1234');
    } finally {
      await t.app.close();
      await t.db.close();
    }
  });
});

describe('token scrubbing', () => {
  it('replaces the id as a whole token in strings, values and keys, and leaves longer words alone', () => {
    const scrub = scrubber('42');
    expect(scrub({ note: 'user 42 paid, order 1420', 42: ['42', 'x42'] })).toEqual({ note: 'user [erased] paid, order 1420', '[erased]': ['[erased]', 'x42'] });
  });
});

const unavailable = postgresUnavailable();
describe.skipIf(unavailable !== undefined)('erasure on a real PostgreSQL', () => {
  let pg: TestPostgres;
  let t: TestApp;
  let db: Database;

  beforeAll(async () => {
    pg = await TestPostgres.create();
    db = openPg({ connectionString: pg.url, poolSize: 2, timeoutMs: 5_000 });
    t = await makeApp({ databaseUrl: pg.url, erasureKey: KEY_A, rateLimitPerSecond: 0 }, db);
  }, 60_000);

  afterAll(async () => {
    await t?.app.close();
    await db?.close();
    await pg?.destroy();
  });

  const rollups = async (day: string) =>
    Object.fromEntries(
      (await db.query<{ k: string; value: number }>("SELECT metric || '/' || dimension AS k, value FROM daily_rollups WHERE day = $1::date ORDER BY 1", [day])).rows.map(
        (r) => [r.k, r.value],
      ),
    );

  it('leaves no row anywhere naming the user, and rollups as if the user had never been there', async () => {
    const day = utcDay(new Date());
    const at = new Date().toISOString();
    const post = async (url: string, payload: unknown, scope: 'ingest' | 'admin' = 'ingest') => {
      const r = await t.app.inject({ method: 'POST', url, headers: auth(scope), payload: payload as object });
      expect(r.statusCode, `${url}: ${r.body}`).toBe(200);
    };
    const events = (user: string) => [
      { type: 'session_start', user_id: user, session_id: `sess-${user}`, timestamp: at },
      { type: 'page_view', user_id: user, session_id: `sess-${user}`, timestamp: at, properties: { path: `/profile/${user}` } },
      { type: 'feature_used', user_id: user, timestamp: at, properties: { feature: 'search' } },
      { type: 'conversation_rated', user_id: user, timestamp: at, properties: { rating: user === ERASED ? 1 : 5 } },
      { type: 'session_end', user_id: user, session_id: `sess-${user}`, timestamp: at, properties: { duration_seconds: user === ERASED ? 600 : 60 } },
    ];
    await post('/api/v1/events', [...events(ERASED), ...events(OTHER)]);
    // Another user's event pointing at the erased one, in a value and in a key.
    await post('/api/v1/events', { type: 'invite_sent', user_id: OTHER, timestamp: at, properties: { invitee: ERASED, seen: { [ERASED]: true } } });
    await post('/api/v1/errors', { type: 'NotFound', message: `user ${ERASED} not found`, user_id: ERASED, tags: { account: ERASED } });
    await post('/api/v1/errors', { type: 'NotFound', message: `lookup of ${ERASED} failed`, user_id: OTHER, tags: { looked_up: ERASED } });
    await post('/api/v1/monitoring/business-metrics', { metric_name: 'refunds', value: 1, metadata: { customer: ERASED } });
    await post('/api/v1/alerts/webhook', {
      version: '4', groupKey: '{}:{}', status: 'firing', receiver: 'history', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am', truncatedAlerts: 0,
      alerts: [{ status: 'firing', labels: { alertname: 'UserStuck', severity: 'P3', user: ERASED }, annotations: { summary: `user ${ERASED} is stuck` }, startsAt: at, endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prom/graph', fingerprint: 'f00d' }],
    });
    // A row an earlier version wrote with an unkeyed digest (in project default, where migration 6 put such rows).
    await db.query("INSERT INTO audit_log (actor, action, resource_type, resource_id, outcome, metadata, project) VALUES ('ops', 'note', 'user', $1, 'success', $2::jsonb, 'default')", [
      'legacy', JSON.stringify({ about: ERASED }),
    ]);

    // What the rollup gives for the other user alone: the reference the erasure must reach.
    await runRollup(db, { days: 1 });
    const before = await rollups(day);
    expect(before['active_users/']).toBe(2);
    expect(before['feature_users/search']).toBe(2);
    expect((await rowsContaining(db, ERASED)).length).toBeGreaterThan(8);

    const res = await t.app.inject({ method: 'DELETE', url: `/api/v1/users/${ERASED}/data`, headers: auth('admin') });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{ deleted: Record<string, number>; anonymised: number; rollup_days: number }>();
    expect(body.deleted).toEqual({ events: 5, error_events: 1, daily_active_users: 1 });
    // invite_sent, the other user's error report, the KPI row, the alert, the legacy audit row (and nothing else).
    expect(body.anonymised).toBeGreaterThanOrEqual(5);
    expect(body.rollup_days).toBe(1);

    expect(await rowsContaining(db, ERASED)).toEqual([]);

    const after = await rollups(day);
    expect(after['active_users/']).toBe(1);
    expect(after['feature_users/search']).toBe(1);
    expect(after['sessions/']).toBe(1);
    expect(after['session_duration_sum_s/']).toBe(60);
    expect(after['rating_sum/']).toBe(5);
    expect(after['error_reports/']).toBe(1);
    // The same figures a fresh rollup computes now: the erasure left the rollups consistent with the raw data.
    await runRollup(db, { days: 1 });
    expect(await rollups(day)).toEqual(after);
    // Error groups' user counts come from the remaining reports.
    const stats = (await db.query<{ users: number }>("SELECT users::int FROM error_group_stats(now() - interval '1 day', now() + interval '1 day')")).rows;
    expect(stats.reduce((n, s) => n + s.users, 0)).toBe(1);

    const other = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE user_id = $1', [OTHER]);
    expect(other.rows[0]?.n).toBe(6);
    const invite = await db.query<{ properties: Record<string, unknown> }>("SELECT properties FROM events WHERE type = 'invite_sent'");
    expect(invite.rows[0]?.properties).toEqual({ invitee: '[erased]', seen: { '[erased]': true } });
    const audit = await db.query<{ resource_id: string; metadata: { deleted: Record<string, number> } }>("SELECT resource_id, metadata FROM audit_log WHERE action = 'user.erase'");
    expect(audit.rows).toEqual([{ resource_id: userDigest(ERASED, KEY_A), metadata: expect.objectContaining({ deleted: body.deleted }) }]);
  }, 60_000);

  it('has every text and jsonb column of the schema in its inventory or known to hold no user data', async () => {
    const inventory = new Set([...USER_ROWS.map((c) => `${c.table}.${c.column}`), ...SCRUBBED.map((c) => `${c.table}.${c.column}`), ...NO_USER_DATA]);
    const unplaced = (await textColumns(db)).map((c) => `${c.table_name}.${c.column_name}`).filter((c) => !inventory.has(c));
    // A column listed here is new: add it to the erasure (src/ingest/routes/users.ts) or to NO_USER_DATA with a reason.
    expect(unplaced).toEqual([]);
  });
});
