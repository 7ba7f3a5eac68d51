import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackDashboards } from '../../dashboards/index.js';
import { stackRuleFiles } from '../../rules/index.js';
import { checkEnvironmentDashboards } from '../../src/cli/check.js';
import { synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { buildApp } from '../../src/ingest/app.js';
import type { IngestApp } from '../../src/ingest/context.js';
import { example } from '../constructs/helpers.js';
import { API_KEYS, auth, testConfig } from '../ingest/helpers/app.js';
import { postgresUnavailable, TestPostgres } from '../ingest/helpers/postgres.js';
import { expandMacros, type Panel, sqlQueries } from './grafana-sql.js';

const env = example('dev');
const synthesized = synthesizeEnvironment(env, { ruleFiles: stackRuleFiles(env), dashboards: stackDashboards(env) });
const json = synthesized.files.get('dashboards/obstack-errors.json');
const dashboard = JSON.parse(json ?? '{"panels":[]}') as { uid: string; panels: Panel[]; templating: { list: { name: string }[] } };
const sqlPanels = sqlQueries(dashboard.panels);

describe('the Errors dashboard as synthesized', () => {
  it('is written with the other dashboards of an environment with the ingest service and passes the dashboard checks', () => {
    expect(env.components.ingest.enabled).toBe(true);
    expect(json).toBeDefined();
    expect(dashboard.uid).toBe('obstack-errors');
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'analytics']);
    expect(checkEnvironmentDashboards(synthesized)).toEqual([]);
  });

  it('reads the rates from the counters of the ingest service and the groups through SQL', () => {
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => (t.expr ? [t.expr] : [])));
    expect(exprs.some((e) => e.includes('sum by (service_name) (rate(ingest_error_reports_total'))).toBe(true);
    expect(exprs.some((e) => e.includes('ingest_new_error_groups_total'))).toBe(true);
    expect(sqlPanels.map((p) => p.title)).toEqual(['Groups with reports', 'New groups', 'Top error groups', 'Groups first seen in the range', 'New groups per hour']);
    // The read-only role can read neither the reports nor their messages: no panel asks.
    for (const p of sqlPanels) expect(p.sql, p.title).not.toMatch(/\berror_events\b|\bmessage\b|\buser_id\b/);
  });

  it('joins the groups to their figures on project and fingerprint, and shows the project of each group', () => {
    // A fingerprint is unique per project only (migration 6): joined on it alone, a group would take the reports of another project's.
    const joins = sqlPanels.filter((p) => /\bJOIN\b/.test(p.sql));
    expect(joins.map((p) => p.title)).toEqual(['Top error groups', 'Groups first seen in the range']);
    for (const p of joins) {
      expect(p.sql, p.title).toMatch(/JOIN [^\n]+ USING \(project, fingerprint\)/);
      expect(p.sql, p.title).not.toMatch(/USING \(fingerprint\)/);
      expect(p.sql, p.title).toMatch(/\bg\.project\b/);
    }
  });

  it('has no SQL panel without the analytics datasource', () => {
    const prometheusOnly = stackDashboards({ ...env, components: { ...env.components, ingest: { ...env.components.ingest, enabled: false } } }).find((d) => d.uid === 'obstack-errors');
    expect(prometheusOnly).toBeDefined();
    expect(prometheusOnly!.json).not.toContain('rawSql');
  });

  it('expands the macros of a query, and refuses one it does not know', () => {
    const from = new Date('2026-01-01T00:00:00Z');
    const to = new Date('2026-01-02T00:00:00Z');
    expect(expandMacros('SELECT 1 WHERE $__timeFilter(g.first_seen) AND f($__timeFrom(), $__timeTo())', from, to)).toBe(
      "SELECT 1 WHERE g.first_seen BETWEEN '2026-01-01T00:00:00.000Z' AND '2026-01-02T00:00:00.000Z' AND f('2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z')",
    );
    expect(() => expandMacros('SELECT $__timeGroup(ts, 1h)', from, to)).toThrow(/\$__timeGroup/);
  });

  it("expands a variable as Grafana's sqlstring format does, and refuses one without a value or in another format", () => {
    const from = new Date('2026-01-01T00:00:00Z');
    expect(expandMacros('x = ANY (ARRAY[${p:sqlstring}]::text[])', from, from, { p: ['a', "o'b"] })).toBe("x = ANY (ARRAY['a','o''b']::text[])");
    expect(expandMacros('x IN (${p:sqlstring})', from, from, { p: [] })).toBe('x IN ()');
    expect(() => expandMacros('x IN (${p:sqlstring})', from, from)).toThrow(/\$\{p:sqlstring\}/);
    expect(() => expandMacros('x IN ($p)', from, from, { p: ['a'] })).toThrow(/variable \$p /);
    expect(() => expandMacros('x IN (${p:csv})', from, from, { p: ['a'] })).toThrow(/\$\{p:csv\}/);
  });
});

