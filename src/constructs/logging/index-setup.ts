/**
 * What Elasticsearch must hold before the first log line arrives: ILM
 * policies, index templates for the log and audit data streams, and the roles
 * of the users the stack's components connect as. Pure functions producing
 * the request bodies; the setup Job sends them (JSON.stringify, never templates).
 */

/** Data streams Logstash writes: `<type>-<dataset>-<namespace>`. */
export const LOG_STREAMS = {
  logs: { dataset: 'obstack', pattern: 'logs-obstack-*', policy: 'obstack-logs', template: 'obstack-logs' },
  audit: { dataset: 'obstack.audit', pattern: 'logs-obstack.audit-*', policy: 'obstack-audit', template: 'obstack-audit' },
  /**
   * Documents Elasticsearch refused, written by Logstash's dead-letter pipeline.
   * Outside `logs-obstack*`, so that the logs data views and Grafana's reader do not show them as log lines.
   */
  deadLetters: { dataset: 'deadletter.obstack', pattern: 'logs-deadletter.obstack-*', policy: 'obstack-deadletter', template: 'obstack-deadletter' },
} as const;

/** The index pattern Grafana and Kibana read logs from (application and audit logs). */
export const LOGS_INDEX_PATTERN = 'logs-obstack*';

/** Elasticsearch's own `logs` template has priority 100 and matches `logs-*-*`; ours must win. */
const TEMPLATE_PRIORITY = 200;

/**
 * The warm phase: ILM's documented actions for data that is no longer written
 * (Elasticsearch 8 reference, "Index lifecycle actions"). `migrate` sets
 * `index.routing.allocation.include._tier_preference` to `data_warm,data_hot`,
 * so the shards move to the warm nodes and fall back to the hot ones when
 * there are none (ilm-migrate); `forcemerge` to one segment makes the index
 * smaller and faster to search (ilm-forcemerge); `readonly` blocks writes
 * (ilm-readonly); `set_priority` 50, with 100 in the hot phase (the values
 * ilm-set-priority suggests; an index without one has 1), recovers the
 * indices being written before the older ones when a node restarts.
 */
export interface IlmWarmPhase {
  readonly min_age: string;
  readonly actions: {
    readonly migrate: Record<string, never>;
    readonly forcemerge: { readonly max_num_segments: number };
    readonly readonly: Record<string, never>;
    readonly set_priority: { readonly priority: number };
  };
}

export interface IlmPolicy {
  readonly policy: {
    readonly _meta: Record<string, string>;
    readonly phases: {
      readonly hot: { readonly actions: { readonly rollover: Record<string, string>; readonly set_priority?: { readonly priority: number } } };
      readonly warm?: IlmWarmPhase;
      readonly delete: { readonly min_age: string; readonly actions: { readonly delete: Record<string, never> } };
    };
  };
}

/**
 * Rolls the data stream over daily (or at 50 GB a shard) and deletes a backing
 * index `retentionDays` after its rollover, so a line is gone at most one day
 * after its retention. With `warmAfter` (hot/warm tiers), the index moves to
 * the warm nodes that long after its rollover; every `min_age` counts from the rollover.
 */
export function ilmPolicy(retentionDays: number, purpose: string, warmAfter?: string): IlmPolicy {
  if (!Number.isInteger(retentionDays) || retentionDays < 1) throw new Error(`retentionDays must be a whole number of days >= 1, got ${retentionDays}`);
  if (warmAfter !== undefined) {
    const m = /^([1-9]\d*)(d|h)$/.exec(warmAfter);
    if (!m) throw new Error(`warmAfter must be an age in days or hours such as "2d", got "${warmAfter}"`);
    const hours = Number(m[1]) * (m[2] === 'd' ? 24 : 1);
    if (hours >= retentionDays * 24) throw new Error(`warmAfter must be below the retention of ${purpose} (${retentionDays}d), got ${warmAfter}`);
  }
  const warm: IlmWarmPhase | undefined =
    warmAfter === undefined
      ? undefined
      : { min_age: warmAfter, actions: { migrate: {}, forcemerge: { max_num_segments: 1 }, readonly: {}, set_priority: { priority: 50 } } };
  return {
    policy: {
      _meta: { managed_by: 'obstack', purpose },
      phases: {
        hot: { actions: { rollover: { max_age: '1d', max_primary_shard_size: '50gb' }, ...(warm ? { set_priority: { priority: 100 } } : {}) } },
        ...(warm ? { warm } : {}),
        delete: { min_age: `${retentionDays}d`, actions: { delete: {} } },
      },
    },
  };
}

