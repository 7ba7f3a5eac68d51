/**
 * `npm run e2e`: the stack's alerting proven end to end with the real
 * programs. The e2e environment (e2e/environments/e2e.yaml) is synthesized
 * in-process; PostgreSQL, the ingest service, Prometheus and Alertmanager run
 * on 127.0.0.1 on the synthesized configuration; a small instrumented
 * application takes a burst of failures; and the run checks that the alerts
 * fire, route, inhibit, escalate, are silenced by an acknowledgement and
 * resolve, that every shipped query runs, and that the ingest service loses
 * nothing it acknowledged through a database outage and a SIGTERM.
 * Everything it starts is stopped by PID, also on failure or Ctrl-C.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openPg } from '../src/ingest/db.js';
import { writeThroughOutage } from '../test/ingest/helpers/outage.js';
import { type AmAlert, alertmanagerAlerts, deliveredTo, describe, isAbout, policyReceivers, textOf } from './alerts.js';
import { APP, TrafficDriver } from './app.js';
import { Checks, expect, Skip } from './checks.js';
import { cleanupAll, installSignalHandlers, onCleanup, sleep, until } from './processes.js';
import { dashboardQueries, type Query, ruleQueries, runQuery, substitute, variableValues } from './queries.js';
import { type Stack, startStack } from './stack.js';
import { type E2eSynth, synthesizeE2e } from './synth.js';

const REPO = resolve(import.meta.dirname, '..');
const ENV_FILE = join(REPO, 'e2e/environments/e2e.yaml');
const ESCALATION = 'AlertNotAcknowledged';

/** The alerts the run's traffic fires, each of one severity (set by the environment's overrides). */
const APP_ALERTS = {
  errorRate: { alertname: 'HighErrorRate', severity: 'P2' },
  burnRate: { alertname: 'ApiErrorBudgetBurn', severity: 'P1' },
  latency: { alertname: 'HighLatencyP95', severity: 'P3' },
  logins: { alertname: 'RepeatedFailedLogins', severity: 'P4' },
} as const;

/** Metrics of the ingest service that error-tracking alerts read. */
const ERROR_TRACKING_METRICS = /\b(ingest_new_error_groups_total|ingest_error_reports_total)\b/;

interface Totals {
  queries: number;
  queriesFailed: number;
  otherTargets: number;
  eventsAccepted: number;
  eventsStored: number;
  alertsSeen: Map<string, Set<string>>;
}

async function main(): Promise<number> {
  installSignalHandlers();
  const started = performance.now();
  const checks = new Checks();
  const root = mkdtempSync(join(tmpdir(), 'obstack-e2e-'));
  const keep = process.env['E2E_KEEP'] === '1';
  onCleanup('temporary folder', async () => {
    if (keep) process.stdout.write(`e2e: kept ${root}\n`);
    else rmSync(root, { recursive: true, force: true });
  });
  const totals: Totals = { queries: 0, queriesFailed: 0, otherTargets: 0, eventsAccepted: 0, eventsStored: 0, alertsSeen: new Map() };
  try {
    await run(checks, root, totals);
  } catch (e) {
    await checks.step('the run itself', async () => {
      throw e;
    });
  } finally {
    await cleanupAll();
  }
  printSummary(checks, totals, (performance.now() - started) / 1000);
  return checks.ok ? 0 : 1;
}

