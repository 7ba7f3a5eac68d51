import { type EnvironmentReferences, environmentReferenceIssues, environmentReferences } from '../authoring/references.js';
import {
  byLine,
  ConfigError,
  type ConfigIssue,
  checkEnvironmentFile,
  DEFAULTS,
  type Environment,
  EnvironmentFilesError,
  parseEnvironment,
} from '../config/index.js';
import { stackRuleGroups } from '../../rules/index.js';
import { STACK_DASHBOARDS } from '../../dashboards/index.js';

export type { EnvironmentReferences } from '../authoring/references.js';

/**
 * Loads environment files, all of them before anything else happens, and
 * refuses the run with one EnvironmentFilesError (a ConfigError) holding every
 * problem of every file: the schema's, the names `alerting.overrides` and
 * `dashboards.drop` refer to (from `references`, since users add their own
 * rule areas and dashboards), and two files with the same name. Each problem
 * names its file, line and dotted field path; no credential is ever printed.
 */
export function loadEnvironments(
  files: readonly string[],
  references: (env: Environment) => EnvironmentReferences,
): Environment[] {
  const envs: { env: Environment; file: string }[] = [];
  const errors: ConfigError[] = [];
  let standInReferences: EnvironmentReferences | undefined;
  for (const file of files) {
    const check = checkEnvironmentFile(file);
    const issues: ConfigIssue[] = [...check.issues];
    if (check.raw !== undefined) {
      // A file the schema refuses still gets its references checked, against a stand-in: all three kinds of mistake in one run.
      const refs = check.environment !== undefined ? references(check.environment) : (standInReferences ??= references(standInEnvironment()));
      for (const issue of environmentReferenceIssues(check.raw, refs)) issues.push({ ...issue, line: check.lineOf(issue.path) });
    }
    const env = check.environment;
    const twin = env !== undefined ? envs.find((e) => e.env.name === env.name) : undefined;
    if (twin !== undefined) {
      issues.push({ path: 'name', message: `is also the name of ${twin.file}: both would be written to dist/${twin.env.name}`, line: check.lineOf('name') });
    }
    if (issues.length > 0) errors.push(new ConfigError(file, byLine(issues)));
    else if (env !== undefined) envs.push({ env, file });
  }
  if (errors.length > 0) throw new EnvironmentFilesError(errors);
  return envs.map((e) => e.env);
}

/**
 * The environment whose alerts and dashboards a file is checked against when
 * the schema refuses it (there is no environment of its own to ask). The
 * shipped rule areas in rules/*.ts use the environment only for runbook links,
 * so every environment has the same alert names (a test holds this); the
 * stand-in still enables every component, so that a rule area that adds
 * alerts only with its component yields all of its names: a name valid in
 * some environment is not reported, and the file's own environment checks it
 * again once the schema passes.
 */
export function standInEnvironment(): Environment {
  const components: Record<string, Record<string, unknown>> = Object.fromEntries(Object.keys(DEFAULTS.components ?? {}).map((name) => [name, { enabled: true }]));
  // What some alerts ship only with: Thanos's bucket, a remote-write endpoint.
  components.thanos = { ...components.thanos, objectStorage: { secretName: 'stand-in', key: 'objstore.yml' } };
  components.prometheus = { ...components.prometheus, remoteWrite: [{ name: 'stand-in', url: 'http://stand-in.stand-in.svc:9090/api/v1/write' }] };
  return parseEnvironment(
    {
      name: 'stand-in',
      components,
      alerting: {
        receivers: {
          pagerduty: { routingKey: { secretName: 'stand-in', key: 'routing-key' } },
          slack: { channel: '#stand-in', apiUrl: { secretName: 'stand-in', key: 'webhook-url' } },
        },
      },
    },
    '<stand-in environment>',
  );
}

/** The alerts and dashboards the stack ships, as an environment's references: what `obstack synth` checks files against. */
export function shippedReferences(env: Environment): EnvironmentReferences {
  return environmentReferences(stackRuleGroups(env), STACK_DASHBOARDS.map((d) => d.uid));
}
