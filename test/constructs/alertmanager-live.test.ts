import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECEIVERS } from '../../src/constructs/index.js';
import { type Started, startAlertmanager, waitFor } from '../support/processes.js';
import { type Json, example, synth } from './helpers.js';

/**
 * Runs the real Alertmanager on prod's synthesized alertmanager.yml, posts
 * alerts through its API and reads back which receiver each group went to and
 * which alerts are inhibited.
 */
describe("prod's alertmanager.yml in a real Alertmanager", () => {
  let root: string;
  let alertmanager: Started;
  let base: string;

  const post = async (alerts: Array<Record<string, string>>): Promise<void> => {
    const res = await fetch(`${base}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alerts.map((labels) => ({ labels, annotations: { summary: 'test' }, startsAt: new Date().toISOString() }))),
    });
    expect(res.status).toBe(200);
  };

  const groups = async (): Promise<Json[]> => (await (await fetch(`${base}/api/v2/alerts/groups`)).json()) as Json[];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'obstack-am-'));
    const config = join(root, 'alertmanager.yml');
    writeFileSync(config, synth(example('prod')).files.get('alertmanager.yml') ?? '');
    ({ server: alertmanager, base } = await startAlertmanager(config, join(root, 'data')));
    await post([
      { alertname: 'ApiDown', service: 'api', severity: 'P1' },
      { alertname: 'ApiDown', service: 'api', severity: 'P3' },
      { alertname: 'DiskFilling', service: 'db', severity: 'P3' },
      { alertname: 'CertExpiresSoon', service: 'web', severity: 'P4' },
      { alertname: 'Watchdog', service: 'obstack', severity: 'P4' },
    ]);
  }, 40_000);

  afterAll(async () => {
    await alertmanager?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const receiversOf = (gs: Json[], alertname: string, severity: string): string[] =>
    gs
      .filter((g) => g.alerts.some((a: Json) => a.labels.alertname === alertname && a.labels.severity === severity))
      .map((g) => g.receiver.name)
      .sort();

  it('pages and notifies the team for a P1, and keeps it in the alert history', async () => {
    expect(receiversOf(await groups(), 'ApiDown', 'P1')).toEqual([RECEIVERS.history, RECEIVERS.pager, RECEIVERS.team].sort());
  });

  it('notifies the team, without paging, for a P3', async () => {
    expect(receiversOf(await groups(), 'DiskFilling', 'P3')).toEqual([RECEIVERS.history, RECEIVERS.team]);
  });

  it('sends a P4 to the digest and the history only', async () => {
    expect(receiversOf(await groups(), 'CertExpiresSoon', 'P4')).toEqual([RECEIVERS.digest, RECEIVERS.history]);
  });

  it('delivers the Watchdog nowhere', async () => {
    expect(receiversOf(await groups(), 'Watchdog', 'P4')).toEqual([RECEIVERS.blackhole]);
  });

  it('inhibits the P3 of an alert while its P1 fires for the same service', async () => {
    const inhibited = await waitFor(
      async () => {
        const all = (await (await fetch(`${base}/api/v2/alerts`)).json()) as Json[];
        const p3 = all.find((a) => a.labels.alertname === 'ApiDown' && a.labels.severity === 'P3');
        return p3?.status.inhibitedBy.length > 0 ? p3 : undefined;
      },
      10_000,
      'inhibition',
    );
    expect(inhibited.status.state).toBe('suppressed');
    const other = ((await (await fetch(`${base}/api/v2/alerts`)).json()) as Json[]).find((a) => a.labels.alertname === 'DiskFilling');
    expect(other.status.inhibitedBy).toEqual([]);
  });
});
