import { describe, expect, it } from 'vitest';
import { sloRules } from '../../rules/slos.js';
import { type AlertTest, BURN_RATE_WINDOWS, compileRuleTests, isAlert, type RuleGroup, type Severity } from '../../src/authoring/index.js';
import { runRuleTests } from '../../src/validate/rules-tests.js';
import { example } from '../constructs/helpers.js';

/**
 * The applications' availability SLO (`api`) against requests counted the way
 * the usual instrumentation counts them: the recorded error ratios and the
 * burn-rate alerts must read every spelling, and a series two selectors
 * match (a status class that also fits `status_code`) must count once.
 */
const POD = 'job="kubernetes-pods",namespace="shop",service="orders",pod="orders-7d9c-x2x4q",instance="10.0.0.7:8000"';
const SAMPLES = 200;
const PER_MINUTE = 1000;

/** An error and a good series of one spelling; `errorShare` of the requests fail. */
type Spelling = (errorShare: number) => Record<string, string>;
const counters = (error: string, good: string): Spelling => (errorShare) => {
  const bad = Number((PER_MINUTE * errorShare).toPrecision(6));
  return { [error]: `0+${bad}x${SAMPLES}`, [good]: `0+${Number((PER_MINUTE - bad).toPrecision(6))}x${SAMPLES}` };
};

const SPELLINGS: Record<string, Spelling> = {
  'prometheus-fastapi-instrumentator (handler, status="5xx")': counters(
    `http_requests_total{${POD},handler="/orders/{order_id}",method="GET",status="5xx"}`,
    `http_requests_total{${POD},handler="/orders/{order_id}",method="GET",status="2xx"}`,
  ),
  'prometheus_client (route, status_code="500")': counters(
    `http_requests_total{${POD},route="/orders",method="GET",status_code="500"}`,
    `http_requests_total{${POD},route="/orders",method="GET",status_code="200"}`,
  ),
  'OpenTelemetry (http_route, http_response_status_code="503")': counters(
    `http_server_request_duration_seconds_count{${POD},http_route="/orders/{order_id}",http_request_method="GET",http_response_status_code="503"}`,
    `http_server_request_duration_seconds_count{${POD},http_route="/orders/{order_id}",http_request_method="GET",http_response_status_code="200"}`,
  ),
  // Both status labels on one series: matched by two error selectors, counted once.
  'status and status_code both set': counters(
    `http_requests_total{${POD},route="/orders",status="500",status_code="500"}`,
    `http_requests_total{${POD},route="/orders",status="200",status_code="200"}`,
  ),
};

const BUDGET = 1 - 0.999;
const fired = (severities: readonly Severity[]) =>
  BURN_RATE_WINDOWS.filter((w) => severities.includes(w.severity)).map((w) => ({ slo: 'api', long: w.long, short: w.short, severity: w.severity }));
const CASES: AlertTest[] = Object.entries(SPELLINGS).flatMap(([name, series]) => [
  { name: `${name}: every request fails, all four burn rates fire`, series: series(1), at: '3h10m', fires: fired(['P1', 'P2', 'P3', 'P4']), evaluationInterval: '5m' },
  { name: `${name}: the budget burns 4x, only the tickets fire`, series: series(4 * BUDGET), at: '3h10m', fires: fired(['P3', 'P4']), evaluationInterval: '5m' },
  { name: `${name}: the budget burns 0.5x, silent`, series: series(0.5 * BUDGET), at: '3h10m', fires: [], evaluationInterval: '5m' },
]);

describe('the applications SLO on the labels real applications emit', () => {
  const groups: RuleGroup[] = sloRules(example('prod'))
    .filter((g) => g.name.startsWith('slo:api:'))
    .map((g) => ({ ...g, rules: g.rules.map((r, i) => (isAlert(r) ? { ...r, tests: i === 0 ? CASES : [] } : r)) }));

  it('burns its budget on FastAPI, prometheus_client and OpenTelemetry series alike, and stays silent within it', () => {
    expect(groups.map((g) => g.name)).toEqual(['slo:api:recordings', 'slo:api:alerts']);
    const compiled = compileRuleTests({ 'app-labels-slo.yaml': groups });
    expect(compiled.cases).toBe(CASES.length);
    const result = runRuleTests(compiled);
    expect(result.output).not.toContain('FAILED');
    expect(result.ok).toBe(true);
  });

  it('records the error ratio from every counter name, joined with or', () => {
    const ratio = groups[0]!.rules.find((r) => r.name === 'slo:sli_error:ratio_rate5m');
    expect(ratio?.expr).toContain('rate(http_server_request_duration_seconds_count{');
    expect(ratio?.expr).toMatch(/status=~"5\.\."\}\[5m\]\) or rate\(http_requests_total\{[^}]*status_code=~"5\.\."/);
  });
});
