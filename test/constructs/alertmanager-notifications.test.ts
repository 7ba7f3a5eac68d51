import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { alertmanagerRules } from '../../rules/alertmanager.js';
import { compileRuleTests, grafanaBaseUrl, isAlert, type AlertRule } from '../../src/authoring/index.js';
import { ConfigError } from '../../src/config/index.js';
import { RECEIVERS, TEMPLATES_FILE, extraReceiver } from '../../src/constructs/index.js';
import { runRuleTests } from '../../src/validate/rules-tests.js';
import { amtoolCheckConfig, amtoolRoutesTest } from '../../src/validate/tools.js';
import { type Json, RECEIVERS_INPUT, environment, example, find, synth } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'obstack-am-templates-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** alertmanager.yml and the templates as the Secret ships them, written side by side. */
function writeConfig(env: ReturnType<typeof environment>, name: string): { file: string; secret: Json; config: Json } {
  const secret = find(synth(env).objects, 'Secret', 'alertmanager-config') as Json;
  const dir = join(root, name);
  const file = join(dir, 'alertmanager.yml');
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, secret.stringData['alertmanager.yml']);
  writeFileSync(join(dir, TEMPLATES_FILE), secret.stringData[TEMPLATES_FILE]);
  return { file, secret, config: parse(secret.stringData['alertmanager.yml']) };
}

const pagerdutyEnv = (alerting: Record<string, unknown> = {}) =>
  environment({
    alerting: {
      receivers: { ...RECEIVERS_INPUT, email: { to: ['oncall@example.com'], from: 'am@example.com', smarthost: 'smtp.example.com:587' } },
      ...alerting,
    },
  });

