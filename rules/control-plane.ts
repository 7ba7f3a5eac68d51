import {
  alert,
  type AlertRule,
  type Duration,
  type Environment,
  firesWhen,
  group,
  humanDuration,
  humanNumber,
  percent,
  type RuleGroup,
  runbooks,
  type Severity,
  silentWhen,
} from '../src/authoring/index.js';
import { clusterRules } from './control-plane-cluster.js';
import { JOBS, type Runbook, series } from './control-plane-common.js';

/**
 * A part is down when no target of its job answers, including when discovery
 * finds none (its pods moved, its labels changed, it listens on 127.0.0.1
 * only): `absent(up == 1)`, as kube-prometheus writes it. For a part the
 * environment does not scrape the alert keeps its name (every environment
 * ships the same alerts, so overrides are checked alike) but reads only
 * failing targets, of which there are none: it cannot fire.
 */
function partDown(runbook: Runbook, scraped: boolean, def: { alert: string; job: string; service: string; severity: Severity; what: string; for?: Duration }): AlertRule {
  const up = series('up', { job: def.job, instance: '10.0.0.1:1' });
  return alert({
    alert: def.alert,
    expr: scraped ? `absent(up{job="${def.job}"} == 1)` : `max by (job) (up{job="${def.job}"}) == 0`,
    for: def.for ?? '15m',
    severity: def.severity,
    service: def.service,
    summary: `${def.what} cannot be scraped`,
    description: ({ for: f }) =>
      `No target of job ${def.job} has answered Prometheus for ${humanDuration(f)}, or none is discovered: ${def.what} is down, unreachable from Prometheus, or listens on 127.0.0.1 only.`,
    runbook: runbook(def.alert),
    tests: [
      firesWhen('every target fails its scrapes', { [up]: '0x30' }, '20m', scraped ? {} : { job: def.job }),
      ...(scraped
        ? [firesWhen('no target is discovered at all', { [series('up', { job: 'other', instance: 'x:1' })]: '1x30' }, '20m', {})]
        : [silentWhen('the part is not scraped (no target at all)', { [series('up', { job: 'other', instance: 'x:1' })]: '1x30' }, '20m')]),
      silentWhen('a target answers', { [up]: '1x30' }, '20m'),
    ],
  });
}

