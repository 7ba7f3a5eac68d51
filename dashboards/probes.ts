import * as units from '@grafana/grafana-foundation-sdk/units';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS } from '../src/authoring/index.js';
import { type DashboardContext, labelVariable, promql, promqlInstant, section, sel, stackDashboard, statPanel, tablePanel, timeseriesPanel } from './common/index.js';

const S = sel('job=~"$job"', 'instance=~"$instance"');

/** The blackbox exporter's probes: which targets answer, how fast, with what status, and when their certificates expire. */
export function probes(_ctx: DashboardContext): DashboardBuilder {
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.probes,
    title: 'Probes',
    description: "The applications' liveness and readiness endpoints, URLs, TCP ports and TLS certificates as the blackbox exporter sees them from outside.",
    tags: ['probes', 'blackbox'],
    datasources: ['prometheus'],
  })
    .withVariable(labelVariable({ name: 'job', label: 'kind', series: 'probe_success' }))
    .withVariable(labelVariable({ name: 'instance', label: 'target', series: 'probe_success{job=~"$job"}' }));

  section(d, 'Now', [
    statPanel({
      title: 'Targets failing',
      description: 'Targets whose last probe failed (ProbeFailed, ApplicationNotReady after their durations).',
      baseColor: 'green',
      thresholds: [[1, 'red']],
      queries: [promql(`count(probe_success{${S}} == 0) or vector(0)`)],
    }),
    statPanel({
      title: 'Success over the range',
      description: 'Share of successful probes over the selected time range, all targets.',
      unit: units.PercentUnit,
      baseColor: 'red',
      thresholds: [[0.99, 'orange'], [0.999, 'green']],
      queries: [promql(`avg(avg_over_time(probe_success{${S}}[$__range]))`)],
    }),
    statPanel({
      title: 'Slowest probe',
      description: 'Duration of the slowest successful probe (ProbeSlow over 1 s).',
      unit: units.Seconds,
      thresholds: [[0.5, 'orange'], [1, 'red']],
      queries: [promql(`max(probe_duration_seconds{${S}} and on (job, instance) probe_success{${S}} == 1)`)],
    }),
    statPanel({
      title: 'First certificate to expire',
      description: 'Days until the earliest certificate of any probed TLS target expires (TlsCertificateExpiringSoon at 14 days, TlsCertificateExpiryCritical at 3).',
      unit: units.Days,
      baseColor: 'green',
      thresholds: [[0, 'red'], [3, 'orange'], [14, 'green']],
      queries: [promql(`min((probe_ssl_earliest_cert_expiry{${S}} - time()) / 86400)`)],
    }),
  ]);

  section(d, 'Targets', [
    tablePanel({
      title: 'Targets',
      description: 'Every probed target with its last result, duration and HTTP status.',
      w: 24,
      queries: [
        promqlInstant(`probe_success{${S}}`, 'success'),
        promqlInstant(`probe_duration_seconds{${S}}`, 'duration'),
        promqlInstant(`probe_http_status_code{${S}}`, 'status'),
      ],
    }),
    timeseriesPanel({
      title: 'Success by target',
      description: 'Each target: 1 when its probe succeeds, 0 when it fails.',
      unit: units.Short,
      queries: [promql(`probe_success{${S}}`, '{{instance}}')],
    }),
    timeseriesPanel({
      title: 'Probe duration by target',
      description: 'How long each probe takes, DNS to last byte.',
      unit: units.Seconds,
      queries: [promql(`probe_duration_seconds{${S}}`, '{{instance}}')],
    }),
    timeseriesPanel({
      title: 'HTTP phases',
      description: 'Where the time of HTTP probes goes: resolve, connect, tls, processing, transfer.',
      unit: units.Seconds,
      stacked: true,
      queries: [promql(`sum by (phase) (probe_http_duration_seconds{${S}})`, '{{phase}}')],
    }),
    timeseriesPanel({
      title: 'HTTP status codes',
      description: 'The status code each HTTP target answers with (0: no answer).',
      unit: units.Short,
      queries: [promql(`probe_http_status_code{${S}}`, '{{instance}}')],
    }),
    timeseriesPanel({
      title: 'Certificate expiry',
      description: 'Days until the earliest certificate of each TLS target expires.',
      unit: units.Days,
      queries: [promql(`(probe_ssl_earliest_cert_expiry{${S}} - time()) / 86400`, '{{instance}}')],
    }),
  ]);
  return d;
}