describe('the notification templates', () => {
  it('ship in the Secret next to alertmanager.yml, which lists them, in the volume the reloader watches', () => {
    const result = synth(example('prod'));
    const secret = find(result.objects, 'Secret', 'alertmanager-config') as Json;
    expect(Object.keys(secret.stringData).sort()).toEqual(['alertmanager.yml', TEMPLATES_FILE]);
    expect(parse(secret.stringData['alertmanager.yml']).templates).toEqual([TEMPLATES_FILE]);
    const spec = (find(result.objects, 'StatefulSet', 'alertmanager') as Json).spec.template.spec;
    const configMount = spec.containers[0].volumeMounts.find((m: Json) => m.name === 'config');
    expect(spec.containers[0].args).toContain(`--config.file=${configMount.mountPath}/alertmanager.yml`);
    expect(spec.containers[1].args).toContain(`--volume-dir=${configMount.mountPath}`);
  });

  it('define every template that a receiver of alertmanager.yml calls, for Slack, e-mail and PagerDuty', () => {
    const secret = find(synth(example('prod')).objects, 'Secret', 'alertmanager-config') as Json;
    const defined = new Set([...(secret.stringData[TEMPLATES_FILE] as string).matchAll(/\{\{ define "([^"]+)" \}\}/g)].map((m) => m[1]));
    const text = secret.stringData['alertmanager.yml'] as string;
    const called = new Set([...text.matchAll(/\{\{ template "([^"]+)" \. \}\}/g)].map((m) => m[1]));
    expect([...called].filter((c) => !defined.has(c))).toEqual([]);
    const config = parse(text) as Json;
    const team = config.receivers.find((r: Json) => r.name === RECEIVERS.team);
    expect(team.slack_configs[0]).toMatchObject({ title: '{{ template "obstack.slack.title" . }}', text: '{{ template "obstack.slack.text" . }}', color: '{{ template "obstack.slack.color" . }}' });
    expect(team.email_configs[0]).toMatchObject({ headers: { Subject: '{{ template "obstack.email.subject" . }}' }, html: '{{ template "obstack.email.html" . }}' });
    const pd = config.receivers.find((r: Json) => r.name === RECEIVERS.pager).pagerduty_configs[0];
    expect(Object.keys(pd.details)).toEqual(expect.arrayContaining(['summary', 'severity', 'service', 'team', 'value', 'started', 'runbook', 'dashboard', 'graph', 'silence']));
    expect(pd.links.map((l: Json) => l.text)).toEqual(['{{ template "obstack.pagerduty.runbook.text" . }}', '{{ template "obstack.pagerduty.dashboard.text" . }}', 'Graph in Prometheus', 'Silence']);
  });

  it.each(['dev', 'staging', 'prod'] as const)("pass amtool check-config with %s's alertmanager.yml", (name) => {
    const { file } = writeConfig(example(name), name);
    const res = amtoolCheckConfig(file);
    expect(res.output).toContain('1 templates');
    expect(res.ok, res.output).toBe(true);
  });

  it('are read by amtool check-config: a broken template fails it', () => {
    const { file } = writeConfig(example('dev'), 'broken');
    writeFileSync(join(file, '..', TEMPLATES_FILE), '{{ define "obstack.title" }}{{ .Alerts | nosuchfunction }}{{ end }}');
    const res = amtoolCheckConfig(file);
    expect(res.ok).toBe(false);
    expect(res.output).toContain('nosuchfunction');
  });
});

describe('the escalation route', () => {
  it('comes right after the Watchdog and the history copy, matches escalation="true" and stops there', () => {
    const routes = (parse(synth(example('prod')).files.get('alertmanager.yml') ?? '') as Json).route.routes as Json[];
    expect(routes.slice(0, 2).map((r) => r.receiver)).toEqual([RECEIVERS.blackhole, RECEIVERS.history]);
    expect(routes[2]).toMatchObject({ receiver: RECEIVERS.escalation, matchers: ['escalation="true"'], repeat_interval: '15m' });
    expect(routes[2].continue).toBeUndefined();
    expect(routes[2].group_by).toContain('escalated_alertname');
  });

  it('pages the environment PagerDuty as critical and notifies its channels by default', () => {
    const { config, file } = writeConfig(pagerdutyEnv(), 'escalation-default');
    const receiver = config.receivers.find((r: Json) => r.name === RECEIVERS.escalation);
    expect(receiver.pagerduty_configs[0]).toMatchObject({ routing_key_file: '/etc/alertmanager/secrets/am-pagerduty/routing-key', severity: 'critical' });
    expect(receiver.slack_configs[0].channel).toBe('#alerts');
    expect(receiver.email_configs[0].to).toBe('oncall@example.com');
    const escalated = { alertname: 'AlertNotAcknowledged', escalated_alertname: 'ApiDown', escalation: 'true', severity: 'P1', service: 'api' };
    expect(amtoolRoutesTest(file, escalated).filter((r) => r !== RECEIVERS.history)).toEqual([RECEIVERS.escalation]);
    // The alert it escalates, unlabelled, still takes the usual P1 routes.
    expect(amtoolRoutesTest(file, { alertname: 'ApiDown', severity: 'P1', service: 'api' }).sort()).toEqual([RECEIVERS.history, RECEIVERS.pager, RECEIVERS.team].sort());
  });

  it('goes to the extra receiver that alerting.escalateTo names, and no "escalation" receiver is made', () => {
    const env = pagerdutyEnv({ escalateTo: 'duty-manager', extraReceivers: { 'duty-manager': { pagerduty: { routingKey: { secretName: 'dm', key: 'k' } } } } });
    const { config, file } = writeConfig(env, 'escalation-extra');
    expect(config.receivers.map((r: Json) => r.name)).not.toContain(RECEIVERS.escalation);
    // Besides the copy every alert gets for the alert history.
    expect(amtoolRoutesTest(file, { alertname: 'AlertNotAcknowledged', escalation: 'true', severity: 'P1' }).sort()).toEqual([extraReceiver('duty-manager'), RECEIVERS.history].sort());
  });

  it('refuses an escalateTo that names no extra receiver, naming the field', () => {
    let error: unknown;
    try {
      pagerdutyEnv({ escalateTo: 'nobody', extraReceivers: { 'duty-manager': { slack: { channel: '#dm', apiUrl: { secretName: 's', key: 'k' } } } } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      expect.objectContaining({ path: 'alerting.escalateTo', message: 'must name an entry of alerting.extraReceivers, got "nobody" (known: duty-manager)' }),
    ]);
  });
});

describe('AlertNotAcknowledged', () => {
  const rule = (env: ReturnType<typeof environment>): AlertRule =>
    alertmanagerRules(env)
      .flatMap((g) => g.rules)
      .filter(isAlert)
      .find((r) => r.name === 'AlertNotAcknowledged') as AlertRule;

  it('is the contract the acknowledgement relies on', () => {
    const r = rule(environment());
    expect(r.expr).toBe('label_replace(ALERTS{alertstate="firing",severity="P1",alertname!~"Watchdog|AlertNotAcknowledged"}, "escalated_alertname", "$1", "alertname", "(.+)")');
    expect(r.for).toBe('30m');
    expect(r.labels).toEqual({ escalation: 'true', severity: 'P1', service: '{{ $labels.service }}' });
    expect(r.annotations.summary).toBe('{{ $labels.escalated_alertname }} has not been acknowledged for 30m');
  });

  it.each([
    ['30m', '32m', '28m'],
    ['1h', '1h2m', '58m'],
  ])('fires after escalateAfter %s (at %s) and not before (at %s), in promtool', (after, firesAt, silentAt) => {
    const env = environment({ alerting: { receivers: RECEIVERS_INPUT, escalateAfter: after } });
    const r = rule(env);
    expect(r.for).toBe(after);
    expect(r.tests.find((t) => t.fires.length > 0)?.at).toBe(firesAt);
    expect(r.tests.find((t) => t.fires.length === 0)?.at).toBe(silentAt);
    const result = runRuleTests(compileRuleTests({ 'alertmanager.yaml': [{ name: 'escalation', rules: [r] }] }));
    expect(result.output).not.toContain('FAILED');
    expect(result.ok).toBe(true);
  });

  it('fails in promtool when its case expects it before escalateAfter', () => {
    const r = rule(environment());
    const early = { ...r, tests: r.tests.filter((t) => t.fires.length > 0).map((t) => ({ ...t, at: '20m' as const })) };
    expect(runRuleTests(compileRuleTests({ 'alertmanager.yaml': [{ name: 'escalation', rules: [early] }] })).ok).toBe(false);
  });
});

describe('external URLs', () => {
  const args = (env: ReturnType<typeof environment>, name: string): string[] =>
    (find(synth(env).objects, 'StatefulSet', name) as Json).spec.template.spec.containers[0].args;

  it('default to the in-cluster Service, never a pod', () => {
    const env = environment();
    expect(args(env, 'prometheus')).toContain('--web.external-url=http://prometheus.obs-test.svc.cluster.local:9090');
    expect(args(env, 'alertmanager')).toContain('--web.external-url=http://alertmanager.obs-test.svc.cluster.local:9093');
    for (const name of ['prometheus', 'alertmanager']) expect(args(env, name)).toContain('--web.route-prefix=/');
  });

  it('follow the ingress, and an explicit externalUrl wins over it', () => {
    const ingress = { enabled: true, host: 'am.example.com', tlsSecret: 'am-tls' };
    expect(args(environment({ components: { alertmanager: { ingress } } }), 'alertmanager')).toContain('--web.external-url=https://am.example.com');
    const both = environment({ components: { alertmanager: { ingress, externalUrl: 'https://ops.example.com/am/' }, prometheus: { externalUrl: 'https://ops.example.com/prom' } } });
    expect(args(both, 'alertmanager')).toContain('--web.external-url=https://ops.example.com/am');
    expect(args(both, 'prometheus')).toContain('--web.external-url=https://ops.example.com/prom');
  });

  it("give Grafana one URL: its root_url and the base of the alerts' dashboard links", () => {
    const env = environment({ components: { grafana: { externalUrl: 'https://ops.example.com/grafana' } } });
    const container = (find(synth(env).objects, 'Deployment', 'grafana') as Json).spec.template.spec.containers[0];
    expect(container.env.find((e: Json) => e.name === 'GF_SERVER_ROOT_URL')?.value).toBe('https://ops.example.com/grafana/');
    expect(grafanaBaseUrl(env)).toBe('https://ops.example.com/grafana');
    const viaIngress = environment({ components: { grafana: { ingress: { enabled: true, host: 'grafana.example.com', tlsSecret: 'g-tls' } } } });
    const rootUrl = (find(synth(viaIngress).objects, 'Deployment', 'grafana') as Json).spec.template.spec.containers[0].env.find((e: Json) => e.name === 'GF_SERVER_ROOT_URL')?.value;
    expect(rootUrl).toBe(`${grafanaBaseUrl(viaIngress)}/`);
  });

  it.each([
    ['alertmanager', 'ftp://ops.example.com', 'must use http or https, got "ftp"'],
    ['alertmanager', 'https://user:secret@ops.example.com', 'must not carry a user or password'],
    ['prometheus', 'https://ops.example.com/prom?x=1', 'must not have a query or fragment'],
    ['prometheus', 'https://ops.example.com/#/alerts', 'must not have a query or fragment'],
    ['grafana', 'https://ops.example.com//grafana', 'must not have empty, "." or ".." path segments'],
    ['grafana', 'https://ops.example.com/a/../grafana', 'must not have empty, "." or ".." path segments'],
    ['grafana', 'ops.example.com', 'must be an absolute http(s) URL such as "https://alerts.example.com", got "ops.example.com"'],
  ])('refuses components.%s.externalUrl %s, naming the field', (component, url, message) => {
    let error: unknown;
    try {
      environment({ components: { [component]: { externalUrl: url } } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issue = (error as ConfigError).issues.find((i) => i.path === `components.${component}.externalUrl`);
    expect(issue?.message).toBe(message);
    // A credential is never echoed back.
    expect((error as ConfigError).message).not.toContain('secret@');
  });
});
