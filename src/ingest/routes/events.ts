import { z } from 'zod';
import { commitAudited } from '../audit.js';
import type { IngestApp, IngestContext } from '../context.js';
import { ErrorReply, isJsonObject, isRecentTimestamp, isText, jsonObject, oneOrMany, recentTimestamp, text, UUID } from '../http/schemas.js';
import { isoNow } from '../telemetry/logger.js';
import { QueueRefusedError } from '../write-queue.js';

/** The longest request an event may report: a day, so that no sum or percentile of durations can overflow. */
export const MAX_DURATION_MS = 86_400_000;

/** Properties the well-known event types must carry; an application's own types (`toString` too) are free. */
const KNOWN_PROPERTIES = new Map<unknown, z.ZodType>(Object.entries({
  page_view: z.looseObject({ path: z.string().max(2048).optional() }),
  session_start: z.looseObject({}),
  session_end: z.looseObject({ duration_seconds: z.number().min(0).max(7 * 86_400).optional() }),
  feature_used: z.looseObject({ feature: z.string().min(1).max(128) }),
  conversation_rated: z.looseObject({ rating: z.number().min(1).max(5) }),
  request: z.looseObject({ duration_ms: z.number().min(0).max(MAX_DURATION_MS, `must be at most ${MAX_DURATION_MS} (1 day)`), status: z.number().int().min(100).max(599), route: z.string().max(256).optional() }),
}));

export const EVENT_TYPE = /^[a-zA-Z][a-zA-Z0-9_.:-]{0,63}$/;

/** One analytics event as a client sends it. */
export function eventSchema(maxAgeDays: number) {
  return z
    .strictObject({
      type: z.string().regex(EVENT_TYPE, 'must be 1-64 characters: a letter, then letters, digits or _ . : -'),
      event_id: z.uuid().optional(),
      user_id: text(256).min(1).optional(),
      session_id: text(256).min(1).optional(),
      timestamp: recentTimestamp(maxAgeDays).optional(),
      properties: jsonObject(8_192).optional(),
    })
    .superRefine((event, ctx) => {
      const known = KNOWN_PROPERTIES.get(event.type);
      if (known) {
        const r = known.safeParse(event.properties ?? {});
        if (!r.success) for (const issue of r.error.issues) ctx.addIssue({ ...issue, path: ['properties', ...issue.path] } as never);
      }
    });
}
export type IngestEvent = z.output<ReturnType<typeof eventSchema>>;

/**
 * Says true only for an event `eventSchema(maxAgeDays)` accepts, without
 * zod's walk: the same rules as plain tests, for the fast path of a valid
 * body (`oneOrMany`). Whatever it is unsure of, it leaves to the schema.
 */
export function acceptEvent(maxAgeDays: number): (v: unknown) => boolean {
  return (v) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
    const event = v as Record<string, unknown>;
    let typed = false;
    for (const key in event) {
      const value = event[key];
      switch (key) {
        case 'type':
          if (typeof value !== 'string' || !EVENT_TYPE.test(value)) return false;
          typed = true;
          break;
        case 'event_id':
          if (typeof value !== 'string' || !UUID.test(value)) return false;
          break;
        case 'user_id':
        case 'session_id':
          if (!isText(value, 256, 1)) return false;
          break;
        case 'timestamp':
          if (!isRecentTimestamp(value, maxAgeDays)) return false;
          break;
        case 'properties':
          if (!isJsonObject(value, 8_192)) return false;
          break;
        default:
          return false;
      }
    }
    if (!typed) return false;
    const known = KNOWN_PROPERTIES.get(event['type']);
    return known === undefined || known.safeParse(event['properties'] ?? {}).success;
  };
}

/** An accepted event as its `events` row (write-queue column order), sent by `actor` of `project`; `now` stands for a missing timestamp. */
export function eventRow(e: Pick<IngestEvent, 'type'> & Partial<IngestEvent>, actor: string, project: string, now: string): unknown[] {
  return [e.event_id ?? null, e.type, e.user_id ?? null, e.session_id ?? null, e.timestamp ?? now, e.properties ?? {}, actor, project];
}

const Accepted = z.strictObject({ success: z.literal(true), accepted: z.number().int(), request_id: z.string() });

/** `POST /api/v1/events`: one event, an array, or `{ events: [...] }`; answered after commit. */
export function registerEventRoutes(app: IngestApp, ctx: IngestContext): void {
  const body = oneOrMany(eventSchema(ctx.config.retentionDays), 'events', ctx.config.maxBatchEvents, acceptEvent(ctx.config.retentionDays));
  app.post(
    '/api/v1/events',
    {
      config: { scope: 'ingest' },
      schema: { body, response: { 200: Accepted, '4xx': ErrorReply, '5xx': ErrorReply } },
    },
    async (request) => {
      if (ctx.state.closing) throw new QueueRefusedError('closed');
      const events = request.body;
      const { name: actor, project } = request.principal!;
      const now = isoNow();
      const rows = events.map((e) => eventRow(e, actor, project, now));
      await commitAudited(ctx, request, { events: rows }, { action: 'events.ingest', resourceType: 'events', metadata: { count: events.length } });
      ctx.metrics.eventsIngested.inc(events.length);
      ctx.metrics.batchSize.observe(events.length);
      return { success: true as const, accepted: events.length, request_id: request.id };
    },
  );
}
