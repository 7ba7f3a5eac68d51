import { createHash } from 'node:crypto';
import type { Database } from './db.js';

/** One schema change. Applied migrations are never edited: add a new one. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE events (
  id          bigserial PRIMARY KEY,
  event_id    uuid UNIQUE,
  type        text NOT NULL,
  user_id     text,
  session_id  text,
  ts          timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  properties  jsonb NOT NULL DEFAULT '{}',
  api_key     text NOT NULL
);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_user ON events (user_id) WHERE user_id IS NOT NULL;

CREATE TABLE error_events (
  id          bigserial PRIMARY KEY,
  fingerprint text NOT NULL,
  type        text NOT NULL,
  message     text NOT NULL,
  stack       text,
  release     text,
  environment text,
  level       text NOT NULL,
  user_id     text,
  tags        jsonb NOT NULL DEFAULT '{}',
  ts          timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  api_key     text NOT NULL
);
CREATE INDEX error_events_fingerprint ON error_events (fingerprint, ts);
CREATE INDEX error_events_ts ON error_events (ts);
CREATE INDEX error_events_user ON error_events (user_id) WHERE user_id IS NOT NULL;

CREATE TABLE business_metrics (
  id        bigserial PRIMARY KEY,
  name      text NOT NULL,
  value     double precision NOT NULL,
  target    double precision,
  dimension text,
  metadata  jsonb NOT NULL DEFAULT '{}',
  ts        timestamptz NOT NULL DEFAULT now(),
  api_key   text NOT NULL
);
CREATE INDEX business_metrics_name_ts ON business_metrics (name, ts DESC);

CREATE TABLE alerts (
  id                bigserial PRIMARY KEY,
  fingerprint       text NOT NULL,
  alertname         text NOT NULL,
  severity          text,
  status            text NOT NULL CHECK (status IN ('firing', 'resolved')),
  labels            jsonb NOT NULL,
  annotations       jsonb NOT NULL,
  starts_at         timestamptz NOT NULL,
  ends_at           timestamptz,
  generator_url     text,
  receiver          text NOT NULL,
  first_received_at timestamptz NOT NULL DEFAULT now(),
  last_received_at  timestamptz NOT NULL DEFAULT now(),
  notifications     integer NOT NULL DEFAULT 1,
  acknowledged_at   timestamptz,
  acknowledged_by   text,
  UNIQUE (fingerprint, starts_at)
);
CREATE INDEX alerts_status ON alerts (status, last_received_at DESC);

CREATE TABLE audit_log (
  id            bigserial PRIMARY KEY,
  ts            timestamptz NOT NULL DEFAULT now(),
  actor         text,
  action        text NOT NULL,
  resource_type text,
  resource_id   text,
  outcome       text NOT NULL CHECK (outcome IN ('success', 'failure', 'refused')),
  reason        text,
  ip_address    text,
  user_agent    text,
  request_id    text,
  metadata      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_ts ON audit_log (ts);

CREATE TABLE daily_rollups (
  day       date NOT NULL,
  metric    text NOT NULL,
  dimension text NOT NULL DEFAULT '',
  value     double precision NOT NULL,
  PRIMARY KEY (day, metric, dimension)
);

CREATE TABLE daily_active_users (
  day     date NOT NULL,
  user_id text NOT NULL,
  PRIMARY KEY (day, user_id)
);
CREATE INDEX daily_active_users_user ON daily_active_users (user_id);

CREATE TABLE job_runs (
  job         text PRIMARY KEY,
  last_run_at timestamptz NOT NULL,
  details     jsonb NOT NULL DEFAULT '{}'
);
`,
  },
  {
    version: 2,
    name: 'read access for dashboards',
    // The deployment's database creates a login-only role for Grafana; it may read the aggregates, the
    // alert history and the audit log, never the raw events or error reports. One line: statements split at ';' + newline.
    sql: `
DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'grafana_reader') THEN GRANT SELECT ON daily_rollups, daily_active_users, business_metrics, alerts, audit_log TO grafana_reader; END IF; END $$;
`,
  },
  {
    version: 3,
    name: 'error report ids',
    // A report sent again (an SDK retrying after a lost answer) is stored once. The column is
    // nullable without a default, so adding it rewrites nothing.
    sql: `
ALTER TABLE error_events ADD COLUMN event_id uuid;
CREATE UNIQUE INDEX error_events_event_id ON error_events (event_id) WHERE event_id IS NOT NULL;
`,
  },
  {
    version: 4,
    name: 'acknowledgement silences',
    // An acknowledgement silences the alert and its escalation in Alertmanager until acknowledged_until;
    // the row keeps who (acknowledged_by), why and the two silence ids. Nullable columns without a
    // default rewrite nothing; grafana_reader's grant on the table covers them.
    sql: `
ALTER TABLE alerts ADD COLUMN acknowledged_reason text;
ALTER TABLE alerts ADD COLUMN acknowledged_until timestamptz;
ALTER TABLE alerts ADD COLUMN silence_id text;
ALTER TABLE alerts ADD COLUMN escalation_silence_id text;
`,
  },
  {
    version: 5,
    name: 'error groups',
    // A group is the first report of a fingerprint: the write that inserts it learns that the fingerprint is new
    // (ON CONFLICT DO NOTHING ... RETURNING), in the transaction of the report. It holds no message and no user,
    // so dashboards may read it; reports, users and times of a range come from error_group_stats(), which reads
    // error_events as its owner and gives the reader role counts only. Groups of reports stored before are filled in.
    sql: `
CREATE TABLE error_groups (
  fingerprint text PRIMARY KEY,
  service     text NOT NULL,
  type        text NOT NULL,
  culprit     text,
  level       text NOT NULL,
  first_seen  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX error_groups_first_seen ON error_groups (first_seen);
INSERT INTO error_groups (fingerprint, service, type, level, first_seen) SELECT DISTINCT ON (fingerprint) fingerprint, left(regexp_replace(lower(coalesce(nullif(btrim(tags->>'service'), ''), api_key)), '[^a-z0-9_.-]', '_', 'g'), 64), type, level, ts FROM error_events ORDER BY fingerprint, ts;
CREATE FUNCTION error_group_stats(range_from timestamptz, range_to timestamptz) RETURNS TABLE (fingerprint text, reports bigint, users bigint, first_report timestamptz, last_report timestamptz) LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$ SELECT e.fingerprint, count(*), count(DISTINCT e.user_id), min(e.ts), max(e.ts) FROM error_events e WHERE e.ts >= range_from AND e.ts <= range_to GROUP BY e.fingerprint $$;
REVOKE ALL ON FUNCTION error_group_stats(timestamptz, timestamptz) FROM PUBLIC;
DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'grafana_reader') THEN GRANT SELECT ON error_groups TO grafana_reader; GRANT EXECUTE ON FUNCTION error_group_stats(timestamptz, timestamptz) TO grafana_reader; END IF; END $$;
`,
  },
  {
    version: 6,
    name: 'projects',
    // Every row belongs to the project of the key that wrote it; the rows stored before are in 'default', the
    // project of a key that names none. A NOT NULL column with a constant default is added without rewriting the
    // table (PostgreSQL 11+): the default is kept in the catalogue for the rows already there. audit_log's column
    // then loses its default, so that an entry of no project (a job, a request without a valid key) is NULL.
    // Keys that were unique across the service become unique per project: an event id, a fingerprint or an alert
    // of one project neither collides with nor reveals another's. Indexes lead with the project where reads
    // filter by it; the rollup and retention read by time across projects and keep theirs.
    // error_group_stats keeps its name and arguments for Grafana's role, over every project, with the project
    // as a last column; a new function needs its grant again.
    sql: `
ALTER TABLE events ADD COLUMN project text NOT NULL DEFAULT 'default';
ALTER TABLE error_events ADD COLUMN project text NOT NULL DEFAULT 'default';
ALTER TABLE error_groups ADD COLUMN project text NOT NULL DEFAULT 'default';
ALTER TABLE business_metrics ADD COLUMN project text NOT NULL DEFAULT 'default';
ALTER TABLE alerts ADD COLUMN project text NOT NULL DEFAULT 'default';
ALTER TABLE daily_rollups ADD COLUMN project text NOT NULL DEFAULT 'default';
ALTER TABLE daily_active_users ADD COLUMN project text NOT NULL DEFAULT 'default';
ALTER TABLE audit_log ADD COLUMN project text DEFAULT 'default';
ALTER TABLE audit_log ALTER COLUMN project DROP DEFAULT;
ALTER TABLE events DROP CONSTRAINT events_event_id_key;
CREATE UNIQUE INDEX events_project_event_id ON events (project, event_id) WHERE event_id IS NOT NULL;
DROP INDEX events_user;
CREATE INDEX events_project_user ON events (project, user_id) WHERE user_id IS NOT NULL;
DROP INDEX error_events_event_id;
CREATE UNIQUE INDEX error_events_project_event_id ON error_events (project, event_id) WHERE event_id IS NOT NULL;
DROP INDEX error_events_fingerprint;
CREATE INDEX error_events_project_fingerprint ON error_events (project, fingerprint, ts);
CREATE INDEX error_events_project_ts ON error_events (project, ts);
DROP INDEX error_events_user;
CREATE INDEX error_events_project_user ON error_events (project, user_id) WHERE user_id IS NOT NULL;
ALTER TABLE error_groups DROP CONSTRAINT error_groups_pkey;
ALTER TABLE error_groups ADD PRIMARY KEY (project, fingerprint);
DROP INDEX business_metrics_name_ts;
CREATE INDEX business_metrics_project_name_ts ON business_metrics (project, name, ts DESC);
ALTER TABLE alerts DROP CONSTRAINT alerts_fingerprint_starts_at_key;
ALTER TABLE alerts ADD CONSTRAINT alerts_project_fingerprint_starts_at_key UNIQUE (project, fingerprint, starts_at);
DROP INDEX alerts_status;
CREATE INDEX alerts_project_status ON alerts (project, status, last_received_at DESC);
ALTER TABLE daily_rollups DROP CONSTRAINT daily_rollups_pkey;
ALTER TABLE daily_rollups ADD PRIMARY KEY (day, project, metric, dimension);
ALTER TABLE daily_active_users DROP CONSTRAINT daily_active_users_pkey;
ALTER TABLE daily_active_users ADD PRIMARY KEY (day, project, user_id);
DROP INDEX daily_active_users_user;
CREATE INDEX daily_active_users_project_user ON daily_active_users (project, user_id);
DROP FUNCTION error_group_stats(timestamptz, timestamptz);
CREATE FUNCTION error_group_stats(range_from timestamptz, range_to timestamptz) RETURNS TABLE (fingerprint text, reports bigint, users bigint, first_report timestamptz, last_report timestamptz, project text) LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$ SELECT e.fingerprint, count(*), count(DISTINCT e.user_id), min(e.ts), max(e.ts), e.project FROM error_events e WHERE e.ts >= range_from AND e.ts <= range_to GROUP BY e.project, e.fingerprint $$;
REVOKE ALL ON FUNCTION error_group_stats(timestamptz, timestamptz) FROM PUBLIC;
DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'grafana_reader') THEN GRANT EXECUTE ON FUNCTION error_group_stats(timestamptz, timestamptz) TO grafana_reader; END IF; END $$;
`,
  },
  {
    version: 7,
    name: 'audit fields of the requirements',
    // The audit-log entry of the requirements: the end user and session a request was made for (the caller's
    // X-User-Id and X-Session-Id) and its compliance tags. Nullable columns and a constant default rewrite nothing.
    sql: `
ALTER TABLE audit_log ADD COLUMN user_id text;
ALTER TABLE audit_log ADD COLUMN session_id text;
ALTER TABLE audit_log ADD COLUMN compliance_tags jsonb NOT NULL DEFAULT '[]';
CREATE INDEX audit_log_user ON audit_log (project, user_id) WHERE user_id IS NOT NULL;
`,
  },
];

const checksum = (sql: string) => createHash('sha256').update(sql).digest('hex');

/**
 * Applies the migrations not yet applied, in one transaction, under an
 * advisory lock so that replicas starting together do not race. Refuses to
 * run when an applied migration was edited afterwards.
 */
export async function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(727274)');
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await tx.query<{ version: number; checksum: string }>(
      'SELECT version, checksum FROM schema_migrations ORDER BY version',
    );
    const applied = new Map(rows.map((r) => [r.version, r.checksum]));
    const done: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      const sum = checksum(m.sql);
      const prior = applied.get(m.version);
      if (prior !== undefined) {
        if (prior !== sum) throw new Error(`migration ${m.version} (${m.name}) was changed after it was applied`);
        continue;
      }
      // Statements one by one: the pg extended protocol and PGlite's query() take a single statement.
      for (const statement of splitStatements(m.sql)) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, sum]);
      done.push(m.version);
    }
    return done;
  });
}

/** Splits on semicolons at line ends; our migrations hold no functions or string literals with `;\n`. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*\n/)
    .map((s) => s.trim().replace(/;$/, ''))
    .filter((s) => s.length > 0);
}
