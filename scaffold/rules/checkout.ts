import { alert, defineRules, firesWhen, group, percent, runbooks, silentWhen } from 'obstack';

/**
 * The checkout alerts, compiled to dist/<env>.files/rules/checkout.yaml. Every alert
 * is the shop team's (a `team="shop"` label, routed to its receivers), links
 * to the checkout dashboard, and its cases run in `promtool test rules`.
 */
const SERIES = 'job="kubernetes-service-endpoints",namespace="shop",service="checkout"';

export default defineRules({
  team: 'shop',
  dashboard: 'shop-checkout',
  rules: (env) => {
    const runbook = runbooks(env);
    return [
      group({
        name: 'shop.checkout',
        rules: [
          alert({
            alert: 'CheckoutOrdersFailing',
            threshold: 0.05,
            expr: (t) =>
              `sum by (namespace, service) (rate(checkout_orders_total{service="checkout",status="failed"}[5m])) / sum by (namespace, service) (rate(checkout_orders_total{service="checkout"}[5m])) > ${t}`,
            for: '10m',
            severity: 'P2',
            service: 'checkout',
            summary: 'Checkout fails {{ $value | humanizePercentage }} of its orders',
            description: ({ threshold }) => `More than ${percent(threshold)} of the orders placed in {{ $labels.namespace }} have failed.`,
            runbook: runbook('CheckoutOrdersFailing'),
            tests: [
              firesWhen(
                'a tenth of the orders fail',
                { [`checkout_orders_total{${SERIES},status="failed"}`]: '0+1x30', [`checkout_orders_total{${SERIES},status="paid"}`]: '0+9x30' },
                '20m',
                { namespace: 'shop', service: 'checkout' },
              ),
              silentWhen('one order in a hundred fails', {
                [`checkout_orders_total{${SERIES},status="failed"}`]: '0+1x30',
                [`checkout_orders_total{${SERIES},status="paid"}`]: '0+99x30',
              }, '20m'),
            ],
          }),
        ],
      }),
    ];
  },
});
