import type { RunbookContent } from '../src/authoring/index.js';

/** Runbook notes of the Thanos area: every P2 alert's own, and the area's for the others. */
export function thanosRunbookNotes(ns: string): { alerts: Record<string, RunbookContent>; areas: Record<string, RunbookContent> } {
  const logs = (workload: string, container = 'thanos') => `\`kubectl -n ${ns} logs ${workload} -c ${container} --since=30m\``;
  const bucket = [
    "The objstore Secret (components.thanos.objectStorage) holds a wrong or rotated credential, or names a bucket that no longer exists.",
    'The storage endpoint is unreachable: egress on port 443, a proxy, or the provider is down.',
  ];
  const alerts: Record<string, RunbookContent> = {
    ThanosQueryDown: {
      impact: 'Grafana reads Thanos Query when Thanos is on: every dashboard is blank, the ingest service has no metrics, and the Ruler cannot evaluate.',
      causes: ['Query is crash looping or not scheduled (too little memory for a heavy query, a rollout that failed).', 'A NetworkPolicy change keeps Prometheus from scraping it.'],
      checks: [`\`kubectl -n ${ns} get pods -l app.kubernetes.io/name=thanos-query -o wide\` and ${logs('deployment/thanos-query')}.`],
    },
    ThanosRuleDown: {
      impact: 'The rules the Ruler evaluates cannot fire; when Prometheus is sharded that is every alert of the stack, except those about Prometheus scraping itself.',
      causes: ['The Ruler is crash looping (a rule file it cannot parse, its disk full).', 'It cannot reach Query or Alertmanager (NetworkPolicy).'],
      checks: [`${logs('statefulset/thanos-rule')}.`, 'The Ruler UI (port 10902, `/rules`) shows the groups it loaded.'],
    },
    ThanosSidecarBucketOperationsFailed: {
      impact: "The sidecar cannot upload Prometheus's 2-hour blocks: once Prometheus's local retention passes them, that history is gone from the bucket for good.",
      causes: bucket,
      checks: [`${logs('statefulset/prometheus', 'thanos-sidecar')}: look for "upload" errors with the bucket's answer.`, 'Compare the Secret with the credentials in the storage provider\'s console.'],
    },
    ThanosQueryHttpRequestQueryErrorRateHigh: {
      impact: 'Instant queries fail: dashboards show errors, and the Ruler\'s rules fail to evaluate.',
      causes: ['A StoreAPI (a sidecar, the Store Gateway, another cluster) fails or times out and partial responses are off for the request.', 'Query runs out of memory on a heavy query.'],
      checks: [`${logs('deployment/thanos-query')}.`, 'The Query UI (port 10902, `/stores`) shows each store\'s health and last error.'],
    },
    ThanosQueryHttpRequestQueryRangeErrorRateHigh: {
      impact: 'Range queries fail: graphs on dashboards show errors or stay empty.',
      causes: ['A StoreAPI fails or times out (often the Store Gateway on long ranges).', 'Query runs out of memory on a long range at raw resolution.'],
      checks: [`${logs('deployment/thanos-query')}.`, 'The Query UI (`/stores`) and `ThanosStoreGrpcErrorRate`.'],
    },
    ThanosRuleSenderIsFailingAlerts: {
      impact: "Alerts the Ruler fires never reach Alertmanager: nobody is paged or notified of them.",
      causes: ['Alertmanager is down or unreachable from the Ruler (NetworkPolicy, DNS).', 'Alertmanager refuses the alerts (look at its log).'],
      checks: [`${logs('statefulset/thanos-rule')}: look for "sending alerts" errors.`, 'See `AlertmanagerDown`.'],
    },
    ThanosRuleHighRuleEvaluationFailures: {
      impact: 'Rules fail to evaluate, so alerts may not fire.',
      causes: ['Query fails or times out (see the Thanos Query alerts).', 'A rule reads a metric in a way Query refuses.'],
      checks: [`${logs('statefulset/thanos-rule')}.`, 'The Ruler UI (`/rules`) shows each rule\'s last error.'],
    },
  };
  const areas: Record<string, RunbookContent> = {
    thanos: {
      impact: 'Part of the long-term metrics pipeline is degraded: history in the bucket is not compacted, not downsampled or not readable, or queries are partial.',
      causes: [...bucket, 'A component is crash looping or its disk is full (Compactor, Store Gateway).'],
      checks: [`\`kubectl -n ${ns} get pods -l app.kubernetes.io/part-of=obstack | grep thanos\` and the component's log.`, 'The Compactor\'s bucket UI (port 10902) shows blocks, overlaps and what halted it.'],
    },
  };
  return { alerts, areas };
}
