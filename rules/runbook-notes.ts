import type { RunbookContent } from '../src/authoring/index.js';
import { controlPlaneRunbookNotes } from './control-plane-notes.js';
import { thanosRunbookNotes } from './thanos-notes.js';

/** What the notes may name of the environment they are rendered for. */
export interface RunbookStack {
  /** The namespace the stack runs in. */
  readonly namespace: string;
}

/** Impact, likely causes and first checks of the shipped alerts: by alert name, and by area for the alerts without notes of their own. */
export interface ShippedRunbookNotes {
  readonly alerts: Readonly<Record<string, RunbookContent>>;
  readonly areas: Readonly<Record<string, RunbookContent>>;
}

/**
 * The knowledge behind the shipped alerts' runbook pages. Every P1 and P2
 * alert has notes of its own (a test holds this); the others fall back to
 * their area's. Texts are Markdown.
 */
export function shippedRunbookNotes({ namespace: ns }: RunbookStack): ShippedRunbookNotes {
  const logs = (workload: string, container: string) => `\`kubectl -n ${ns} logs ${workload} -c ${container} --since=30m\``;
  const describe = (workload: string) => `\`kubectl -n ${ns} describe ${workload}\` and \`kubectl -n ${ns} get events --sort-by=.lastTimestamp\``;
  const scrapeDown = (what: string, workload: string): RunbookContent => ({
    impact: `Prometheus cannot read ${what}'s metrics: every alert on them is blind until the target answers again.`,
    causes: [
      `${what} is crash looping, not scheduled or not ready (a failed rollout, a missing Secret, too little memory).`,
      'A NetworkPolicy or a changed port blocks the scrape.',
      'The node it runs on is down or unreachable.',
    ],
    checks: [`\`kubectl -n ${ns} get pods -o wide\` and ${describe(workload)}.`, `Prometheus's target page (Status → Targets) states the scrape error.`],
  });

  const alerts: Record<string, RunbookContent> = {
    Watchdog: {
      impact: "None while it fires: it fires on purpose. When a dead man's switch stops receiving it, the alerting pipeline (Prometheus → Alertmanager → notifications) is broken.",
      causes: ['It is always firing by design; if it is missing, Prometheus or Alertmanager is down or cannot reach each other.'],
      checks: ['Nothing to fix while it fires. If it went silent, check `PrometheusNotConnectedToAlertmanagers` and `AlertmanagerDown`.'],
    },

    // Alertmanager
    AlertmanagerFailedNotifications: {
      impact: 'Notifications through one integration do not arrive: on-call may not be paged, or the team channel misses alerts.',
      causes: [
        'The receiver refuses the credentials: a rotated PagerDuty integration key, Slack webhook URL or SMTP password whose Secret was not updated.',
        "The provider is down or rate-limits Alertmanager (Slack's 429s during an alert storm).",
        'Egress to the provider is blocked (NetworkPolicy, proxy, firewall).',
      ],
      checks: [`${logs('statefulset/alertmanager', 'alertmanager')}: look for "Notify for alerts failed" with the integration.`, "Compare the receiver's Secret with the key in the provider's console."],
    },
    AlertmanagerDown: {
      ...scrapeDown('Alertmanager', 'statefulset/alertmanager'),
      impact: 'If Alertmanager itself is down, no alert reaches anyone: every page of every severity is lost until it is back.',
    },

    AlertNotAcknowledged: {
      impact: 'A P1 alert has been firing for longer than the environment allows without anyone acknowledging it: whoever was paged first has not taken it, so it is escalated.',
      causes: [
        'The person on call did not receive the page (phone muted, PagerDuty schedule gap, a rotated integration key — see `AlertmanagerFailedNotifications`).',
        'The alert was handled but not acknowledged, so it keeps escalating.',
      ],
      checks: [
        'The escalated alert is named in the `escalated_alertname` label: open its own runbook and dashboard.',
        'Acknowledge it once someone owns it: `POST /api/v1/alerts/<id>/acknowledge` on the ingest service with a reason (this silences the alert and its escalation).',
      ],
    },

    // Error tracking
    ErrorReportSpike: {
      impact: "A service reports errors many times faster than its own recent baseline: users of that service are very likely hitting failures now.",
      causes: [
        'A release of the service that fails on a common path.',
        'A dependency (database, cache, external API) that started failing.',
        'A client or integration that sends malformed requests in a loop.',
      ],
      checks: [
        'The Errors dashboard: which groups grow, and since when; a new group right after a deploy points at that release.',
        "The service's logs in Kibana filtered on `service` around the start of the spike, and its recent rollouts (`kubectl -n <namespace> rollout history deployment/<service>`).",
      ],
    },

    // Prometheus
    PrometheusNotConnectedToAlertmanagers: {
      impact: 'Prometheus evaluates alerts but delivers none: nobody is notified of anything until it finds an Alertmanager again.',
      causes: ['Alertmanager is down or has no ready endpoint.', "Prometheus's Alertmanager discovery is broken (RBAC on endpoints, a renamed Service).", 'A NetworkPolicy blocks Prometheus → Alertmanager on 9093.'],
      checks: [`\`kubectl -n ${ns} get endpoints alertmanager\` has addresses.`, `${logs('statefulset/prometheus', 'prometheus')}: look for discovery and notifier errors.`],
    },
    PrometheusRuleEvaluationFailures: {
      impact: 'Some rules fail to evaluate: their alerts cannot fire and recorded series have gaps.',
      causes: ['A rule returns series with duplicate label sets ("vector contains metrics with the same labelset").', 'A query hits the query timeout or the sample limit.', 'A rule group exceeds its limit of alerts or series.'],
      checks: ["Prometheus's Rules page shows the failing rule with its last error.", `${logs('statefulset/prometheus', 'prometheus')}.`],
    },
    PrometheusNotificationQueueRunningFull: {
      impact: 'Alerts will be dropped before they reach Alertmanager once the queue is full.',
      causes: ['Alertmanager answers slowly or not at all.', 'An alert storm: far more alerts than usual fire at once.'],
      checks: ['Look at `PrometheusErrorSendingAlerts` and Alertmanager\'s own health.', 'The number of firing alerts (`count(ALERTS{alertstate="firing"})`) against the usual.'],
    },
    PrometheusErrorSendingAlerts: {
      impact: 'Alerts sent to one Alertmanager fail: with one replica, notifications are lost; with several, the others may still deliver.',
      causes: ['The Alertmanager pod restarts or is overloaded.', 'A NetworkPolicy or DNS problem between Prometheus and Alertmanager.'],
      checks: [`${logs('statefulset/prometheus', 'prometheus')}: look for "Error sending alert".`, `\`kubectl -n ${ns} get pods -l app.kubernetes.io/name=alertmanager\`.`],
    },
    PrometheusNotIngestingSamples: {
      impact: 'Prometheus stores no new samples: every alert and dashboard is blind.',
      causes: ['Every scrape fails (service discovery broken, RBAC removed).', 'The TSDB is read-only or its disk is full.', 'Prometheus is stuck replaying its write-ahead log after a restart.'],
      checks: ["Prometheus's Status → Targets: are any targets up?", `${logs('statefulset/prometheus', 'prometheus')}, and the volume's free space (\`KubePersistentVolumeFillingUp\`).`],
    },

    // Elasticsearch
    ElasticsearchClusterRed: {
      impact: 'Some primary shards are unassigned: writes to their indices fail (logs, audit, traces are lost) and searches miss data.',
      causes: ['A data node is down or lost its volume.', 'The disks passed the flood-stage watermark and indices turned read-only.', 'A corrupt shard or an index created with more replicas than nodes.'],
      checks: [
        `\`kubectl -n ${ns} exec elasticsearch-0 -- curl -sk -u elastic:$PASSWORD https://localhost:9200/_cluster/allocation/explain\` tells why a shard is unassigned.`,
        `\`kubectl -n ${ns} get pods -l app.kubernetes.io/name=elasticsearch\`.`,
      ],
    },
    ElasticsearchDown: {
      impact: 'Elasticsearch does not answer its health check: logs and traces are not stored and Kibana and Jaeger searches fail.',
      causes: ['The Elasticsearch pods crash (heap, a failed upgrade, a bad setting) or lost their quorum.', "The exporter's credentials were rotated."],
      checks: [`${logs('statefulset/elasticsearch', 'elasticsearch')}.`, `${logs('deployment/elasticsearch-exporter', 'exporter')} for authentication errors.`],
    },
    ElasticsearchDiskWatermarkHigh: {
      impact: 'Shards move away from the node; at the flood stage (95%) its indices become read-only and log writes fail.',
      causes: ['Retention keeps more days than the volume holds.', 'A burst of logs (debug logging left on, a crash loop logging stack traces).'],
      checks: ['Index sizes by day: `_cat/indices?v&s=store.size:desc`.', "Lower `logs.retentionDays` or grow the volume; the ILM policy deletes old indices."],
    },

    // Logstash
    LogstashDown: {
      impact: 'Logstash does not answer: Filebeat buffers and then drops logs, nothing reaches Elasticsearch.',
      causes: ['Logstash crashes at start (a pipeline syntax error, heap too small).', 'Its pod is not scheduled or restarts.'],
      checks: [`${logs('statefulset/logstash', 'logstash')}.`, `\`kubectl -n ${ns} get pods -l app.kubernetes.io/name=logstash\`.`],
    },
    LogstashPipelineDown: {
      impact: 'One pipeline does not run: the logs it handles are not processed.',
      causes: ['The pipeline failed to compile after a change.', 'An output plugin cannot reach Elasticsearch at start.'],
      checks: [`${logs('statefulset/logstash', 'logstash')}: look for "Pipeline error" or "Failed to execute action".`],
    },
    LogstashPipelineStalled: {
      impact: 'Events enter the pipeline but none leave: logs pile up in the queue and are not searchable.',
      causes: ['Elasticsearch refuses writes (red cluster, read-only indices, authentication).', 'A filter is stuck (a slow grok pattern, a DNS lookup).'],
      checks: ['`ElasticsearchClusterRed`, `ElasticsearchWriteRejections` and the disk watermark alerts.', `${logs('statefulset/logstash', 'logstash')}.`],
    },

    // Jaeger
    JaegerDown: scrapeDown('Jaeger', 'deployment/jaeger-collector'),
    JaegerExportFailures: {
      impact: 'Spans are not stored: traces of that period are missing or partial.',
      causes: ['The trace storage (Elasticsearch) refuses writes or is down.', "Jaeger's storage credentials were rotated."],
      checks: ['`ElasticsearchDown` and `ElasticsearchClusterRed`.', `${logs('deployment/jaeger-collector', 'jaeger')}.`],
    },

    // Kubernetes and nodes
    KubePersistentVolumeFillingUp: {
      impact: 'When the volume is full, the program on it stops writing: Prometheus, Elasticsearch or PostgreSQL lose data or stop.',
      causes: ['Retention is longer than the volume holds.', 'Growth of series, logs or events beyond what the volume was sized for.'],
      checks: ['Which workload mounts the claim: `kubectl -n <namespace> describe pvc <claim>`.', "Shorten the component's retention, or grow the claim when its StorageClass allows expansion."],
    },
    KubeStateMetricsDown: {
      ...scrapeDown('kube-state-metrics', 'deployment/kube-state-metrics'),
      impact: 'Every alert on Kubernetes objects (pods, deployments, jobs, volumes) is blind.',
    },
    KubeletDown: {
      ...scrapeDown('the kubelet', 'node'),
      impact: "Container metrics and volume usage of that node are missing; if the kubelet itself is down, the node's pods are not managed.",
      checks: ['`kubectl get nodes`: is the node Ready?', "Prometheus needs the `nodes/metrics` permission (its ClusterRole) to scrape the kubelet through the API server."],
    },
    NodeMemoryHigh: {
      impact: 'The node is close to memory exhaustion: the kubelet evicts pods and the kernel OOM-kills containers.',
      causes: ['Pods without memory limits, or limits far above requests (overcommit).', 'A memory leak in one workload.'],
      checks: ['`kubectl top pods -A --sort-by=memory` on that node.', 'Requests against allocatable: `kubectl describe node <node>`.'],
    },
    NodeFilesystemFillingUp: {
      impact: 'The filesystem will be full within hours: pods on the node are evicted and programs writing to it fail.',
      causes: ['Container logs or images accumulate (log rotation, image garbage collection).', 'A workload writes to an emptyDir or hostPath without bounds.'],
      checks: ['`du` on the node for `/var/lib/containerd` and `/var/log`.', '`kubectl get pods -A -o wide` for pods on the node with large emptyDirs.'],
    },

    // Ingest service
    IngestDatabaseDown: {
      impact: 'The ingest service has no database: every write (events, metrics, alert history) is refused with 503 and applications must retry or lose data.',
      causes: ['The in-cluster PostgreSQL (`ingest-postgres`) is down, restarting or out of disk.', 'The database password Secret changed without a restart of either side.', 'A NetworkPolicy blocks ingest → PostgreSQL on 5432.'],
      checks: [`\`kubectl -n ${ns} get pods -l app.kubernetes.io/name=ingest-postgres\` and ${logs('statefulset/ingest-postgres', 'postgres')}.`, `${logs('deployment/ingest', 'ingest')}: look for connection errors.`],
    },
    IngestDown: scrapeDown('the ingest service', 'deployment/ingest'),
    IngestHighErrorRate: {
      impact: 'Applications lose events and metrics they send; the analytics dashboards undercount.',
      causes: ['The database is slow or unreachable (`IngestDatabaseDown`, `IngestDbWriteLatencyHigh`).', 'A release of the service broke a route.'],
      checks: ['The error rate by route on the ingest dashboard.', `${logs('deployment/ingest', 'ingest')}: 5xx are logged with a correlation id.`],
    },
    IngestRefusingWrites: {
      impact: 'Writes are answered 503: clients that do not retry lose data.',
      causes: ['`full`: the write queue is full because PostgreSQL writes are slower than the incoming traffic.', '`closed`: the service is shutting down (a rollout or an eviction).'],
      checks: ['`IngestQueueBacklog` and `IngestDbWriteLatencyHigh`.', `\`kubectl -n ${ns} get pods -l app.kubernetes.io/name=ingest\` for restarts.`],
    },

    // Databases and caches
    PostgresDown: {
      impact: 'The applications on this PostgreSQL server cannot read or write: requests that need the database fail, and writes that are not retried are lost.',
      causes: [
        'The server is down, restarting, or out of disk (it stops accepting writes, then connections).',
        "The monitoring login is refused: a rotated password whose Secret the exporter still reads the old value of, or a pg_hba.conf change.",
        'A NetworkPolicy or a changed Service blocks the exporter (and maybe the applications) on the server\'s port.',
      ],
      checks: [
        `${logs('deployment/postgres-exporter-<name>', 'exporter')}: "connection refused" points at the server, "password authentication failed" at the Secret.`,
        `For the ingest service's own database: \`kubectl -n ${ns} get pods -l app.kubernetes.io/name=ingest-postgres\` and ${logs('statefulset/ingest-postgres', 'postgres')}.`,
      ],
    },
    RedisDown: {
      impact: 'Whatever the applications keep in this Redis (sessions, caches, rate limits, queues) is unavailable: logins may fail, pages slow down as caches miss, queued work stops.',
      causes: ['The server is down or restarting (OOM kill at its memory limit, eviction, a failed rollout).', 'The password Secret changed on one side only.', 'A NetworkPolicy blocks the exporter on the server\'s port.'],
      checks: [`${logs('deployment/redis-exporter-<name>', 'exporter')}: the connection error names the cause.`, "The Redis dashboard: memory against maxmemory and clients against maxclients before it went away."],
    },

    // Probes
    ProbeFailed: {
      impact: 'What users reach is failing from the outside: an application whose liveness endpoint fails, a URL that answers an error, a port that refuses connections, or a TLS handshake that fails.',
      causes: [
        'The application is down, restarting or overloaded (its liveness endpoint times out).',
        'An ingress, Service or NetworkPolicy change that no longer routes to it.',
        'An expired or replaced certificate the clients do not trust.',
      ],
      checks: [
        "The probes dashboard: which targets fail since when, and their status code and phase durations.",
        `The probe's own log line: \`curl 'http://blackbox-exporter.${ns}.svc:9115/probe?module=http_2xx&target=<instance>&debug=true'\` from a pod allowed to reach it, or ${logs('deployment/blackbox-exporter', 'blackbox-exporter')}.`,
      ],
    },
    TlsCertificateExpiryCritical: {
      impact: 'Within days every client will refuse the connection to this host: browsers show an error page and API clients fail.',
      causes: ['cert-manager cannot renew (a failing ACME challenge, a deleted Issuer, a rate limit).', 'A manually installed certificate nobody renewed.'],
      checks: ['`kubectl get certificates,certificaterequests,orders -A` and the events of the failing one.', '`openssl s_client -connect <instance> -servername <host> </dev/null | openssl x509 -noout -enddate -issuer`.'],
    },

    // Applications
    HighErrorRate: {
      impact: "Users of the service get errors: more than the threshold of its HTTP requests answer 5xx.",
      causes: ['A release: compare the start of the errors with the last deploy.', 'A dependency (database, cache, another API) fails or times out.', 'Pods run out of memory or CPU and restart.'],
      checks: ['The service overview dashboard: errors by route and status.', 'The service\'s logs in Kibana, filtered on `service` and level `error`.'],
    },
    HighLatencyP95: {
      impact: 'One request in twenty is slower than the threshold: users notice, and clients may time out and retry, adding load.',
      causes: ['A slow dependency (database queries, `SlowDatabaseQueries`).', 'CPU throttling or too few replicas for the traffic.', 'A release with a slower code path.'],
      checks: ['Latency by route on the service overview dashboard.', 'Slow traces of the service in Jaeger.'],
    },
    RepeatedFailedLogins: {
      impact: 'Possibly a password-guessing attack on user accounts, or a client that cannot log in at all.',
      causes: ['Credential stuffing or brute force from a few addresses.', 'A broken client release sending wrong credentials.', 'An identity provider outage.'],
      checks: ['Failed logins by source address and user agent in Kibana (security dashboard).', 'Rate limiting and blocking at the ingress for the offending addresses.'],
    },
    DatabaseConnectionPoolNearExhaustion: {
      impact: 'Requests will wait for a connection and time out once the pool is exhausted.',
      causes: ['Slow queries hold connections longer (`SlowDatabaseQueries`).', 'Connection leaks: connections not returned to the pool.', 'More replicas or traffic than the pool and the database allow.'],
      checks: ['Active connections and query times on the database dashboard.', "The database's own view: `SELECT state, count(*) FROM pg_stat_activity GROUP BY state`."],
    },
    AIServiceDown: {
      impact: 'Every AI request fails: features that depend on the model are unavailable to users.',
      causes: ["The model provider is down or rate-limits the service.", 'The API key expired or the budget limit was reached.', 'A configuration change of the model name or endpoint.'],
      checks: ["The provider's status page.", 'Errors by status on the AI dashboard; the service logs the provider\'s error.'],
    },
    WebSocketConnectionFailures: {
      impact: 'Real-time features (chat, live updates) fail to connect for part of the users.',
      causes: ['The ingress or load balancer drops upgrades (timeouts, missing upgrade headers).', 'Pods at their connection limit, or restarting.'],
      checks: ['Connection failures and active connections on the real-time dashboard.', 'Ingress controller logs for 101/502 responses on the WebSocket path.'],
    },

    // SLOs
    ApiErrorBudgetBurn: {
      impact: "The applications' API fails more requests than its 99.9% objective allows: at this rate the error budget of the month is spent early, and users see errors now.",
      causes: ['An incident behind `HighErrorRate` on one of the services.', 'A release that fails a share of requests.', 'A dependency outage.'],
      checks: ['The SLO dashboard: which service burns the budget.', '`HighErrorRate` and `HighLatencyP95` for the same services.'],
    },
    IngestErrorBudgetBurn: {
      impact: 'The ingest service fails more requests than its 99.9% objective allows: applications lose events and metrics.',
      causes: ['The database is down or slow (`IngestDatabaseDown`, `IngestRefusingWrites`).', 'A release of the ingest service.'],
      checks: ['The SLO and ingest dashboards: errors by route.', `${logs('deployment/ingest', 'ingest')}.`],
    },
  };

  const areas: Record<string, RunbookContent> = {
    stack: {
      impact: "Part of the stack's own monitoring is blind: alerts on the affected targets cannot fire.",
      causes: ['Targets are down, restarting or unreachable (NetworkPolicy, a changed port).'],
      checks: ["Prometheus's Status → Targets page lists each failing target with its error."],
    },
    prometheus: {
      impact: 'Prometheus works in a degraded way: alerts may be late, missing or based on incomplete data.',
      causes: ['A configuration or rule change that does not load.', 'Disk, memory or CPU pressure on the Prometheus pods.', 'TSDB trouble after an unclean shutdown.'],
      checks: [`${logs('statefulset/prometheus', 'prometheus')}.`, "Prometheus's Status → Runtime & Build Information and TSDB Status pages."],
    },
    alertmanager: {
      impact: 'Alert delivery is degraded: notifications may be late, duplicated or sent with an old configuration.',
      causes: ['A configuration that does not load after a change of receivers or routes.', 'Alertmanager replicas that do not see each other (NetworkPolicy on the gossip port 9094).'],
      checks: [`${logs('statefulset/alertmanager', 'alertmanager')}.`, "Alertmanager's Status page: configuration and cluster peers."],
    },
    grafana: {
      impact: 'Dashboards are unavailable or partly failing; alerting itself is not affected.',
      causes: ['Grafana restarts or its database is unavailable.', 'A datasource it queries is down or slow.'],
      checks: [`${logs('deployment/grafana', 'grafana')}.`],
    },
    node: {
      impact: 'A node is short of a resource: the pods on it slow down, are evicted or fail.',
      causes: ['Workloads use more than they request (overcommit).', 'Logs, images or data accumulate on the node.', 'Hardware or network trouble on the node.'],
      checks: ['The nodes dashboard for the instance.', '`kubectl describe node <node>`: conditions, allocated resources and recent events.'],
    },
    kubernetes: {
      impact: 'A workload runs with fewer ready pods than it should: it is degraded or down, depending on its replicas.',
      causes: ['A failed rollout: a bad image, configuration or Secret.', 'Too little memory or CPU: OOM kills, throttling, unschedulable pods.', 'A missing PersistentVolume or a node problem.'],
      checks: ['`kubectl -n <namespace> describe pod <pod>` and `kubectl -n <namespace> get events --sort-by=.lastTimestamp`.', 'The Kubernetes workloads dashboard.'],
    },
    elasticsearch: {
      impact: 'Log and trace storage is degraded: writes may be slowed or rejected, searches may miss data.',
      causes: ['Disk, heap or CPU pressure on the data nodes.', 'A node down, leaving shards unassigned.'],
      checks: [`${logs('statefulset/elasticsearch', 'elasticsearch')}.`, '`_cluster/health` and `_cat/shards?v&h=index,shard,prirep,state,unassigned.reason`.'],
    },
    logstash: {
      impact: 'Log shipping is degraded: logs arrive late in Elasticsearch, or some are lost.',
      causes: ['Elasticsearch refuses or slows writes.', 'A pipeline change that fails or slows processing.', 'Heap pressure on Logstash.'],
      checks: [`${logs('statefulset/logstash', 'logstash')}.`],
    },
    jaeger: {
      impact: 'Tracing is degraded: spans are refused, dropped or not stored, so traces are missing or partial.',
      causes: ['The trace storage is slow or down.', 'More spans than the collector handles (sampling rate too high for the traffic).'],
      checks: [`${logs('deployment/jaeger-collector', 'jaeger')}.`],
    },
    ingest: {
      impact: 'The ingest service is degraded: writes are slow, queued or refused, and analytics lag behind.',
      causes: ['PostgreSQL is slow (disk, locks, long queries) or unreachable.', 'More traffic than the replicas handle.'],
      checks: ['The ingest dashboard: queue depth, write latency and errors.', `${logs('deployment/ingest', 'ingest')}.`],
    },
    postgres: {
      impact: 'A PostgreSQL server is under strain: queries slow down, wait on locks, or are refused.',
      causes: ['Connection pools sized beyond max_connections, or leaked connections.', 'Long transactions holding locks and blocking VACUUM.', 'A working set larger than shared_buffers.'],
      checks: ['The PostgreSQL dashboard for the job.', '`SELECT pid, state, now() - xact_start AS age, query FROM pg_stat_activity ORDER BY age DESC NULLS LAST LIMIT 20;` on the server.'],
    },
    redis: {
      impact: 'A Redis server is under strain: clients are refused, keys are evicted, or persistence fails.',
      causes: ['Client pools sized beyond maxclients, or leaked connections.', 'Data growing past maxmemory.', 'A full or read-only disk for the RDB snapshot.'],
      checks: ['The Redis dashboard for the job.', '`redis-cli INFO clients`, `INFO memory` and `INFO persistence` on the server.'],
    },
    probes: {
      impact: 'Something users reach is slow, not ready, or about to break (a certificate close to expiry), seen from outside the application.',
      causes: ['A slow dependency behind the probed endpoint.', 'An application that reports a missing dependency on its readiness endpoint.', 'A certificate that was not renewed.'],
      checks: ['The probes dashboard: success, duration by phase, status codes and certificate expiry per target.'],
    },
    application: {
      impact: 'An application is degraded in the way the alert states; users may notice it before long.',
      causes: ['A recent release or configuration change of the service.', 'A dependency (database, cache, external API) that is slow or failing.', 'Too few replicas, or CPU and memory limits too tight for the traffic.'],
      checks: ["The service's dashboard linked below, and its logs in Kibana filtered on `service`."],
    },
    errors: {
      impact: 'A service raised an error that was never seen before: a new failure mode, often from a recent change.',
      causes: ['A release that introduced a new exception path.', 'A new kind of bad input or a dependency failing in a new way.'],
      checks: ['The Errors dashboard: the new group, its first report, how often it recurs and how many users it reaches.'],
    },
    slos: {
      impact: 'The service fails more requests than its objective allows; at the slow burn rates the budget lasts days, so this is a ticket, not an emergency.',
      causes: ['A steady low error rate after a release.', 'A dependency that fails intermittently.'],
      checks: ['The SLO dashboard: remaining budget and burn rate by window.'],
    },
  };

  // The control plane's notes live next to its rules.
  const controlPlane = controlPlaneRunbookNotes(ns);
  const thanos = thanosRunbookNotes(ns);
  return { alerts: { ...alerts, ...controlPlane.alerts, ...thanos.alerts }, areas: { ...areas, ...controlPlane.areas, ...thanos.areas } };
}

/** The notes of a shipped alert: its own, or its area's; undefined for an alert of an area the stack does not ship. */
export function shippedRunbookContent(alert: string, area: string, stack: RunbookStack): RunbookContent | undefined {
  const notes = shippedRunbookNotes(stack);
  return notes.alerts[alert] ?? notes.areas[area];
}
