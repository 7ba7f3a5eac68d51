import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { checkRouting, checkSynthesized, relabelAlert, teamRoutingExpectations } from '../../src/cli/check.js';
import { synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { ConfigError, type Environment, type EnvironmentInput, teamFolder } from '../../src/config/index.js';
import { folderDirectory, teamReceivers } from '../../src/constructs/index.js';
import { type Json, RECEIVERS_INPUT, environment, find, synth } from './helpers.js';
import { TEAMS, ref } from './teams-fixture.js';

function refused(input: Partial<Record<keyof EnvironmentInput, unknown>>): Array<{ path: string; message: string }> {
  try {
    environment(input);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => ({ path: i.path, message: i.message }));
    throw e;
  }
  throw new Error('the environment was accepted');
}

describe('the teams of an environment', () => {
  it('are accepted with their receivers, and default to none', () => {
    expect(environment().teams).toEqual({});
    const env = environment({ teams: TEAMS });
    expect(env.teams.payments?.namespaces).toEqual(['payments', 'billing']);
    expect(env.teams.search?.services).toEqual([]);
  });

  it('refuse a namespace or a service owned by two teams, naming both', () => {
    const issues = refused({
      teams: {
        ...TEAMS,
        search: { ...TEAMS.search, namespaces: ['search', 'billing'], services: ['ledger.v2'] },
      },
    });
    expect(issues).toContainEqual({ path: 'teams.search.namespaces[1]', message: 'namespace "billing" is owned by two teams, "payments" and "search"' });
    expect(issues).toContainEqual({ path: 'teams.search.services[0]', message: 'service "ledger.v2" is owned by two teams, "payments" and "search"' });
  });

  it('refuse a team that owns nothing', () => {
    const issues = refused({ teams: { search: { ...TEAMS.search, namespaces: [] } } });
    expect(issues).toEqual([{ path: 'teams.search', message: expect.stringMatching(/^owns nothing/) }]);
  });

  it("refuse a team without PagerDuty: its pages do not fall back to the environment's pager", () => {
    const issues = refused({ teams: { search: { ...TEAMS.search, receivers: { slack: TEAMS.search.receivers.slack } } } });
    expect(issues).toEqual([{ path: 'teams.search.receivers.pagerduty', message: expect.stringContaining('no implicit fallback') }]);
  });

  it('refuse a team with nowhere to send P3 and P4, and inline credentials', () => {
    expect(refused({ teams: { search: { ...TEAMS.search, receivers: { pagerduty: TEAMS.search.receivers.pagerduty } } } })).toEqual([
      { path: 'teams.search.receivers', message: expect.stringMatching(/^needs email or slack/) },
    ]);
    const inline = refused({ teams: { search: { ...TEAMS.search, receivers: { ...TEAMS.search.receivers, slack: { channel: '#s', apiUrl: 'https://hooks.slack.com/x' } } } } });
    expect(inline).toEqual([{ path: 'teams.search.receivers.slack.apiUrl', message: expect.stringMatching(/reference to a Kubernetes Secret/) }]);
  });

  it('refuse a team name that is not a DNS label, and names whose receivers would clash', () => {
    expect(refused({ teams: { Search: TEAMS.search } })[0]?.path).toBe('teams.Search');
    const clash = refused({ teams: { search: TEAMS.search, 'search-digest': { ...TEAMS.search, namespaces: ['other'] } } });
    expect(clash).toEqual([{ path: 'teams.search-digest', message: 'clashes with team "search": both would have a receiver named "team-search-digest"' }]);
  });

  it('have a Grafana folder: the team name as written, or the one configured', () => {
    const env = environment({ teams: TEAMS });
    expect(teamFolder(env, 'payments')).toBe('payments');
    expect(teamFolder(env, 'search')).toBe('Search & Discovery');
    expect(() => teamFolder(env, 'serach')).toThrow('no team "serach" in this environment; did you mean "search"?');
    expect(refused({ teams: { search: { ...TEAMS.search, grafana: { folder: 'a/b' } } } })[0]?.path).toBe('teams.search.grafana.folder');
  });
});