type Mapping = { type: string; [k: string]: unknown } | { properties: Record<string, Mapping>; [k: string]: unknown };

const keyword = (ignoreAbove = 1024): Mapping => ({ type: 'keyword', ignore_above: ignoreAbove });
const text: Mapping = { type: 'match_only_text' };
const long: Mapping = { type: 'long' };
const obj = (properties: Record<string, Mapping>): Mapping => ({ properties });

/**
 * ECS mappings of the fields our services log (src/ingest/telemetry/logger.ts,
 * the access and audit lines) and of what Filebeat adds. Logstash's
 * normalization (log-shapes.ts) makes every line fit these fields. Unknown
 * fields stay dynamic, mapped so that a later document cannot be refused for
 * them: an unknown object becomes one `flattened` field (any inner shape, and
 * no mapping explosion), strings and booleans become keywords (a keyword takes
 * any later value), numbers stay numbers and a later non-number is dropped
 * from the index (`index.mapping.ignore_malformed`). What remains refusable
 * is an unknown field sent once as an object and once as a value; such a
 * document goes to the dead letters.
 */
export function logMappings(): Record<string, unknown> {
  return {
    date_detection: false,
    dynamic_templates: [
      { objects_as_flattened: { match_mapping_type: 'object', mapping: { type: 'flattened' } } },
      { booleans_as_keyword: { match_mapping_type: 'boolean', mapping: { type: 'keyword' } } },
      { strings_as_keyword: { match_mapping_type: 'string', mapping: { type: 'keyword', ignore_above: 1024 } } },
    ],
    properties: {
      '@timestamp': { type: 'date' },
      message: text,
      ecs: obj({ version: keyword() }),
      log: obj({ level: keyword(), logger: keyword(), file: obj({ path: keyword() }), offset: long }),
      service: obj({ name: keyword(), version: keyword(), environment: keyword() }),
      process: obj({ pid: long, name: keyword() }),
      host: obj({ hostname: keyword(), name: keyword() }),
      trace: obj({ id: keyword() }),
      span: obj({ id: keyword() }),
      transaction: obj({ id: keyword() }),
      user: obj({ id: keyword(), name: keyword() }),
      source: obj({ ip: { type: 'ip' }, address: keyword() }),
      client: obj({ ip: { type: 'ip' }, address: keyword() }),
      user_agent: obj({ original: keyword() }),
      url: obj({ path: { type: 'wildcard' }, original: { type: 'wildcard' } }),
      http: obj({
        route: keyword(),
        request: obj({ id: keyword(), method: keyword() }),
        response: obj({ status_code: long }),
      }),
      event: obj({
        kind: keyword(),
        category: keyword(),
        type: keyword(),
        dataset: keyword(),
        action: keyword(),
        outcome: keyword(),
        reason: keyword(),
        duration: long,
        created: { type: 'date' },
        original: { type: 'keyword', index: false, doc_values: false },
      }),
      error: obj({
        type: keyword(),
        message: text,
        code: keyword(),
        stack_trace: { type: 'wildcard' },
      }),
      audit: obj({
        resource_type: keyword(),
        resource_id: keyword(),
        outcome: keyword(),
        // An array of tags (SOC2, GDPR, audit_required, …): a keyword field holds arrays as they are.
        compliance_tags: keyword(),
        // Free-form per action; flattened keeps the mapping from growing with every key.
        metadata: { type: 'flattened' },
      }),
      labels: { type: 'object', dynamic: true },
      kubernetes: obj({
        namespace: keyword(),
        pod: obj({ name: keyword(), uid: keyword() }),
        container: obj({ name: keyword() }),
        node: obj({ name: keyword() }),
        labels: { type: 'flattened' },
        annotations: { type: 'flattened' },
      }),
      container: obj({ id: keyword(), name: keyword(), runtime: keyword(), image: obj({ name: keyword() }) }),
      // Values the pipeline could not place (log-shapes.ts): kept in _source, never parsed, so never refused.
      unparsed: { type: 'object', enabled: false },
      data_stream: obj({ type: { type: 'constant_keyword' }, dataset: { type: 'constant_keyword' }, namespace: { type: 'constant_keyword' } }),
    },
  };
}

