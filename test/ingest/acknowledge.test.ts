import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/ingest/config.js';
import { acknowledgementSilences, durationMs } from '../../src/ingest/routes/alerts.js';
import { API_KEYS, auth, makeApp } from './helpers/app.js';

const keys = JSON.stringify(API_KEYS);
const common = { startsAt: '2026-01-15T14:30:00.000Z', endsAt: '2026-01-15T18:30:00.000Z', createdBy: 'jane', comment: 'on it' };

describe('acknowledgement settings and silences', () => {
  it('reads ALERTMANAGER_URL and the call timeout, and names the variable of a wrong URL', () => {
    const defaults = loadConfig({ INGEST_API_KEYS: keys });
    expect(defaults.alertmanagerUrl).toBeUndefined();
    expect(defaults.alertmanagerTimeoutMs).toBe(3_000);
    expect(loadConfig({ INGEST_API_KEYS: keys, ALERTMANAGER_URL: 'http://alertmanager:9093', INGEST_ALERTMANAGER_TIMEOUT_MS: '500' })).toMatchObject({
      alertmanagerUrl: 'http://alertmanager:9093',
      alertmanagerTimeoutMs: 500,
    });
    for (const [name, value] of [['ALERTMANAGER_URL', 'alertmanager:9093'], ['ALERTMANAGER_URL', 'ftp://alertmanager'], ['INGEST_ALERTMANAGER_TIMEOUT_MS', '60000']]) {
      let error: unknown;
      try {
        loadConfig({ INGEST_API_KEYS: keys, [name!]: value });
      } catch (err) {
        error = err;
      }
      expect(error, `${name}=${value}`).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).details.join('\n')).toContain(`${name}:`);
    }
  });

  it('reads durations of days, hours and minutes', () => {
    expect(durationMs('2h')).toBe(7_200_000);
    expect(durationMs('1d12h30m')).toBe((36 * 60 + 30) * 60_000);
    expect(durationMs('90m')).toBe(5_400_000);
    for (const bad of ['', '2', 'h', '1h2d', '2 hours', '1.5h', '-1h']) expect(durationMs(bad), bad).toBeUndefined();
  });

  it('silences the escalation of an alert by its name and other labels, and gives an escalation alert no second silence', () => {
    const { alert, escalation } = acknowledgementSilences({ severity: 'P1', alertname: 'HighErrorRate', team: 'shop' }, 'HighErrorRate', common);
    expect(alert.matchers.map((m) => `${m.name}=${m.value}`)).toEqual(['alertname=HighErrorRate', 'severity=P1', 'team=shop']);
    expect(escalation?.matchers.map((m) => `${m.name}=${m.value}`)).toEqual([
      'alertname=AlertNotAcknowledged',
      'escalated_alertname=HighErrorRate',
      'severity=P1',
      'team=shop',
    ]);
    expect(escalation).toMatchObject(common);
    const onEscalation = acknowledgementSilences(
      { alertname: 'AlertNotAcknowledged', escalated_alertname: 'HighErrorRate', severity: 'P1' },
      'AlertNotAcknowledged',
      common,
    );
    expect(onEscalation.escalation).toBeUndefined();
    expect(onEscalation.alert.matchers.map((m) => m.name)).toEqual(['alertname', 'escalated_alertname', 'severity']);
  });
});

describe('the health view of acknowledged alerts', () => {
  it('counts an acknowledgement only while its silence lasts: an expired one makes a firing P1 critical again', async () => {
    const t = await makeApp();
    try {
      const insert = (name: string, until: string | null) =>
        t.db.query(
          `INSERT INTO alerts (fingerprint, alertname, severity, status, labels, annotations, starts_at, generator_url, receiver, acknowledged_at, acknowledged_by, acknowledged_until)
           VALUES ($1, $2, 'P1', 'firing', '{}', '{}', now() - interval '2 hours', '', 'pager', now() - interval '1 hour', 'jane', $3)`,
          [name === 'Lasting' ? 'aa' : 'bb', name, until],
        );
      const health = async () => (await t.app.inject({ url: '/api/v1/monitoring/health', headers: auth('read') })).json<{ status: string; active_alerts: { alertname: string; acknowledged: boolean }[] }>();
      await insert('Lasting', new Date(Date.now() + 3_600_000).toISOString());
      expect(await health()).toMatchObject({ status: 'degraded', active_alerts: [{ alertname: 'Lasting', acknowledged: true }] });
      await insert('Expired', new Date(Date.now() - 60_000).toISOString());
      const after = await health();
      expect(after.status).toBe('unhealthy');
      expect(after.active_alerts.find((a) => a.alertname === 'Expired')).toMatchObject({ acknowledged: false });
    } finally {
      await t.app.close();
    }
  });
});
