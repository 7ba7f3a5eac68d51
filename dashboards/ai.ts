import * as units from '@grafana/grafana-foundation-sdk/units';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS } from '../src/authoring/index.js';
import {
  type DashboardContext,
  labelVariable,
  promql,
  quantile,
  ratio,
  section,
  sel,
  sql,
  stackDashboard,
  statPanel,
  sumRate,
  timeseriesPanel,
} from './common/index.js';

const S = sel('namespace=~"$namespace"', 'model=~"$model"');
const NS = 'namespace=~"$namespace"';

/** AI requests, latency, tokens and cost against the daily budget, the response cache, and how conversations are rated. */
export function ai(ctx: DashboardContext): DashboardBuilder {
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.ai,
    title: 'AI and conversation analytics',
    description: 'LLM requests, latency, tokens and cost against the daily budget, cache effectiveness, RAG and conversation ratings.',
    tags: ['ai', 'business'],
    datasources: ctx.datasources.has('analytics') ? ['prometheus', 'analytics'] : ['prometheus'],
  })
    .withVariable(labelVariable({ name: 'namespace', series: 'ai_requests_total' }))
    .withVariable(labelVariable({ name: 'model', series: 'ai_requests_total{namespace=~"$namespace"}' }));

  section(d, 'Today', [
    statPanel({ title: 'AI requests (24h)', description: 'Requests to AI models over the last 24 hours.', queries: [promql(`sum(increase(ai_requests_total{${S}}[24h]))`)] }),
    statPanel({
      title: 'Cost (24h)',
      description: 'What the AI APIs cost over the last 24 hours.',
      unit: units.Dollars,
      queries: [promql(`sum(increase(ai_cost_dollars_total{${S}}[24h]))`)],
    }),
    statPanel({
      title: 'Daily budget used',
      description: 'Cost of the last 24 hours against the daily budget the applications expose (ai_daily_budget_dollars). The cost alert fires at 150%.',
      unit: units.PercentUnit,
      thresholds: [[0.8, 'orange'], [1, 'red']],
      queries: [promql(`sum(increase(ai_cost_dollars_total{${S}}[24h])) / max(ai_daily_budget_dollars{${NS}})`)],
    }),
    statPanel({
      title: 'Cache hit rate',
      description: 'Share of LLM lookups answered from the response cache over the time range.',
      unit: units.PercentUnit,
      thresholds: [[0.3, 'orange'], [0.5, 'green']],
      baseColor: 'red',
      queries: [promql(ratio(`sum(rate(cache_hits_total{${NS}}[$__range]))`, `sum(rate(cache_hits_total{${NS}}[$__range])) + sum(rate(cache_misses_total{${NS}}[$__range]))`))],
    }),
  ]);

  section(d, 'Requests and latency', [
    timeseriesPanel({
      title: 'Requests by model and status',
      description: 'AI requests per second by model and outcome.',
      unit: units.RequestsPerSecond,
      stacked: true,
      queries: [promql(sumRate('ai_requests_total', S, ['model', 'status']), '{{model}} {{status}}')],
    }),
    timeseriesPanel({
      title: 'Response time by model',
      description: 'p50 and p95 of AI response time by model.',
      unit: units.Seconds,
      queries: [
        promql(quantile(0.5, 'ai_response_duration_seconds', S, ['model']), 'p50 {{model}}'),
        promql(quantile(0.95, 'ai_response_duration_seconds', S, ['model']), 'p95 {{model}}'),
      ],
    }),
    timeseriesPanel({
      title: 'AI error ratio',
      description: 'Share of AI requests that failed, by model (the AI-service-down alert fires when all fail for 2 minutes).',
      unit: units.PercentUnit,
      thresholds: [[0.05, 'red']],
      queries: [promql(ratio(sumRate('ai_requests_total', sel(S, 'status="error"'), ['model']), sumRate('ai_requests_total', S, ['model'])), '{{model}}')],
    }),
  ]);

  section(d, 'Tokens and cost', [
    timeseriesPanel({
      title: 'Tokens by model and type',
      description: 'Prompt and completion tokens per second by model.',
      unit: units.Short,
      stacked: true,
      queries: [promql(sumRate('ai_tokens_total', S, ['model', 'type']), '{{model}} {{type}}')],
    }),
    timeseriesPanel({
      title: 'Tokens per request',
      description: 'Average tokens a request uses, by model: prompts that grow show here first.',
      unit: units.Short,
      queries: [promql(ratio(sumRate('ai_tokens_total', S, ['model']), sumRate('ai_requests_total', S, ['model'])), '{{model}}')],
    }),
    timeseriesPanel({
      title: 'Cost per hour against budget',
      description: 'Cost per hour by model, and the daily budget spread over 24 hours.',
      unit: units.Dollars,
      stacked: true,
      queries: [promql(`sum by (model) (increase(ai_cost_dollars_total{${S}}[1h]))`, '{{model}}'), promql(`max(ai_daily_budget_dollars{${NS}}) / 24`, 'budget per hour')],
    }),
    timeseriesPanel({
      title: 'Cost per request',
      description: 'Average cost of one AI request, by model.',
      unit: units.Dollars,
      queries: [promql(ratio(sumRate('ai_cost_dollars_total', S, ['model']), sumRate('ai_requests_total', S, ['model'])), '{{model}}')],
    }),
  ]);

  section(d, 'Cache, retrieval and conversations', [
    timeseriesPanel({
      title: 'Cache hit rate by cache',
      description: 'Share of lookups answered from each cache.',
      unit: units.PercentUnit,
      max: 1,
      queries: [promql(ratio(sumRate('cache_hits_total', NS, ['cache']), `${sumRate('cache_hits_total', NS, ['cache'])} + ${sumRate('cache_misses_total', NS, ['cache'])}`), '{{cache}}')],
    }),
    timeseriesPanel({
      title: 'RAG queries and chat messages',
      description: 'Retrieval queries and chat messages sent, per second.',
      unit: units.OpsPerSecond,
      queries: [promql(sumRate('rag_queries_total', NS), 'RAG queries'), promql(sumRate('chat_messages_sent_total', NS, ['message_type']), 'messages {{message_type}}')],
    }),
    ctx.datasources.has('analytics') &&
      timeseriesPanel({
        title: 'Conversation rating',
        description: 'Average rating users gave conversations each day (conversation_rated events), and how many ratings there were.',
        datasource: 'analytics',
        bars: true,
        w: 24,
        queries: [
          sql(`
            SELECT day::timestamptz AS time,
                   sum(value) FILTER (WHERE metric = 'rating_sum') / nullif(sum(value) FILTER (WHERE metric = 'rating_count'), 0) AS "average rating"
            FROM daily_rollups
            WHERE metric IN ('rating_sum', 'rating_count') AND $__timeFilter(day)
            GROUP BY day ORDER BY 1`),
        ],
      }),
  ]);
  return d;
}
