import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, createServer as createHttpServer } from 'node:http';
import { type Server as NetServer, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { RECEIVERS, SECRETS_DIR, TEMPLATES_FILE } from '../../src/constructs/index.js';
import { type Started, freePort, start, startPrometheus, waitFor } from '../support/processes.js';
import { writeOfflinePrometheus } from '../support/offline-prometheus.js';
import { type Json, RECEIVERS_INPUT, environment, find, synth } from './helpers.js';

/** Every request the HTTP sink received: Slack, PagerDuty and webhook deliveries. */
interface Delivery {
  readonly path: string;
  readonly body: Json;
}

/** A mail the SMTP sink received. */
interface Mail {
  readonly headers: Record<string, string>;
  readonly raw: string;
}

function httpSink(deliveries: Delivery[]): Server {
  return createHttpServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('error', () => res.destroy());
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      deliveries.push({ path: req.url ?? '', body: JSON.parse(body) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"success"}');
    });
  });
}

/** Just enough SMTP for Alertmanager to deliver a mail without TLS or authentication. */
function smtpSink(mails: Mail[]): NetServer {
  return createNetServer((socket) => {
    let buffer = '';
    let data: string[] | undefined;
    // Alertmanager drops connections when it is stopped or reloaded: a reset is the end of that session, not a failure.
    socket.on('error', () => socket.destroy());
    socket.write('220 sink ESMTP\r\n');
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        if (data !== undefined) {
          if (line === '.') {
            mails.push(parseMail(data.join('\r\n')));
            data = undefined;
            socket.write('250 queued\r\n');
          } else data.push(line.startsWith('..') ? line.slice(1) : line);
          continue;
        }
        const verb = line.split(' ')[0]?.toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250-sink\r\n250 8BITMIME\r\n');
        else if (verb === 'DATA') {
          data = [];
          socket.write('354 go on\r\n');
        } else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
  });
}