describe('alerting.routes', () => {
  const extraReceivers = { security: { slack: { channel: '#security', apiUrl: ref('security-slack') } } };

  it('refuse an unknown receiver with the closest name', () => {
    const issues = refused({ teams: TEAMS, alerting: { receivers: RECEIVERS_INPUT, extraReceivers, routes: [{ matchers: { cluster: 'edge' }, receiver: 'serch' }] } });
    expect(issues).toEqual([{ path: 'alerting.routes[0].receiver', message: 'is "serch", neither a team nor an extra receiver; did you mean "search"?' }]);
  });

  it('refuse a route that would stop pages at a receiver that pages nobody, unless it continues or excludes P1 and P2', () => {
    const route = { matchers: { alertname: '/Cert.*/' }, receiver: 'security' };
    const issues = refused({ alerting: { receivers: RECEIVERS_INPUT, extraReceivers, routes: [route] } });
    expect(issues).toEqual([{ path: 'alerting.routes[0]', message: expect.stringMatching(/would stop P1 and P2 alerts at "security"/) }]);
    for (const ok of [{ ...route, continue: true }, { ...route, matchers: { ...route.matchers, severity: '/P3|P4/' } }]) {
      expect(environment({ alerting: { receivers: RECEIVERS_INPUT, extraReceivers, routes: [ok] } }).alerting.routes).toHaveLength(1);
    }
  });

  it('refuse a regex RE2 cannot run, and a route without matchers', () => {
    const issues = refused({ teams: TEAMS, alerting: { receivers: RECEIVERS_INPUT, routes: [{ matchers: { alertname: '/(?!Watchdog).*/' }, receiver: 'search' }, { matchers: {}, receiver: 'search' }] } });
    expect(issues.map((i) => i.path)).toEqual(['alerting.routes[0].matchers.alertname', 'alerting.routes[1].matchers']);
  });
});

