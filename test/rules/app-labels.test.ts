import { describe, expect, it } from 'vitest';
import { applicationRules } from '../../rules/application.js';
import { type AlertTest, compileRuleTests, firesWhen, isAlert, type RuleGroup, silentWhen } from '../../src/authoring/index.js';
import { runRuleTests } from '../../src/validate/rules-tests.js';
import { example } from '../constructs/helpers.js';

/**
 * The shipped HTTP alerts against series named and labelled exactly as the
 * usual instrumentation exports them, not as the stack's own convention.
 */
const POD = 'job="kubernetes-pods",namespace="shop",service="orders",pod="orders-7d9c-x2x4q",instance="10.0.0.7:8000"';
const SL = { namespace: 'shop', service: 'orders' };
const per = (perMinute: number, samples = 30) => `0+${perMinute}x${samples}`;

/** prometheus-fastapi-instrumentator: `handler`, `method`, `status` as a class. */
const fastapiRequests = (errorsPerMinute: number, okPerMinute: number): Record<string, string> => ({
  [`http_requests_total{${POD},handler="/orders/{order_id}",method="GET",status="5xx"}`]: per(errorsPerMinute),
  [`http_requests_total{${POD},handler="/orders/{order_id}",method="GET",status="2xx"}`]: per(okPerMinute),
  [`http_requests_total{${POD},handler="/orders",method="POST",status="4xx"}`]: per(3),
});

/**
 * Its two histograms: `http_request_duration_seconds` with the buckets 0.1, 0.5
 * and 1 s only, and the unlabelled `http_request_duration_highr_seconds` with
 * finer buckets up to 60 s. When `slow`, every request takes between 3 and 5 s.
 */
const fastapiDurations = (slow: boolean): Record<string, string> => {
  const lowr: Record<string, string> = {};
  for (const le of ['0.1', '0.5', '1', '+Inf']) lowr[`http_request_duration_seconds_bucket{${POD},handler="/orders",method="GET",le="${le}"}`] = per(!slow || le === '+Inf' ? 10 : 0);
  const highr: Record<string, string> = {};
  for (const le of ['0.1', '0.5', '1', '2', '2.5', '3', '5', '10', '60', '+Inf']) highr[`http_request_duration_highr_seconds_bucket{${POD},le="${le}"}`] = per(!slow || Number(le) >= 5 || le === '+Inf' ? 10 : 0);
  return { ...lowr, ...highr };
};

/** OpenTelemetry HTTP semantic conventions as exported to Prometheus (seconds). */
const OTEL = `${POD},http_route="/orders/{order_id}",http_request_method="GET"`;
const otelRequests = (errorsPerMinute: number, okPerMinute: number): Record<string, string> => ({
  [`http_server_request_duration_seconds_count{${OTEL},http_response_status_code="503"}`]: per(errorsPerMinute),
  [`http_server_request_duration_seconds_count{${OTEL},http_response_status_code="200"}`]: per(okPerMinute),
});
const otelDurations = (slow: boolean): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const le of ['0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']) out[`http_server_request_duration_seconds_bucket{${OTEL},http_response_status_code="200",le="${le}"}`] = per(!slow || Number(le) >= 5 || le === '+Inf' ? 10 : 0);
  return out;
};

/** prometheus_client / the stack's convention with full codes under `status_code`. */
const classicRequests = (errorsPerMinute: number, okPerMinute: number): Record<string, string> => ({
  [`http_requests_total{${POD},route="/orders",method="GET",status_code="500"}`]: per(errorsPerMinute),
  [`http_requests_total{${POD},route="/orders",method="GET",status_code="200"}`]: per(okPerMinute),
});

const CASES: Record<string, AlertTest[]> = {
  HighErrorRate: [
    firesWhen('a tenth of the requests of a FastAPI service fail (status="5xx")', fastapiRequests(10, 87), '20m', SL),
    silentWhen('1% of the requests of a FastAPI service fail', fastapiRequests(1, 96), '20m'),
    firesWhen('a tenth of the requests of an OpenTelemetry service fail (http_response_status_code="503")', otelRequests(1, 9), '20m', SL),
    silentWhen('1% of the requests of an OpenTelemetry service fail', otelRequests(1, 99), '20m'),
    firesWhen('a tenth of the requests of a prometheus_client service fail (status_code="500")', classicRequests(1, 9), '20m', SL),
    silentWhen('1% of the requests of a prometheus_client service fail', classicRequests(1, 99), '20m'),
  ],
  HighLatencyP95: [
    firesWhen('a FastAPI service answers in 3-5 s (its fine-bucket histogram)', fastapiDurations(true), '15m', SL),
    silentWhen('a FastAPI service answers in 100 ms', fastapiDurations(false), '15m'),
    firesWhen('an OpenTelemetry service answers in 3-5 s', otelDurations(true), '15m', SL),
    silentWhen('an OpenTelemetry service answers in 50 ms', otelDurations(false), '15m'),
  ],
};

describe('the HTTP alerts on the labels real applications emit', () => {
  const groups: RuleGroup[] = applicationRules(example('prod')).map((g) => ({
    ...g,
    rules: g.rules.filter((r) => isAlert(r) && r.name in CASES).map((r) => ({ ...r, tests: CASES[r.name] ?? [] })),
  }));

  it('fire on prometheus-fastapi-instrumentator, OpenTelemetry and prometheus_client series, and stay silent when healthy', () => {
    expect(groups.flatMap((g) => g.rules.map((r) => r.name)).sort()).toEqual(Object.keys(CASES).sort());
    const compiled = compileRuleTests({ 'app-labels.yaml': groups });
    expect(compiled.cases).toBe(Object.values(CASES).flat().length);
    const result = runRuleTests(compiled);
    expect(result.output).not.toContain('FAILED');
    expect(result.ok).toBe(true);
  });

  it('read no route, handler or method label, so either spelling is summed the same way', () => {
    for (const r of groups.flatMap((g) => g.rules)) expect(r.expr).not.toMatch(/\b(route|handler|method|http_route|http_request_method)\b/);
  });
});
