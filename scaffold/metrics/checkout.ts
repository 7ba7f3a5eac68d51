import { defineMetrics } from 'obstack';

/**
 * What the checkout service exposes on /metrics. The checks refuse a rule or
 * a panel that reads a metric nobody produces, and `rate()` over a gauge:
 * declare each metric your services expose, with its type.
 */
export default defineMetrics({
  source: 'checkout',
  reference: 'the checkout service, /metrics (prom-client)',
  metrics: {
    checkout_orders_total: 'counter',
    checkout_payment_duration_seconds: 'histogram',
  },
});
