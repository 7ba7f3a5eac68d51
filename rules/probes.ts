import { alert, type Environment, firesWhen, group, humanDuration, humanNumber, type RuleGroup, runbooks, silentWhen } from '../src/authoring/index.js';
import { jobDown } from './common.js';

// Labels as the probe jobs write them (src/constructs/exporters/blackbox-exporter.ts): the probed URL is the instance.
const LIVE = 'job="probe-liveness",instance="http://api.shop.svc:8000/health/live",namespace="shop",service="api"';
const LIVE_L = { job: 'probe-liveness', instance: 'http://api.shop.svc:8000/health/live', namespace: 'shop', service: 'api' };
const READY = 'job="probe-readiness",instance="http://api.shop.svc:8000/health/ready",namespace="shop",service="api"';
const READY_L = { job: 'probe-readiness', instance: 'http://api.shop.svc:8000/health/ready', namespace: 'shop', service: 'api' };
const TLS = 'job="probe-tls",instance="shop.example.com:443",service="shop.example.com"';
const TLS_L = { job: 'probe-tls', instance: 'shop.example.com:443', service: 'shop.example.com' };
const DAY = 86400;

/**
 * The blackbox exporter's probes: applications' health endpoints, URLs, TCP
 * ports and TLS certificates, seen from outside. Every probe series carries
 * the `service` it is about (the application, or the probed host), so the
 * alerts route to the team that owns it.
 */
export function probeRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  const service = '{{ $labels.service }}';
  /** Seconds left before expiry, as the series of a certificate that expires `days` after the first sample. */
  const expiry = (days: number) => ({ [`probe_ssl_earliest_cert_expiry{${TLS}}`]: `${days * DAY}x180` });
  return [
    group({
      name: 'obstack.probes',
      rules: [
        jobDown(runbook, { alert: 'BlackboxExporterDown', job: 'blackbox-exporter', service: 'blackbox-exporter', severity: 'P3', what: 'The blackbox exporter' }),
        alert({
          alert: 'ProbeFailed',
          // Liveness, the listed URLs and ports, and TLS handshakes (an expired or untrusted certificate fails it).
          expr: 'probe_success{job=~"probe-(liveness|http|tcp|tls)"} == 0',
          for: '5m',
          severity: 'P2',
          service,
          summary: '{{ $labels.instance }} fails its {{ $labels.job }} probe',
          description: ({ for: f }) =>
            `The blackbox exporter has not been able to reach {{ $labels.instance }} with a good answer for ${humanDuration(f)}: it is down, answers with an error status, refuses connections, or its certificate is not trusted. Users see the same.`,
          runbook: runbook('ProbeFailed'),
          tests: [
            firesWhen('the liveness endpoint fails', { [`probe_success{${LIVE}}`]: '0x10' }, '8m', LIVE_L),
            firesWhen('the TLS handshake fails', { [`probe_success{${TLS}}`]: '0x10' }, '8m', TLS_L),
            silentWhen('the liveness endpoint answers', { [`probe_success{${LIVE}}`]: '1x10' }, '8m'),
            silentWhen('only the readiness endpoint fails', { [`probe_success{${READY}}`]: '0x10' }, '8m'),
          ],
        }),
        alert({
          alert: 'ApplicationNotReady',
          expr: 'probe_success{job="probe-readiness"} == 0',
          for: '10m',
          severity: 'P3',
          service,
          summary: '{{ $labels.service }} reports itself not ready',
          description: ({ for: f }) =>
            `{{ $labels.instance }} has not answered 2xx for ${humanDuration(f)}: the application says a dependency (database, cache, another service) is missing, and Kubernetes sends it no traffic while it says so.`,
          runbook: runbook('ApplicationNotReady'),
          tests: [
            firesWhen('the readiness endpoint answers 503', { [`probe_success{${READY}}`]: '0x15' }, '12m', READY_L),
            silentWhen('the readiness endpoint answers 200', { [`probe_success{${READY}}`]: '1x15' }, '12m'),
          ],
        }),
        alert({
          alert: 'ProbeSlow',
          threshold: 1,
          expr: (t) => `probe_duration_seconds{job=~"probe-.+"} > ${t} and on (job, instance) probe_success == 1`,
          for: '10m',
          severity: 'P4',
          service,
          summary: ({ threshold }) => `{{ $labels.instance }} takes more than ${humanNumber(threshold)}s to answer its probe`,
          description: ({ threshold, for: f }) =>
            `Probes of {{ $labels.instance }} have succeeded but taken more than ${humanNumber(threshold)}s for ${humanDuration(f)} ({{ printf "%.2f" $value }}s now): users wait as long.`,
          runbook: runbook('ProbeSlow'),
          tests: [
            firesWhen('answers take 3 s', { [`probe_duration_seconds{${LIVE}}`]: '3x15', [`probe_success{${LIVE}}`]: '1x15' }, '12m', LIVE_L),
            silentWhen('answers take 50 ms', { [`probe_duration_seconds{${LIVE}}`]: '0.05x15', [`probe_success{${LIVE}}`]: '1x15' }, '12m'),
            silentWhen('the probe times out (ProbeFailed says so)', { [`probe_duration_seconds{${LIVE}}`]: '5x15', [`probe_success{${LIVE}}`]: '0x15' }, '12m'),
          ],
        }),
        alert({
          alert: 'TlsCertificateExpiringSoon',
          threshold: 14,
          expr: (t) => `(probe_ssl_earliest_cert_expiry - time()) / 86400 < ${t}`,
          for: '1h',
          severity: 'P3',
          service,
          summary: '{{ $labels.instance }} presents a certificate that expires in {{ printf "%.0f" $value }} days',
          description: ({ threshold }) =>
            `A certificate of the chain {{ $labels.instance }} presents expires in less than ${humanNumber(threshold)} days: renew it (or find why cert-manager did not), before clients refuse the connection.`,
          runbook: runbook('TlsCertificateExpiringSoon'),
          tests: [
            firesWhen('the certificate expires in 10 days', expiry(10), '2h', TLS_L, { interval: '1m' }),
            silentWhen('the certificate expires in 60 days', expiry(60), '2h'),
          ],
        }),
        alert({
          alert: 'TlsCertificateExpiryCritical',
          threshold: 3,
          expr: (t) => `(probe_ssl_earliest_cert_expiry - time()) / 86400 < ${t}`,
          for: '10m',
          severity: 'P2',
          service,
          summary: '{{ $labels.instance }} presents a certificate that expires in {{ printf "%.1f" $value }} days',
          description: ({ threshold }) =>
            `A certificate of the chain {{ $labels.instance }} presents expires in less than ${humanNumber(threshold)} days: when it does, every client refuses the connection.`,
          runbook: runbook('TlsCertificateExpiryCritical'),
          tests: [
            firesWhen('the certificate expires in 2 days', expiry(2), '30m', TLS_L),
            silentWhen('the certificate expires in 10 days', expiry(10), '30m'),
          ],
        }),
      ],
    }),
  ];
}
