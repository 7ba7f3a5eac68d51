import { defineMetrics } from 'obstack';

/** What the payments API and its gateway client expose on /metrics. */
export default defineMetrics({
  source: 'payments',
  reference: 'payments-api /metrics (prometheus_client)',
  metrics: {
    payments_requests_total: 'counter',
    payments_gateway_errors_total: 'counter',
    payments_gateway_requests_total: 'counter',
    payments_gateway_latency_seconds: 'histogram',
  },
});