async function run(checks: Checks, root: string, totals: Totals): Promise<void> {
  let synth: E2eSynth | undefined;
  await checks.step('synthesize the e2e environment (shipped rules and dashboards, checked, written)', async () => {
    synth = synthesizeE2e(ENV_FILE, join(root, 'dist'));
    const rules = [...synth.files.keys()].filter((k) => k.startsWith('rules/')).length;
    const dashboards = [...synth.files.keys()].filter((k) => k.startsWith('dashboards/')).length;
    return `${rules} rule files, ${dashboards} dashboards in ${synth.filesDir}`;
  });
  if (!synth) return;
  const s = synth;

  let stack: Stack | undefined;
  await checks.step('start PostgreSQL, the ingest service, Alertmanager, Prometheus, the application and the notification sink', async () => {
    stack = await startStack(s, root);
    return `Prometheus ${stack.prometheus}, Alertmanager ${stack.alertmanager}, ingest ${stack.ingestBase}; prometheus.yml: Kubernetes discovery → file SD, ${stack.prometheusChanges.join('; ')}`;
  });
  if (!stack) return;
  const st = stack;
  countNotifications(() => st.sink.notifications);

  await checks.step('Prometheus scrapes the application, the ingest service, itself and Alertmanager', async () => {
    const jobs = ['kubernetes-pods', 'obstack-ingest', 'prometheus', 'alertmanager'];
    await until('every target to be up', 60_000, async () => {
      const body = (await (await fetch(`${st.prometheus}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: { labels: Record<string, string>; health: string }[] } };
      const up = new Set(body.data.activeTargets.filter((t) => t.health === 'up').map((t) => t.labels['job']));
      return jobs.every((j) => up.has(j)) ? true : undefined;
    });
    const q = await promQuery(st, `up{job="kubernetes-pods",namespace="${APP.namespace}"}`);
    expect(q.length === 1, `the application's target should carry namespace="${APP.namespace}" after relabelling, got ${JSON.stringify(q)}`);
    return jobs.join(', ');
  });

  await checks.step("the ingest service's health reads Prometheus: its score, the targets up and the monitoring status", async () => {
    const res = await fetch(`${st.ingestBase}/api/v1/monitoring/health`, { headers: { 'x-api-key': st.keys.read } });
    expect(res.status === 200, `health answered ${res.status}`);
    const h = (await res.json()) as { overall_health_score: number | null; monitoring_status: { prometheus: string; targets_up: number | null; targets_total: number | null } };
    expect(h.monitoring_status.prometheus === 'ok', `health's Prometheus source is ${h.monitoring_status.prometheus}`);
    expect((h.monitoring_status.targets_up ?? 0) >= 4, `health counts ${h.monitoring_status.targets_up} targets up, Prometheus has at least 4`);
    expect(h.overall_health_score !== null && h.overall_health_score > 0 && h.overall_health_score <= 100, `health score ${h.overall_health_score}`);
    return `score ${h.overall_health_score}, ${h.monitoring_status.targets_up}/${h.monitoring_status.targets_total} targets up`;
  });

  // Everything Alertmanager holds, sampled through the run, for the summary and the Watchdog.
  const watchdogStarts = new Set<string>();
  let watchdogSamples = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      try {
        for (const a of await alertmanagerAlerts(st.alertmanager)) {
          const name = describe(a.labels);
          if (!totals.alertsSeen.has(name)) totals.alertsSeen.set(name, new Set());
          totals.alertsSeen.get(name)!.add(a.status.state);
          if (a.labels['alertname'] === 'Watchdog') {
            watchdogStarts.add(a.startsAt);
            watchdogSamples++;
          }
        }
      } catch {
        // Alertmanager is checked by the steps; the sampler only records.
      }
      await sleep(2_000);
    }
  })();
  onCleanup('alert sampler', async () => {
    sampling = false;
    await sampler;
  });

  // The burst: one request in eight fails, one in eight takes 3 s, logins fail; some 404s for the dashboard.
  const driver = new TrafficDriver(st.app.port);
  onCleanup('traffic', async () => driver.stop());
  driver.start({ ok: 10, fail: 2, slow: 2, badLogins: 2, notFound: 1 });
  const burstStarted = Date.now();

  const errorTrackingAlerts = alertsReading(s.files, ERROR_TRACKING_METRICS);
  const errorReports = sendErrorReports(st, errorTrackingAlerts.length > 0);

  const amConfig = st.alertmanagerConfig;
  const escalationReceiver = escalationRoute(amConfig);
  const appAlerts = Object.values(APP_ALERTS);
  const firing = new Map<string, AmAlert>();

  await checks.step('the error-rate, SLO burn-rate, latency (P3) and failed-login (P4) alerts fire and reach Alertmanager', async () => {
    await until('the application alerts in Alertmanager', 150_000, async () => {
      const alerts = await alertmanagerAlerts(st.alertmanager);
      for (const want of appAlerts) {
        const a = alerts.find((x) => x.labels['alertname'] === want.alertname && x.labels['severity'] === want.severity);
        if (a) firing.set(want.alertname, a);
      }
      return firing.size === appAlerts.length ? true : undefined;
    }, { everyMs: 1_000, detail: () => `in Alertmanager: ${[...firing.keys()].join(', ') || 'none of them'}` });
    const prom = (await (await fetch(`${st.prometheus}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
    for (const want of appAlerts) {
      expect(prom.data.alerts.some((a) => a.labels['alertname'] === want.alertname && a.state === 'firing'), `${want.alertname} is in Alertmanager but not firing in Prometheus`);
    }
    const ha = firing.get('HighErrorRate')!;
    expect(ha.labels['service'] === APP.service && ha.labels['namespace'] === APP.namespace, `HighErrorRate should be the application's (service ${APP.service}), got ${JSON.stringify(ha.labels)}`);
    expect(ha.labels['team'] === APP.team, `HighErrorRate should carry team="${APP.team}" (set by Prometheus from the service), got ${ha.labels['team'] ?? 'none'}`);
    return `${appAlerts.map((a) => `${a.alertname}/${a.severity}`).join(', ')} after ${Math.round((Date.now() - burstStarted) / 1000)}s of traffic`;
  });

  await checks.step('error-tracking alerts (new error group, error-report spike) fire from the ingest service\'s metrics', async () => {
    if (errorTrackingAlerts.length === 0) throw new Skip('no shipped alert reads ingest_new_error_groups_total or ingest_error_reports_total yet');
    const sent = await errorReports;
    const seen = new Set<string>();
    await until(`${errorTrackingAlerts.join(', ')} in Alertmanager`, 120_000, async () => {
      for (const a of await alertmanagerAlerts(st.alertmanager)) if (errorTrackingAlerts.includes(a.labels['alertname'] ?? '')) seen.add(a.labels['alertname']!);
      return seen.size === errorTrackingAlerts.length ? true : undefined;
    }, { everyMs: 1_000, detail: () => `fired: ${[...seen].join(', ') || 'none'}; error reports sent: ${sent}` });
    const delivered: string[] = [];
    for (const name of errorTrackingAlerts) {
      const a = (await alertmanagerAlerts(st.alertmanager)).find((x) => x.labels['alertname'] === name)!;
      expect(a.labels['service'] === APP.service && a.labels['team'] === APP.team, `${name} should be the application's (service ${APP.service}, team ${APP.team}), got ${JSON.stringify(a.labels)}`);
      const expected = policyReceivers(a.labels, s.environment, escalationReceiver).filter((r) => r !== 'history' && st.deliveringReceivers.has(r)).sort();
      await until(`${name} at ${expected.join(', ')}`, 60_000, () => (expected.every((r) => deliveredTo(st.sink.notifications, name).has(r)) ? true : undefined));
      const got = [...deliveredTo(st.sink.notifications, name)].sort();
      expect(got.join() === expected.join(), `${name}/${a.labels['severity']} reached ${got.join(', ')}; only ${expected.join(', ')} should have it`);
      delivered.push(`${name}/${a.labels['severity']} → ${got.join(', ')}`);
    }
    return `${delivered.join('; ')} (${sent} error reports sent)`;
  });

  await checks.step('Alertmanager routes every alert it holds to the receivers of its severity and team', async () => {
    const alerts = await alertmanagerAlerts(st.alertmanager);
    const wrong: string[] = [];
    for (const a of alerts) {
      const want = policyReceivers(a.labels, s.environment, escalationReceiver).sort();
      const got = a.receivers.map((r) => r.name).sort();
      if (want.join() !== got.join()) wrong.push(`${describe(a.labels)} (team ${a.labels['team'] ?? 'none'}): routed to ${got.join(', ')}, the policy says ${want.join(', ')}`);
    }
    expect(wrong.length === 0, wrong.join('\n'));
    return `${alerts.length} alerts, including ${new Set(alerts.map((a) => a.labels['alertname'])).size} names`;
  });

  const expectedDelivery = (alertname: string): string[] => {
    const a = firing.get(alertname);
    return a ? policyReceivers(a.labels, s.environment, escalationReceiver).filter((r) => r !== 'history' && st.deliveringReceivers.has(r)).sort() : [];
  };
  await checks.step('each notification reaches exactly the receivers of its severity (P1/P2 pager + team, P3 team, P4 digest only)', async () => {
    const lines: string[] = [];
    for (const want of appAlerts) {
      const expected = expectedDelivery(want.alertname);
      expect(expected.length > 0, `${want.alertname}: no receiver expected; the alert did not fire`);
      await until(`${want.alertname} at ${expected.join(', ')}`, 90_000, () => {
        const got = deliveredTo(st.sink.notifications, want.alertname);
        return expected.every((r) => got.has(r)) ? true : undefined;
      }, { detail: () => `delivered to: ${[...deliveredTo(st.sink.notifications, want.alertname)].join(', ') || 'nobody'}` });
      lines.push(`${want.alertname}/${want.severity} → ${expected.join(', ')}`);
    }
    for (const want of appAlerts) {
      const got = [...deliveredTo(st.sink.notifications, want.alertname)].sort();
      const expected = expectedDelivery(want.alertname);
      expect(got.join() === expected.join(), `${want.alertname}/${want.severity} reached ${got.join(', ')}; only ${expected.join(', ')} should have it`);
    }
    const channels = new Set(st.sink.notifications.map((n) => n.channel));
    expect(['pagerduty', 'email', 'webhook'].every((c) => channels.has(c as never)), `expected PagerDuty, e-mail and webhook deliveries, got ${[...channels].join(', ')}`);
    return lines.join('; ');
  });

  await checks.step('notifications carry the rendered runbook and dashboard links of their alert', async () => {
    const problems: string[] = [];
    let checked = 0;
    for (const want of appAlerts) {
      const a = firing.get(want.alertname)!;
      const links = [a.annotations['runbook_url'], a.annotations['dashboard_url']].filter((x): x is string => !!x);
      expect(links.length === 2, `${want.alertname} has no runbook_url or dashboard_url annotation: ${JSON.stringify(a.annotations)}`);
      for (const n of st.sink.notifications.filter((x) => isAbout(x, want.alertname) && textOf(x).includes('FIRING'))) {
        checked++;
        for (const link of links) if (!textOf(n).includes(link)) problems.push(`${want.alertname} at ${n.receiver} (${n.channel}) lacks ${link}`);
      }
    }
    expect(checked > 0, 'no firing notification of the application alerts to look at');
    expect(problems.length === 0, [...new Set(problems)].join('\n'));
    return `${checked} notifications, each with its runbook and dashboard link`;
  });

  await checks.step('runbook links name pages that the synth wrote', async () => {
    const pages = [...s.files.keys()].filter((k) => k.startsWith('runbooks/'));
    if (pages.length === 0) throw new Skip(`the synth writes no runbook pages yet (${s.filesDir}/runbooks/)`);
    const missing: string[] = [];
    for (const want of appAlerts) {
      const url = firing.get(want.alertname)!.annotations['runbook_url'] ?? '';
      const page = decodeURIComponent(url.split('#')[0]!.split('/').pop() ?? '');
      const anchor = url.includes('#') ? url.split('#')[1]!.toLowerCase() : '';
      const found = pages.some((p) => p.endsWith(`/${page}`) || p.split('/').pop()!.replace(/\.[a-z]+$/, '') === page.replace(/\.[a-z]+$/, '')) ||
        (anchor !== '' && pages.some((p) => p.toLowerCase().includes(anchor)));
      if (!found) missing.push(`${want.alertname}: ${url} names no page of ${pages.join(', ')}`);
    }
    expect(missing.length === 0, missing.join('\n'));
    return `${appAlerts.length} runbook links, ${pages.length} pages`;
  });

  await checks.step('a firing P1 inhibits the lower severities of the same alert name and service', async () => {
    const burn = await until('the lower-severity burn-rate alerts to be inhibited', 60_000, async () => {
      const all = (await alertmanagerAlerts(st.alertmanager)).filter((a) => a.labels['alertname'] === APP_ALERTS.burnRate.alertname && a.labels['service'] === 'api');
      const lower = all.filter((a) => a.labels['severity'] !== 'P1');
      return lower.length > 0 && lower.every((a) => a.status.inhibitedBy.length > 0) ? all : undefined;
    });
    const p1 = burn.find((a) => a.labels['severity'] === 'P1');
    expect(p1 && p1.status.state === 'active' && p1.status.inhibitedBy.length === 0, 'the P1 burn-rate alert should be active and not inhibited');
    const lower = burn.filter((a) => a.labels['severity'] !== 'P1');
    for (const a of lower) expect(a.status.state === 'suppressed', `${describe(a.labels)} should be suppressed, is ${a.status.state}`);
    const digest = st.sink.notifications.filter((n) => isAbout(n, APP_ALERTS.burnRate.alertname) && /digest/.test(n.receiver));
    expect(digest.length === 0, `the inhibited P4 burn-rate alert reached ${digest.map((n) => n.receiver).join(', ')}`);
    return `${lower.map((a) => describe(a.labels)).join(', ')} inhibited by ${describe(p1!.labels)}`;
  });

  await checks.step('an unacknowledged P1 escalates to the escalation receiver', async () => {
    if (!escalationReceiver || !alertsReading(s.files, /./).includes(ESCALATION)) throw new Skip(`no ${ESCALATION} rule in the synthesized rules yet`);
    const esc = await until(`${ESCALATION} for ${APP_ALERTS.burnRate.alertname}`, 120_000, async () =>
      (await alertmanagerAlerts(st.alertmanager)).find((a) => a.labels['alertname'] === ESCALATION && a.labels['escalated_alertname'] === APP_ALERTS.burnRate.alertname),
    );
    expect(esc.labels['escalation'] === 'true', `${ESCALATION} should carry escalation="true", got ${JSON.stringify(esc.labels)}`);
    await until(`a notification at ${escalationReceiver}`, 60_000, () => (deliveredTo(st.sink.notifications, ESCALATION).has(escalationReceiver) ? true : undefined));
    const elsewhere = [...deliveredTo(st.sink.notifications, ESCALATION)].filter((r) => r !== escalationReceiver);
    expect(elsewhere.length === 0, `${ESCALATION} also reached ${elsewhere.join(', ')}`);
    return `${ESCALATION} for ${APP_ALERTS.burnRate.alertname} reached ${escalationReceiver}`;
  });

  await checks.step('acknowledging an alert silences it in Alertmanager', async () => {
    const record = await until(`${APP_ALERTS.latency.alertname} in the alert history`, 30_000, async () => (await history(st, 'firing')).find((r) => r.alertname === APP_ALERTS.latency.alertname));
    const res = await fetch(`${st.ingestBase}/api/v1/alerts/${record.id}/acknowledge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': st.keys.admin },
      body: JSON.stringify({ reason: 'e2e: the slow endpoint is known', for: '30m' }),
    });
    const body = await res.text();
    if (res.status !== 200 && !existsSync(join(REPO, 'src/ingest/alertmanager-client.ts'))) throw new Skip(`acknowledge → silence is not built yet (the service answered ${res.status})`);
    expect(res.status === 200, `POST /api/v1/alerts/${record.id}/acknowledge answered ${res.status}: ${body}`);
    const silenced = await until(`${APP_ALERTS.latency.alertname} to be silenced`, 30_000, async () =>
      (await alertmanagerAlerts(st.alertmanager)).find((a) => a.labels['alertname'] === APP_ALERTS.latency.alertname && a.status.silencedBy.length > 0),
    );
    expect(silenced.status.state === 'suppressed', `the acknowledged alert should be suppressed, is ${silenced.status.state}`);
    return `alert #${record.id} acknowledged; Alertmanager shows it suppressed by silence ${silenced.status.silencedBy.join(', ')}`;
  });

  // Recovery: only successful requests, enough of them to bring the error ratio under 5% within seconds.
  driver.start({ ok: 100, fail: 0, slow: 0, badLogins: 0, notFound: 0 });
  await checks.step('the alert history (GET /api/v1/alerts) records firing and resolution', async () => {
    const resolved = await until(`${APP_ALERTS.errorRate.alertname} resolved in the history`, 180_000, async () =>
      (await history(st, 'resolved')).find((r) => r.alertname === APP_ALERTS.errorRate.alertname && r.ends_at !== null),
    );
    const all = await history(st);
    const firingNow = all.filter((r) => r.status === 'firing').map((r) => `${r.alertname}/${r.severity}`);
    const recorded = new Set(all.map((r) => `${r.alertname}/${r.severity}`));
    const missing = appAlerts.filter((a) => !recorded.has(`${a.alertname}/${a.severity}`)).map((a) => a.alertname);
    expect(missing.length === 0, `no history record of ${missing.join(', ')}`);
    expect(resolved.duration_seconds !== null && resolved.duration_seconds > 0, `the resolved record should have a duration, got ${resolved.duration_seconds}`);
    const resolvedNote = st.sink.notifications.some((n) => isAbout(n, APP_ALERTS.errorRate.alertname) && textOf(n).includes('RESOLVED'));
    expect(resolvedNote, `${APP_ALERTS.errorRate.alertname}'s resolution reached no receiver`);
    return `${all.length} records; ${APP_ALERTS.errorRate.alertname} resolved after ${Math.round(resolved.duration_seconds ?? 0)}s; still firing: ${[...new Set(firingNow)].join(', ')}`;
  });
  driver.stop();

  await checks.step('the Watchdog fires steadily and goes where the configuration sends it', async () => {
    const watchdog = (await alertmanagerAlerts(st.alertmanager)).find((a) => a.labels['alertname'] === 'Watchdog');
    expect(watchdog, 'the Watchdog is not in Alertmanager');
    expect(watchdogStarts.size === 1 && watchdogSamples >= 5, `the Watchdog should have fired without a break: ${watchdogSamples} samples, ${watchdogStarts.size} start times`);
    const receivers = watchdog.receivers.map((r) => r.name);
    const delivering = receivers.filter((r) => st.deliveringReceivers.has(r));
    const delivered = st.sink.notifications.filter((n) => isAbout(n, 'Watchdog'));
    if (delivering.length === 0) {
      expect(delivered.length === 0, `the Watchdog goes to ${receivers.join(', ')} (no channel) but reached ${delivered.map((n) => n.receiver).join(', ')}`);
      return `continuously firing over ${watchdogSamples} samples; routed to ${receivers.join(', ')}, which delivers nowhere, as configured`;
    }
    expect(delivered.length > 0 && delivered.every((n) => delivering.includes(n.receiver)), `the Watchdog should reach ${delivering.join(', ')} only, reached ${delivered.map((n) => n.receiver).join(', ')}`);
    return `continuously firing; ${delivered.length} notifications at ${delivering.join(', ')}`;
  });

  await checks.step('every PromQL expression of every shipped rule and dashboard panel runs on the live Prometheus', async () => {
    const values = variableValues({ namespace: APP.namespace, service: APP.service, job: 'kubernetes-pods' });
    const dash = dashboardQueries(s.files);
    totals.otherTargets = dash.otherTargets;
    const queries: Query[] = [...ruleQueries(s.files), ...dash.queries];
    const failures: string[] = [];
    for (const q of queries) {
      const r = await runQuery(st.prometheus, substitute(q.expr, values));
      totals.queries++;
      if (!r.ok) {
        totals.queriesFailed++;
        failures.push(`${q.source}: ${r.error}\n  ${substitute(q.expr, values)}`);
      }
    }
    expect(failures.length === 0, `${failures.length} of ${queries.length} failed:\n${failures.join('\n')}`);
    return `${queries.length} queries (${queries.length - dash.queries.length} rules, ${dash.queries.length} panels), none failed; ${dash.otherTargets} panel targets of other datasources not run`;
  });

  await checks.step('the service dashboard\'s panels return data for the application', async () => {
    const values = variableValues({ namespace: APP.namespace, service: APP.service, job: 'kubernetes-pods' });
    const panels = dashboardQueries(s.files).queries.filter((q) => q.dashboard === 'obstack-service-overview');
    expect(panels.length > 0, 'no Prometheus panel in the obstack-service-overview dashboard');
    const empty: string[] = [];
    for (const q of panels) if ((await runQuery(st.prometheus, substitute(q.expr, values))).series === 0) empty.push(q.source);
    expect(empty.length === 0, `no data:\n${empty.join('\n')}`);
    return `${panels.length} queries, each with data`;
  });

  await checks.step('notifications never reached a receiver outside their alert\'s (rechecked at the end)', async () => {
    const wrong: string[] = [];
    for (const want of appAlerts) {
      const got = [...deliveredTo(st.sink.notifications, want.alertname)].sort();
      const extra = got.filter((r) => !expectedDelivery(want.alertname).includes(r));
      if (extra.length > 0) wrong.push(`${want.alertname} reached ${extra.join(', ')}`);
    }
    const search = st.sink.notifications.filter((n) => n.receiver.startsWith('team-search'));
    if (search.length > 0) wrong.push(`team search, which owns none of the run's alerts, got ${search.length} notifications`);
    expect(wrong.length === 0, wrong.join('\n'));
    return `${st.sink.notifications.length} notifications in all`;
  });

  await checks.step('PostgreSQL stopped and started under event traffic: /health/ready answers 503 and comes back, every acknowledged event is stored', async () => {
    const r = await writeThroughOutage({ base: st.ingestBase, key: st.keys.ingest, db: st.pg, writers: 4, stop: 'fast', downMs: 1_500 });
    const stored = await storedEvents(st, r.acked);
    totals.eventsAccepted += r.acked.length;
    totals.eventsStored += stored;
    expect(r.readyWhileDown === 503, `/health/ready answered ${r.readyWhileDown} while PostgreSQL was down`);
    expect(r.readyAfterRestart === 200, `/health/ready answered ${r.readyAfterRestart} after PostgreSQL came back`);
    expect(r.acked.length > r.ackedBeforeStop, 'no event was accepted after PostgreSQL came back');
    expect(stored === r.acked.length, `${r.acked.length} events answered 200, ${stored} stored`);
    const statuses = [...r.statuses.entries()].map(([k, v]) => `${k === 0 ? 'no answer' : k}: ${v}`).join(', ');
    return `${r.acked.length} accepted, ${stored} stored; down ${r.downSeconds.toFixed(1)}s; answers ${statuses}`;
  });

  await checks.step('SIGTERM to the ingest service under traffic: everything it answered 2xx is committed', async () => {
    const acked: string[] = [];
    let running = true;
    const writer = async () => {
      while (running) {
        const ids = [randomUUID(), randomUUID()];
        try {
          const res = await fetch(`${st.ingestBase}/api/v1/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': st.keys.ingest },
            body: JSON.stringify(ids.map((event_id) => ({ type: 'sigterm_test', event_id }))),
          });
          await res.arrayBuffer();
          if (res.status >= 200 && res.status < 300) acked.push(...ids);
          else await sleep(20);
        } catch {
          await sleep(20);
        }
      }
    };
    const writers = Array.from({ length: 4 }, writer);
    await until('events to be accepted', 10_000, () => (acked.length >= 20 ? true : undefined), { everyMs: 50 });
    const pid = st.ingest.process.pid!;
    process.kill(pid, 'SIGTERM');
    const exit = await Promise.race([st.ingest.exit, sleep(20_000).then(() => undefined)]);
    running = false;
    await Promise.all(writers);
    expect(exit, 'the ingest service did not exit within 20s of SIGTERM');
    expect(exit.code === 0, `the ingest service exited with ${exit.code ?? exit.signal} after SIGTERM\n${st.ingest.output().slice(-2_000)}`);
    const stored = await storedEvents(st, acked);
    totals.eventsAccepted += acked.length;
    totals.eventsStored += stored;
    expect(stored === acked.length, `${acked.length} events answered 2xx, ${stored} stored`);
    return `${acked.length} accepted, ${stored} stored; the service exited 0`;
  });
}

/** Names of the synthesized alerts whose expression matches `pattern`. */
function alertsReading(files: ReadonlyMap<string, string>, pattern: RegExp): string[] {
  return [...new Set(ruleQueries(files).filter((q) => pattern.test(q.expr)).map((q) => q.source.split(': ')[1]!))];
}

/** The receiver of the route that takes `escalation="true"`, if the configuration has one. */
function escalationRoute(config: Record<string, unknown>): string | undefined {
  const routes = ((config['route'] as Record<string, unknown>)['routes'] ?? []) as { receiver: string; matchers?: string[] }[];
  return routes.find((r) => (r.matchers ?? []).some((m) => /^escalation="true"$/.test(m)))?.receiver;
}

/**
 * Error reports of the application to the ingest service: one known error,
 * then a new error group and a spike of the known one, so that
 * error-tracking alerts have something to fire on. Returns how many were
 * accepted.
 */
async function sendErrorReports(st: Stack, wanted: boolean): Promise<number> {
  if (!wanted) return 0;
  let accepted = 0;
  const post = async (reports: unknown[]) => {
    const res = await fetch(`${st.ingestBase}/api/v1/errors`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': st.keys.ingest },
      body: JSON.stringify(reports),
    });
    await res.arrayBuffer();
    if (res.ok) accepted += reports.length;
  };
  const report = (type: string, message: string, frame: string) => ({
    type,
    message,
    stack: `${type}: ${message}\n    at ${frame} (/app/src/checkout.js:42:7)\n    at processTicksAndRejections (node:internal/process/task_queues:95:5)`,
    level: 'error',
    release: 'checkout@1.4.2',
    environment: 'e2e',
    tags: { service: APP.service },
  });
  const known = () => report('TypeError', "Cannot read properties of undefined (reading 'total')", 'computeTotal');
  // One report first, so that a scrape sees the counter low before the spike: a rate needs two samples apart.
  await post([known()]);
  await sleep(12_000);
  await post([report('PaymentDeclinedError', 'card issuer unavailable', 'chargeCard')]);
  // The spike, spread over more than two scrape intervals: 300 reports in 30 seconds.
  for (let i = 0; i < 15; i++) {
    await post(Array.from({ length: 20 }, known));
    await sleep(2_000);
  }
  return accepted;
}

interface HistoryRecord {
  id: number;
  alertname: string;
  severity: string | null;
  status: 'firing' | 'resolved';
  ends_at: string | null;
  duration_seconds: number | null;
}

async function history(st: Stack, status?: 'firing' | 'resolved'): Promise<HistoryRecord[]> {
  const res = await fetch(`${st.ingestBase}/api/v1/alerts?limit=500${status ? `&status=${status}` : ''}`, { headers: { 'x-api-key': st.keys.read } });
  if (!res.ok) throw new Error(`GET /api/v1/alerts answered ${res.status}`);
  return ((await res.json()) as { alerts: HistoryRecord[] }).alerts;
}

async function promQuery(st: Stack, expr: string): Promise<unknown[]> {
  const body = (await (await fetch(`${st.prometheus}/api/v1/query?${new URLSearchParams({ query: expr })}`)).json()) as { data: { result: unknown[] } };
  return body.data.result;
}

/** How many of the event ids are in the events table. */
async function storedEvents(st: Stack, ids: readonly string[]): Promise<number> {
  const db = openPg({ connectionString: st.pg.url, poolSize: 1, timeoutMs: 10_000 });
  try {
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE event_id = ANY($1::uuid[])', [ids]);
    return rows[0]?.n ?? 0;
  } finally {
    await db.close();
  }
}

function printSummary(checks: Checks, totals: Totals, seconds: number): void {
  const by = (o: string) => checks.results.filter((r) => r.outcome === o);
  const out: string[] = ['', 'summary'];
  const fired = [...totals.alertsSeen.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, states]) => `${name}${states.has('suppressed') ? ' (suppressed)' : ''}`);
  out.push(`  alerts fired (${fired.length}): ${fired.join(', ') || 'none'}`);
  out.push(`  notifications per receiver: ${notificationsLine() || 'none'}`);
  out.push(`  queries run: ${totals.queries}, failed: ${totals.queriesFailed} (panel targets of other datasources: ${totals.otherTargets})`);
  out.push(`  events accepted: ${totals.eventsAccepted}, stored: ${totals.eventsStored}`);
  out.push(`  checks: ${by('passed').length} passed, ${by('failed').length} failed, ${by('skipped').length} skipped`);
  for (const r of by('skipped')) out.push(`    skipped: ${r.name} — ${r.detail.replace(/^skipped: /, '')}`);
  for (const r of by('failed')) out.push(`    FAILED: ${r.name} — ${r.detail.split('\n')[0]}`);
  out.push(`  wall time: ${seconds.toFixed(1)}s`);
  out.push(checks.ok ? 'e2e: passed' : 'e2e: FAILED');
  process.stdout.write(`${out.join('\n')}\n`);
}

let notificationsLine: () => string = () => '';
/** Lets the summary count the sink's notifications without keeping the stack alive. */
export function countNotifications(source: () => readonly { receiver: string }[]): void {
  notificationsLine = () => {
    const counts = new Map<string, number>();
    for (const n of source()) counts.set(n.receiver, (counts.get(n.receiver) ?? 0) + 1);
    return [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([r, n]) => `${r} ${n}`).join(', ');
  };
}

// Exit at once: keep-alive sockets to the stopped servers would otherwise hold the process for their timeouts.
process.exit(await main());