/** The API server: availability, errors, latency, terminated requests, certificates, aggregated APIs, versions. */
function apiServerRules(runbook: Runbook, scraped: boolean): RuleGroup {
  const service = 'kube-apiserver';
  const J = `job="${JOBS.apiServer}"`;
  const req = (code: string, verb = 'GET') => series('apiserver_request_total', { job: JOBS.apiServer, instance: 'a', verb, code });
  const sli = (le: string) => series('apiserver_request_sli_duration_seconds_bucket', { job: JOBS.apiServer, instance: 'a', verb: 'GET', le });
  const cert = (le: string) => series('apiserver_client_certificate_expiration_seconds_bucket', { job: JOBS.apiServer, instance: 'a', le });
  const certCount = series('apiserver_client_certificate_expiration_seconds_count', { job: JOBS.apiServer, instance: 'a' });
  const CERT_LES = ['86400', '172800', '604800', '2592000', '+Inf'];
  const aggregated = { job: JOBS.apiServer, instance: 'a', name: 'v1beta1.metrics.k8s.io', namespace: 'kube-system' };
  return group({
    name: 'obstack.control-plane.apiserver',
    rules: [
      partDown(runbook, scraped, { alert: 'KubeAPIDown', job: JOBS.apiServer, service, severity: 'P1', what: 'The Kubernetes API server' }),
      alert({
        alert: 'KubeAPIErrorsHigh',
        threshold: 0.05,
        expr: (t) => `sum by (job) (rate(apiserver_request_total{${J},code=~"5.."}[5m])) / sum by (job) (rate(apiserver_request_total{${J}}[5m])) > ${t}`,
        for: '10m',
        severity: 'P2',
        service,
        summary: 'The API server fails {{ $value | humanizePercentage }} of its requests',
        description: ({ threshold, for: f }) => `More than ${percent(threshold)} of the API server's requests have ended in a 5xx for ${humanDuration(f)}: controllers, kubectl and deployments fail with it.`,
        runbook: runbook('KubeAPIErrorsHigh'),
        tests: [
          firesWhen('a tenth of the requests fail', { [req('500')]: '0+10x30', [req('200')]: '0+90x30' }, '20m', { job: JOBS.apiServer }),
          silentWhen('1% of the requests fail', { [req('500')]: '0+1x30', [req('200')]: '0+99x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'KubeAPILatencyHigh',
        threshold: 1,
        expr: (t) =>
          `histogram_quantile(0.99, sum by (job, verb, le) (rate(apiserver_request_sli_duration_seconds_bucket{${J},verb!~"WATCH|CONNECT"}[5m]))) > ${t}`,
        for: '15m',
        severity: 'P3',
        service,
        summary: 'The API server answers {{ $labels.verb }} requests slowly',
        description: ({ threshold, for: f }) =>
          `The 99th percentile of {{ $labels.verb }} requests, without the time spent waiting in priority and fairness queues or on webhooks, has been above ${humanDuration(threshold)} for ${humanDuration(f)} (now {{ $value | humanizeDuration }}): etcd is slow or the API server is overloaded.`,
        runbook: runbook('KubeAPILatencyHigh'),
        tests: [
          firesWhen('every request takes between 2 and 4 seconds', { [sli('1')]: '0x30', [sli('4')]: '0+100x30', [sli('+Inf')]: '0+100x30' }, '25m', { job: JOBS.apiServer, verb: 'GET' }),
          silentWhen('every request takes under 100 milliseconds', { [sli('0.1')]: '0+100x30', [sli('1')]: '0+100x30', [sli('4')]: '0+100x30', [sli('+Inf')]: '0+100x30' }, '25m'),
        ],
      }),
      alert({
        alert: 'KubeAPITerminatedRequests',
        threshold: 0.2,
        expr: (t) =>
          `sum by (job) (rate(apiserver_request_terminations_total{${J}}[10m])) / (sum by (job) (rate(apiserver_request_total{${J}}[10m])) + sum by (job) (rate(apiserver_request_terminations_total{${J}}[10m]))) > ${t}`,
        for: '5m',
        severity: 'P3',
        service,
        summary: 'The API server terminates {{ $value | humanizePercentage }} of its incoming requests',
        description: ({ threshold }) => `More than ${percent(threshold)} of the requests reaching the API server are terminated before they are served (priority and fairness queues full, timeouts): clients are being throttled.`,
        runbook: runbook('KubeAPITerminatedRequests'),
        tests: [
          firesWhen(
            'a third of the requests are terminated',
            { [series('apiserver_request_terminations_total', { job: JOBS.apiServer, instance: 'a', code: '429' })]: '0+50x30', [req('200')]: '0+100x30' },
            '20m',
            { job: JOBS.apiServer },
          ),
          silentWhen('no request is terminated', { [series('apiserver_request_terminations_total', { job: JOBS.apiServer, instance: 'a', code: '429' })]: '0x30', [req('200')]: '0+100x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'KubeClientCertificateExpiration',
        threshold: 604800,
        expr: (t) =>
          `apiserver_client_certificate_expiration_seconds_count{${J}} > 0 and on (job, instance) histogram_quantile(0.01, sum by (job, instance, le) (rate(apiserver_client_certificate_expiration_seconds_bucket{${J}}[5m]))) < ${t}`,
        for: '5m',
        severity: 'P3',
        service,
        summary: 'A client certificate used against the API server expires soon',
        description: ({ threshold }) =>
          `Clients present certificates to {{ $labels.instance }} that expire in less than ${humanDuration(threshold)}: rotate them before they are refused.`,
        runbook: runbook('KubeClientCertificateExpiration'),
        tests: [
          firesWhen(
            'clients present certificates that expire in under two days',
            { ...Object.fromEntries(CERT_LES.map((le) => [cert(le), le === '86400' ? '0x30' : '0+10x30'])), [certCount]: '0+10x30' },
            '20m',
            { job: JOBS.apiServer, instance: 'a' },
          ),
          silentWhen(
            'clients present certificates valid for weeks',
            { ...Object.fromEntries(CERT_LES.map((le) => [cert(le), ['2592000', '+Inf'].includes(le) ? '0+10x30' : '0x30'])), [certCount]: '0+10x30' },
            '20m',
          ),
        ],
      }),
      alert({
        alert: 'KubeAggregatedAPIErrors',
        threshold: 4,
        expr: (t) => `sum by (name, namespace) (increase(aggregator_unavailable_apiservice_total{${J}}[10m])) > ${t}`,
        severity: 'P3',
        service,
        summary: 'The aggregated API {{ $labels.name }} keeps becoming unavailable',
        description: ({ threshold }) =>
          `The API server marked {{ $labels.name }} ({{ $labels.namespace }}) unavailable more than ${humanNumber(threshold)} times in 10 minutes: \`kubectl top\`, the HPA or the extension behind it fail intermittently.`,
        runbook: runbook('KubeAggregatedAPIErrors'),
        tests: [
          firesWhen('it became unavailable once a minute', { [series('aggregator_unavailable_apiservice_total', { ...aggregated, reason: 'FailedDiscoveryCheck' })]: '0+1x30' }, '20m', {
            name: aggregated.name,
            namespace: aggregated.namespace,
          }),
          silentWhen('it stayed available', { [series('aggregator_unavailable_apiservice_total', { ...aggregated, reason: 'FailedDiscoveryCheck' })]: '3x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'KubeAggregatedAPIDown',
        threshold: 0.85,
        expr: (t) => `1 - max by (name, namespace) (avg_over_time(aggregator_unavailable_apiservice{${J}}[10m])) < ${t}`,
        for: '5m',
        severity: 'P3',
        service,
        summary: 'The aggregated API {{ $labels.name }} is down',
        description: ({ threshold }) => `{{ $labels.name }} ({{ $labels.namespace }}) was available less than ${percent(threshold)} of the last 10 minutes.`,
        runbook: runbook('KubeAggregatedAPIDown'),
        tests: [
          firesWhen('it is unavailable', { [series('aggregator_unavailable_apiservice', aggregated)]: '1x30' }, '20m', { name: aggregated.name, namespace: aggregated.namespace }),
          silentWhen('it is available', { [series('aggregator_unavailable_apiservice', aggregated)]: '0x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'KubeVersionMismatch',
        expr: `count(count by (git_version) (label_replace(kubernetes_build_info{job!~"coredns|kube-dns"}, "git_version", "$1", "git_version", "(v[0-9]*.[0-9]*).*"))) > 1`,
        for: '15m',
        severity: 'P4',
        service,
        summary: 'Kubernetes components run {{ $value }} different minor versions',
        description: 'The API server, kubelets, scheduler, controller-manager and kube-proxy do not all run the same minor version: an upgrade is half done.',
        runbook: runbook('KubeVersionMismatch'),
        tests: [
          firesWhen(
            'the kubelets lag a minor version behind',
            { [series('kubernetes_build_info', { job: JOBS.apiServer, instance: 'a', git_version: 'v1.30.2' })]: '1x30', [series('kubernetes_build_info', { job: JOBS.kubelet, instance: 'n1', git_version: 'v1.29.6' })]: '1x30' },
            '20m',
            {},
          ),
          silentWhen(
            'only the patch versions differ',
            { [series('kubernetes_build_info', { job: JOBS.apiServer, instance: 'a', git_version: 'v1.30.2' })]: '1x30', [series('kubernetes_build_info', { job: JOBS.kubelet, instance: 'n1', git_version: 'v1.30.1' })]: '1x30' },
            '20m',
          ),
        ],
      }),
    ],
  });
}

/** Errors the control-plane components themselves get from the API server. */
function clientErrorRules(runbook: Runbook): RuleGroup {
  const jobs = [JOBS.apiServer, JOBS.kubelet, JOBS.scheduler, JOBS.controllerManager, JOBS.kubeProxy];
  const J = `job=~"${jobs.join('|')}"`;
  const job = JOBS.kubelet;
  const rc = (code: string) => series('rest_client_requests_total', { job, instance: 'a', code, method: 'GET' });
  return group({
    name: 'obstack.control-plane.clients',
    rules: [
      alert({
        alert: 'KubeClientErrors',
        threshold: 0.01,
        expr: (t) => `sum by (job, instance) (rate(rest_client_requests_total{${J},code=~"5.."}[5m])) / sum by (job, instance) (rate(rest_client_requests_total{${J}}[5m])) > ${t}`,
        for: '15m',
        severity: 'P3',
        service: 'kube-apiserver',
        summary: '{{ $labels.job }} {{ $labels.instance }} gets errors from the API server',
        description: ({ threshold, for: f }) => `More than ${percent(threshold)} of the requests {{ $labels.job }} on {{ $labels.instance }} sends to the API server have failed with a 5xx for ${humanDuration(f)}.`,
        runbook: runbook('KubeClientErrors'),
        tests: [
          firesWhen('a tenth of its requests fail', { [rc('500')]: '0+10x30', [rc('200')]: '0+90x30' }, '25m', { job, instance: 'a' }),
          silentWhen('its requests succeed', { [rc('500')]: '0x30', [rc('200')]: '0+90x30' }, '25m'),
        ],
      }),
    ],
  });
}

/** etcd: members, quorum, leader, disk latency, database size, failed proposals and gRPC errors. */
function etcdRules(runbook: Runbook, scraped: boolean): RuleGroup {
  const service = 'etcd';
  const J = `job="${JOBS.etcd}"`;
  const member = (i: number) => ({ job: JOBS.etcd, instance: `10.0.0.${i}:2381` });
  const m1 = member(1);
  const hist = (metric: string, le: string) => series(`${metric}_bucket`, { ...m1, le });
  const slow = (metric: string, fast: string, slowLe: string) => ({ [hist(metric, fast)]: '0x30', [hist(metric, slowLe)]: '0+100x30', [hist(metric, '+Inf')]: '0+100x30' });
  const quick = (metric: string, fast: string, slowLe: string) => ({ [hist(metric, fast)]: '0+100x30', [hist(metric, slowLe)]: '0+100x30', [hist(metric, '+Inf')]: '0+100x30' });
  const grpc = (code: string) => series('grpc_server_handled_total', { ...m1, grpc_service: 'etcdserverpb.KV', grpc_method: 'Range', grpc_type: 'unary', grpc_code: code });
  return group({
    name: 'obstack.control-plane.etcd',
    rules: [
      partDown(runbook, scraped, { alert: 'EtcdDown', job: JOBS.etcd, service, severity: 'P2', what: 'etcd', for: '10m' }),
      alert({
        alert: 'EtcdMemberDown',
        expr: `up{${J}} == 0`,
        for: '10m',
        severity: 'P2',
        service,
        summary: 'etcd member {{ $labels.instance }} is down',
        description: ({ for: f }) => `Prometheus has not reached etcd member {{ $labels.instance }} for ${humanDuration(f)}: one more lost member may cost the cluster its quorum.`,
        runbook: runbook('EtcdMemberDown'),
        tests: [
          firesWhen('one of three members is down', { [series('up', m1)]: '0x30', [series('up', member(2))]: '1x30', [series('up', member(3))]: '1x30' }, '20m', m1),
          silentWhen('every member is up', { [series('up', m1)]: '1x30', [series('up', member(2))]: '1x30', [series('up', member(3))]: '1x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'EtcdInsufficientMembers',
        expr: `sum by (job) (up{${J}} == bool 1) < (count by (job) (up{${J}}) + 1) / 2`,
        for: '3m',
        severity: 'P1',
        service,
        summary: 'etcd has lost its quorum',
        description: 'Fewer than half of the etcd members answer: etcd refuses writes, so the API server cannot change anything in the cluster.',
        runbook: runbook('EtcdInsufficientMembers'),
        tests: [
          firesWhen('two of three members are down', { [series('up', m1)]: '0x30', [series('up', member(2))]: '0x30', [series('up', member(3))]: '1x30' }, '10m', { job: JOBS.etcd }),
          silentWhen('one of three members is down', { [series('up', m1)]: '0x30', [series('up', member(2))]: '1x30', [series('up', member(3))]: '1x30' }, '10m'),
        ],
      }),
      alert({
        alert: 'EtcdNoLeader',
        expr: `etcd_server_has_leader{${J}} == 0`,
        for: '1m',
        severity: 'P1',
        service,
        summary: 'etcd member {{ $labels.instance }} has no leader',
        description: 'The member sees no leader: it serves no writes, and the API server requests it handles fail.',
        runbook: runbook('EtcdNoLeader'),
        tests: [
          firesWhen('the member sees no leader', { [series('etcd_server_has_leader', m1)]: '0x10' }, '5m', m1),
          silentWhen('the member sees a leader', { [series('etcd_server_has_leader', m1)]: '1x10' }, '5m'),
        ],
      }),
      alert({
        alert: 'EtcdHighNumberOfLeaderChanges',
        threshold: 4,
        expr: (t) => `increase(etcd_server_leader_changes_seen_total{${J}}[15m]) >= ${t}`,
        for: '5m',
        severity: 'P3',
        service,
        summary: 'etcd changes leader often',
        description: ({ threshold }) => `etcd member {{ $labels.instance }} saw ${humanNumber(threshold)} or more leader changes within 15 minutes: its disks or network are too slow for its heartbeats.`,
        runbook: runbook('EtcdHighNumberOfLeaderChanges'),
        tests: [
          firesWhen('the leader changes every two minutes', { [series('etcd_server_leader_changes_seen_total', m1)]: '0+0.5x30' }, '25m', m1),
          silentWhen('the leader is stable', { [series('etcd_server_leader_changes_seen_total', m1)]: '2x30' }, '25m'),
        ],
      }),
      alert({
        alert: 'EtcdHighNumberOfFailedProposals',
        threshold: 5,
        expr: (t) => `increase(etcd_server_proposals_failed_total{${J}}[1h]) > ${t}`,
        severity: 'P3',
        service,
        summary: 'etcd member {{ $labels.instance }} fails proposals',
        description: ({ threshold }) => `More than ${humanNumber(threshold)} proposals failed on {{ $labels.instance }} within an hour: leader elections or a member that cannot keep up.`,
        runbook: runbook('EtcdHighNumberOfFailedProposals'),
        tests: [
          firesWhen('a proposal fails every minute', { [series('etcd_server_proposals_failed_total', m1)]: '0+1x30' }, '20m', m1),
          silentWhen('no proposal fails', { [series('etcd_server_proposals_failed_total', m1)]: '3x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'EtcdHighFsyncDurations',
        threshold: 0.5,
        expr: (t) => `histogram_quantile(0.99, sum by (job, instance, le) (rate(etcd_disk_wal_fsync_duration_seconds_bucket{${J}}[5m]))) > ${t}`,
        for: '10m',
        severity: 'P3',
        service,
        summary: 'etcd member {{ $labels.instance }} writes its log slowly',
        description: ({ threshold, for: f }) => `The 99th percentile of WAL fsyncs on {{ $labels.instance }} has been above ${humanDuration(threshold)} for ${humanDuration(f)}: the disk is too slow or shared, and leader elections follow.`,
        runbook: runbook('EtcdHighFsyncDurations'),
        tests: [
          firesWhen('fsyncs take over a second', slow('etcd_disk_wal_fsync_duration_seconds', '0.1', '2'), '20m', m1),
          silentWhen('fsyncs take milliseconds', quick('etcd_disk_wal_fsync_duration_seconds', '0.01', '2'), '20m'),
        ],
      }),
      alert({
        alert: 'EtcdHighCommitDurations',
        threshold: 0.25,
        expr: (t) => `histogram_quantile(0.99, sum by (job, instance, le) (rate(etcd_disk_backend_commit_duration_seconds_bucket{${J}}[5m]))) > ${t}`,
        for: '10m',
        severity: 'P3',
        service,
        summary: 'etcd member {{ $labels.instance }} commits slowly',
        description: ({ threshold, for: f }) => `The 99th percentile of backend commits on {{ $labels.instance }} has been above ${humanDuration(threshold)} for ${humanDuration(f)}: the disk is too slow.`,
        runbook: runbook('EtcdHighCommitDurations'),
        tests: [
          firesWhen('commits take over a second', slow('etcd_disk_backend_commit_duration_seconds', '0.1', '2'), '20m', m1),
          silentWhen('commits take milliseconds', quick('etcd_disk_backend_commit_duration_seconds', '0.01', '2'), '20m'),
        ],
      }),
      alert({
        alert: 'EtcdDatabaseQuotaLowSpace',
        threshold: 0.9,
        expr: (t) => `etcd_mvcc_db_total_size_in_bytes{${J}} / etcd_server_quota_backend_bytes{${J}} > ${t}`,
        for: '10m',
        severity: 'P2',
        service,
        summary: "etcd member {{ $labels.instance }}'s database is {{ $value | humanizePercentage }} of its quota",
        description: ({ threshold }) => `The database of {{ $labels.instance }} uses more than ${percent(threshold)} of its quota; at the quota etcd raises a NOSPACE alarm and refuses every write.`,
        runbook: runbook('EtcdDatabaseQuotaLowSpace'),
        tests: [
          firesWhen('the database fills 95% of the quota', { [series('etcd_mvcc_db_total_size_in_bytes', m1)]: '95x30', [series('etcd_server_quota_backend_bytes', m1)]: '100x30' }, '20m', m1),
          silentWhen('the database fills half the quota', { [series('etcd_mvcc_db_total_size_in_bytes', m1)]: '50x30', [series('etcd_server_quota_backend_bytes', m1)]: '100x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'EtcdHighNumberOfFailedGRPCRequests',
        threshold: 0.05,
        expr: (t) =>
          `sum by (job, instance, grpc_service, grpc_method) (rate(grpc_server_handled_total{${J},grpc_code=~"Unknown|FailedPrecondition|ResourceExhausted|Internal|Unavailable|DataLoss|DeadlineExceeded"}[5m])) / sum by (job, instance, grpc_service, grpc_method) (rate(grpc_server_handled_total{${J}}[5m])) > ${t}`,
        for: '10m',
        severity: 'P3',
        service,
        summary: 'etcd member {{ $labels.instance }} fails {{ $labels.grpc_method }} requests',
        description: ({ threshold, for: f }) => `More than ${percent(threshold)} of the {{ $labels.grpc_service }}/{{ $labels.grpc_method }} requests to {{ $labels.instance }} have failed for ${humanDuration(f)}.`,
        runbook: runbook('EtcdHighNumberOfFailedGRPCRequests'),
        tests: [
          firesWhen('a fifth of the requests are unavailable', { [grpc('Unavailable')]: '0+20x30', [grpc('OK')]: '0+80x30' }, '20m', { ...m1, grpc_service: 'etcdserverpb.KV', grpc_method: 'Range' }),
          silentWhen('every request succeeds', { [grpc('Unavailable')]: '0x30', [grpc('OK')]: '0+80x30' }, '20m'),
        ],
      }),
    ],
  });
}

/** The scheduler: down, scheduling errors, pods it cannot place. */
function schedulerRules(runbook: Runbook, scraped: boolean): RuleGroup {
  const service = 'kube-scheduler';
  const J = `job="${JOBS.scheduler}"`;
  const s = { job: JOBS.scheduler, instance: '10.0.0.1:10259' };
  const attempts = (result: string) => series('scheduler_schedule_attempts_total', { ...s, result, profile: 'default-scheduler' });
  return group({
    name: 'obstack.control-plane.scheduler',
    rules: [
      partDown(runbook, scraped, { alert: 'KubeSchedulerDown', job: JOBS.scheduler, service, severity: 'P2', what: 'kube-scheduler' }),
      alert({
        alert: 'KubeSchedulerErrors',
        expr: `sum by (job) (rate(scheduler_schedule_attempts_total{${J},result="error"}[5m])) > 0`,
        for: '15m',
        severity: 'P3',
        service,
        summary: 'The scheduler fails to schedule pods',
        description: ({ for: f }) => `Scheduling attempts have ended in an internal error (not "unschedulable") for ${humanDuration(f)}: the scheduler cannot bind pods or reach the API server.`,
        runbook: runbook('KubeSchedulerErrors'),
        tests: [
          firesWhen('attempts keep failing', { [attempts('error')]: '0+2x30', [attempts('scheduled')]: '0+10x30' }, '25m', { job: JOBS.scheduler }),
          silentWhen('every attempt schedules or finds no node', { [attempts('error')]: '0x30', [attempts('scheduled')]: '0+10x30', [attempts('unschedulable')]: '0+1x30' }, '25m'),
        ],
      }),
      alert({
        alert: 'KubeSchedulerPodsUnschedulable',
        expr: `sum by (job) (scheduler_pending_pods{${J},queue="unschedulable"}) > 0`,
        for: '30m',
        severity: 'P4',
        service,
        summary: '{{ $value }} pods cannot be scheduled',
        description: ({ for: f }) => `Pods have waited in the scheduler's unschedulable queue for ${humanDuration(f)}: no node fits their requests, affinity, taints or volumes.`,
        runbook: runbook('KubeSchedulerPodsUnschedulable'),
        tests: [
          firesWhen('two pods stay unschedulable', { [series('scheduler_pending_pods', { ...s, queue: 'unschedulable' })]: '2x40' }, '35m', { job: JOBS.scheduler }),
          silentWhen('every pod is placed', { [series('scheduler_pending_pods', { ...s, queue: 'unschedulable' })]: '0x40' }, '35m'),
        ],
      }),
    ],
  });
}

/** The controller-manager: down, no leader, work queues that wait too long. */
function controllerManagerRules(runbook: Runbook, scraped: boolean): RuleGroup {
  const service = 'kube-controller-manager';
  const J = `job="${JOBS.controllerManager}"`;
  const c = { job: JOBS.controllerManager, instance: '10.0.0.1:10257' };
  const q = (le: string) => series('workqueue_queue_duration_seconds_bucket', { ...c, name: 'deployment', le });
  return group({
    name: 'obstack.control-plane.controller-manager',
    rules: [
      partDown(runbook, scraped, { alert: 'KubeControllerManagerDown', job: JOBS.controllerManager, service, severity: 'P2', what: 'kube-controller-manager' }),
      alert({
        alert: 'KubeControllerManagerNoLeader',
        expr: `sum by (job) (leader_election_master_status{${J}}) == 0`,
        for: '10m',
        severity: 'P3',
        service,
        summary: 'No controller-manager holds the leader lease',
        description: ({ for: f }) => `Every controller-manager has reported itself a standby for ${humanDuration(f)}: no controller reconciles Deployments, nodes or endpoints.`,
        runbook: runbook('KubeControllerManagerNoLeader'),
        tests: [
          firesWhen('both replicas are standbys', { [series('leader_election_master_status', { ...c, name: 'kube-controller-manager' })]: '0x30', [series('leader_election_master_status', { ...c, instance: '10.0.0.2:10257', name: 'kube-controller-manager' })]: '0x30' }, '20m', {
            job: JOBS.controllerManager,
          }),
          silentWhen('one replica leads', { [series('leader_election_master_status', { ...c, name: 'kube-controller-manager' })]: '1x30', [series('leader_election_master_status', { ...c, instance: '10.0.0.2:10257', name: 'kube-controller-manager' })]: '0x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'KubeControllerWorkqueueSlow',
        threshold: 60,
        expr: (t) => `histogram_quantile(0.99, sum by (job, name, le) (rate(workqueue_queue_duration_seconds_bucket{${J}}[5m]))) > ${t}`,
        for: '15m',
        severity: 'P3',
        service,
        summary: 'The {{ $labels.name }} controller falls behind',
        description: ({ threshold, for: f }) => `Items of the {{ $labels.name }} work queue have waited more than ${humanNumber(threshold)} seconds (99th percentile) for ${humanDuration(f)}: changes reach the cluster late.`,
        runbook: runbook('KubeControllerWorkqueueSlow'),
        tests: [
          firesWhen('items wait minutes', { [q('10')]: '0x30', [q('100')]: '0x30', [q('1000')]: '0+10x30', [q('+Inf')]: '0+10x30' }, '25m', { job: JOBS.controllerManager, name: 'deployment' }),
          silentWhen('items wait milliseconds', { [q('10')]: '0+10x30', [q('100')]: '0+10x30', [q('1000')]: '0+10x30', [q('+Inf')]: '0+10x30' }, '25m'),
        ],
      }),
    ],
  });
}

/** CoreDNS: down, failing answers, latency, broken upstreams, panics. */
function coreDnsRules(runbook: Runbook, scraped: boolean): RuleGroup {
  const service = 'coredns';
  const J = `job="${JOBS.coreDns}"`;
  const d = { job: JOBS.coreDns, instance: '10.1.0.5:9153' };
  const resp = (rcode: string) => series('coredns_dns_responses_total', { ...d, server: 'dns://:53', zone: '.', rcode });
  const dur = (le: string) => series('coredns_dns_request_duration_seconds_bucket', { ...d, server: 'dns://:53', zone: '.', type: 'A', le });
  return group({
    name: 'obstack.control-plane.coredns',
    rules: [
      partDown(runbook, scraped, { alert: 'CoreDNSDown', job: JOBS.coreDns, service, severity: 'P1', what: 'CoreDNS' }),
      alert({
        alert: 'CoreDNSErrorsHigh',
        threshold: 0.03,
        expr: (t) => `sum by (job) (rate(coredns_dns_responses_total{${J},rcode="SERVFAIL"}[5m])) / sum by (job) (rate(coredns_dns_responses_total{${J}}[5m])) > ${t}`,
        for: '10m',
        severity: 'P2',
        service,
        summary: 'CoreDNS answers {{ $value | humanizePercentage }} of the lookups with SERVFAIL',
        description: ({ threshold, for: f }) => `More than ${percent(threshold)} of DNS answers have been SERVFAIL for ${humanDuration(f)}: services fail to resolve each other or external names.`,
        runbook: runbook('CoreDNSErrorsHigh'),
        tests: [
          firesWhen('a tenth of the answers fail', { [resp('SERVFAIL')]: '0+10x30', [resp('NOERROR')]: '0+90x30' }, '20m', { job: JOBS.coreDns }),
          silentWhen('answers succeed or name nothing', { [resp('SERVFAIL')]: '0x30', [resp('NOERROR')]: '0+90x30', [resp('NXDOMAIN')]: '0+30x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'CoreDNSLatencyHigh',
        threshold: 1,
        expr: (t) => `histogram_quantile(0.99, sum by (job, server, zone, le) (rate(coredns_dns_request_duration_seconds_bucket{${J}}[5m]))) > ${t}`,
        for: '10m',
        severity: 'P3',
        service,
        summary: 'CoreDNS answers slowly in zone {{ $labels.zone }}',
        description: ({ threshold, for: f }) => `The 99th percentile of DNS lookups in {{ $labels.zone }} has been above ${humanDuration(threshold)} for ${humanDuration(f)}: its upstream resolvers are slow or it is overloaded.`,
        runbook: runbook('CoreDNSLatencyHigh'),
        tests: [
          firesWhen('lookups take seconds', { [dur('0.1')]: '0x30', [dur('4')]: '0+10x30', [dur('+Inf')]: '0+10x30' }, '20m', { job: JOBS.coreDns, server: 'dns://:53', zone: '.' }),
          silentWhen('lookups take milliseconds', { [dur('0.1')]: '0+10x30', [dur('4')]: '0+10x30', [dur('+Inf')]: '0+10x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'CoreDNSForwardHealthcheckBroken',
        expr: `sum by (job, instance) (increase(coredns_forward_healthcheck_broken_total{${J}}[10m])) > 0`,
        for: '5m',
        severity: 'P3',
        service,
        summary: 'Every upstream resolver of CoreDNS {{ $labels.instance }} fails its health check',
        description: 'CoreDNS found all the resolvers it forwards to unhealthy and picks one at random: lookups of names outside the cluster fail or crawl.',
        runbook: runbook('CoreDNSForwardHealthcheckBroken'),
        tests: [
          firesWhen('the upstreams stay broken', { [series('coredns_forward_healthcheck_broken_total', d)]: '0+1x30' }, '20m', d),
          silentWhen('the upstreams are healthy', { [series('coredns_forward_healthcheck_broken_total', d)]: '2x30' }, '20m'),
        ],
      }),
      alert({
        alert: 'CoreDNSPanics',
        expr: `sum by (job, instance) (increase(coredns_panics_total{${J}}[10m])) > 0`,
        severity: 'P3',
        service,
        summary: 'CoreDNS {{ $labels.instance }} panicked',
        description: 'A CoreDNS process recovered from a panic in the last 10 minutes: a plugin or a query hit a bug, and lookups in flight were lost.',
        runbook: runbook('CoreDNSPanics'),
        tests: [
          firesWhen('it panics', { [series('coredns_panics_total', d)]: '0x10 1x20' }, '15m', d),
          silentWhen('it never panics', { [series('coredns_panics_total', d)]: '0x30' }, '15m'),
        ],
      }),
    ],
  });
}

/** kube-proxy: down, and slow rule syncs (Services reach their new endpoints late). */
function kubeProxyRules(runbook: Runbook, scraped: boolean): RuleGroup {
  const service = 'kube-proxy';
  const J = `job="${JOBS.kubeProxy}"`;
  const p = { job: JOBS.kubeProxy, instance: '10.0.0.7:10249' };
  const sync = (le: string) => series('kubeproxy_sync_proxy_rules_duration_seconds_bucket', { ...p, le });
  return group({
    name: 'obstack.control-plane.kube-proxy',
    rules: [
      partDown(runbook, scraped, { alert: 'KubeProxyDown', job: JOBS.kubeProxy, service, severity: 'P2', what: 'kube-proxy' }),
      alert({
        alert: 'KubeProxySyncSlow',
        threshold: 10,
        expr: (t) => `histogram_quantile(0.99, sum by (job, instance, le) (rate(kubeproxy_sync_proxy_rules_duration_seconds_bucket{${J}}[5m]))) > ${t}`,
        for: '15m',
        severity: 'P3',
        service,
        summary: 'kube-proxy {{ $labels.instance }} syncs its rules slowly',
        description: ({ threshold, for: f }) => `Rewriting the Service rules on {{ $labels.instance }} has taken more than ${humanDuration(threshold)} (99th percentile) for ${humanDuration(f)}: new endpoints reach that node late.`,
        runbook: runbook('KubeProxySyncSlow'),
        tests: [
          firesWhen('syncs take half a minute', { [sync('1')]: '0x30', [sync('60')]: '0+10x30', [sync('+Inf')]: '0+10x30' }, '25m', p),
          silentWhen('syncs take under a second', { [sync('1')]: '0+10x30', [sync('60')]: '0+10x30', [sync('+Inf')]: '0+10x30' }, '25m'),
        ],
      }),
    ],
  });
}

/**
 * The Kubernetes control plane. Every environment ships the same alerts; a
 * part it does not scrape (`controlPlane`) has no series, so its alerts stay
 * silent, and its `…Down` alert reads only failing targets instead of
 * reporting that nothing is discovered. What the kubelet and
 * kube-state-metrics report about nodes, volumes and the controllers' objects
 * is in control-plane-cluster.ts.
 */
export function controlPlaneRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  const c = env.controlPlane;
  return [
    apiServerRules(runbook, c.apiServer.enabled),
    clientErrorRules(runbook),
    etcdRules(runbook, c.etcd.enabled),
    schedulerRules(runbook, c.scheduler.enabled),
    controllerManagerRules(runbook, c.controllerManager.enabled),
    coreDnsRules(runbook, c.coreDns.enabled),
    kubeProxyRules(runbook, c.kubeProxy.enabled),
    ...clusterRules(env),
  ];
}
