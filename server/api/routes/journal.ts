/** Read-only views of the recycle bin and the activity log. */
import Router from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { requireActor } from '../middleware/auth.js';
import { presentActivity, presentTrashItem } from '../presenters.js';
import { Id, parseQuery } from '../validate.js';

const time = z.iso
  .datetime({ offset: true })
  .or(z.iso.date())
  .transform((s) => Date.parse(s));
const ActivityQuery = z.object({
  action: z.string().max(64).optional(),
  actor: Id.optional(),
  path: z.string().max(4096).optional(),
  from: time.optional(),
  to: time.optional(),
  cursor: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  owner: z.union([Id, z.literal('all')]).optional(),
  format: z.enum(['json', 'csv']).default('json'),
});

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  // Quote always; neutralise spreadsheet formulas.
  return `"${(/^[=+\-@]/.test(s) ? `'${s}` : s).replace(/"/g, '""')}"`;
};

export function journalRoutes({ bin, activity }: ApiDeps) {
  const router = new Router();

  router.get('/trash', async (ctx) => {
    ctx.body = { items: (await bin.list(requireActor(ctx))).map(presentTrashItem) };
  });

  router.get('/activity', async (ctx) => {
    const q = parseQuery(ctx, ActivityQuery);
    const rows = await activity.list(requireActor(ctx), {
      action: q.action,
      actorId: q.actor,
      pathPrefix: q.path,
      from: q.from,
      to: q.to,
      before: q.cursor,
      limit: q.limit,
      ownerId: q.owner === 'all' ? null : q.owner,
    });
    const items = rows.map(presentActivity);
    if (q.format === 'csv') {
      const header = ['time', 'owner', 'actor', 'action', 'path', 'via', 'ip', 'details'];
      const lines = items.map((a) =>
        [a.createdAt, a.ownerId, a.actor.username, a.action, a.path, a.via, a.ip, a.details].map(csvCell).join(','),
      );
      ctx.type = 'text/csv; charset=utf-8';
      ctx.set('Content-Disposition', 'attachment; filename="activity.csv"');
      ctx.body = [header.join(','), ...lines].join('\r\n') + '\r\n';
      return;
    }
    ctx.body = { items, nextCursor: items.length === q.limit ? items[items.length - 1]!.id : null };
  });

  return router;
}
