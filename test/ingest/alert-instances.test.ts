import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertmanagerClient } from '../../src/ingest/alertmanager-client.js';
import { AlertInstanceRequest, alertFingerprint, postableAlert } from '../../src/ingest/alert-instances.js';
import { type StartedServer, startAlertmanager } from '../support/processes.js';
import { SEED_ALERT } from './fixtures/seed-api.js';


describe('alertFingerprint', () => {
  it("is FNV-1a 64 of the sorted labels, each name and value followed by 0xff (the empty set is FNV's offset basis)", () => {
    expect(alertFingerprint({})).toBe('cbf29ce484222325');
    // Hand-computed: FNV-1a 64 of the bytes "a" 0xff "b" 0xff.
    let h = 0xcbf29ce484222325n;
    for (const b of [0x61, 0xff, 0x62, 0xff]) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
    expect(alertFingerprint({ a: 'b' })).toBe(h.toString(16).padStart(16, '0'));
    expect(alertFingerprint({ b: '2', a: '1' })).toBe(alertFingerprint({ a: '1', b: '2' }));
    expect(alertFingerprint({ a: '1', b: '2' })).not.toBe(alertFingerprint({ a: '12', b: '' }));
  });
});

describe('AlertInstanceRequest', () => {
  it("takes the seed document's example and maps its severity onto the stack's", () => {
    const req = AlertInstanceRequest.parse(SEED_ALERT);
    const alert = postableAlert(req, 'shop', new Date('2026-01-15T14:25:00Z'));
    expect(alert.labels).toEqual({ alertname: 'High API Error Rate', severity: 'P2', component: 'api_gateway', project: 'shop', source: 'ingest-api' });
    expect(alert.annotations).toMatchObject({ summary: 'High API Error Rate', condition: 'error_rate > 0.05', threshold: '0.05', duration_seconds: '300', notification_channels: 'email,slack,pagerduty' });
    expect(alert.startsAt).toBe('2026-01-15T14:25:00.000Z');
    expect(alert.endsAt).toBeUndefined();
  });

  it.each([
    [{ ...SEED_ALERT, severity: 'urgent' }, 'severity'],
    [{ ...SEED_ALERT, component: 'api gateway' }, 'component'],
    [{ ...SEED_ALERT, labels: { project: 'other' } }, 'labels.project'],
    [{ ...SEED_ALERT, threshold: Number.POSITIVE_INFINITY }, 'threshold'],
    [{ ...SEED_ALERT, name: '   ' }, 'name'],
    [{ ...SEED_ALERT, notification_channels: ['Slack #ops'] }, 'notification_channels.0'],
    [{ ...SEED_ALERT, extra: 1 }, ''],
  ])('refuses %j naming %s', (body, path) => {
    const r = AlertInstanceRequest.safeParse(body);
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toContain(path);
  });
});

describe('alertFingerprint against Alertmanager', () => {
  let dir: string;
  let am: StartedServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'obstack-am-fp-'));
    writeFileSync(join(dir, 'alertmanager.yml'), 'route:\n  receiver: none\nreceivers:\n  - name: none\n');
    am = await startAlertmanager(join(dir, 'alertmanager.yml'), join(dir, 'data'));
  }, 30_000);
  afterAll(async () => {
    await am?.server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is the fingerprint Alertmanager gives the same labels, names and values in UTF-8 included', async () => {
    const client = new AlertmanagerClient(am.base, 5_000);
    const sets = [
      postableAlert(AlertInstanceRequest.parse(SEED_ALERT), 'shop', new Date()).labels,
      { alertname: 'Ünïcode alert ✓', severity: 'P1', zone: 'eu-west-1', project: 'default' },
      { alertname: 'x' },
    ];
    await client.postAlerts(sets.map((labels) => ({ labels, annotations: {}, startsAt: new Date().toISOString() })));
    const listed = (await (await fetch(`${am.base}/api/v2/alerts`)).json()) as { labels: Record<string, string>; fingerprint: string }[];
    expect(listed).toHaveLength(sets.length);
    for (const labels of sets) {
      const found = listed.find((a) => a.labels['alertname'] === labels['alertname']);
      expect(found?.fingerprint).toBe(alertFingerprint(labels));
    }
  });
});
