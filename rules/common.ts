import type { AlertRule, Duration, Severity } from '../src/authoring/index.js';
import { alert, firesWhen, humanDuration, silentWhen } from '../src/authoring/index.js';

export { firesWhen, runbooks, silentWhen } from '../src/authoring/index.js';

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
