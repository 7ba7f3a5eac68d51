import { z } from 'zod';
import type { IngestApp, IngestContext } from '../context.js';

const Status = z.strictObject({ status: z.enum(['ok', 'ready', 'not_ready']) });
const Ready = z.strictObject({
  status: z.enum(['ready', 'not_ready']),
  checks: z.strictObject({
    database: z.enum(['up', 'down']),
    queue: z.enum(['ok', 'full']),
    shutdown: z.enum(['no', 'in_progress']),
  }),
});
const Health = z.strictObject({
  status: z.literal('ok'),
  service: z.string(),
  version: z.string(),
  uptime_seconds: z.number(),
});

const started = Date.now();

/** Probes and the Prometheus scrape endpoints: all public but `/metrics/business`; none is audited but for refusals. */
export function registerHealthRoutes(app: IngestApp, ctx: IngestContext): void {
  app.get('/health', { schema: { response: { 200: Health } } }, async () => ({
    status: 'ok' as const,
    service: ctx.config.serviceName,
    version: ctx.config.serviceVersion,
    uptime_seconds: Math.round((Date.now() - started) / 1000),
  }));

  // Liveness says only that the event loop turns: a database outage must not restart the pod.
  app.get('/health/live', { schema: { response: { 200: Status } } }, async () => ({ status: 'ok' as const }));

  app.get('/health/ready', { schema: { response: { 200: Ready, 503: Ready } } }, async (_request, reply) => {
    const database = (await ctx.db.ping(Math.min(1_000, ctx.config.dbTimeoutMs))) ? 'up' : 'down';
    const queue = ctx.queue.isFull ? 'full' : 'ok';
    const shutdown = ctx.state.closing ? 'in_progress' : 'no';
    const ready = database === 'up' && queue === 'ok' && shutdown === 'no';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks: { database, queue, shutdown } });
  });

  // Open to anyone who reaches the port: the service's own metrics and the custom metrics applications send to be exposed.
  // Nothing here is kept from callers by the API.
  app.get('/metrics', async (_request, reply) => {
    const parts = await Promise.all([ctx.metrics.registry.metrics(), ctx.customMetrics.registry.metrics()]);
    return reply.type(ctx.metrics.registry.contentType).send(parts.filter((p) => p.trim().length > 0).join('\n'));
  });

  // Business KPIs are for admin keys on the API, so here too they need a key: `metrics` (Prometheus's) or `admin`.
  // A key given the `metrics` scope is the platform's scrape key and reads every project's KPIs, each labelled
  // with its project; an admin key reads its own project's only, as it does on the API.
  app.get('/metrics/business', { config: { scope: 'metrics' } }, async (request, reply) => {
    const principal = request.principal!;
    const registry = principal.scopes.has('metrics') ? ctx.kpis.registry : ctx.kpis.forProject(principal.project);
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
