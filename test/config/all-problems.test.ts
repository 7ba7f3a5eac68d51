import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STACK_DASHBOARDS } from '../../dashboards/index.js';
import { stackRuleGroups } from '../../rules/index.js';
import { applyOverrides, environmentReferenceIssues, keptDashboards, overrideIssues, suggestName } from '../../src/authoring/index.js';
import { loadEnvironments, shippedReferences, standInEnvironment } from '../../src/cli/load-environments.js';
import { closestName as configClosestName } from '../../src/config/closest-name.js';
import { checkEnvironmentFile, ConfigError, EnvironmentFilesError, parseEnvironment } from '../../src/config/index.js';
import { closestName } from '../../src/validate/index.js';
import { example } from '../constructs/helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PROBLEMS = join(import.meta.dirname, 'problems');
const problem = (file: string): string => join(PROBLEMS, file);

/** What loadEnvironments throws for these files (it must throw). */
function refusal(files: readonly string[]): EnvironmentFilesError {
  try {
    loadEnvironments(files, shippedReferences);
  } catch (e) {
    expect(e).toBeInstanceOf(EnvironmentFilesError);
    return e as EnvironmentFilesError;
  }
  throw new Error(`loadEnvironments accepted ${files.join(', ')}`);
}

const lines = (text: string): string[] => text.split('\n').map((l) => l.trim());

describe('every problem of every environment file in one run', () => {
  it('reports a schema problem, a misspelt override and an unknown dashboard of one file together, each with file, line and field', () => {
    const file = problem('three-mistakes.yaml');
    const error = refusal([file]);
    expect(error).toBeInstanceOf(ConfigError); // what the CLI catches and prints as a block
    expect(error.code).toBe('E_CONFIG');
    expect(lines(error.message)).toEqual([
      `${file} is not a valid environment (3 problems):`,
      `${file}:5: components.prometheus.replicas: must be at least 1 (found -1)`,
      `${file}:14: alerting.overrides.HighErorRate: names no alert; did you mean "HighErrorRate"?`,
      `${file}:19: dashboards.drop[1]: names no shipped dashboard; did you mean "obstack-security"? (found "obstack-secruity")`,
    ]);
    expect(error.issues.map((i) => [i.file, i.line, i.path])).toEqual([
      [file, 5, 'components.prometheus.replicas'],
      [file, 14, 'alerting.overrides.HighErorRate'],
      [file, 19, 'dashboards.drop[1]'],
    ]);
  });

  it('lists every bad file in one error, and refuses good files loaded with them', () => {
    const files = [problem('three-mistakes.yaml'), join(ROOT, 'examples', 'environments', 'dev.yaml'), problem('also-wrong.yaml')];
    const error = refusal(files);
    expect(error.errors.map((e) => e.source)).toEqual([files[0], files[2]]);
    expect(error.errors.map((e) => e.issues.length)).toEqual([3, 1]);
    expect(error.message).toContain(`${files[0]} is not a valid environment (3 problems):`);
    expect(error.message).toContain(`${files[2]} is not a valid environment (1 problem):`);
    expect(error.message).toContain(`${files[2]}:2: namespace: must be a Kubernetes DNS label`);
    expect(error.message).not.toContain('dev.yaml');
    expect(new Set(error.issues.map((i) => i.file))).toEqual(new Set([files[0], files[2]]));
  });

  it('loads good files, checking their references against their own environment', () => {
    const files = ['dev', 'staging', 'prod'].map((n) => join(ROOT, 'examples', 'environments', `${n}.yaml`));
    const seen: string[] = [];
    const envs = loadEnvironments(files, (env) => {
      seen.push(env.name);
      return shippedReferences(env);
    });
    expect(envs.map((e) => e.name)).toEqual(['dev', 'staging', 'prod']);
    expect(seen).toEqual(['dev', 'staging', 'prod']);
  });

  it('takes the alerts and dashboards from the caller: a team’s own names are valid, the shipped ones only if the caller says so', () => {
    const file = problem('three-mistakes.yaml');
    const refs = () => ({ alerts: new Map([['HighErorRate', { rules: 1, hasThreshold: true }]]), dashboards: ['obstack-nodes', 'obstack-secruity'] });
    const error = (() => {
      try {
        loadEnvironments([file], refs);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('accepted');
    })();
    expect(error.issues.map((i) => i.path)).toEqual(['components.prometheus.replicas']);
  });

  it('refuses two files with the same environment name, naming both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obstack-twins-'));
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    for (const d of ['a', 'b']) copyFileSync(join(ROOT, 'examples', 'environments', 'dev.yaml'), join(dir, d, 'dev.yaml'));
    const error = refusal([join(dir, 'a', 'dev.yaml'), join(dir, 'b', 'dev.yaml')]);
    expect(error.issues).toEqual([
      expect.objectContaining({ file: join(dir, 'b', 'dev.yaml'), path: 'name', line: 3, message: expect.stringContaining(join(dir, 'a', 'dev.yaml')) }),
    ]);
  });

  it('checks threshold and severity overrides against what the alert is', () => {
    const file = problem('override-rules.yaml');
    expect(lines(refusal([file]).message).slice(1)).toEqual([
      `${file}:11: alerting.overrides.Watchdog.threshold: Watchdog has no threshold to override (its expression is fixed) (found 3)`,
      `${file}:12: alerting.overrides.ApiErrorBudgetBurn: ApiErrorBudgetBurn is defined by 4 rules (e.g. the burn-rate windows of an SLO): only "enabled" and "for" apply to all of them`,
      `${file}:17: alerting.overrides.SomethingNobodyWrote: names no alert (see the alert names in dist/<env>.files/rules/)`,
    ]);
  });
});