describe("the teams' Alertmanager tree", () => {
  const env = environment({
    teams: TEAMS,
    alerting: {
      receivers: RECEIVERS_INPUT,
      extraReceivers: { security: { slack: { channel: '#security', apiUrl: ref('security-slack') } } },
      routes: [
        { matchers: { alertname: '/Cert.*/', severity: '/P3|P4/' }, receiver: 'security' },
        { matchers: { cluster: 'edge' }, receiver: 'search' },
      ],
    },
  });
  const result = synth(env);
  const config = parse(result.files.get('alertmanager.yml') ?? '') as Json;

  it('has one subtree per team on its team label, after the user routes and before the default tree', () => {
    const order = config.route.routes.map((r: Json) => `${r.receiver} ${r.matchers.join(',')}`);
    expect(order).toEqual([
      'null alertname="Watchdog"',
      'history severity=~"P1|P2|P3|P4"',
      'escalation escalation="true"',
      'extra-security alertname=~"Cert.*",severity=~"P3|P4"',
      'team-search cluster="edge"',
      'team-payments team="payments"',
      'team-search team="search"',
      'pager severity=~"P1|P2"',
      'team severity=~"P1|P2|P3"',
      'digest severity="P4"',
    ]);
    const payments = config.route.routes.find((r: Json) => r.matchers[0] === 'team="payments"');
    expect(payments.routes.map((r: Json) => [r.receiver, r.matchers[0], r.continue ?? false])).toEqual([
      ['team-payments-webhook', 'severity=~"P1|P2|P3|P4"', true],
      ['team-payments-pager', 'severity=~"P1|P2"', true],
      ['team-payments', 'severity=~"P1|P2|P3"', false],
      ['team-payments-digest', 'severity="P4"', false],
    ]);
    expect(config.inhibit_rules).toHaveLength(2);
  });

  it("delivers to the team's own channels, credentials from mounted Secret files", () => {
    const receiver = (name: string): Json => config.receivers.find((r: Json) => r.name === name);
    expect(receiver(teamReceivers('payments').pager).pagerduty_configs[0].routing_key_file).toBe('/etc/alertmanager/secrets/payments-pagerduty/routing-key');
    expect(receiver('team-payments').email_configs[0]).toMatchObject({ to: 'payments@example.com', auth_password_file: '/etc/alertmanager/secrets/payments-smtp/password' });
    expect(receiver('team-payments-digest').email_configs[0].to).toBe('payments@example.com');
    expect(receiver('team-search-digest').slack_configs[0]).toMatchObject({ channel: '#search-alerts', api_url_file: '/etc/alertmanager/secrets/search-slack/webhook-url' });
    expect(receiver('team-payments-webhook').webhook_configs[0].http_config.authorization.credentials_file).toBe('/etc/alertmanager/secrets/payments-hook/token');
    expect(receiver('extra-security').slack_configs[0].channel).toBe('#security');

    const sts = find(result.objects, 'StatefulSet', 'alertmanager') as Json;
    const secrets = sts.spec.template.spec.volumes.filter((v: Json) => v.secret).map((v: Json) => v.secret.secretName).sort();
    expect(secrets).toEqual(expect.arrayContaining(['payments-hook', 'payments-pagerduty', 'payments-smtp', 'search-pagerduty', 'search-slack', 'security-slack']));
    const mounts = sts.spec.template.spec.containers[0].volumeMounts.map((m: Json) => m.mountPath);
    expect(mounts).toContain('/etc/alertmanager/secrets/payments-smtp');
    const policy = find(result.objects, 'NetworkPolicy', 'alertmanager') as Json;
    const ports = policy.spec.egress.flatMap((e: Json) => (e.to?.some((t: Json) => t.ipBlock) ? e.ports.map((p: Json) => p.port) : []));
    expect(ports).toEqual(expect.arrayContaining([443, 2525, 8443]));
  });

  it('sets the team label in Prometheus from the service first, then the namespace, only when the alert has none', () => {
    const prom = parse(result.files.get('prometheus.yml') ?? '') as Json;
    const relabel = prom.alerting.alert_relabel_configs;
    expect(relabel).toEqual([
      { source_labels: ['team', 'service'], separator: ';', regex: ';(?:ledger\\.v2)', target_label: 'team', replacement: 'payments', action: 'replace' },
      { source_labels: ['team', 'namespace'], separator: ';', regex: ';(?:payments|billing)', target_label: 'team', replacement: 'payments', action: 'replace' },
      { source_labels: ['team', 'namespace'], separator: ';', regex: ';(?:search)', target_label: 'team', replacement: 'search', action: 'replace' },
    ]);
    expect(relabelAlert({ alertname: 'A', namespace: 'billing' }, relabel)).toEqual({ alertname: 'A', namespace: 'billing', team: 'payments' });
    expect(relabelAlert({ alertname: 'A', namespace: 'search', service: 'ledger.v2' }, relabel)?.team).toBe('payments');
    expect(relabelAlert({ alertname: 'A', namespace: 'billing', team: 'fraud' }, relabel)?.team).toBe('fraud');
    expect(relabelAlert({ alertname: 'A', namespace: 'billingx' }, relabel)?.team).toBeUndefined();
  });

  describe('the routing check (amtool)', () => {
    const root = mkdtempSync(join(tmpdir(), 'obstack-teams-'));
    afterAll(() => rmSync(root, { recursive: true, force: true }));
    const relabel = (parse(result.files.get('prometheus.yml') ?? '') as Json).alerting.alert_relabel_configs;
    const context = { teams: env.teams, routes: env.alerting.routes, alertRelabelConfigs: relabel };

    it("proves every team's alerts, by label, namespace or service, reach exactly its receivers", () => {
      const file = join(root, 'ok.yml');
      writeFileSync(file, result.files.get('alertmanager.yml') ?? '');
      expect(checkRouting(file, context)).toEqual([]);
      expect(teamRoutingExpectations('search').map((e) => [e.severity, e.exactly])).toEqual([
        ['P1', ['team-search-pager', 'team-search']],
        ['P2', ['team-search-pager', 'team-search']],
        ['P3', ['team-search']],
        ['P4', ['team-search-digest']],
      ]);
    });

    it("catches a team's P4 that reaches the environment's digest instead of the team's", () => {
      const broken = structuredClone(config);
      const search = broken.route.routes.find((r: Json) => r.matchers[0] === 'team="search"');
      search.routes = search.routes.filter((r: Json) => r.receiver !== 'team-search-digest');
      search.continue = true;
      const file = join(root, 'broken.yml');
      writeFileSync(file, stringify(broken));
      const messages = checkRouting(file, context).map((f) => f.message);
      expect(messages).toContain('a P4 alert with team="search" must reach exactly ["team-search-digest"] of team "search" but reaches ["history","team-search","digest"]');
      expect(messages).toContain('a P4 alert with namespace="search" must reach exactly ["team-search-digest"] of team "search" but reaches ["history","team-search","digest"]');
    });

    it("catches a namespace Prometheus does not label with its team", () => {
      const file = join(root, 'ok2.yml');
      writeFileSync(file, result.files.get('alertmanager.yml') ?? '');
      const messages = checkRouting(file, { ...context, alertRelabelConfigs: relabel.slice(0, 1) }).map((f) => f.message);
      expect(messages).toContain('an alert with namespace="search" must get team="search" from Prometheus\'s alert relabeling but gets ""');
    });
  });
});

