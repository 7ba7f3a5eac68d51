import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPg, openPglite, type Database } from '../../src/ingest/db.js';
import { MIGRATIONS, migrate } from '../../src/ingest/migrations.js';
import { runRetention } from '../../src/ingest/retention.js';
import { runRollup, utcDay } from '../../src/ingest/rollup.js';
import { startAlertmanager, type StartedServer } from '../support/processes.js';
import { auth, makeApp, type TestApp } from './helpers/app.js';
import { postgresUnavailable, TestPostgres } from './helpers/postgres.js';

// Word characters only: the ingest keys are also Sentry DSN keys.
const KEY = {
  alphaIngest: 'alpha0ingest0key0123456789abcdef',
  alphaRead: 'alpha0read0key0123456789abcdef00',
  alphaAdmin: 'alpha0admin0key0123456789abcdef0',
  betaIngest: 'beta0ingest0key0123456789abcdef0',
  betaRead: 'beta0read0key0123456789abcdef000',
  betaAdmin: 'beta0admin0key0123456789abcdef00',
  scrape: 'platform0scrape0key0123456789abc',
} as const;

const API_KEYS = [
  { name: 'alpha-app', key: KEY.alphaIngest, scopes: ['ingest' as const], project: 'alpha', sentryProjectId: '7' },
  { name: 'alpha-dashboards', key: KEY.alphaRead, scopes: ['read' as const], project: 'alpha' },
  { name: 'alpha-ops', key: KEY.alphaAdmin, scopes: ['admin' as const], project: 'alpha' },
  { name: 'beta-app', key: KEY.betaIngest, scopes: ['ingest' as const], project: 'beta', sentryProjectId: '42' },
  { name: 'beta-dashboards', key: KEY.betaRead, scopes: ['read' as const], project: 'beta' },
  { name: 'beta-ops', key: KEY.betaAdmin, scopes: ['admin' as const], project: 'beta' },
  // The platform's Prometheus: its `metrics` scope reads every project's KPIs.
  { name: 'prometheus', key: KEY.scrape, scopes: ['metrics' as const], project: 'platform' },
];

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Both projects send these ids: each project keeps its own. */
const SHARED_EVENT_ID = '5f0c1a52-8a7e-4f0e-9d7c-3b0b7a1d2e01';
const SHARED_ERROR_ID = '5f0c1a52-8a7e-4f0e-9d7c-3b0b7a1d2e02';
const SHARED_SENTRY_ID = '0123456789abcdef0123456789abcdef';
/** A user id both projects have: two people, one in each. */
const SHARED_USER = 'shared-user-4711';

/** The same Sentry event, as @sentry/node sends it, for either project. */
const sentryEvent = {
  event_id: SHARED_SENTRY_ID,
  level: 'error',
  platform: 'node',
  user: { id: SHARED_USER },
  exception: { values: [{ type: 'ExportError', value: 'export failed', stacktrace: { frames: [{ filename: '/srv/app/export.js', function: 'run', lineno: 3 }] } }] },
};
const envelope = (event: object) => Buffer.from(`${JSON.stringify({ event_id: SHARED_SENTRY_ID })}\n{"type":"event"}\n${JSON.stringify(event)}\n`);

