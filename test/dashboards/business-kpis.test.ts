import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_VARIABLE_SQL } from '../../dashboards/business-kpis.js';
import { stackDashboards } from '../../dashboards/index.js';
import { stackRuleFiles } from '../../rules/index.js';
import { checkEnvironmentDashboards } from '../../src/cli/check.js';
import { synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { buildApp } from '../../src/ingest/app.js';
import type { IngestApp } from '../../src/ingest/context.js';
import { openPg, type Database } from '../../src/ingest/db.js';
import { runRollup, utcDay } from '../../src/ingest/rollup.js';
import { example } from '../constructs/helpers.js';
import { testConfig } from '../ingest/helpers/app.js';
import { postgresUnavailable, TestPostgres } from '../ingest/helpers/postgres.js';
import { expandMacros, type Panel, sqlQueries } from './grafana-sql.js';

interface Variable {
  name: string;
  type: string;
  query?: unknown;
  definition?: string;
  datasource?: { type?: string; uid?: string };
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
  refresh?: number;
  current?: { value?: unknown };
}

const env = example('dev');
const synthesized = synthesizeEnvironment(env, { ruleFiles: stackRuleFiles(env), dashboards: stackDashboards(env) });
const json = synthesized.files.get('dashboards/obstack-business-kpis.json');
const dashboard = JSON.parse(json ?? '{"panels":[]}') as { uid: string; panels: Panel[]; templating: { list: Variable[] } };
const queries = sqlQueries(dashboard.panels);
const PROJECT = '${project:sqlstring}';

describe('the Business KPIs dashboard as synthesized', () => {
  it('passes the dashboard checks, with a project variable over the analytics database', () => {
    expect(json).toBeDefined();
    expect(checkEnvironmentDashboards(synthesized)).toEqual([]);
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['analytics', 'project']);
    const project = dashboard.templating.list.find((v) => v.name === 'project')!;
    expect(project).toMatchObject({
      type: 'query',
      datasource: { type: 'grafana-postgresql-datasource', uid: '${analytics}' },
      query: PROJECT_VARIABLE_SQL,
      definition: PROJECT_VARIABLE_SQL,
      multi: true,
      includeAll: true,
      current: { value: '$__all' },
    });
    // A custom "All" value would reach the SQL unquoted (Grafana skips the format for it): All must stand for the listed projects.
    expect(project.allValue ?? '').toBe('');
  });

  it('filters every query by the selected projects and counts a user per project', () => {
    expect(queries.length).toBe(16);
    for (const q of queries) {
      expect(q.sql, q.title).toContain(`project = ANY (ARRAY[${PROJECT}]::text[])`);
      // User ids are per project: a user is a (project, user_id) pair.
      expect(q.sql, q.title).not.toMatch(/count\(DISTINCT (\w+\.)?user_id\)|GROUP BY (\w+\.)?user_id\b|DISTINCT ON \(name\)/);
    }
    const sqlOf = (title: string) => queries.filter((q) => q.title === title).map((q) => q.sql).join('\n');
    expect(sqlOf('Monthly active users')).toContain('count(DISTINCT (u.project, u.user_id))');
    expect(sqlOf('New users per day')).toContain('GROUP BY project, user_id');
    expect(sqlOf('Posted KPIs against target')).toMatch(/^SELECT DISTINCT ON \(project, name\) project, name AS kpi/);
    expect(sqlOf('Feature adoption')).toMatch(/^SELECT project, dimension AS feature/);
  });
});

const unavailable = postgresUnavailable();
if (unavailable) console.warn(`skipping the Business KPIs dashboard's SQL on PostgreSQL: ${unavailable}`);

/** Word characters only, as the other ingest keys of the tests. */
const KEYS = { alpha: 'alpha0ingest0key0123456789abcdef', beta: 'beta0ingest0key0123456789abcdef0' } as const;
const DAY_MS = 86_400_000;

