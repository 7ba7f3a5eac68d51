import { defineDashboard, labelVariable, promql, quantile, section, stackDashboard, sumRate, timeseriesPanel, units } from 'obstack';

/** The checkout service: orders and payment latency. In the shop team's Grafana folder. */
export default defineDashboard({
  uid: 'shop-checkout',
  team: 'shop',
  requires: ['prometheus'],
  build: () => {
    const d = stackDashboard({ uid: 'shop-checkout', title: 'Checkout', description: 'Orders and payments of the checkout service.', datasources: ['prometheus'] })
      .withVariable(labelVariable({ name: 'namespace', series: 'checkout_orders_total' }));
    return section(d, 'Orders', [
      timeseriesPanel({
        title: 'Orders by status',
        description: 'Orders per second, by how they ended. A rise of "failed" is what CheckoutOrdersFailing pages on.',
        unit: units.RequestsPerSecond,
        queries: [promql(sumRate('checkout_orders_total', 'namespace=~"$namespace"', ['status']), '{{status}}')],
      }),
      timeseriesPanel({
        title: 'Payment latency (p95)',
        description: '95th percentile of the time a payment takes.',
        unit: units.Seconds,
        queries: [promql(quantile(0.95, 'checkout_payment_duration_seconds', 'namespace=~"$namespace"'))],
      }),
    ]);
  },
});
