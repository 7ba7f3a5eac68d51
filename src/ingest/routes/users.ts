import { createHash } from 'node:crypto';
import { z } from 'zod';
import { auditRow, logAudit, requestFacts } from '../audit.js';
import type { IngestApp, IngestContext } from '../context.js';
import { ErrorReply, text } from '../http/schemas.js';
import { insertRows } from '../write-queue.js';

const Erased = z.strictObject({
  success: z.literal(true),
  deleted: z.strictObject({ events: z.number(), error_events: z.number(), daily_active_users: z.number() }),
  request_id: z.string(),
});

/** The audit log keeps a digest of an erased user's id, never the id itself. */
export const userDigest = (id: string) => `sha256:${createHash('sha256').update(id).digest('hex')}`;

/** GDPR erasure of one user's raw data (events, error reports, activity days). */
export function registerUserRoutes(app: IngestApp, ctx: IngestContext): void {
  app.delete(
    '/api/v1/users/:id/data',
    {
      config: { scope: 'admin' },
      schema: { params: z.strictObject({ id: text(256).min(1) }), response: { 200: Erased, '4xx': ErrorReply, '5xx': ErrorReply } },
    },
    async (request) => {
      const id = request.params.id;
      // Rows already accepted for this user are committed first, so none lands after the erasure.
      await ctx.queue.drain();
      const entry = {
        actor: request.principal!.name,
        action: 'user.erase',
        resourceType: 'user',
        resourceId: userDigest(id),
        outcome: 'success' as const,
        ...requestFacts(request),
      };
      const deleted = await ctx.db.transaction(async (tx) => {
        const events = (await tx.query('DELETE FROM events WHERE user_id = $1', [id])).rowCount;
        const errors = (await tx.query('DELETE FROM error_events WHERE user_id = $1', [id])).rowCount;
        const days = (await tx.query('DELETE FROM daily_active_users WHERE user_id = $1', [id])).rowCount;
        const counts = { events, error_events: errors, daily_active_users: days };
        await insertRows(tx, 'audit_log', [auditRow({ ...entry, metadata: { deleted: counts } })]);
        return counts;
      });
      logAudit(request.log, { ...entry, metadata: { deleted } });
      return { success: true as const, deleted, request_id: request.id };
    },
  );
}
