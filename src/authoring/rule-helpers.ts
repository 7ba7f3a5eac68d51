import type { AlertTest, ExpectedLabels } from './rules.js';
import type { Duration, Environment } from './types.js';

/** The runbook link of an alert: the environment's runbook base plus `#<alert name in lower case>`. */
export function runbooks(env: Environment): (alertName: string) => string {
  return (name) => `${env.alerting.runbookBaseUrl}#${name.toLowerCase()}`;
}

interface CaseOptions {
  readonly interval?: Duration;
  readonly evaluationInterval?: Duration;
}

/** A promtool case proving the alert fires (with these label sets) at `at`. */
export function firesWhen(
  what: string,
  series: Readonly<Record<string, string>>,
  at: Duration,
  labels: ExpectedLabels | readonly ExpectedLabels[],
  opts: CaseOptions = {},
): AlertTest {
  return { name: `fires when ${what}`, series, at, fires: Array.isArray(labels) ? labels : [labels as ExpectedLabels], ...opts };
}

/** A promtool case proving the alert stays silent at `at`. */
export function silentWhen(what: string, series: Readonly<Record<string, string>>, at: Duration, opts: CaseOptions = {}): AlertTest {
  return { name: `stays silent when ${what}`, series, at, fires: [], ...opts };
}