describe.skipIf(unavailable !== undefined)("the Business KPIs dashboard's SQL on PostgreSQL, as the read-only role", () => {
  let server: TestPostgres;
  let db: Database;
  let app: IngestApp;
  let reader: pg.Client;
  // Three whole UTC days before today: d3, d2 and d1 (yesterday), each rolled up.
  const today = Date.parse(`${utcDay(new Date())}T00:00:00Z`);
  const day = (n: number) => utcDay(new Date(today - n * DAY_MS));
  const noon = (n: number) => new Date(today - n * DAY_MS + 12 * 3_600_000).toISOString();
  // Wide enough for any server time zone; generate_series then spans d5 to today.
  const range = { from: new Date(today - 5 * DAY_MS), to: new Date(Date.now() + 60_000) };
  const ALL = ['alpha', 'beta'];

  /** The rows of a panel's query with the given projects selected. */
  const run = async (title: string, projects: readonly string[] = ALL, index = 0) => {
    const q = queries.filter((p) => p.title === title)[index];
    if (!q) throw new Error(`no SQL query ${index} of "${title}"`);
    return (await reader.query(expandMacros(q.sql, range.from, range.to, { project: projects }))).rows as Record<string, unknown>[];
  };
  /** A series as `{ 'YYYY-MM-DD': value }`, the value of the column `column`. */
  const series = async (title: string, column: string, projects: readonly string[] = ALL, index = 0) =>
    Object.fromEntries((await run(title, projects, index)).map((r) => [utcDay(r['time'] as Date), r[column] === null ? null : Number(r[column])]));
  /** The single value of a stat. */
  const stat = async (title: string, projects: readonly string[] = ALL) => {
    const rows = await run(title, projects);
    expect(rows.length, title).toBeLessThanOrEqual(1);
    const value = rows[0] === undefined ? undefined : Object.values(rows[0])[0];
    return value === null || value === undefined ? value : Number(value);
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
    db = openPg({ connectionString: server.url, poolSize: 4, timeoutMs: 10_000 });
    const apiKeys = [
      { name: 'alpha-app', key: KEYS.alpha, scopes: ['ingest' as const], project: 'alpha' },
      { name: 'beta-app', key: KEYS.beta, scopes: ['ingest' as const], project: 'beta' },
    ];
    app = await buildApp({ config: testConfig({ databaseUrl: server.url, logLevel: 'silent', rateLimitPerSecond: 0, apiKeys }), db, defaultMetrics: false });
    const post = async (project: keyof typeof KEYS, url: string, payload: object) => {
      const res = await app.inject({ method: 'POST', url, headers: { 'x-api-key': KEYS[project] }, payload });
      expect(res.statusCode, res.body).toBe(200);
    };
    const at = (n: number, events: object[]) => events.map((e) => ({ ...e, timestamp: noon(n) }));
    // "shared" is a user id of both projects: two people, one in each.
    await post('alpha', '/api/v1/events', [
      ...at(3, [{ type: 'page_view', user_id: 'shared' }, { type: 'page_view', user_id: 'a1' }]),
      ...at(2, [{ type: 'page_view', user_id: 'shared' }]),
      ...at(1, [
        { type: 'page_view', user_id: 'a1' },
        { type: 'feature_used', user_id: 'a1', properties: { feature: 'export' } },
        { type: 'session_start', user_id: 'a1' },
        { type: 'session_end', user_id: 'a1', properties: { duration_seconds: 60 } },
        { type: 'conversation_rated', user_id: 'a1', properties: { rating: 4 } },
        { type: 'request', properties: { duration_ms: 10, status: 200, route: '/' } },
        { type: 'request', properties: { duration_ms: 10, status: 500, route: '/' } },
      ]),
    ]);
    await post('beta', '/api/v1/events', [
      ...at(3, [{ type: 'page_view', user_id: 'shared' }]),
      ...at(1, [
        { type: 'page_view', user_id: 'shared' },
        { type: 'page_view', user_id: 'b1' },
        { type: 'page_view', user_id: 'b2' },
        { type: 'feature_used', user_id: 'b1', properties: { feature: 'export' } },
        { type: 'feature_used', user_id: 'b1', properties: { feature: 'export' } },
        { type: 'feature_used', user_id: 'b2', properties: { feature: 'export' } },
        { type: 'session_start', user_id: 'b1' },
        { type: 'session_end', user_id: 'b1', properties: { duration_seconds: 120 } },
        { type: 'conversation_rated', user_id: 'b2', properties: { rating: 2 } },
        ...[1, 2, 3].map(() => ({ type: 'request', properties: { duration_ms: 20, status: 200, route: '/' } })),
      ]),
    ]);
    // The same KPI name in both projects; alpha posts it twice, the second is its latest.
    await post('alpha', '/api/v1/monitoring/business-metrics', { metric_name: 'signups', value: 5, target: 10 });
    await post('alpha', '/api/v1/monitoring/business-metrics', { metric_name: 'signups', value: 8, target: 10 });
    await post('beta', '/api/v1/monitoring/business-metrics', { metric_name: 'signups', value: 30, target: 20 });
    await runRollup(db, { days: 3, now: new Date(noon(1)), projects: ALL });

    reader = new pg.Client({ connectionString: server.url.replace('postgres@', 'grafana_reader:reader@') });
    await reader.connect();
    // Days print as UTC dates whatever the server's zone.
    await reader.query("SET TIME ZONE 'UTC'");
  }, 60_000);

  afterAll(async () => {
    await reader?.end();
    await app?.close();
    await db?.close();
    await server?.destroy();
  });

  it('connects as grafana_reader, who cannot read the raw events, and lists the projects as the variable does', async () => {
    expect((await reader.query('SELECT current_user AS u')).rows[0]).toEqual({ u: 'grafana_reader' });
    await expect(reader.query('SELECT user_id FROM events')).rejects.toMatchObject({ code: '42501' });
    const projects = (await reader.query(PROJECT_VARIABLE_SQL)).rows.map((r: { project: string }) => r.project).sort();
    expect(projects).toEqual(ALL);
  });

  it('runs every query with all, one and no project selected', async () => {
    for (const selection of [ALL, ['alpha'], []]) {
      for (const q of queries) {
        await expect(reader.query(expandMacros(q.sql, range.from, range.to, { project: selection })), `${q.title} with [${selection.join(', ')}]`).resolves.toBeDefined();
      }
    }
  });

  it('counts active users per project: the same user id in two projects is two users', async () => {
    // alpha: shared and a1 on d3, shared on d2, a1 on d1; beta: shared on d3, shared, b1 and b2 on d1.
    // The stats of "Today" come first, then the series of the same titles.
    expect(await series('Daily active users', 'daily active users', ALL, 1)).toEqual({ [day(3)]: 3, [day(2)]: 1, [day(1)]: 4 });
    expect(await series('Daily active users', 'daily active users', ['alpha'], 1)).toEqual({ [day(3)]: 2, [day(2)]: 1, [day(1)]: 1 });
    expect(await stat('Daily active users')).toBe(4);
    expect(await stat('Daily active users', ['beta'])).toBe(3);
    // alpha's shared and a1, beta's shared, b1 and b2: 5, where the ids alone would count 4.
    expect(await stat('Monthly active users')).toBe(5);
    expect(await stat('Monthly active users', ['alpha'])).toBe(2);
    expect(await stat('DAU / MAU')).toBeCloseTo(4 / 5);
    expect(await stat('DAU / MAU', ['alpha'])).toBeCloseTo(1 / 2);
    const mau = await series('Monthly active users', 'monthly active users', ALL, 1);
    expect(mau).toMatchObject({ [day(4)]: 0, [day(3)]: 3, [day(2)]: 3, [day(1)]: 5, [day(0)]: 5 });
  });

  it('counts new users and growth per project', async () => {
    // First days: alpha's shared and a1 and beta's shared on d3, b1 and b2 on d1.
    expect(await series('New users per day', 'new users')).toEqual({ [day(3)]: 3, [day(1)]: 2 });
    expect(await series('New users per day', 'new users', ['beta'])).toEqual({ [day(3)]: 1, [day(1)]: 2 });
    expect(await series('User growth', 'users')).toEqual({ [day(3)]: 3, [day(1)]: 5 });
  });

  it('sums sessions, page views, ratings and requests over the selected projects', async () => {
    expect(await series('Sessions per day', 'sessions')).toEqual({ [day(3)]: 0, [day(2)]: 0, [day(1)]: 2 });
    expect(await series('Average session duration', 'average session')).toEqual({ [day(3)]: null, [day(2)]: null, [day(1)]: 90 });
    expect(await series('Average session duration', 'average session', ['beta'])).toMatchObject({ [day(1)]: 120 });
    expect(await series('Page views per day', 'page views')).toEqual({ [day(3)]: 3, [day(2)]: 1, [day(1)]: 4 });
    expect(await series('Satisfaction ratings', 'average rating')).toMatchObject({ [day(1)]: 3 });
    expect(await series('Satisfaction ratings', 'ratings')).toMatchObject({ [day(1)]: 2 });
    expect(await stat('Average rating')).toBe(3);
    expect(await stat('Average rating', ['alpha'])).toBe(4);
    // alpha: 1 of 2 requests failed; beta: none of 3.
    expect(await series('Error rate seen by users', 'error rate')).toMatchObject({ [day(1)]: 0.2 });
    expect(await series('Error rate seen by users', 'error rate', ['alpha'])).toMatchObject({ [day(1)]: 0.5 });
  });

  it('shows feature use summed, and adoption and KPIs by project', async () => {
    expect((await run('Feature use')).map((r) => [r['feature'], Number(r['uses'])])).toEqual([['export', 4]]);
    expect((await run('Feature use', ['alpha'])).map((r) => [r['feature'], Number(r['uses'])])).toEqual([['export', 1]]);
    expect((await run('Feature adoption')).map((r) => [r['project'], r['feature'], Number(r['uses']), Number(r['peak daily users'])])).toEqual([
      ['beta', 'export', 3, 2],
      ['alpha', 'export', 1, 1],
    ]);
    const kpis = (projects: readonly string[]) => run('Posted KPIs against target', projects);
    expect((await kpis(ALL)).map((r) => [r['project'], r['kpi'], r['value'], r['target'], r['achieved']])).toEqual([
      ['alpha', 'signups', 8, 10, 0.8],
      ['beta', 'signups', 30, 20, 1.5],
    ]);
    expect((await kpis(['beta'])).map((r) => r['project'])).toEqual(['beta']);
  });

  it('shows nothing of a project not selected, and nothing at all when none is', async () => {
    for (const q of queries) {
      const rows = (await reader.query(expandMacros(q.sql, range.from, range.to, { project: [] }))).rows as Record<string, unknown>[];
      // A series keeps its days (the MAU's calendar) or a stat its one row, with no figure in it.
      const figures = rows.flatMap((r) => Object.entries(r).filter(([k, v]) => k !== 'time' && v !== null && Number(v) !== 0));
      expect(figures, q.title).toEqual([]);
    }
    expect(await run('Posted KPIs against target', ['gamma'])).toEqual([]);
  });
});