function parseMail(raw: string): Mail {
  const [head = ''] = raw.split('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, raw };
}

/** The decoded body of the part of a multipart mail with this content type. */
function mailPart(mail: Mail, contentType: string): string {
  const parts = mail.raw.split(/\r\n--[^\r\n]+/);
  const part = parts.find((p) => new RegExp(`^content-type: ${contentType.replace('/', '\\/')}`, 'im').test(p));
  if (part === undefined) throw new Error(`no ${contentType} part in\n${mail.raw}`);
  const body = part.slice(part.indexOf('\r\n\r\n') + 4);
  if (!/content-transfer-encoding: quoted-printable/i.test(part)) return body;
  const bytes = Buffer.from(body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  return bytes.toString('utf8');
}

function unescapeHtml(s: string): string {
  return s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

const EXTERNAL = 'https://ops.example.com/alertmanager';
const RUNBOOK = 'https://runbooks.example.com/alerts#apidown';
const DASHBOARD = 'https://grafana.example.com/d/obstack-service-overview?var-service=api';
const GRAPH = 'https://ops.example.com/prometheus/graph?g0.expr=up+%3D%3D+0&g0.tab=1';

/**
 * The real Alertmanager on the synthesized alertmanager.yml and templates,
 * its receivers pointed at local sinks (Slack, PagerDuty and webhooks at an
 * HTTP sink, e-mail at an SMTP sink): what a responder reads, as delivered.
 */
describe('notifications rendered by a real Alertmanager', () => {
  let root: string;
  let alertmanager: Started;
  let base: string;
  let args: string[];
  let http: Server;
  let smtp: NetServer;
  const deliveries: Delivery[] = [];
  const mails: Mail[] = [];

  const post = async (alerts: Array<{ labels: Record<string, string>; annotations?: Record<string, string>; resolved?: boolean }>): Promise<void> => {
    const now = Date.now();
    const res = await fetch(`${base}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        alerts.map((a) => ({
          labels: a.labels,
          annotations: a.annotations ?? { summary: `${a.labels.alertname} on ${a.labels.instance ?? a.labels.service}` },
          generatorURL: GRAPH,
          startsAt: new Date(now - 10 * 60_000).toISOString(),
          ...(a.resolved ? { endsAt: new Date(now - 60_000).toISOString() } : {}),
        })),
      ),
    });
    expect(res.status).toBe(200);
  };

  const delivered = <T>(what: string, pick: () => T | undefined): Promise<T> => waitFor(async () => pick(), 20_000, what, alertmanager);
  const slackFor = (alertname: string) => delivered(`Slack for ${alertname}`, () => deliveries.find((d) => d.path === '/slack' && d.body.attachments[0].title.includes(alertname))?.body.attachments[0]);
  const pagerdutyFor = (alertname: string) => delivered(`PagerDuty for ${alertname}`, () => deliveries.find((d) => d.path === '/pagerduty' && d.body.payload.summary.includes(alertname))?.body);
  const mailFor = (alertname: string) => delivered(`mail for ${alertname}`, () => mails.find((m) => (m.headers.subject ?? '').includes(alertname)));

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'obstack-am-notify-'));
    const httpPort = await freePort();
    const smtpPort = await freePort();
    http = httpSink(deliveries).listen(httpPort, '127.0.0.1');
    smtp = smtpSink(mails).listen(smtpPort, '127.0.0.1');
    const env = environment({
      components: { alertmanager: { externalUrl: `${EXTERNAL}/` } },
      alerting: {
        receivers: {
          ...RECEIVERS_INPUT,
          email: { to: ['oncall@example.com'], from: 'alertmanager@example.com', smarthost: `127.0.0.1:${smtpPort}`, requireTls: false },
        },
      },
    });
    const result = synth(env);
    const secret = find(result.objects, 'Secret', 'alertmanager-config') as Json;
    const sts = find(result.objects, 'StatefulSet', 'alertmanager') as Json;
    args = sts.spec.template.spec.containers[0].args as string[];

    // The receivers' secrets are files under SECRETS_DIR: written here, and the URLs pointed at the sinks.
    const sink = `http://127.0.0.1:${httpPort}`;
    const secretFiles: Record<string, string> = { api_url_file: `${sink}/slack`, routing_key_file: 'routing-key', credentials_file: 'token' };
    const config = parse(secret.stringData['alertmanager.yml']) as Json;
    const rewrite = (node: Json): void => {
      if (Array.isArray(node)) return node.forEach(rewrite);
      if (node === null || typeof node !== 'object') return;
      for (const [key, value] of Object.entries(node)) {
        if (typeof value === 'string' && value.startsWith(SECRETS_DIR) && key in secretFiles) {
          const file = join(root, 'secrets', value.slice(SECRETS_DIR.length));
          mkdirSync(join(file, '..'), { recursive: true });
          writeFileSync(file, secretFiles[key] ?? '');
          node[key] = file;
        } else rewrite(value);
      }
    };
    rewrite(config);
    for (const r of config.receivers as Json[]) {
      for (const p of r.pagerduty_configs ?? []) p.url = `${sink}/pagerduty`;
      for (const w of r.webhook_configs ?? []) w.url = `${sink}/webhook/${r.name}`;
    }
    // Deliver within a second instead of the production waits; nothing else of the tree changes.
    const fast = (route: Json): void => {
      if (route.group_wait !== undefined) route.group_wait = '1s';
      for (const child of route.routes ?? []) fast(child);
    };
    fast(config.route);
    config.route.group_wait = '1s';

    writeFileSync(join(root, 'alertmanager.yml'), stringify(config));
    writeFileSync(join(root, TEMPLATES_FILE), secret.stringData[TEMPLATES_FILE]);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const web = args.filter((a) => a.startsWith('--web.external-url=') || a.startsWith('--web.route-prefix='));
    alertmanager = start('prometheus-alertmanager', [
      `--config.file=${join(root, 'alertmanager.yml')}`,
      `--storage.path=${join(root, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      ...web,
    ]);
    await waitFor(async () => ((await fetch(`${base}/-/ready`)).ok ? true : undefined), 20_000, 'Alertmanager', alertmanager);

    await post([
      {
        labels: { alertname: 'ApiDown', service: 'api', namespace: 'shop', severity: 'P1', team: 'payments', instance: 'api-7f9c' },
        annotations: { summary: 'The API answers no request', description: 'Every probe of api failed for 5 minutes.', value: '0%', runbook_url: RUNBOOK, dashboard_url: DASHBOARD },
      },
      // One group of three: two firing, one resolved, posted out of order.
      { labels: { alertname: 'DiskFilling', service: 'db', namespace: 'shop', severity: 'P3', instance: 'db-2' }, resolved: true },
      { labels: { alertname: 'DiskFilling', service: 'db', namespace: 'shop', severity: 'P3', instance: 'db-0' } },
      { labels: { alertname: 'DiskFilling', service: 'db', namespace: 'shop', severity: 'P3', instance: 'db-1' } },
      // A paging group of three.
      ...['q-0', 'q-1', 'q-2'].map((instance) => ({ labels: { alertname: 'QueueBacklog', service: 'queue', namespace: 'shop', severity: 'P2', instance } })),
      {
        labels: { alertname: 'AlertNotAcknowledged', escalated_alertname: 'CheckoutDown', escalation: 'true', service: 'checkout', namespace: 'shop', severity: 'P1' },
        annotations: { summary: 'CheckoutDown has not been acknowledged for 30m', runbook_url: 'https://runbooks.example.com/alerts#alertnotacknowledged' },
      },
    ]);
  }, 60_000);

  afterAll(async () => {
    await alertmanager?.stop();
    await new Promise((r) => http?.close(r));
    await new Promise((r) => smtp?.close(r));
    rmSync(root, { recursive: true, force: true });
  });

  it('runs with the external URL of the environment and keeps its probes and reload at "/"', async () => {
    expect(args).toContain(`--web.external-url=${EXTERNAL}`);
    const container = (find(synth(environment({ components: { alertmanager: { externalUrl: EXTERNAL } } })).objects, 'StatefulSet', 'alertmanager') as Json).spec.template.spec.containers;
    const paths = [container[0].livenessProbe.httpGet.path, container[0].readinessProbe.httpGet.path];
    for (const path of paths) expect((await fetch(`${base}${path}`)).status, path).toBe(200);
    const reloader = (container[1].args as string[]).find((a) => a.startsWith('--webhook-url='))?.slice('--webhook-url='.length) ?? '';
    expect((await fetch(`${base}${new URL(reloader).pathname}`, { method: 'POST' })).status).toBe(200);
    const status = (await (await fetch(`${base}/api/v2/status`)).json()) as Json;
    // The relative entry of alertmanager.yml, read from the config's folder.
    expect(status.config.original).toMatch(new RegExp(`\\ntemplates:\\n- \\S+/${TEMPLATES_FILE.replace('.', '\\.')}\\n`));
  });

  it('sends Slack the summary, severity, service, team, value, start and the four links', async () => {
    const a = await slackFor('ApiDown');
    expect(a.title).toBe('[FIRING:1] P1 ApiDown (namespace=shop, service=api)');
    // One alert: its block is the whole message.
    expect(a.text.startsWith('*FIRING · ApiDown*')).toBe(true);
    expect(a.title_link).toBe(`${EXTERNAL}/#/alerts?receiver=team`);
    expect(a.color).toBe('danger');
    expect(a.text).toContain('*FIRING · ApiDown*: The API answers no request');
    expect(a.text).toContain('severity: P1 · service: api · team: payments · value: 0%');
    expect(a.text).toMatch(/started: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    expect(a.text).toContain(`<${RUNBOOK}|Runbook>`);
    expect(a.text).toContain(`<${DASHBOARD}|Dashboard>`);
    expect(a.text).toContain(`<${GRAPH}|Graph>`);
    const silence = /<([^|>]+)\|Silence>/.exec(a.text)?.[1] ?? '';
    expect(silence.startsWith(`${EXTERNAL}/#/silences/new?filter=`)).toBe(true);
    expect(decodeURIComponent(silence.split('filter=')[1] ?? '')).toBe('{alertname="ApiDown",instance="api-7f9c",namespace="shop",service="api",severity="P1",team="payments"}');
  });

  it('keeps a grouped Slack message readable: the count, common labels, firing before resolved', async () => {
    const a = await slackFor('DiskFilling');
    expect(a.title).toBe('[FIRING:2 RESOLVED:1] P3 DiskFilling (namespace=shop, service=db)');
    expect(a.color).toBe('#439FE0');
    expect(a.text.split('\n')[0]).toBe('2 firing, 1 resolved · common labels: namespace=shop');
    const order = ['FIRING · DiskFilling*: DiskFilling on db-0', 'FIRING · DiskFilling*: DiskFilling on db-1', 'RESOLVED · DiskFilling*: DiskFilling on db-2'].map((s) => a.text.indexOf(s));
    expect(order.every((i: number) => i >= 0)).toBe(true);
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    // Only firing alerts get a silence link.
    expect(a.text.match(/\|Silence>/g)).toHaveLength(2);
    // An alert without value, team, runbook or dashboard shows none of them, not empty fields.
    expect(a.text).not.toMatch(/value: \n|team: ·|<\||^ · /m);
    expect(a.text).toContain(`UTC\n<${GRAPH}|Graph> · <${EXTERNAL}/#/silences/new?filter=`);
  });

  it('sends PagerDuty a description, details and links to runbook, dashboard, graph and silence', async () => {
    const pd = await pagerdutyFor('ApiDown');
    expect(pd.routing_key).toBe('routing-key');
    expect(pd.payload.summary).toBe('[FIRING:1] P1 ApiDown (namespace=shop, service=api): The API answers no request');
    expect(pd.payload.severity).toBe('critical');
    expect(pd.client).toBe('obstack Alertmanager');
    expect(pd.client_url).toBe(`${EXTERNAL}/#/alerts?receiver=pager`);
    expect(pd.links.map((l: Json) => l.text)).toEqual(['Runbook', 'Dashboard', 'Graph in Prometheus', 'Silence']);
    expect(pd.links.slice(0, 3).map((l: Json) => l.href)).toEqual([RUNBOOK, DASHBOARD, GRAPH]);
    expect(pd.links[3].href).toMatch(new RegExp(`^${EXTERNAL.replace(/[./]/g, '\\$&')}/#/silences/new\\?filter=%7Balertname%3D%22ApiDown%22`));
    const d = pd.payload.custom_details;
    expect(d).toMatchObject({ summary: 'The API answers no request', severity: 'P1', service: 'api', team: 'payments', value: '0%', runbook: RUNBOOK, dashboard: DASHBOARD, graph: GRAPH });
    expect(d.started).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    expect(d.firing).toContain('ApiDown: The API answers no request');
  });

  it('counts the alerts of a grouped PagerDuty incident and lists every one', async () => {
    const pd = await pagerdutyFor('QueueBacklog');
    expect(pd.payload.summary).toBe('[FIRING:3] P2 QueueBacklog (namespace=shop, service=queue): QueueBacklog on q-0 (first of 3)');
    expect(pd.payload.severity).toBe('error');
    for (const q of ['q-0', 'q-1', 'q-2']) expect(pd.payload.custom_details.firing).toContain(`QueueBacklog: QueueBacklog on ${q}`);
    // Without a runbook or dashboard, those links open the group in Alertmanager and say so.
    expect(pd.links[0]).toEqual({ href: `${EXTERNAL}/#/alerts?receiver=pager`, text: 'Runbook (none; the alerts in Alertmanager)' });
  });

  it('mails a subject with the count and an HTML and text body with the links', async () => {
    const mail = await mailFor('ApiDown');
    expect(mail.headers.subject).toBe('[FIRING:1] P1 ApiDown (namespace=shop, service=api)');
    const html = mailPart(mail, 'text/html');
    expect(html).toContain('The API answers no request');
    expect(html).toContain('severity <b>P1</b> · service <b>api</b> · team <b>payments</b> · value <b>0%</b>');
    expect(html).toContain(`<a href="${RUNBOOK}">Runbook</a>`);
    expect(html).toContain(`<a href="${DASHBOARD}">Dashboard</a>`);
    // html/template writes "&" and "+" in attributes as entities, which a mail client reads back.
    const href = (text: string) => unescapeHtml(new RegExp(`<a href="([^"]+)">${text}</a>`).exec(html)?.[1] ?? '');
    expect(href('Graph')).toBe(GRAPH);
    const silence = href('Silence');
    expect(silence.startsWith(`${EXTERNAL}/#/silences/new?filter=`)).toBe(true);
    expect(decodeURIComponent(silence.split('filter=')[1] ?? '')).toBe('{alertname="ApiDown",instance="api-7f9c",namespace="shop",service="api",severity="P1",team="payments"}');
    const text = mailPart(mail, 'text/plain');
    expect(text).toContain('FIRING ApiDown: The API answers no request');
    expect(text).toContain(`runbook:   ${RUNBOOK}`);
    expect(text).toContain(`graph:     ${GRAPH}`);
  });

  it('sends an escalation to the escalation receiver only (besides the history copy), paging as critical', async () => {
    const groups = (await (await fetch(`${base}/api/v2/alerts/groups`)).json()) as Json[];
    const reached = groups.filter((g) => g.alerts.some((x: Json) => x.labels.alertname === 'AlertNotAcknowledged')).map((g) => g.receiver.name).sort();
    expect(reached).toEqual([RECEIVERS.escalation, RECEIVERS.history].sort());
    const pd = await pagerdutyFor('AlertNotAcknowledged');
    expect(pd.payload.severity).toBe('critical');
    expect(pd.payload.summary).toContain('CheckoutDown has not been acknowledged for 30m');
    const slack = await slackFor('AlertNotAcknowledged');
    expect(slack.title_link).toBe(`${EXTERNAL}/#/alerts?receiver=escalation`);
  });

  it('posts webhooks the annotations and external URL from which a program rebuilds the links', async () => {
    const hook = await delivered('history webhook', () => deliveries.find((d) => d.path === `/webhook/${RECEIVERS.history}` && d.body.groupLabels.alertname === 'ApiDown')?.body);
    expect(hook.externalURL).toBe(EXTERNAL);
    expect(hook.alerts[0].annotations).toMatchObject({ runbook_url: RUNBOOK, dashboard_url: DASHBOARD });
    expect(hook.alerts[0].generatorURL).toBe(GRAPH);
  });
});

describe('Prometheus with an external URL that has a path', () => {
  let root: string;
  let prometheus: Started | undefined;

  afterAll(async () => {
    await prometheus?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('serves its probes, reload and API at "/" and reports the external URL', async () => {
    root = mkdtempSync(join(tmpdir(), 'obstack-prom-url-'));
    const env = environment({ components: { prometheus: { externalUrl: 'https://ops.example.com/prometheus' } } });
    const result = synth(env);
    const container = (find(result.objects, 'StatefulSet', 'prometheus') as Json).spec.template.spec.containers;
    const args = (container[0].args as string[]).filter((a) => /^--web\.(external-url|route-prefix|enable-lifecycle)/.test(a));
    expect(args).toEqual(['--web.external-url=https://ops.example.com/prometheus', '--web.route-prefix=/', '--web.enable-lifecycle']);
    const offline = writeOfflinePrometheus(result.files, root);
    const started = await startPrometheus(offline.configFile, join(root, 'data'), args);
    prometheus = started.server;
    await waitFor(async () => ((await fetch(`${started.base}/-/ready`)).ok ? true : undefined), 30_000, 'Prometheus', prometheus);
    for (const path of [container[0].livenessProbe.httpGet.path, container[0].readinessProbe.httpGet.path]) {
      expect((await fetch(`${started.base}${path}`)).status, path).toBe(200);
    }
    const reloader = (container[1].args as string[]).find((a) => a.startsWith('--webhook-url='))?.slice('--webhook-url='.length) ?? '';
    expect((await fetch(`${started.base}${new URL(reloader).pathname}`, { method: 'POST' })).status).toBe(200);
    const flags = (await (await fetch(`${started.base}/api/v1/status/flags`)).json()) as Json;
    expect(flags.data['web.external-url']).toBe('https://ops.example.com/prometheus');
  }, 60_000);
});
