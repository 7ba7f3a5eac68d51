import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { complianceTags } from '../../src/ingest/audit.js';
import { auth, makeApp, type TestApp } from './helpers/app.js';

interface AuditRow {
  action: string;
  user_id: string | null;
  session_id: string | null;
  compliance_tags: string[];
}

describe('audit fields of the requirements: user_id, session_id, compliance_tags', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(async () => {
    await t.app.close();
  });

  const audit = async (action: string) =>
    (await t.db.query<AuditRow>('SELECT action, user_id, session_id, compliance_tags FROM audit_log WHERE action = $1 ORDER BY id', [action])).rows;

  it("records the end user, session and tags a caller names, next to the action's own tags", async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: { ...auth('ingest'), 'x-user-id': 'user_123', 'x-session-id': 'session_uuid', 'x-compliance-tags': 'SOC2, audit_required,not a tag,SOC2' },
      payload: { type: 'page_view', user_id: 'user_123' },
    });
    expect(res.statusCode).toBe(200);
    expect(await audit('events.ingest')).toEqual([{ action: 'events.ingest', user_id: 'user_123', session_id: 'session_uuid', compliance_tags: ['SOC2', 'audit_required'] }]);
    // The log line carries the tags, never the ids: a log cannot be erased.
    const line = t.logs.find((l) => l['event.action'] === 'events.ingest');
    expect(line?.['audit.compliance_tags']).toEqual(['SOC2', 'audit_required']);
    expect(JSON.stringify(line)).not.toContain('user_123');
  });

  it('stores no id a header carries badly (too long, control characters) and still takes the request', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: { ...auth('ingest'), 'x-user-id': 'u'.repeat(129), 'x-session-id': 'a b' },
      payload: { type: 'page_view' },
    });
    expect(res.statusCode).toBe(200);
    expect(await audit('events.ingest')).toEqual([{ action: 'events.ingest', user_id: null, session_id: null, compliance_tags: [] }]);
  });

  it("tags an erasure GDPR and erases the user's id from the audit rows made for them", async () => {
    await t.app.inject({ method: 'POST', url: '/api/v1/events', headers: { ...auth('ingest'), 'x-user-id': 'user_123' }, payload: { type: 'page_view', user_id: 'user_123' } });
    const res = await t.app.inject({ method: 'DELETE', url: '/api/v1/users/user_123/data', headers: auth('admin') });
    expect(res.statusCode).toBe(200);
    expect((await audit('user.erase')).map((r) => r.compliance_tags)).toEqual([['GDPR', 'audit_required']]);
    const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE user_id = 'user_123'");
    expect(rows[0]!.n).toBe(0);
    expect((await audit('events.ingest'))[0]!.user_id).toBe('[erased]');
  });

  it('gives each action its own tags and takes at most 10 of the caller', () => {
    expect(complianceTags('api_key.revoked')).toEqual(['SOC2', 'audit_required']);
    expect(complianceTags('events.ingest')).toEqual([]);
    expect(complianceTags('events.ingest', Array.from({ length: 12 }, (_, i) => `t${i}`).join(','))).toHaveLength(10);
  });
});
