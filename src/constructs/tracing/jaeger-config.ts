/**
 * Jaeger v2 configuration (an OpenTelemetry Collector configuration with
 * Jaeger's extensions), as plain objects for `yaml.stringify`. Field names
 * follow jaegertracing/jaeger cmd/jaeger/config-*.yaml and
 * internal/storage/elasticsearch/config/config.go.
 */

export const JAEGER_PORTS = {
  otlpGrpc: 4317,
  otlpHttp: 4318,
  samplingHttp: 5778,
  queryHttp: 16686,
  queryGrpc: 16685,
  health: 13133,
  metrics: 8888,
} as const;

/** Where the pods mount their files. */
export const JAEGER_PATHS = {
  config: '/etc/jaeger/config.yaml',
  sampling: '/etc/jaeger/sampling.json',
  esPassword: '/etc/jaeger/elasticsearch/password',
} as const;

export type JaegerRole = 'all-in-one' | 'collector' | 'query';

export type JaegerStorage =
  | { readonly type: 'memory'; readonly maxTraces: number }
  | { readonly type: 'elasticsearch'; readonly url: string; readonly username: string; readonly indexPrefix: string; readonly shardReplicas: number };

/** The remote-sampling strategies file: probabilistic head sampling at `rate` for every service. */
export function samplingStrategies(rate: number): { default_strategy: { type: 'probabilistic'; param: number } } {
  if (!(rate >= 0 && rate <= 1)) throw new Error(`sampling rate must be between 0 and 1, got ${rate}`);
  return { default_strategy: { type: 'probabilistic', param: rate } };
}

function storageBackend(storage: JaegerStorage): Record<string, unknown> {
  if (storage.type === 'memory') return { memory: { max_traces: storage.maxTraces } };
  const index = { shards: 1, replicas: storage.shardReplicas };
  return {
    elasticsearch: {
      server_urls: [storage.url],
      auth: { basic: { username: storage.username, password_file: JAEGER_PATHS.esPassword } },
      // Jaeger installs the mappings of its own indices; their retention is the index cleaner's.
      create_mappings: true,
      indices: {
        index_prefix: storage.indexPrefix,
        spans: index,
        services: index,
        dependencies: index,
        sampling: index,
      },
    },
  };
}

const listen = (port: number): string => `0.0.0.0:${port}`;

/** The configuration of one Jaeger role. */
export function jaegerConfig(role: JaegerRole, storage: JaegerStorage): Record<string, unknown> {
  const receives = role !== 'query';
  const serves = role !== 'collector';
  const extensions = ['jaeger_storage', ...(serves ? ['jaeger_query'] : []), ...(receives ? ['remote_sampling'] : []), 'healthcheckv2'];
  return {
    service: {
      extensions,
      pipelines: {
        traces: receives
          ? { receivers: ['otlp'], processors: ['batch'], exporters: ['jaeger_storage_exporter'] }
          : // A collector service needs a pipeline; the query role has nothing to receive.
            { receivers: ['nop'], processors: ['batch'], exporters: ['nop'] },
      },
      telemetry: {
        resource: { 'service.name': role === 'query' ? 'jaeger-query' : 'jaeger' },
        metrics: { level: 'detailed', readers: [{ pull: { exporter: { prometheus: { host: '0.0.0.0', port: JAEGER_PORTS.metrics } } } }] },
        logs: { level: 'info', encoding: 'json' },
      },
    },
    extensions: {
      healthcheckv2: { use_v2: true, http: { endpoint: listen(JAEGER_PORTS.health) } },
      jaeger_storage: { backends: { traces: storageBackend(storage) } },
      ...(serves
        ? {
            jaeger_query: {
              storage: { traces: 'traces' },
              http: { endpoint: listen(JAEGER_PORTS.queryHttp) },
              grpc: { endpoint: listen(JAEGER_PORTS.queryGrpc) },
            },
          }
        : {}),
      ...(receives
        ? { remote_sampling: { file: { path: JAEGER_PATHS.sampling }, http: { endpoint: listen(JAEGER_PORTS.samplingHttp) } } }
        : {}),
    },
    receivers: receives
      ? { otlp: { protocols: { grpc: { endpoint: listen(JAEGER_PORTS.otlpGrpc) }, http: { endpoint: listen(JAEGER_PORTS.otlpHttp) } } } }
      : { nop: {} },
    processors: { batch: {} },
    exporters: receives ? { jaeger_storage_exporter: { trace_storage: 'traces' } } : { nop: {} },
  };
}

/**
 * Deletes Jaeger's daily indices (`<prefix>-jaeger-{span,service,dependencies,sampling}-YYYY-MM-DD`)
 * whose day is before today minus RETENTION_DAYS. Composable index templates
 * do not merge, so an ILM template of ours would displace Jaeger's mappings;
 * deleting by date needs neither. NOW_EPOCH lets a test fix the clock.
 */
export const INDEX_CLEANER_SCRIPT = `set -euo pipefail
now="\${NOW_EPOCH:-$(date -u +%s)}"
cutoff="$(date -u -d "@$((now - RETENTION_DAYS * 86400))" +%Y-%m-%d)"
echo "deleting $INDEX_PREFIX-jaeger-* indices of days before $cutoff"
indices="$(curl -fsS -u "$AUTH_USER:$AUTH_PASSWORD" "$BASE_URL/_cat/indices/$INDEX_PREFIX-jaeger-*?h=index&expand_wildcards=open,closed")"
for index in $indices; do
  day="\${index: -10}"
  [[ "$index" =~ ^[a-z0-9-]+-jaeger-(span|service|dependencies|sampling)-[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || continue
  if [[ "$day" < "$cutoff" ]]; then
    curl -fsS -o /dev/null -u "$AUTH_USER:$AUTH_PASSWORD" -X DELETE "$BASE_URL/$index"
    echo "deleted $index"
  fi
done
`;