describe('the stand-in environment of a file the schema refuses', () => {
  it('is valid and enables every component', () => {
    const env = standInEnvironment();
    for (const [name, c] of Object.entries(env.components)) expect((c as { enabled: boolean }).enabled, name).toBe(true);
  });

  it('has the alert names and dashboards of every shipped environment: the shipped rule areas do not depend on the environment', () => {
    const standIn = shippedReferences(standInEnvironment());
    expect(standIn.alerts.size).toBeGreaterThan(50);
    for (const name of ['dev', 'staging', 'prod'] as const) {
      const refs = shippedReferences(example(name));
      expect([...refs.alerts].sort(), name).toEqual([...standIn.alerts].sort());
      expect(refs.dashboards, name).toEqual(standIn.dashboards);
    }
    const lean = parseEnvironment({
      ...example('dev'),
      components: Object.fromEntries(Object.keys(example('dev').components).map((c) => [c, { enabled: c === 'prometheus' || c === 'alertmanager' }])),
    });
    expect([...shippedReferences(lean).alerts.keys()].sort()).toEqual([...standIn.alerts.keys()].sort());
  });
});

describe('one implementation of the reference checks', () => {
  it('applyOverrides and keptDashboards refuse what the loader reports, with the same issues', () => {
    const env = example('dev');
    const overrides = { HighErorRate: { for: '5m' }, Watchdog: { threshold: 1 } };
    const groups = stackRuleGroups(env);
    const refs = { alerts: shippedReferences(env).alerts, dashboards: STACK_DASHBOARDS.map((d) => d.uid) };
    let thrown: unknown;
    try {
      applyOverrides(groups, overrides, 'environment "dev"');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).issues).toEqual(overrideIssues(overrides, refs.alerts));
    expect((thrown as ConfigError).issues).toEqual(environmentReferenceIssues({ alerting: { overrides } }, refs));

    const dropping = { ...env, dashboards: { drop: ['obstack-nodez'] } };
    expect(() => keptDashboards(dropping, STACK_DASHBOARDS)).toThrow(
      /environment "dev" is not a valid environment \(1 problem\):\n {2}dashboards\.drop\[0\]: names no shipped dashboard; did you mean "obstack-nodes"\?/,
    );
  });

  it('has one "did you mean" for config, authoring and validate', () => {
    expect(suggestName).toBe(configClosestName);
    expect(closestName).toBe(configClosestName);
    expect(configClosestName('replica', ['replicas', 'selector'])).toBe('replicas');
    expect(configClosestName('banana', ['replicas', 'selector'])).toBeUndefined();
  });
});

