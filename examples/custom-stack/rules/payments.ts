import { alert, defineRules, firesWhen, group, humanDuration, percent, runbooks, silentWhen, slo } from 'obstack';

const API = 'job="payments-gateway",namespace="payments",service="payments-api"';

/**
 * The payments team's alerts: the card gateway failing, and the availability
 * SLO of the payments API (four burn-rate alerts from one definition).
 */
export default defineRules({
  team: 'payments',
  dashboard: 'payments-overview',
  rules: (env) => {
    const runbook = runbooks(env);
    return [
      group({
        name: 'payments.gateway',
        rules: [
          alert({
            alert: 'PaymentsGatewayErrors',
            threshold: 0.02,
            expr: (t) =>
              `sum by (namespace, service) (rate(payments_gateway_errors_total[5m])) / sum by (namespace, service) (rate(payments_gateway_requests_total[5m])) > ${t}`,
            for: '5m',
            severity: 'P2',
            service: 'payments-api',
            summary: 'The card gateway fails {{ $value | humanizePercentage }} of the payments',
            description: ({ threshold, for: f }) => `More than ${percent(threshold)} of the calls to the card gateway have failed for ${humanDuration(f ?? '5m')}.`,
            runbook: runbook('PaymentsGatewayErrors'),
            tests: [
              firesWhen(
                'a tenth of the gateway calls fail',
                { [`payments_gateway_errors_total{${API}}`]: '0+1x30', [`payments_gateway_requests_total{${API}}`]: '0+10x30' },
                '20m',
                { namespace: 'payments', service: 'payments-api' },
              ),
              silentWhen('one call in a thousand fails', {
                [`payments_gateway_errors_total{${API}}`]: '0+1x30',
                [`payments_gateway_requests_total{${API}}`]: '0+1000x30',
              }, '20m'),
            ],
          }),
        ],
      }),
      ...slo({
          service: 'payments-api',
          name: 'payments',
          objective: 99.9,
          window: '30d',
          errors: 'payments_requests_total{service="payments-api",code=~"5.."}',
          total: 'payments_requests_total{service="payments-api"}',
          runbook: runbook('PaymentsErrorBudgetBurn'),
          testSeries: {
            error: 'payments_requests_total{service="payments-api",code="500"}',
            good: 'payments_requests_total{service="payments-api",code="200"}',
          },
        }),
    ];
  },
});
