import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/ingest/app.js';
import type { IngestApp } from '../../src/ingest/context.js';
import { openPg, type Database } from '../../src/ingest/db.js';
import { type Started, freePort, startAlertmanager } from '../support/processes.js';
import { KEYS, testConfig } from './helpers/app.js';
import { postgresUnavailable, TestPostgres } from './helpers/postgres.js';

const unavailable = postgresUnavailable();
if (unavailable) console.warn(`skipping the acknowledgement suite: ${unavailable}`);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual?: boolean;
}
interface Silence {
  id: string;
  status: { state: string };
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

const HOUR = 3_600_000;
const eq = (name: string, value: string): Matcher => ({ name, value, isRegex: false, isEqual: true });
const byName = (a: Matcher, b: Matcher) => a.name.localeCompare(b.name);

/** Alertmanager's webhook payload of one firing or resolved alert. */
const webhook = (labels: Record<string, string>, fingerprint: string, status: 'firing' | 'resolved' = 'firing') => ({
  version: '4',
  groupKey: `{}:{alertname="${labels['alertname']}"}`,
  truncatedAlerts: 0,
  status,
  receiver: 'ingest-history',
  groupLabels: { alertname: labels['alertname'] ?? '' },
  commonLabels: labels,
  commonAnnotations: { summary: 'test alert' },
  externalURL: 'http://alertmanager:9093',
  alerts: [
    {
      status,
      labels,
      annotations: { summary: 'test alert' },
      startsAt: '2026-01-15T14:25:00Z',
      endsAt: status === 'resolved' ? '2026-01-15T14:40:00Z' : '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph',
      fingerprint,
    },
  ],
});

describe.skipIf(unavailable !== undefined)('acknowledging an alert silences it in a real Alertmanager (PostgreSQL, Alertmanager 0.25)', () => {
  let root: string;
  let pg: TestPostgres;
  let db: Database;
  let alertmanager: Started | undefined;
  let am: string;
  const apps: IngestApp[] = [];
  let base: string;
  let hanging: Server | undefined;
  const sockets = new Set<Socket>();

  /** An ingest service on the shared database, listening on 127.0.0.1, that silences through `alertmanagerUrl`. */
  const startIngest = async (alertmanagerUrl: string | undefined, timeoutMs = 3_000) => {
    const app = await buildApp({
      config: testConfig({
        databaseUrl: pg.url,
        logLevel: 'silent',
        rateLimitPerSecond: 0,
        alertmanagerTimeoutMs: timeoutMs,
        ...(alertmanagerUrl ? { alertmanagerUrl } : {}),
      }),
      checkReplies: true,
      defaultMetrics: false,
    });
    apps.push(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  };

  const call = async (url: string, method: string, key: string, body?: unknown) => {
    const res = await fetch(url, {
      method,
      headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  /** Posts a firing alert through the history webhook and returns its id in the history. */
  const fire = async (labels: Record<string, string>, fingerprint: string) => {
    expect((await call(`${base}/api/v1/alerts/webhook`, 'POST', KEYS.ingest, webhook(labels, fingerprint))).status).toBe(200);
    const row = await db.query<{ id: number }>('SELECT id::float8 AS id FROM alerts WHERE fingerprint = $1', [fingerprint]);
    return row.rows[0]!.id;
  };
  const acknowledge = (id: number, body: unknown, at = base) => call(`${at}/api/v1/alerts/${id}/acknowledge`, 'POST', KEYS.admin, body);
  const history = async (id: number) =>
    ((await call(`${base}/api/v1/alerts?limit=500`, 'GET', KEYS.read)).body['alerts'] as Json[]).find((a) => a['id'] === id);
  const silences = async (): Promise<Silence[]> => (await fetch(`${am}/api/v2/silences`)).json() as Promise<Silence[]>;
  const unexpired = async () => (await silences()).filter((s) => s.status.state !== 'expired');
  /** Silences created by `by` (tests use a distinct `by` each, so they do not see each other's). */
  const silencesBy = async (by: string) => (await silences()).filter((s) => s.createdBy === by);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'obstack-ack-'));
    const config = join(root, 'alertmanager.yml');
    writeFileSync(config, "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n");
    ({ server: alertmanager, base: am } = await startAlertmanager(config, join(root, 'data')));
    pg = await TestPostgres.create();
    db = openPg({ connectionString: pg.url, poolSize: 2, timeoutMs: 2_000 });
    base = await startIngest(am);
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const s of sockets) s.destroy();
    hanging?.close();
    await db?.close();
    await pg?.destroy();
    await alertmanager?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('creates the silence of the alert and of its escalation, records who, why and until, and Alertmanager suppresses both', async () => {
    const labels = { alertname: 'HighErrorRate', severity: 'P1', service: 'api', namespace: 'shop' };
    const id = await fire(labels, 'a0000000000000a1');
    const before = Date.now();
    const res = await acknowledge(id, { by: 'jane', reason: 'rolling back release 2.4', for: '2h' });
    const after = Date.now();
    expect(res.status).toBe(200);
    const row = res.body;
    expect(row).toMatchObject({ id, status: 'firing', acknowledged_by: 'jane', acknowledged_reason: 'rolling back release 2.4' });
    const until = Date.parse(row['acknowledged_until'] as string);
    expect(until).toBeGreaterThanOrEqual(before + 2 * HOUR);
    expect(until).toBeLessThanOrEqual(after + 2 * HOUR);

    // Exactly two silences, both active, with the alert's labels and the escalation contract's matchers.
    const mine = await silencesBy('jane');
    expect(mine).toHaveLength(2);
    const alertSilence = mine.find((s) => s.id === row['silence_id'])!;
    const escalationSilence = mine.find((s) => s.id === row['escalation_silence_id'])!;
    expect(alertSilence).toBeDefined();
    expect(escalationSilence).toBeDefined();
    expect(alertSilence.matchers.sort(byName)).toEqual(
      [eq('alertname', 'HighErrorRate'), eq('namespace', 'shop'), eq('service', 'api'), eq('severity', 'P1')],
    );
    expect(escalationSilence.matchers.sort(byName)).toEqual(
      [eq('alertname', 'AlertNotAcknowledged'), eq('escalated_alertname', 'HighErrorRate'), eq('namespace', 'shop'), eq('service', 'api'), eq('severity', 'P1')],
    );
    for (const s of [alertSilence, escalationSilence]) {
      expect(s).toMatchObject({ status: { state: 'active' }, createdBy: 'jane', comment: 'rolling back release 2.4' });
      expect(Date.parse(s.endsAt)).toBe(until);
    }

    // The alert, as Prometheus would send it, is suppressed by the first silence; its escalation by the second;
    // the escalation of another alert is not.
    const post = await fetch(`${am}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { labels, annotations: { summary: 'test alert' } },
        { labels: { ...labels, alertname: 'AlertNotAcknowledged', escalated_alertname: 'HighErrorRate' } },
        { labels: { ...labels, alertname: 'AlertNotAcknowledged', escalated_alertname: 'HighLatency' } },
      ]),
    });
    expect(post.status).toBe(200);
    const alerts = (await (await fetch(`${am}/api/v2/alerts?filter=service%3D%22api%22&filter=namespace%3D%22shop%22`)).json()) as Json[];
    const state = (alertname: string, escalated?: string) =>
      alerts.find((a) => a['labels']['alertname'] === alertname && a['labels']['escalated_alertname'] === escalated)?.['status'];
    expect(state('HighErrorRate')).toMatchObject({ state: 'suppressed', silencedBy: [alertSilence.id] });
    expect(state('AlertNotAcknowledged', 'HighErrorRate')).toMatchObject({ state: 'suppressed', silencedBy: [escalationSilence.id] });
    expect(state('AlertNotAcknowledged', 'HighLatency')).toMatchObject({ state: 'active', silencedBy: [] });

    // The history and the audit log show who, why and until.
    expect(await history(id)).toMatchObject({
      acknowledged_by: 'jane',
      acknowledged_reason: 'rolling back release 2.4',
      acknowledged_until: row['acknowledged_until'],
      silence_id: alertSilence.id,
      escalation_silence_id: escalationSilence.id,
    });
    const audit = await db.query<{ actor: string; metadata: Json }>(
      "SELECT actor, metadata FROM audit_log WHERE action = 'alerts.acknowledge' AND resource_id = $1",
      [String(id)],
    );
    expect(audit.rows).toEqual([
      {
        actor: 'ops',
        metadata: {
          by: 'jane',
          reason: 'rolling back release 2.4',
          until: row['acknowledged_until'],
          silence_id: alertSilence.id,
          escalation_silence_id: escalationSilence.id,
          repeated: false,
        },
      },
    ]);

    // A second acknowledgement while the silence holds answers the first one and creates no silence.
    const again = await acknowledge(id, { by: 'joe', reason: 'me too', until: new Date(Date.now() + 5 * HOUR).toISOString() });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ acknowledged_by: 'jane', acknowledged_reason: 'rolling back release 2.4', silence_id: alertSilence.id });
    expect(await silencesBy('joe')).toEqual([]);
    expect(await silencesBy('jane')).toHaveLength(2);
  });

  it("defaults to the key's name and 4 hours, and silences an alert after its silence was expired with new silences", async () => {
    const id = await fire({ alertname: 'DiskFilling', severity: 'P2', instance: 'node-1' }, 'a0000000000000b2');
    const before = Date.now();
    const first = await acknowledge(id, { reason: 'cleaning up' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ acknowledged_by: 'ops', acknowledged_reason: 'cleaning up' });
    const until = Date.parse(first.body['acknowledged_until'] as string);
    expect(until - before).toBeGreaterThanOrEqual(4 * HOUR);
    expect(until - before).toBeLessThan(4 * HOUR + 60_000);
    expect((await silencesBy('ops')).map((s) => s.id).sort()).toEqual([first.body['silence_id'], first.body['escalation_silence_id']].sort());

    // Someone expires the silence in Alertmanager's UI: acknowledging again creates new silences.
    for (const sid of [first.body['silence_id'], first.body['escalation_silence_id']]) {
      expect((await fetch(`${am}/api/v2/silence/${sid as string}`, { method: 'DELETE' })).status).toBe(200);
    }
    const second = await acknowledge(id, { by: 'ops', reason: 'still cleaning up', for: '30m' });
    expect(second.status).toBe(200);
    expect(second.body['silence_id']).not.toBe(first.body['silence_id']);
    expect(second.body).toMatchObject({ acknowledged_reason: 'still cleaning up' });
    const active = (await silencesBy('ops')).filter((s) => s.status.state === 'active').map((s) => s.id).sort();
    expect(active).toEqual([second.body['silence_id'], second.body['escalation_silence_id']].sort());
  });

  it('refuses a wrong body with 400 naming the field, and creates no silence', async () => {
    const id = await fire({ alertname: 'QueueBacklog', severity: 'P2' }, 'a0000000000000c3');
    const count = (await silences()).length;
    const cases: [unknown, string, RegExp][] = [
      [{ by: 'val' }, 'body.reason', /required/],
      [{ by: 'val', reason: '' }, 'body.reason', /must not be empty/],
      [{ by: 'val', reason: 'x'.repeat(1001) }, 'body.reason', /at most 1000/],
      [{ by: 'val', reason: 'r', until: new Date(Date.now() + HOUR).toISOString(), for: '1h' }, 'body.for', /either until or for/],
      [{ by: 'val', reason: 'r', until: '2020-01-01T00:00:00Z' }, 'body.until', /must be in the future/],
      [{ by: 'val', reason: 'r', until: new Date(Date.now() + 8 * 24 * HOUR).toISOString() }, 'body.until', /at most 7 days/],
      [{ by: 'val', reason: 'r', for: '8d' }, 'body.for', /at most 7d/],
      [{ by: 'val', reason: 'r', for: '2 hours' }, 'body.for', /duration/],
      [{ by: 'val', reason: 'r', for: '0m' }, 'body.for', /at least 1m/],
      [{ by: 'val', reason: 'r', for: '1h', silence: 'x' }, 'body.silence', /unknown field/],
    ];
    for (const [body, path, message] of cases) {
      const res = await acknowledge(id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body['issues'], JSON.stringify(body)).toContainEqual({ path, message: expect.stringMatching(message) });
    }
    expect((await silences()).length).toBe(count);
    expect(await history(id)).toMatchObject({ acknowledged_at: null, silence_id: null });
  });

  it('refuses a resolved alert with 409 and creates no silence', async () => {
    const labels = { alertname: 'CertExpiring', severity: 'P3' };
    const id = await fire(labels, 'a0000000000000d4');
    expect((await call(`${base}/api/v1/alerts/webhook`, 'POST', KEYS.ingest, webhook(labels, 'a0000000000000d4', 'resolved'))).status).toBe(200);
    const res = await acknowledge(id, { by: 'res', reason: 'late' });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: 'alert_resolved' });
    expect(await silencesBy('res')).toEqual([]);
  });

  it('answers 503 naming Alertmanager when it is down or too slow, and records nothing', async () => {
    const id = await fire({ alertname: 'NodeDown', severity: 'P1', instance: 'node-2' }, 'a0000000000000e5');
    const count = (await unexpired()).length;

    const down = await startIngest(`http://127.0.0.1:${await freePort()}`);
    const refused = await acknowledge(id, { by: 'down', reason: 'on it' }, down);
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ error: 'alertmanager_unavailable', message: expect.stringContaining('Alertmanager') });

    // A server that takes the connection and never answers: the call's own timeout ends it.
    hanging = createServer((s) => sockets.add(s));
    await new Promise<void>((r) => hanging!.listen(0, '127.0.0.1', r));
    const port = (hanging.address() as { port: number }).port;
    const slow = await startIngest(`http://127.0.0.1:${port}`, 300);
    const t0 = Date.now();
    const timedOut = await acknowledge(id, { by: 'slow', reason: 'on it' }, slow);
    expect(timedOut.status).toBe(503);
    expect(timedOut.body).toMatchObject({ error: 'alertmanager_unavailable' });
    expect(Date.now() - t0).toBeLessThan(3_000);

    const none = await startIngest(undefined);
    const unconfigured = await acknowledge(id, { by: 'none', reason: 'on it' }, none);
    expect(unconfigured.status).toBe(503);
    expect(unconfigured.body).toMatchObject({ error: 'alertmanager_not_configured', message: expect.stringContaining('needs Alertmanager') });

    expect(await history(id)).toMatchObject({ acknowledged_at: null, acknowledged_by: null, acknowledged_reason: null, silence_id: null });
    expect((await unexpired()).length).toBe(count);
    const audit = await db.query("SELECT 1 FROM audit_log WHERE action = 'alerts.acknowledge' AND resource_id = $1", [String(id)]);
    expect(audit.rows).toEqual([]);
  });

  it('answers 502 when Alertmanager refuses the silence, and leaves no silence behind', async () => {
    // Alertmanager refuses a matcher whose name is not a Prometheus label name.
    const id = await fire({ alertname: 'OddLabels', 'bad-label': 'x' }, 'a0000000000000f6');
    const res = await acknowledge(id, { by: 'odd', reason: 'on it' });
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ error: 'alertmanager_refused', message: expect.stringContaining('Alertmanager refused') });
    expect((await silencesBy('odd')).filter((s) => s.status.state !== 'expired')).toEqual([]);
    expect(await history(id)).toMatchObject({ acknowledged_at: null, silence_id: null });
  });

  it('expires the silences again when the database does not record the acknowledgement', async () => {
    const id = await fire({ alertname: 'DbRefuses', severity: 'P2' }, 'a0000000000000a7');
    await db.exec(`CREATE FUNCTION refuse_ack() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.acknowledged_reason = 'database says no' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`);
    await db.exec('CREATE TRIGGER refuse_ack BEFORE UPDATE ON alerts FOR EACH ROW EXECUTE FUNCTION refuse_ack()');
    try {
      const res = await acknowledge(id, { by: 'dbfail', reason: 'database says no' });
      expect(res.status).toBe(500);
      const made = await silencesBy('dbfail');
      expect(made).toHaveLength(2);
      expect(made.map((s) => s.status.state)).toEqual(['expired', 'expired']);
      expect(await history(id)).toMatchObject({ acknowledged_at: null, silence_id: null });
    } finally {
      await db.exec('DROP TRIGGER refuse_ack ON alerts');
      await db.exec('DROP FUNCTION refuse_ack()');
    }
  });
});
