import type { AlertRule, AlertTest, Duration, Environment, ExpectedLabels, Severity } from '../src/authoring/index.js';
import { alert, humanDuration } from '../src/authoring/index.js';

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

/** `up == 0` for one scrape job, with its two cases. */
export function jobDown(
  runbook: (name: string) => string,
  def: { alert: string; job: string; service: string; severity: Severity; for?: Duration; what: string },
): AlertRule {
  const instance = `${def.job}-0:9000`;
  return alert({
    alert: def.alert,
    expr: `up{job="${def.job}"} == 0`,
    for: def.for ?? '5m',
    severity: def.severity,
    service: def.service,
    summary: `${def.what} {{ $labels.instance }} cannot be scraped`,
    description: ({ for: f }) => `Prometheus has failed to scrape {{ $labels.instance }} (job ${def.job}) for ${humanDuration(f)}: it is down or unreachable, and its alerts cannot fire.`,
    runbook: runbook(def.alert),
    tests: [
      firesWhen('the target fails every scrape', { [`up{job="${def.job}",instance="${instance}"}`]: '0x20' }, '10m', { job: def.job, instance }),
      silentWhen('the target is up', { [`up{job="${def.job}",instance="${instance}"}`]: '1x20' }, '10m'),
      silentWhen(`the target was down for less than ${def.for ?? '5m'}`, { [`up{job="${def.job}",instance="${instance}"}`]: '1x6 0x4' }, '10m'),
    ],
  });
}
