import { defineDashboard, labelVariable, promql, quantile, section, stackDashboard, sumRate, timeseriesPanel, units } from 'obstack';

/** Payments at a glance: requests, gateway errors and latency. In the payments team's folder. */
export default defineDashboard({
  uid: 'payments-overview',
  team: 'payments',
  requires: ['prometheus'],
  build: () => {
    const d = stackDashboard({ uid: 'payments-overview', title: 'Payments', description: 'The payments API and its card gateway.', datasources: ['prometheus'] })
      .withVariable(labelVariable({ name: 'namespace', series: 'payments_requests_total' }));
    return section(d, 'Payments', [
      timeseriesPanel({
        title: 'Requests by code',
        description: 'Requests per second to the payments API, by HTTP status code; 5xx burn the SLO.',
        unit: units.RequestsPerSecond,
        queries: [promql(sumRate('payments_requests_total', 'namespace=~"$namespace"', ['code']), '{{code}}')],
      }),
      timeseriesPanel({
        title: 'Gateway error ratio',
        description: 'Share of the calls to the card gateway that failed. PaymentsGatewayErrors fires above 2% for 5 minutes.',
        unit: units.PercentUnit,
        queries: [promql(`${sumRate('payments_gateway_errors_total', 'namespace=~"$namespace"')} / ${sumRate('payments_gateway_requests_total', 'namespace=~"$namespace"')}`, 'errors')],
      }),
      timeseriesPanel({
        title: 'Gateway latency (p95)',
        description: '95th percentile of a card gateway call.',
        unit: units.Seconds,
        queries: [promql(quantile(0.95, 'payments_gateway_latency_seconds', 'namespace=~"$namespace"'))],
      }),
    ]);
  },
});
