import { type Environment, type RuleGroup, runbooks, slo } from '../src/authoring/index.js';
import { APP_JOBS, HTTP_COUNTERS } from './application.js';

/**
 * The service level objectives: API availability of the applications and of
 * the ingest service, 99.9% over 30 days, with the SRE workbook's burn-rate
 * alerts (the 14.4x window uses 1h and 5m: availability below 99.9% over 5
 * minutes pages only while it also holds over the hour).
 */
export function sloRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  return [
    ...slo({
      service: 'api',
      objective: 99.9,
      window: '30d',
      // Each counter name and status label the usual instrumentation exports (rules/application.ts).
      errors: HTTP_COUNTERS.flatMap((c) => c.errors.map((e) => `${c.name}{${APP_JOBS},${e}}`)),
      total: HTTP_COUNTERS.map((c) => `${c.name}{${APP_JOBS}}`),
      runbook: runbook('ApiErrorBudgetBurn'),
      description: 'The applications answer 99.9% of their HTTP requests without a 5xx.',
      testSeries: {
        error: 'http_requests_total{job="kubernetes-pods",namespace="chat",service="chat-api",status="5xx"}',
        good: 'http_requests_total{job="kubernetes-pods",namespace="chat",service="chat-api",status="2xx"}',
      },
    }),
    ...slo({
      service: 'obstack-ingest',
      name: 'ingest',
      objective: 99.9,
      window: '30d',
      errors: 'http_requests_total{job="obstack-ingest",status_code=~"5.."}',
      total: 'http_requests_total{job="obstack-ingest"}',
      runbook: runbook('IngestErrorBudgetBurn'),
      description: 'The ingest service answers 99.9% of its requests without a 5xx.',
      testSeries: {
        error: 'http_requests_total{job="obstack-ingest",instance="ingest-0:3000",route="/api/v1/events",status_code="500"}',
        good: 'http_requests_total{job="obstack-ingest",instance="ingest-0:3000",route="/api/v1/events",status_code="202"}',
      },
    }),
  ];
}