describe('unknown fields at any depth', () => {
  it('suggests the closest field the schema has at that path, and none when nothing is close', () => {
    const file = problem('misspelt-fields.yaml');
    const check = checkEnvironmentFile(file);
    expect(check.environment).toBeUndefined();
    expect(check.issues.map((i) => `${i.line}: ${i.path}: ${i.message}`)).toEqual([
      '4: components.prometheus.replica: unknown field "replica"; did you mean "replicas"?',
      '8: components.prometheus.storage.storageClas: unknown field "storageClas"; did you mean "storageClass"?',
      '9: components.prometheus.qwertyuiop: unknown field "qwertyuiop"; known fields: enabled, replicas, resources, image, storage, retention, scrapeInterval, evaluationInterval, ingress, externalUrl, externalLabels, shards, remoteWrite',
      '15: alerting.receivers.slack.chanel: unknown field "chanel"; did you mean "channel"?',
    ]);
    expect(check.issues[2]?.message).not.toContain('did you mean');
  });
});

/** Each inline credential of the fixtures, by a substring that belongs to it alone. */
const SECRETS = [
  'PGPASSWORD-grafana-7d1e', // grafana database password
  '8c1f0a9e', // PagerDuty routing key
  'SMTPPASS-unseen-42', // under a Secret reference
  'hooks.slack.com', // a Slack webhook URL: the host already tells too much
  'XXXXSLACKSECRET',
  'T000/B000',
  'hunter2secret', // a webhook URL's password
  'BEARERSECRET', // a bearer token
  'tok_live',
  'PDPARENTSECRET', // a routing key written where the whole receiver belongs
  'PARENTSLACKSECRET',
  'SCHEMELESSSECRET', // a webhook URL without scheme, which the URL check cannot parse
  'MALFORMEDSECRET', // in a file the YAML parser refuses
];
const SECRET_FILES = ['inline-secrets.yaml', 'secret-in-parent.yaml', 'malformed-secret.yaml'];

describe('an inline credential is refused without printing any of it', () => {
  it('names every field that holds one, and no part of a credential appears in the error or its issues', () => {
    const error = refusal(SECRET_FILES.map(problem));
    const everything = `${error.message}\n${JSON.stringify(error.issues)}\n${JSON.stringify(error.errors.map((e) => e.issues))}`;
    for (const secret of SECRETS) expect(everything, secret).not.toContain(secret);
    expect(everything).not.toContain('(found');

    const paths = error.issues.map((i) => `${i.line}: ${i.path}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        '11: components.grafana.database.password',
        '15: alerting.receivers.pagerduty.routingKey',
        '20: alerting.receivers.email.authPassword',
        '23: alerting.receivers.slack.apiUrl',
        '25: alerting.receivers.webhook.url',
        '26: alerting.receivers.webhook.bearerToken',
        '4: alerting.receivers.pagerduty',
        '5: alerting.receivers.slack',
        '7: alerting.receivers.webhook.url',
        '7: ',
      ]),
    );
    expect(error.message).toContain('alerting.receivers.slack.apiUrl: must be a reference to a Kubernetes Secret ({ secretName, key }); credentials are never written inline\n');
    expect(error.message).toContain(`${problem('malformed-secret.yaml')}:7: (file): malformed YAML: a closing bracket, brace or quote is missing`);
  });

  it('prints none of it from the obstack command either', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'obstack-secrets-')), 'dist');
    for (const file of SECRET_FILES) {
      const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'obstack.js'), 'synth', '--env-file', problem(file), '--out', out], { cwd: ROOT, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain(`${problem(file)} is not a valid environment`);
      for (const secret of SECRETS) {
        expect(r.stderr, `${file}: ${secret}`).not.toContain(secret);
        expect(r.stdout, `${file}: ${secret}`).not.toContain(secret);
      }
    }
  });
});
