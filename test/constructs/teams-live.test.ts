import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { RECEIVERS } from '../../src/constructs/index.js';
import { type Started, freePort, start, waitFor } from '../support/processes.js';
import { type Json, environment, synth } from './helpers.js';
import { TEAMS } from './teams-fixture.js';

/**
 * The teams' routing in the real programs: Alertmanager on the synthesized
 * alertmanager.yml, fed through its API and then by the real Prometheus,
 * whose alert relabeling (exactly the synthesized one) sets the `team` label
 * of alerts from their namespace or service.
 */
describe("teams' alerts in a real Alertmanager and a real Prometheus", () => {
  const env = environment({ teams: TEAMS });
  const result = synth(env);
  let root: string;
  let alertmanager: Started;
  let prometheus: Started;
  let amBase: string;
  let promBase: string;

  const groups = async (): Promise<Json[]> => (await (await fetch(`${amBase}/api/v2/alerts/groups`)).json()) as Json[];
  /** The receivers of the groups holding the alert named `alertname` (with `severity`, when given). */
  const receiversOf = (gs: Json[], alertname: string, severity?: string): string[] =>
    gs
      .filter((g) => g.alerts.some((a: Json) => a.labels.alertname === alertname && (severity === undefined || a.labels.severity === severity)))
      .map((g) => g.receiver.name)
      .sort();
  const labelsOf = (gs: Json[], alertname: string): Json => gs.flatMap((g) => g.alerts).find((a: Json) => a.labels.alertname === alertname)?.labels;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'obstack-teams-live-'));
    const amConfig = join(root, 'alertmanager.yml');
    writeFileSync(amConfig, result.files.get('alertmanager.yml') ?? '');
    const amPort = await freePort();
    amBase = `http://127.0.0.1:${amPort}`;
    alertmanager = start('prometheus-alertmanager', [
      `--config.file=${amConfig}`,
      `--storage.path=${join(root, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
    ]);

    // The synthesized alerting section as it is, pointed at the local Alertmanager; rules evaluated every second.
    const generated = parse(result.files.get('prometheus.yml') ?? '') as Json;
    const rules = {
      groups: [
        {
          name: 'teams',
          rules: [
            { alert: 'BillingDown', expr: 'vector(1)', labels: { namespace: 'billing', severity: 'P1' } },
            { alert: 'SearchSlow', expr: 'vector(1)', labels: { namespace: 'search', severity: 'P3' } },
            { alert: 'LedgerLag', expr: 'vector(1)', labels: { namespace: 'search', service: 'ledger.v2', severity: 'P3' } },
            { alert: 'AlreadyOwned', expr: 'vector(1)', labels: { namespace: 'billing', team: 'search', severity: 'P4' } },
            { alert: 'Unowned', expr: 'vector(1)', labels: { namespace: 'elsewhere', severity: 'P3' } },
          ],
        },
      ],
    };
    writeFileSync(join(root, 'rules.yaml'), stringify(rules));
    writeFileSync(
      join(root, 'prometheus.yml'),
      stringify({
        global: { evaluation_interval: '1s', scrape_interval: '1m' },
        rule_files: [join(root, 'rules.yaml')],
        alerting: {
          alert_relabel_configs: generated.alerting.alert_relabel_configs,
          alertmanagers: [{ api_version: 'v2', static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }],
        },
      }),
    );
    const promPort = await freePort();
    promBase = `http://127.0.0.1:${promPort}`;
    await waitFor(async () => ((await fetch(`${amBase}/-/ready`)).ok ? true : undefined), 20_000, 'Alertmanager', alertmanager);

    const post = await fetch(`${amBase}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        [
          { alertname: 'PaymentsApi', service: 'api', team: 'payments', severity: 'P1' },
          { alertname: 'PaymentsQueue', service: 'queue', team: 'payments', severity: 'P3' },
          { alertname: 'PaymentsCert', service: 'web', team: 'payments', severity: 'P4' },
          { alertname: 'SearchIndex', service: 'indexer', team: 'search', severity: 'P2' },
          { alertname: 'SearchCert', service: 'web', team: 'search', severity: 'P4' },
          { alertname: 'PlatformDisk', service: 'db', severity: 'P1' },
          { alertname: 'Watchdog', service: 'obstack', namespace: 'billing', team: 'payments', severity: 'P4' },
        ].map((labels) => ({ labels, annotations: { summary: 'test' }, startsAt: new Date().toISOString() })),
      ),
    });
    expect(post.status).toBe(200);

    prometheus = start('prometheus', [
      `--config.file=${join(root, 'prometheus.yml')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      `--storage.tsdb.path=${join(root, 'prom-data')}`,
      // Alertmanagers are discovered a few seconds after start; alerts sent before that are dropped until the next resend.
      '--rules.alert.resend-delay=1s',
    ]);
    await waitFor(
      async () => {
        const gs = await groups();
        return ['BillingDown', 'SearchSlow', 'LedgerLag', 'AlreadyOwned', 'Unowned'].every((a) => receiversOf(gs, a).length > 0) ? true : undefined;
      },
      30_000,
      "Prometheus's alerts in Alertmanager",
      prometheus,
    );
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it("pages a team's own pager and notifies the team for its P1 and P2, never the environment's", async () => {
    const gs = await groups();
    expect(receiversOf(gs, 'PaymentsApi')).toEqual([RECEIVERS.history, 'team-payments', 'team-payments-pager', 'team-payments-webhook']);
    expect(receiversOf(gs, 'SearchIndex')).toEqual([RECEIVERS.history, 'team-search', 'team-search-pager']);
  });

  it("notifies the team for its P3 and sends its P4 to the team's digest", async () => {
    const gs = await groups();
    expect(receiversOf(gs, 'PaymentsQueue')).toEqual([RECEIVERS.history, 'team-payments', 'team-payments-webhook']);
    expect(receiversOf(gs, 'PaymentsCert')).toEqual([RECEIVERS.history, 'team-payments-digest', 'team-payments-webhook']);
    expect(receiversOf(gs, 'SearchCert')).toEqual([RECEIVERS.history, 'team-search-digest']);
  });

  it("keeps alerts of no team on the environment's receivers, and the Watchdog nowhere", async () => {
    const gs = await groups();
    expect(receiversOf(gs, 'PlatformDisk')).toEqual([RECEIVERS.history, RECEIVERS.pager, RECEIVERS.team]);
    expect(receiversOf(gs, 'Watchdog')).toEqual([RECEIVERS.blackhole]);
  });

  it("labels an alert of a team's namespace with the team in Prometheus, and it reaches the team", async () => {
    const gs = await groups();
    expect(labelsOf(gs, 'BillingDown')).toMatchObject({ team: 'payments', namespace: 'billing' });
    expect(receiversOf(gs, 'BillingDown')).toEqual([RECEIVERS.history, 'team-payments', 'team-payments-pager', 'team-payments-webhook']);
    expect(labelsOf(gs, 'SearchSlow')).toMatchObject({ team: 'search' });
    expect(receiversOf(gs, 'SearchSlow')).toEqual([RECEIVERS.history, 'team-search']);
  });

  it("gives a service's owner precedence over the namespace's, and keeps a team label the rule set", async () => {
    const gs = await groups();
    expect(labelsOf(gs, 'LedgerLag')).toMatchObject({ team: 'payments', namespace: 'search', service: 'ledger.v2' });
    expect(receiversOf(gs, 'LedgerLag')).toEqual([RECEIVERS.history, 'team-payments', 'team-payments-webhook']);
    expect(labelsOf(gs, 'AlreadyOwned')).toMatchObject({ team: 'search', namespace: 'billing' });
    expect(receiversOf(gs, 'AlreadyOwned')).toEqual([RECEIVERS.history, 'team-search-digest']);
  });

  it('leaves an alert of nobody\'s namespace without a team label, on the default tree', async () => {
    const gs = await groups();
    expect(labelsOf(gs, 'Unowned').team).toBeUndefined();
    expect(receiversOf(gs, 'Unowned')).toEqual([RECEIVERS.history, RECEIVERS.team]);
  });

  it("shows the alerts before relabeling in Prometheus's own API (the label is added on the way out)", async () => {
    const body = (await (await fetch(`${promBase}/api/v1/alerts`)).json()) as Json;
    const billing = body.data.alerts.find((a: Json) => a.labels.alertname === 'BillingDown');
    expect(billing.state).toBe('firing');
    expect(billing.labels.team).toBeUndefined();
  });
});
