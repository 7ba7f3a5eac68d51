import type { AlertTest, ExpectedLabels } from './rules.js';
import { runbookPageUrl } from './runbook.js';
import type { Duration, Environment } from './types.js';

/**
 * The runbook link of an alert: its page under the environment's runbook base,
 * `<alerting.runbookBaseUrl>/<alert name in kebab case>.md`; obstack writes that
 * page into `dist/<env>.files/runbooks/`.
 */
export function runbooks(env: Environment): (alertName: string) => string {
  return (name) => runbookPageUrl(env.alerting.runbookBaseUrl, name);
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
