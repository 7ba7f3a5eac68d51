/** Teams shared by the teams suites. */
export const ref = (secretName: string, key = 'key') => ({ secretName, key });

/** Two teams: payments pages and e-mails (and has a webhook), search pages and uses Slack. */
export const TEAMS = {
  payments: {
    namespaces: ['payments', 'billing'],
    services: ['ledger.v2'],
    receivers: {
      pagerduty: { routingKey: ref('payments-pagerduty', 'routing-key') },
      email: { to: ['payments@example.com'], from: 'alertmanager@example.com', smarthost: 'smtp.example.com:2525', authPassword: ref('payments-smtp', 'password') },
      webhook: { url: 'https://hooks.example.com:8443/payments', bearerToken: ref('payments-hook', 'token') },
    },
  },
  search: {
    namespaces: ['search'],
    receivers: {
      pagerduty: { routingKey: ref('search-pagerduty', 'routing-key') },
      slack: { channel: '#search-alerts', apiUrl: ref('search-slack', 'webhook-url') },
    },
    grafana: { folder: 'Search & Discovery' },
  },
};