const unavailable = postgresUnavailable();
if (unavailable) console.warn(`skipping the Errors dashboard's SQL on PostgreSQL: ${unavailable}`);

/** An ingest key of a second project, beta. */
const BETA_KEY = 'beta0ingest0key0123456789abcdef0';

describe.skipIf(unavailable !== undefined)("the Errors dashboard's SQL on PostgreSQL, as the read-only role", () => {
  let server: TestPostgres;
  let app: IngestApp;
  let reader: pg.Client;
  const now = Date.now();
  const ago = (hours: number) => new Date(now - hours * 3_600_000).toISOString();
  const range = { from: new Date(now - 24 * 3_600_000), to: new Date(now + 60_000) };
  const fingerprints: Record<string, string | undefined> = {};
  const run = async (title: string) => {
    const panel = sqlPanels.find((p) => p.title === title);
    if (!panel) throw new Error(`no SQL panel "${title}"`);
    return (await reader.query(expandMacros(panel.sql, range.from, range.to))).rows as Record<string, unknown>[];
  };

  beforeAll(async () => {
    server = await TestPostgres.create();
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    // What the in-cluster PostgreSQL's init script does before the service first migrates.
    await admin.query("CREATE ROLE grafana_reader LOGIN PASSWORD 'reader'");
    await admin.query('GRANT CONNECT ON DATABASE postgres TO grafana_reader');
    await admin.query('GRANT USAGE ON SCHEMA public TO grafana_reader');
    await admin.end();
    const apiKeys = [...API_KEYS, { name: 'beta-app', key: BETA_KEY, scopes: ['ingest' as const], project: 'beta' }];
    app = await buildApp({ config: testConfig({ databaseUrl: server.url, logLevel: 'silent', rateLimitPerSecond: 0, apiKeys }), defaultMetrics: false });
    const post = async (payload: unknown[], headers: Record<string, string> = auth('ingest')) => {
      const res = await app.inject({ method: 'POST', url: '/api/v1/errors', headers, payload });
      expect(res.statusCode).toBe(200);
      return (res.json() as { fingerprints: string[] }).fingerprints;
    };
    const err = (fn: string, ts: string, user: string | undefined, service = 'checkout') => ({
      type: 'TypeError',
      message: `cart of ${user ?? 'nobody'} is undefined`,
      stack: `TypeError: x\n    at ${fn} (/srv/app/src/${fn}.js:1:1)`,
      timestamp: ts,
      tags: { service },
      ...(user ? { user_id: user } : {}),
    });
    // "old": first seen two days ago (before the range), 2 reports in the range by one user.
    [fingerprints['old']] = await post([err('old', ago(48), 'u1'), err('old', ago(5), 'u1'), err('old', ago(1), 'u1')]);
    // "busy": new in the range, 4 reports by 3 users and one anonymous.
    [fingerprints['busy']] = await post([err('busy', ago(3), 'u1', 'search'), err('busy', ago(2), 'u2', 'search'), err('busy', ago(2), 'u3', 'search'), err('busy', ago(1), undefined, 'search')]);
    // "stale": seen only before the range.
    [fingerprints['stale']] = await post([err('stale', ago(30), 'u9')]);
    // Project beta raises the same error as "busy" (so the same fingerprint): its own group, 1 report by 1 user,
    // and a report of "stale" in the range, which is new to beta.
    const beta = await post([err('busy', ago(2.5), 'u1', 'search'), err('stale', ago(4), 'u9')], { 'x-api-key': BETA_KEY });
    expect(beta).toEqual([fingerprints['busy'], fingerprints['stale']]);
    reader = new pg.Client({ connectionString: server.url.replace('postgres@', 'grafana_reader:reader@') });
    await reader.connect();
  });

  afterAll(async () => {
    await reader?.end();
    await app?.close();
    await server?.destroy();
  });

  it('connects as grafana_reader, who cannot read the reports themselves', async () => {
    expect((await reader.query('SELECT current_user AS u')).rows[0]).toEqual({ u: 'grafana_reader' });
    await expect(reader.query('SELECT message FROM error_events')).rejects.toMatchObject({ code: '42501' });
  });

  it('runs every SQL query of the dashboard', async () => {
    expect(sqlPanels.length).toBe(5);
    for (const p of sqlPanels) await expect(reader.query(expandMacros(p.sql, range.from, range.to)), p.title).resolves.toBeDefined();
  });

  it('lists the top groups of the range by reports, each with its project, affected users, first and last seen', async () => {
    const rows = await run('Top error groups');
    // Each group once, with its own project's figures: beta's "busy" does not add to default's, and default's
    // "stale" (no report in the range) does not take beta's report.
    expect(rows.map((r) => [r['project'], r['fingerprint'], r['reports'], r['affected users']])).toEqual([
      ['default', fingerprints['busy'], '4', '3'],
      ['default', fingerprints['old'], '2', '1'],
      ['beta', fingerprints['busy'], '1', '1'],
      ['beta', fingerprints['stale'], '1', '1'],
    ]);
    expect(rows[0]).toMatchObject({ service: 'search', type: 'TypeError', where: 'busy (src/busy.js)', level: 'error', reports: '4', 'affected users': '3' });
    expect(rows[1]).toMatchObject({ service: 'checkout', reports: '2', 'affected users': '1' });
    expect((rows[1]!['first seen'] as Date).toISOString()).toBe(ago(48));
    expect((rows[1]!['last seen'] as Date).toISOString()).toBe(ago(1));
    const betaBusy = rows.find((r) => r['project'] === 'beta' && r['fingerprint'] === fingerprints['busy']);
    expect((betaBusy!['first seen'] as Date).toISOString()).toBe(ago(2.5));
  });

  it('counts and lists the groups first seen in the range, and the groups with reports, per project', async () => {
    // default's "busy", and beta's "busy" and "stale".
    expect(await run('New groups')).toEqual([{ 'new groups': '3' }]);
    expect(await run('Groups with reports')).toEqual([{ groups: '4' }]);
    const fresh = await run('Groups first seen in the range');
    expect(fresh.map((r) => [r['project'], r['fingerprint'], r['reports']])).toEqual([
      ['beta', fingerprints['busy'], '1'],
      ['default', fingerprints['busy'], '4'],
      ['beta', fingerprints['stale'], '1'],
    ]);
    // By service over the projects; the two "busy" groups may fall in one hour or two.
    const hourly = await run('New groups per hour');
    const byService: Record<string, number> = {};
    for (const r of hourly) byService[r['metric'] as string] = (byService[r['metric'] as string] ?? 0) + Number(r['value']);
    expect(byService).toEqual({ checkout: 1, search: 2 });
  });
});