export interface IndexTemplateOptions {
  readonly pattern: string;
  readonly policy: string;
  /** Replicas of each shard: nodes - 1, at most 1. */
  readonly replicas: number;
}

export function logsIndexTemplate(opts: IndexTemplateOptions): Record<string, unknown> {
  return {
    index_patterns: [opts.pattern],
    data_stream: {},
    priority: TEMPLATE_PRIORITY,
    _meta: { managed_by: 'obstack' },
    template: {
      settings: {
        'index.lifecycle.name': opts.policy,
        'index.number_of_shards': 1,
        'index.number_of_replicas': opts.replicas,
        'index.mapping.total_fields.limit': 2000,
        // A field beyond the limit is kept in _source instead of refusing the document (Elasticsearch 8.13+).
        'index.mapping.total_fields.ignore_dynamic_beyond_limit': true,
        // A number, date or ip field given something else skips that field instead of refusing the document.
        'index.mapping.ignore_malformed': true,
      },
      mappings: logMappings(),
    },
  };
}

/**
 * The dead letters' mapping: only the fields the dead-letter pipeline writes
 * (templates/logstash/dead-letters.conf.hbs). `dynamic: false` keeps anything
 * else in _source unread, so a dead letter itself can never be refused.
 */
export function deadLetterMappings(): Record<string, unknown> {
  return {
    dynamic: false,
    properties: {
      '@timestamp': { type: 'date' },
      dead_letter: obj({
        // The refused document as JSON text, searchable.
        original: text,
        // Elasticsearch's answer, as Logstash recorded it.
        reason: text,
        plugin_id: keyword(),
        pipeline_id: keyword(),
        entry_time: { type: 'date' },
      }),
      data_stream: obj({ type: { type: 'constant_keyword' }, dataset: { type: 'constant_keyword' }, namespace: { type: 'constant_keyword' } }),
    },
  };
}

export function deadLetterIndexTemplate(opts: IndexTemplateOptions): Record<string, unknown> {
  const base = logsIndexTemplate(opts) as { template: { settings: Record<string, unknown> } };
  return { ...base, template: { settings: base.template.settings, mappings: deadLetterMappings() } };
}

/** Roles of the users the components connect as; each gets only what it does. */
export function roles(jaegerIndexPrefix: string): Record<string, Record<string, unknown>> {
  return {
    obstack_logstash_writer: {
      cluster: ['monitor'],
      indices: [{ names: [LOGS_INDEX_PATTERN, LOG_STREAMS.deadLetters.pattern], privileges: ['create_doc', 'auto_configure', 'view_index_metadata'] }],
    },
    obstack_logs_reader: {
      cluster: ['monitor'],
      indices: [{ names: [LOGS_INDEX_PATTERN], privileges: ['read', 'view_index_metadata'] }],
    },
    obstack_jaeger: {
      // Jaeger installs its own index templates (create_mappings) and the index cleaner deletes expired indices.
      cluster: ['monitor', 'manage_index_templates'],
      indices: [{ names: [`${jaegerIndexPrefix}-jaeger-*`], privileges: ['all'] }],
    },
    obstack_monitoring: {
      cluster: ['monitor', 'read_ilm'],
      indices: [{ names: ['*'], privileges: ['monitor'], allow_restricted_indices: true }],
    },
  };
}

/** The users created by the setup Job: name → role and the environment variable that carries the password. */
export const SERVICE_USERS = [
  { user: 'logstash_writer', role: 'obstack_logstash_writer', passwordEnv: 'LOGSTASH_PASSWORD', secret: 'logstash' },
  { user: 'grafana_reader', role: 'obstack_logs_reader', passwordEnv: 'GRAFANA_PASSWORD', secret: 'grafana' },
  { user: 'jaeger', role: 'obstack_jaeger', passwordEnv: 'JAEGER_PASSWORD', secret: 'jaeger' },
  { user: 'monitoring', role: 'obstack_monitoring', passwordEnv: 'MONITORING_PASSWORD', secret: 'monitoring' },
] as const;
