import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackDashboards } from '../../dashboards/index.js';
import { stackRuleFiles } from '../../rules/index.js';
import { checkEnvironmentDashboards } from '../../src/cli/check.js';
import { synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { buildApp } from '../../src/ingest/app.js';
import type { IngestApp } from '../../src/ingest/context.js';
import { example } from '../constructs/helpers.js';
import { auth, testConfig } from '../ingest/helpers/app.js';
import { postgresUnavailable, TestPostgres } from '../ingest/helpers/postgres.js';

interface Target {
  rawSql?: string;
  expr?: string;
  format?: string;
  datasource?: { uid?: string };
}
interface Panel {
  title: string;
  type: string;
  targets?: Target[];
}

/**
 * Grafana's PostgreSQL macros as the datasource expands them for a time
 * range: `$__timeFilter(col)` → `col BETWEEN '<from>' AND '<to>'`,
 * `$__timeFrom()` / `$__timeTo()` → the quoted instants. A macro it does not
 * know is an error, so a query cannot reach PostgreSQL half expanded.
 */
function expandMacros(rawSql: string, from: Date, to: Date): string {
  const f = `'${from.toISOString()}'`;
  const t = `'${to.toISOString()}'`;
  const out = rawSql
    .replace(/\$__timeFilter\(\s*([^)]+?)\s*\)/g, (_, col: string) => `${col} BETWEEN ${f} AND ${t}`)
    .replace(/\$__timeFrom\(\)/g, f)
    .replace(/\$__timeTo\(\)/g, t);
  const left = /\$__\w+/.exec(out);
  if (left) throw new Error(`macro ${left[0]} is not expanded by the test helper: ${rawSql}`);
  return out;
}

const env = example('dev');
const synthesized = synthesizeEnvironment(env, { ruleFiles: stackRuleFiles(env), dashboards: stackDashboards(env) });
const json = synthesized.files.get('dashboards/obstack-errors.json');
const dashboard = JSON.parse(json ?? '{"panels":[]}') as { uid: string; panels: Panel[]; templating: { list: { name: string }[] } };
const sqlPanels = dashboard.panels.flatMap((p) => (p.targets ?? []).filter((t) => t.rawSql !== undefined).map((t) => ({ title: p.title, sql: t.rawSql! })));

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
});

const unavailable = postgresUnavailable();
if (unavailable) console.warn(`skipping the Errors dashboard's SQL on PostgreSQL: ${unavailable}`);

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
    app = await buildApp({ config: testConfig({ databaseUrl: server.url, logLevel: 'silent', rateLimitPerSecond: 0 }), defaultMetrics: false });
    const post = async (payload: unknown[]) => {
      const res = await app.inject({ method: 'POST', url: '/api/v1/errors', headers: auth('ingest'), payload });
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

  it('lists the top groups of the range by reports, with affected users, first and last seen', async () => {
    const rows = await run('Top error groups');
    expect(rows.map((r) => r['fingerprint'])).toEqual([fingerprints['busy'], fingerprints['old']]);
    expect(rows[0]).toMatchObject({ service: 'search', type: 'TypeError', where: 'busy (src/busy.js)', level: 'error', reports: '4', 'affected users': '3' });
    expect(rows[1]).toMatchObject({ service: 'checkout', reports: '2', 'affected users': '1' });
    expect((rows[1]!['first seen'] as Date).toISOString()).toBe(ago(48));
    expect((rows[1]!['last seen'] as Date).toISOString()).toBe(ago(1));
  });

  it('counts and lists the groups first seen in the range, and the groups with reports', async () => {
    expect(await run('New groups')).toEqual([{ 'new groups': '1' }]);
    expect(await run('Groups with reports')).toEqual([{ groups: '2' }]);
    const fresh = await run('Groups first seen in the range');
    expect(fresh.map((r) => r['fingerprint'])).toEqual([fingerprints['busy']]);
    const hourly = await run('New groups per hour');
    expect(hourly).toEqual([{ time: expect.any(Date), metric: 'search', value: '1' }]);
  });
});