const webhook = (alertname: string, severity: string) => ({
  version: '4',
  groupKey: `{}:{alertname="${alertname}"}`,
  truncatedAlerts: 0,
  status: 'firing',
  receiver: 'ingest-history',
  groupLabels: { alertname },
  commonLabels: { alertname, severity },
  commonAnnotations: { summary: `${alertname} fired` },
  externalURL: 'http://alertmanager:9093',
  // The same fingerprint and start in both projects: two alerts, one in each.
  alerts: [{ status: 'firing', labels: { alertname, severity }, annotations: { summary: `${alertname} fired` }, startsAt: new Date(Date.now() - 600_000).toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prometheus:9090/graph', fingerprint: 'f00dbeef00000001' }],
});

/** What each project writes: beta more than alpha, so that any figure mixing the two shows. */
const WRITES = {
  beta: {
    events: [
      { type: 'page_view', user_id: SHARED_USER, event_id: SHARED_EVENT_ID, properties: { path: '/beta' } },
      { type: 'page_view', user_id: 'beta-user' },
      { type: 'session_start', user_id: 'beta-user', session_id: 'beta-session' },
      { type: 'feature_used', user_id: 'beta-user', properties: { feature: 'beta-export' } },
      { type: 'request', properties: { duration_ms: 100, status: 500 } },
      { type: 'request', properties: { duration_ms: 300, status: 200 } },
      { type: 'conversation_rated', user_id: 'beta-user', properties: { rating: 2 } },
    ],
    error: { type: 'BetaError', message: `beta failed for ${SHARED_USER}`, user_id: SHARED_USER, event_id: SHARED_ERROR_ID },
    kpi: { metric_name: 'beta_revenue', value: 100, target: 200 },
    alert: webhook('BetaDown', 'P1'),
  },
  alpha: {
    events: [
      { type: 'page_view', user_id: SHARED_USER, event_id: SHARED_EVENT_ID, properties: { path: '/alpha' } },
      { type: 'feature_used', user_id: SHARED_USER, properties: { feature: 'alpha-search' } },
      { type: 'request', properties: { duration_ms: 10, status: 200 } },
    ],
    error: { type: 'AlphaError', message: `alpha failed for ${SHARED_USER}`, user_id: SHARED_USER, event_id: SHARED_ERROR_ID },
    kpi: { metric_name: 'alpha_signups', value: 5, target: 10 },
    alert: webhook('AlphaDown', 'P3'),
  },
} as const;

const READ_ROUTES = ['/api/v1/errors', '/api/v1/alerts', '/api/v1/monitoring/analytics?days=1', '/api/v1/monitoring/health'] as const;
const ADMIN_ROUTES = [...READ_ROUTES, '/api/v1/monitoring/business-dashboard', '/metrics/business'] as const;

async function until(what: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

let alertmanager: StartedServer | undefined;
let amRoot: string | undefined;

beforeAll(async () => {
  amRoot = mkdtempSync(join(tmpdir(), 'obstack-tenancy-'));
  const config = join(amRoot, 'alertmanager.yml');
  writeFileSync(config, "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n");
  alertmanager = await startAlertmanager(config, join(amRoot, 'data'));
}, 30_000);

afterAll(async () => {
  await alertmanager?.server.stop();
  if (amRoot) rmSync(amRoot, { recursive: true, force: true });
});

interface Sent {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** An object goes as JSON; a string or bytes as they are. */
  readonly payload?: unknown;
}
interface Answer {
  readonly statusCode: number;
  readonly body: string;
  json<T = Json>(): T;
}

/**
 * The suite, through `app.inject` or, with `http`, through a server listening
 * on 127.0.0.1 that a real HTTP client talks to.
 */
function tenancySuite(name: string, transport: 'inject' | 'http', open: () => Promise<{ db: Database; close: () => Promise<void> }>) {
  describe(name, () => {
    let t: TestApp;
    let close: () => Promise<void> = async () => {};
    let send: (r: Sent) => Promise<Answer>;

    const call = (method: Sent['method'], url: string, key: string, payload?: unknown) => send({ method, url, headers: { 'x-api-key': key }, payload });
    const ok = async (method: 'GET' | 'POST' | 'DELETE', url: string, key: string, payload?: unknown) => {
      const res = await call(method, url, key, payload);
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(200);
      return res;
    };
    const read = async (url: string, key: string) => (await ok('GET', url, key)).body;
    const byProject = async (sql: string) =>
      Object.fromEntries((await t.db.query<{ project: string | null; n: number }>(`SELECT project, count(*)::int AS n FROM ${sql} GROUP BY project ORDER BY project`)).rows.map((r) => [r.project, r.n]));
    const silences = async () => (await (await fetch(`${alertmanager!.base}/api/v2/silences`)).json()) as { id: string; createdBy: string; status: { state: string } }[];
    const alertId = async (project: string) => (await t.db.query<{ id: number }>('SELECT id::float8 AS id FROM alerts WHERE project = $1', [project])).rows[0]!.id;

    beforeAll(async () => {
      const opened = await open();
      close = opened.close;
      t = await makeApp({ apiKeys: API_KEYS, rateLimitPerSecond: 0, alertmanagerUrl: alertmanager!.base }, opened.db);
      if (transport === 'inject') {
        send = async (r) => t.app.inject({ method: r.method, url: r.url, headers: r.headers ?? {}, ...(r.payload === undefined ? {} : { payload: r.payload as object }) });
        return;
      }
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = t.app.server.address() as { port: number };
      send = async (r) => {
        const json = r.payload !== undefined && typeof r.payload !== 'string' && !Buffer.isBuffer(r.payload);
        const res = await fetch(`http://127.0.0.1:${port}${r.url}`, {
          method: r.method,
          headers: { ...(json ? { 'content-type': 'application/json' } : {}), ...r.headers },
          ...(r.payload === undefined ? {} : { body: json ? JSON.stringify(r.payload) : (r.payload as string | Buffer) }),
        });
        const body = await res.text();
        return { statusCode: res.status, body, json: <T>() => JSON.parse(body) as T };
      };
    }, 60_000);
    afterAll(async () => {
      await t?.app.close();
      await t?.db.close();
      await close();
    });

    it('stores every row in the project of the key that wrote it, with ids, fingerprints and alerts unique per project', async () => {
      // Beta first: alpha then sends the same event, error and Sentry ids, and the same alert fingerprint.
      for (const [project, ingest] of [['beta', KEY.betaIngest], ['alpha', KEY.alphaIngest]] as const) {
        const w = WRITES[project];
        expect((await ok('POST', '/api/v1/events', ingest, w.events)).json()).toMatchObject({ accepted: w.events.length });
        await ok('POST', '/api/v1/errors', ingest, w.error);
        await ok('POST', '/api/v1/monitoring/business-metrics', ingest, w.kpi);
        const hook = await send({ method: 'POST', url: '/api/v1/alerts/webhook', headers: { authorization: `Bearer ${ingest}` }, payload: w.alert });
        expect(hook.statusCode, hook.body).toBe(200);
      }
      // Beta's SDK posts to its DSN's project id; alpha's older SDK to /store/ under the project's name.
      const sentry = await send({ method: 'POST', url: `/api/42/envelope/?sentry_key=${KEY.betaIngest}&sentry_version=7`, payload: envelope(sentryEvent) });
      expect(sentry.statusCode, sentry.body).toBe(200);
      const store = await send({ method: 'POST', url: '/api/alpha/store/', headers: { 'x-sentry-auth': `Sentry sentry_key=${KEY.alphaIngest}, sentry_version=7` }, payload: JSON.stringify(sentryEvent) });
      expect(store.statusCode, store.body).toBe(200);
      await runRollup(t.db, { days: 1, projects: ['alpha', 'beta'] });

      expect(await byProject('events')).toEqual({ alpha: 3, beta: 7 });
      expect(await byProject('error_events')).toEqual({ alpha: 2, beta: 2 });
      expect(await byProject('error_groups')).toEqual({ alpha: 2, beta: 2 });
      expect(await byProject('business_metrics')).toEqual({ alpha: 1, beta: 1 });
      expect(await byProject('alerts')).toEqual({ alpha: 1, beta: 1 });
      expect(await byProject('daily_active_users')).toEqual({ alpha: 1, beta: 2 });
      expect(Object.keys(await byProject('daily_rollups'))).toEqual(['alpha', 'beta']);
      // The same ids in both projects, each stored in its own.
      expect(await byProject(`events WHERE event_id = '${SHARED_EVENT_ID}'`)).toEqual({ alpha: 1, beta: 1 });
      expect(await byProject(`error_events WHERE event_id = '${SHARED_ERROR_ID}'`)).toEqual({ alpha: 1, beta: 1 });
      expect(await byProject(`error_events WHERE event_id = '${SHARED_SENTRY_ID}'`)).toEqual({ alpha: 1, beta: 1 });
      // Each write's audit row, and its audit line, names the project of its key.
      expect(await byProject("audit_log WHERE actor LIKE 'beta-%'")).toEqual({ beta: 5 });
      expect(await byProject("audit_log WHERE actor LIKE 'alpha-%'")).toEqual({ alpha: 5 });
      const lines = t.logs.filter((l) => l['event.dataset'] === 'obstack_ingest.audit' && l['user.name'] === 'beta-app');
      expect(lines.map((l) => l['event.action']).sort()).toEqual(['alerts.webhook', 'business_metrics.record', 'errors.report', 'errors.report', 'events.ingest']);
      expect(new Set(lines.map((l) => l['labels.project']))).toEqual(new Set(['beta']));
    });

    it("gives alpha's read and admin keys nothing of beta on any read route, and beta's nothing of alpha", async () => {
      for (const [key, other] of [[KEY.alphaRead, /beta/i], [KEY.alphaAdmin, /beta/i], [KEY.betaRead, /alpha/i], [KEY.betaAdmin, /alpha/i]] as const) {
        const routes = key === KEY.alphaRead || key === KEY.betaRead ? READ_ROUTES : ADMIN_ROUTES;
        for (const route of routes) expect(await read(route, key), `${route} as ${key.slice(0, 10)}`).not.toMatch(other);
      }

      const errors = async (key: string) => (JSON.parse(await read('/api/v1/errors', key)) as { groups: Json[] }).groups.map((g) => [g['type'], g['count'], g['users']]).sort();
      expect(await errors(KEY.alphaRead)).toEqual([['AlphaError', 1, 1], ['ExportError', 1, 1]]);
      expect(await errors(KEY.betaRead)).toEqual([['BetaError', 1, 1], ['ExportError', 1, 1]]);

      const alerts = async (key: string) => (JSON.parse(await read('/api/v1/alerts', key)) as { alerts: Json[] }).alerts.map((a) => [a['alertname'], a['notifications']]);
      expect(await alerts(KEY.alphaRead)).toEqual([['AlphaDown', 1]]);
      expect(await alerts(KEY.betaRead)).toEqual([['BetaDown', 1]]);

      const analytics = async (key: string) => JSON.parse(await read('/api/v1/monitoring/analytics?days=1', key)) as Json;
      const a = await analytics(KEY.alphaRead);
      expect(a['summary']).toMatchObject({ events: 3, daily_active_users: 1, average_daily_active_users: 1, monthly_active_users: 1, page_views: 1, sessions: 0, requests: 1, error_rate: 0, ratings: 0, satisfaction_avg: null, error_reports: 2 });
      expect(a['summary']['latency_ms']['p50']).toBeCloseTo(10);
      expect(a['feature_usage']).toEqual([{ feature: 'alpha-search', uses: 1, users: 1 }]);
      const b = await analytics(KEY.betaRead);
      expect(b['summary']).toMatchObject({ events: 7, daily_active_users: 2, average_daily_active_users: 2, monthly_active_users: 2, page_views: 2, sessions: 1, requests: 2, error_rate: 0.5, ratings: 1, satisfaction_avg: 2, error_reports: 2 });
      expect(b['summary']['latency_ms']['p50']).toBeCloseTo(200);
      expect(b['feature_usage']).toEqual([{ feature: 'beta-export', uses: 1, users: 1 }]);

      const health = async (key: string) => JSON.parse(await read('/api/v1/monitoring/health', key)) as Json;
      // Beta's P1 makes beta unhealthy; alpha sees only its own P3.
      expect(await health(KEY.alphaRead)).toMatchObject({ status: 'degraded', today: { events: 3, requests: 1, error_reports: 2 }, active_alerts: [{ alertname: 'AlphaDown', severity: 'P3' }] });
      expect(await health(KEY.betaRead)).toMatchObject({ status: 'unhealthy', today: { events: 7, requests: 2, error_reports: 2 }, active_alerts: [{ alertname: 'BetaDown', severity: 'P1' }] });

      const dashboard = async (key: string) => JSON.parse(await read('/api/v1/monitoring/business-dashboard', key)) as Json;
      expect(await dashboard(KEY.alphaAdmin)).toMatchObject({ kpis: { alpha_signups: 5 }, targets: { alpha_signups: { current: 5, target: 10, achievement: 0.5 } }, user_metrics: { daily_active_users: 1 } });
      expect(Object.keys((await dashboard(KEY.betaAdmin))['kpis'])).toEqual(['beta_revenue']);

      // KPIs on /metrics/business: an admin key reads its own project's; the platform's metrics key every project's, by label.
      expect(await read('/metrics/business', KEY.alphaAdmin)).toContain('business_kpi_value{project="alpha",kpi="alpha_signups"} 5');
      expect(await read('/metrics/business', KEY.betaAdmin)).toContain('business_kpi_target{project="beta",kpi="beta_revenue"} 200');
      const all = await read('/metrics/business', KEY.scrape);
      expect(all).toContain('business_kpi_value{project="alpha",kpi="alpha_signups"} 5');
      expect(all).toContain('business_kpi_value{project="beta",kpi="beta_revenue"} 100');
    });

    it("answers alpha's acknowledgement of beta's alert 404, as for an alert that does not exist, and changes nothing", async () => {
      const betaAlert = await alertId('beta');
      const before = (await t.db.query<Json>('SELECT * FROM alerts WHERE id = $1', [betaAlert])).rows;
      const silencesBefore = (await silences()).length;
      const refused = await call('POST', `/api/v1/alerts/${betaAlert}/acknowledge`, KEY.alphaAdmin, { reason: 'not ours' });
      expect(refused.statusCode).toBe(404);
      expect(refused.json()).toEqual({ error: 'not_found', message: `no alert ${betaAlert}` });
      const unknown = await call('POST', '/api/v1/alerts/987654321/acknowledge', KEY.alphaAdmin, { reason: 'not ours' });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()).toEqual({ error: 'not_found', message: 'no alert 987654321' });
      expect((await t.db.query<Json>('SELECT * FROM alerts WHERE id = $1', [betaAlert])).rows).toEqual(before);
      expect(before[0]).toMatchObject({ acknowledged_at: null, silence_id: null });
      expect((await silences()).length).toBe(silencesBefore);
      expect(await t.count("audit_log WHERE action = 'alerts.acknowledge'")).toBe(0);

      // Beta's own admin acknowledges it: silences in Alertmanager, and alpha's alert of the same fingerprint stays as it was.
      const acked = await ok('POST', `/api/v1/alerts/${betaAlert}/acknowledge`, KEY.betaAdmin, { reason: 'ours', for: '30m' });
      expect(acked.json()).toMatchObject({ id: betaAlert, alertname: 'BetaDown', acknowledged_by: 'beta-ops' });
      const mine = (await silences()).filter((s) => [acked.json<Json>()['silence_id'], acked.json<Json>()['escalation_silence_id']].includes(s.id));
      expect(mine.map((s) => s.status.state)).toEqual(['active', 'active']);
      expect((await t.db.query<Json>("SELECT acknowledged_at FROM alerts WHERE project = 'alpha'")).rows).toEqual([{ acknowledged_at: null }]);
      expect(await byProject("audit_log WHERE action = 'alerts.acknowledge'")).toEqual({ beta: 1 });
    });

    it("erases alpha's user only in alpha: beta's user of the same id keeps every row and figure", async () => {
      const betaRows = async () => ({
        events: (await t.db.query<Json>("SELECT type, user_id, properties FROM events WHERE project = 'beta' ORDER BY id")).rows,
        errors: (await t.db.query<Json>("SELECT message, user_id FROM error_events WHERE project = 'beta' ORDER BY id")).rows,
        users: (await t.db.query<Json>("SELECT user_id FROM daily_active_users WHERE project = 'beta' ORDER BY user_id")).rows,
        rollups: (await t.db.query<Json>("SELECT metric, dimension, value FROM daily_rollups WHERE project = 'beta' ORDER BY metric, dimension")).rows,
        audit: (await t.db.query<Json>("SELECT id, resource_id, metadata FROM audit_log WHERE project = 'beta' ORDER BY id")).rows,
      });
      const before = await betaRows();
      expect(before.errors).toContainEqual({ message: `beta failed for ${SHARED_USER}`, user_id: SHARED_USER });

      const res = await ok('DELETE', `/api/v1/users/${SHARED_USER}/data`, KEY.alphaAdmin);
      // Alpha's page view and feature use, its JSON error and its Sentry event, its one active-user row.
      expect(res.json()).toMatchObject({ deleted: { events: 2, error_events: 2, daily_active_users: 1 }, rollup_days: 1 });
      expect(await t.count(`events WHERE project = 'alpha' AND user_id = '${SHARED_USER}'`)).toBe(0);
      const alpha = JSON.parse(await read('/api/v1/monitoring/analytics?days=1', KEY.alphaRead)) as Json;
      expect(alpha['summary']).toMatchObject({ daily_active_users: 0, average_daily_active_users: 0, events: 1 });

      expect(await betaRows()).toEqual(before);
      const beta = JSON.parse(await read('/api/v1/monitoring/analytics?days=1', KEY.betaRead)) as Json;
      expect(beta['summary']).toMatchObject({ daily_active_users: 2, average_daily_active_users: 2, events: 7 });
      expect(await byProject("audit_log WHERE action = 'user.erase'")).toEqual({ alpha: 1 });
    });

    it("refuses with 403 a Sentry request to another project's id, before reading the body, and stores nothing", async () => {
      const stored = await t.count('error_events');
      const fresh = { ...sentryEvent, event_id: 'fedcba9876543210fedcba9876543210' };
      for (const [path, headers, body] of [
        ['/api/7/envelope/', {}, envelope(fresh)],
        ['/api/alpha/envelope/', {}, envelope(fresh)],
        ['/api/default/store/', {}, JSON.stringify(fresh)],
        // Not gzip at all: decompressing it would answer 400.
        ['/api/7/envelope/', { 'content-encoding': 'gzip' }, envelope(fresh)],
      ] as const) {
        const res = await send({ method: 'POST', url: `${path}?sentry_key=${KEY.betaIngest}`, headers, payload: body });
        expect(res.statusCode, `${path}: ${res.body}`).toBe(403);
        const answer = res.json<{ error: string; message: string; issues: Json[] }>();
        expect(answer.error).toBe('wrong_project');
        expect(answer.message).toContain("this key belongs to project beta: the DSN's project id must be 42");
        expect(answer.issues[0]).toMatchObject({ path: 'params.projectId' });
        // Nothing about the other project: not its name, nor whether it exists.
        expect(answer.message).not.toMatch(/alpha.*(exists|belongs)/);
      }
      expect(await t.count('error_events')).toBe(stored);
      // The same envelope to beta's own id, and to its name, is taken.
      const own = await send({ method: 'POST', url: `/api/beta/envelope/?sentry_key=${KEY.betaIngest}`, payload: gzipSync(envelope(fresh)), headers: { 'content-encoding': 'gzip' } });
      expect(own.statusCode, own.body).toBe(200);
      expect(await byProject("error_events WHERE event_id = 'fedcba98-7654-3210-fedc-ba9876543210'")).toEqual({ beta: 1 });
      // The refusal is audited in beta's name, and its access line names the project.
      await until(async () => (await t.count("audit_log WHERE action = 'request.refused' AND reason = 'wrong_project' AND project = 'beta'")) >= 1);
      expect(t.logs.find((l) => l['event.dataset'] === 'obstack_ingest.access' && l['http.response.status_code'] === 403)).toMatchObject({ 'user.name': 'beta-app', 'labels.project': 'beta' });
    });
  });
}

tenancySuite('projects (PGlite)', 'inject', async () => ({ db: await openPglite('memory://'), close: async () => {} }));

describe('retention over projects', () => {
  it("deletes every project's old rows and audits each project's counts in that project, the totals in none", async () => {
    const db = await openPglite('memory://');
    try {
      await migrate(db);
      const old = "now() - interval '100 days'";
      await db.query(`INSERT INTO events (type, ts, api_key, project) VALUES ('x', ${old}, 'a', 'alpha'), ('x', ${old}, 'a', 'alpha'), ('x', ${old}, 'b', 'beta'), ('x', now(), 'b', 'beta')`);
      await db.query(`INSERT INTO error_events (fingerprint, type, message, level, ts, api_key, project) VALUES ('f', 'E', 'm', 'error', ${old}, 'b', 'beta')`);
      await db.query(`INSERT INTO daily_active_users (day, project, user_id) VALUES ((${old})::date, 'alpha', 'u'), ((${old})::date, 'beta', 'u')`);
      const deleted = await runRetention(db, { retentionDays: 90, auditRetentionDays: 365, alertRetentionDays: 180 });
      expect(deleted).toEqual({ events: 3, error_events: 1, business_metrics: 0, alerts: 0, audit_log: 0, daily_active_users: 2 });
      const { rows } = await db.query<{ project: string | null; deleted: Record<string, number> }>(
        "SELECT project, metadata->'deleted' AS deleted FROM audit_log WHERE action = 'retention.run' ORDER BY project NULLS FIRST",
      );
      expect(rows).toEqual([
        { project: null, deleted },
        { project: 'alpha', deleted: { events: 2, daily_active_users: 1 } },
        { project: 'beta', deleted: { events: 1, error_events: 1, daily_active_users: 1 } },
      ]);
      expect(await db.query('SELECT project FROM events')).toMatchObject({ rows: [{ project: 'beta' }] });
    } finally {
      await db.close();
    }
  });
});

describe('limits per project', () => {
  it('counts the KPI limit per project: one project using its KPIs up leaves another its own', async () => {
    const t = await makeApp({ apiKeys: API_KEYS, metricsMaxSeriesPerMetric: 2, rateLimitPerSecond: 0 });
    try {
      const kpi = (key: string, metric_name: string) =>
        t.app.inject({ method: 'POST', url: '/api/v1/monitoring/business-metrics', headers: { 'x-api-key': key }, payload: { metric_name, value: 1 } });
      expect((await kpi(KEY.alphaIngest, 'a_one')).statusCode).toBe(200);
      expect((await kpi(KEY.alphaIngest, 'a_two')).statusCode).toBe(200);
      const third = await kpi(KEY.alphaIngest, 'a_three');
      expect(third.statusCode).toBe(422);
      expect(third.json()).toMatchObject({ error: 'cardinality_limit', issues: [{ path: 'body.metric_name', message: 'would exceed the limit of 2 business metrics of a project' }] });
      // Known KPIs of a full project are still updated; the other project still has its two.
      expect((await kpi(KEY.alphaIngest, 'a_one')).statusCode).toBe(200);
      expect((await kpi(KEY.betaIngest, 'b_one')).statusCode).toBe(200);
      expect((await kpi(KEY.betaIngest, 'b_two')).statusCode).toBe(200);
      expect((await kpi(KEY.betaIngest, 'b_three')).statusCode).toBe(422);
      expect(await t.count('business_metrics')).toBe(5);
    } finally {
      await t.app.close();
      await t.db.close();
    }
  });
});

const unavailable = postgresUnavailable();
if (unavailable) console.warn(`skipping the real-PostgreSQL tenancy suites: ${unavailable}`);

let pg: TestPostgres | undefined;
describe.skipIf(unavailable !== undefined)('on a real PostgreSQL', () => {
  beforeAll(async () => {
    pg = await TestPostgres.create();
  }, 60_000);
  afterAll(async () => pg?.destroy());
  tenancySuite('projects (PostgreSQL, over HTTP)', 'http', async () => ({ db: openPg({ connectionString: pg!.url, poolSize: 4, timeoutMs: 5_000 }), close: async () => {} }));
  migrationSuite('migration 6 (PostgreSQL)', async () => {
    // A database of its own, with Grafana's role in place before the migrations, as the deployment creates it.
    await withAdmin(async (db) => {
      await db.exec('CREATE DATABASE migration_check');
      await db.exec("CREATE ROLE grafana_reader LOGIN PASSWORD 'x'");
    });
    return { db: openPg({ connectionString: pg!.url.replace(/\/[^/]*$/, '/migration_check'), poolSize: 2, timeoutMs: 5_000 }), grafanaUrl: pg!.url.replace('postgres@', 'grafana_reader:x@').replace(/\/[^/]*$/, '/migration_check') };
  });
});

async function withAdmin(fn: (db: Database) => Promise<void>): Promise<void> {
  const db = openPg({ connectionString: pg!.url, poolSize: 1, timeoutMs: 5_000 });
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}

/** Tables whose rows carry a project, and the project they all carry after the migration. */
const PROJECT_TABLES = ['events', 'error_events', 'error_groups', 'business_metrics', 'alerts', 'daily_rollups', 'daily_active_users', 'audit_log'];

function migrationSuite(name: string, open: () => Promise<{ db: Database; grafanaUrl?: string }>) {
  describe(name, () => {
    it('moves the rows of a database at migration 5 into project default, where a key that names no project reads them', async () => {
      const { db, grafanaUrl } = await open();
      let t: TestApp | undefined;
      try {
        expect(await migrate(db, MIGRATIONS.filter((m) => m.version <= 5))).toEqual([1, 2, 3, 4, 5]);
        const today = utcDay(new Date());
        const oldEvent = '7d1f3c9e-0b6a-4c1e-8f5d-2a9b8c7d6e01';
        await db.query(`INSERT INTO events (event_id, type, user_id, ts, properties, api_key) VALUES ($1, 'page_view', 'old-user', now(), '{}', 'app')`, [oldEvent]);
        await db.query(`INSERT INTO error_events (fingerprint, type, message, level, user_id, tags, ts, api_key, event_id) VALUES ('fp-old', 'OldError', 'old failure', 'error', 'old-user', '{}', now(), 'app', '7d1f3c9e-0b6a-4c1e-8f5d-2a9b8c7d6e02')`);
        await db.query(`INSERT INTO error_groups (fingerprint, service, type, level, first_seen) VALUES ('fp-old', 'app', 'OldError', 'error', now())`);
        await db.query(`INSERT INTO business_metrics (name, value, target, api_key) VALUES ('old_kpi', 3, 6, 'app')`);
        await db.query(
          `INSERT INTO alerts (fingerprint, alertname, severity, status, labels, annotations, starts_at, receiver) VALUES ('0ld', 'OldAlert', 'P3', 'firing', '{"alertname":"OldAlert"}', '{}', now() - interval '1 hour', 'history')`,
        );
        await db.query(`INSERT INTO daily_active_users (day, user_id) VALUES ($1::date, 'old-user')`, [today]);
        await db.query(`INSERT INTO daily_rollups (day, metric, dimension, value) VALUES ($1::date, 'active_users', '', 1), ($1::date, 'events', 'page_view', 1)`, [today]);
        await db.query(`INSERT INTO audit_log (actor, action, outcome) VALUES ('app', 'events.ingest', 'success')`);

        expect(await migrate(db)).toEqual([6, 7]);
        for (const table of PROJECT_TABLES) {
          const { rows } = await db.query<{ project: string | null; n: number }>(`SELECT project, count(*)::int AS n FROM ${table} GROUP BY project`);
          expect(rows, table).toEqual([{ project: 'default', n: table === 'daily_rollups' ? 2 : 1 }]);
        }

        // The test keys name no project: they are default's.
        t = await makeApp({ rateLimitPerSecond: 0 }, db);
        const get = async (url: string, scope: 'read' | 'admin' = 'read') => {
          const res = await t!.app.inject({ url, headers: auth(scope) });
          expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
          return res.json<Json>();
        };
        expect((await get('/api/v1/errors'))['groups']).toEqual([expect.objectContaining({ fingerprint: 'fp-old', type: 'OldError', count: 1 })]);
        expect((await get('/api/v1/alerts'))['alerts']).toEqual([expect.objectContaining({ alertname: 'OldAlert', status: 'firing' })]);
        expect((await get('/api/v1/monitoring/analytics?days=1'))['summary']).toMatchObject({ daily_active_users: 1, events: 1 });
        expect((await get('/api/v1/monitoring/health'))['active_alerts']).toEqual([expect.objectContaining({ alertname: 'OldAlert' })]);
        expect((await get('/api/v1/monitoring/business-dashboard', 'admin'))['kpis']).toEqual({ old_kpi: 3 });

        // An old event id is still stored once; an old fingerprint is no new group.
        const again = await t.app.inject({ method: 'POST', url: '/api/v1/events', headers: auth('ingest'), payload: { type: 'page_view', event_id: oldEvent, user_id: 'old-user' } });
        expect(again.statusCode).toBe(200);
        expect(await t.count(`events WHERE event_id = '${oldEvent}'`)).toBe(1);
        // The rollup rewrites today's figures of project default from its raw rows, old and new.
        await runRollup(db, { days: 1, projects: ['default'] });
        expect((await get('/api/v1/monitoring/analytics?days=1'))['summary']).toMatchObject({ daily_active_users: 1, events: 1 });

        // Audit rows written from now on name their project, or none for what concerns no project.
        await runRetention(db, { retentionDays: 90, auditRetentionDays: 365, alertRetentionDays: 180 });
        expect((await db.query<Json>("SELECT project FROM audit_log WHERE action = 'retention.run'")).rows).toEqual([{ project: null }]);
        expect((await db.query<Json>("SELECT DISTINCT project FROM audit_log WHERE action = 'events.ingest'")).rows).toEqual([{ project: 'default' }]);

        if (grafanaUrl) {
          // Grafana's role still reads the groups and the counts of every project, and still not the reports.
          const grafana = openPg({ connectionString: grafanaUrl, poolSize: 1, timeoutMs: 5_000 });
          try {
            const stats = await grafana.query<Json>("SELECT project, fingerprint, reports::int FROM error_group_stats(now() - interval '1 day', now() + interval '1 day')");
            expect(stats.rows).toEqual([{ project: 'default', fingerprint: 'fp-old', reports: 1 }]);
            expect((await grafana.query<Json>('SELECT project, fingerprint FROM error_groups')).rows).toEqual([{ project: 'default', fingerprint: 'fp-old' }]);
            await expect(grafana.query('SELECT count(*) FROM error_events')).rejects.toMatchObject({ code: '42501' });
          } finally {
            await grafana.close();
          }
        }
      } finally {
        await t?.app.close();
        await db.close();
      }
    }, 60_000);
  });
}

migrationSuite('migration 6 (PGlite)', async () => ({ db: await openPglite('memory://') }));