describe('an environment with teams', () => {
  it('passes every check: Kubernetes schema, security policy, promtool, amtool and the teams\' routing', () => {
    const env = environment({ teams: TEAMS });
    const result = synthWithDashboards(env, [
      { uid: 'payments-overview', folder: teamFolder(env, 'payments'), json: '{"uid":"payments-overview"}' },
      { uid: 'search-overview', folder: teamFolder(env, 'search'), json: '{"uid":"search-overview"}' },
    ]);
    expect(checkSynthesized(result, { tools: true })).toEqual([]);
  });
});

describe('Grafana folders', () => {
  it('provisions any folder a dashboard names, as a directory named as written (Grafana titles the folder after it)', () => {
    const long = `team-${'x'.repeat(58)}`;
    const env = environment({ teams: TEAMS });
    const dashboards = [
      { uid: 'one', folder: 'SRE', json: '{"uid":"one"}' },
      { uid: 'two', folder: teamFolder(env, 'search'), json: '{"uid":"two"}' },
      { uid: 'three', folder: teamFolder(env, 'payments'), json: '{"uid":"three"}' },
      { uid: 'four', folder: long, json: '{"uid":"four"}' },
    ];
    const { objects } = synthWithDashboards(env, dashboards);
    // The dashboards sidecar writes each ConfigMap's file into the subdirectory its folder annotation names.
    const folderOf = (uid: string): string => (find(objects, 'ConfigMap', `grafana-dashboard-${uid}`) as Json).metadata.annotations['grafana.obstack.io/folder'];
    expect(['one', 'two', 'three', 'four'].map(folderOf)).toEqual(['SRE', 'Search & Discovery', 'payments', long]);
    const spec = (find(objects, 'Deployment', 'grafana') as Json).spec.template.spec;
    const sidecar = spec.containers.find((c: Json) => c.name === 'dashboards-sidecar');
    expect(sidecar.env).toContainEqual({ name: 'FOLDER_ANNOTATION', value: 'grafana.obstack.io/folder' });
    expect(spec.containers[0].volumeMounts.filter((m: Json) => m.mountPath.startsWith('/var/lib/grafana/dashboards'))).toEqual([
      { name: 'dashboards', mountPath: '/var/lib/grafana/dashboards', readOnly: true },
    ]);
  });

  it('keeps folders whose slugs are equal apart', () => {
    const { objects } = synthWithDashboards(environment(), [
      { uid: 'one', folder: 'Search Team', json: '{}' },
      { uid: 'two', folder: 'search-team', json: '{}' },
    ]);
    const folders = ['one', 'two'].map((uid) => (find(objects, 'ConfigMap', `grafana-dashboard-${uid}`) as Json).metadata.annotations['grafana.obstack.io/folder']);
    expect(folders).toEqual(['Search Team', 'search-team']);
  });

  it('refuses a folder that cannot be one directory', () => {
    expect(() => folderDirectory('a/b', 'x')).toThrow('dashboard "x": folder must be');
    expect(() => folderDirectory('..')).toThrow();
    expect(folderDirectory('Search & Discovery')).toBe('Search & Discovery');
  });
});

function synthWithDashboards(env: Environment, dashboards: Array<{ uid: string; folder: string; json: string }>) {
  return synthesizeEnvironment(env, { ruleFiles: { 'stack.yaml': 'groups: []\n' }, dashboards });
}
