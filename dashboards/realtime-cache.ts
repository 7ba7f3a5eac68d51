import * as units from '@grafana/grafana-foundation-sdk/units';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS } from '../src/authoring/index.js';
import { type DashboardContext, labelVariable, promql, quantile, ratio, section, sel, stackDashboard, statPanel, sumRate, timeseriesPanel } from './common/index.js';

const S = sel('namespace=~"$namespace"', 'job=~"$job"');

/** WebSocket connections and messages, caches, uploads and the processes' own resources. */
export function realtimeCache(_ctx: DashboardContext): DashboardBuilder {
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.realtime,
    title: 'Realtime, cache and uploads',
    description: 'WebSocket connections and messages, cache hit rates, file uploads and the resources of the application processes.',
    tags: ['websocket', 'cache'],
    datasources: ['prometheus'],
  })
    .withVariable(labelVariable({ name: 'namespace', series: 'process_cpu_seconds_total' }))
    .withVariable(labelVariable({ name: 'job', label: 'service', series: 'process_cpu_seconds_total{namespace=~"$namespace"}' }));

  section(d, 'Now', [
    statPanel({ title: 'WebSocket connections', description: 'Open WebSocket connections.', queries: [promql(`sum(websocket_connections_active{${S}})`)] }),
    statPanel({ title: 'WebSocket messages/s', description: 'Messages sent and received per second.', unit: units.MessagesPerSecond, queries: [promql(sumRate('websocket_messages_total', S))] }),
    statPanel({
      title: 'Cache hit rate',
      description: 'Share of cache lookups that hit, all caches.',
      unit: units.PercentUnit,
      baseColor: 'red',
      thresholds: [[0.5, 'orange'], [0.8, 'green']],
      queries: [promql(ratio(sumRate('cache_hits_total', S), `${sumRate('cache_hits_total', S)} + ${sumRate('cache_misses_total', S)}`))],
    }),
    statPanel({ title: 'Uploads/s', description: 'Files uploaded per second.', unit: units.OpsPerSecond, queries: [promql(sumRate('file_uploads_total', S))] }),
  ]);

  section(d, 'WebSocket', [
    timeseriesPanel({ title: 'Open connections by pod', description: 'WebSocket connections open on each pod: an uneven spread means sticky load balancing.', unit: units.Short, queries: [promql(`sum by (pod) (websocket_connections_active{${S}})`, '{{pod}}')] }),
    timeseriesPanel({
      title: 'Messages by direction',
      description: 'WebSocket messages per second, sent and received.',
      unit: units.MessagesPerSecond,
      queries: [promql(sumRate('websocket_messages_total', S, ['direction']), '{{direction}}')],
    }),
  ]);

  section(d, 'Cache', [
    timeseriesPanel({
      title: 'Hit rate by cache',
      description: 'Share of lookups that hit, per cache.',
      unit: units.PercentUnit,
      max: 1,
      queries: [promql(ratio(sumRate('cache_hits_total', S, ['cache']), `${sumRate('cache_hits_total', S, ['cache'])} + ${sumRate('cache_misses_total', S, ['cache'])}`), '{{cache}}')],
    }),
    timeseriesPanel({
      title: 'Lookups by cache',
      description: 'Hits and misses per second, per cache.',
      unit: units.OpsPerSecond,
      queries: [promql(sumRate('cache_hits_total', S, ['cache']), 'hits {{cache}}'), promql(sumRate('cache_misses_total', S, ['cache']), 'misses {{cache}}')],
    }),
  ]);

  section(d, 'Uploads', [
    timeseriesPanel({ title: 'Uploads by outcome', description: 'File uploads per second by status.', unit: units.OpsPerSecond, queries: [promql(sumRate('file_uploads_total', S, ['status']), '{{status}}')] }),
    timeseriesPanel({
      title: 'Upload size',
      description: 'p50 and p95 of uploaded file sizes.',
      unit: units.BytesIEC,
      queries: [promql(quantile(0.5, 'file_upload_size_bytes', S), 'p50'), promql(quantile(0.95, 'file_upload_size_bytes', S), 'p95')],
    }),
  ]);

  section(d, 'Processes', [
    timeseriesPanel({ title: 'CPU by pod', description: 'CPU seconds per second of each process.', unit: units.Short, w: 8, queries: [promql(sumRate('process_cpu_seconds_total', S, ['pod']), '{{pod}}')] }),
    timeseriesPanel({ title: 'Resident memory by pod', description: 'Resident memory of each process.', unit: units.BytesIEC, w: 8, queries: [promql(`sum by (pod) (process_resident_memory_bytes{${S}})`, '{{pod}}')] }),
    timeseriesPanel({
      title: 'Open file descriptors',
      description: 'File descriptors open out of the process limit; sockets count.',
      unit: units.PercentUnit,
      w: 8,
      queries: [promql(`max by (pod) (process_open_fds{${S}} / process_max_fds{${S}})`, '{{pod}}')],
    }),
  ]);
  return d;
}
