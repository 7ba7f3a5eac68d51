import { buildApp, type BuildAppOptions } from '../../../src/ingest/app.js';
import { parseConfig, type IngestConfigInput } from '../../../src/ingest/config.js';
import type { IngestApp } from '../../../src/ingest/context.js';
import { openPglite, type Database } from '../../../src/ingest/db.js';

/** API keys of the tests, one per scope. */
export const KEYS = {
  ingest: 'test-ingest-key-0123456789abcdef',
  read: 'test-read-key-0123456789abcdef00',
  admin: 'test-admin-key-0123456789abcdef0',
} as const;

/** Keys of the project `default` (they name none); the ingest key is also the Sentry DSN key of project id 1. */
export const API_KEYS = [
  { name: 'app', key: KEYS.ingest, scopes: ['ingest' as const], sentryProjectId: '1' },
  { name: 'dashboards', key: KEYS.read, scopes: ['read' as const] },
  { name: 'ops', key: KEYS.admin, scopes: ['admin' as const] },
];

export const auth = (scope: keyof typeof KEYS) => ({ 'x-api-key': KEYS[scope] });

export function testConfig(overrides: Partial<IngestConfigInput> = {}) {
  return parseConfig({ apiKeys: API_KEYS, dataDir: 'memory://', logLevel: 'info', ...overrides });
}

export interface TestApp {
  readonly app: IngestApp;
  readonly db: Database;
  /** Every log line the app wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  /** The same lines as written. */
  readonly rawLogs: string[];
  count(table: string): Promise<number>;
}

/** An app on a database of its own (an in-memory PGlite unless one is given), replies checked against their schemas. */
export async function makeApp(
  overrides: Partial<IngestConfigInput> = {},
  db?: Database,
  clients: Pick<BuildAppOptions, 'jaeger' | 'prometheus'> = {},
): Promise<TestApp> {
  const database = db ?? (await openPglite('memory://'));
  const logs: Record<string, unknown>[] = [];
  const rawLogs: string[] = [];
  const app = await buildApp({
    config: testConfig(overrides),
    db: database,
    checkReplies: true,
    defaultMetrics: false,
    ...clients,
    logStream: {
      write: (line: string) => {
        rawLogs.push(line);
        logs.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  });
  return {
    app,
    db: database,
    logs,
    rawLogs,
    async count(table) {
      const { rows } = await database.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
      return rows[0]?.n ?? -1;
    },
  };
}
