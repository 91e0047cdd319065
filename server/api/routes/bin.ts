/** Recycle bin actions (the list is in journal.ts). */
import Router from '@koa/router';
import { byId } from '../by-id.js';
import type { ApiDeps } from '../deps.js';
import { requireActor } from '../middleware/auth.js';
import { presentNode } from '../presenters.js';

export function binRoutes({ bin }: ApiDeps) {
  const router = new Router();

  router.post(
    '/trash/:id/restore',
    byId(async (actor, id) => presentNode(await bin.restore(actor, id))),
  );
  router.delete(
    '/trash/:id',
    byId((actor, id) => bin.purge(actor, id)),
  );

  router.delete('/trash', async (ctx) => {
    ctx.body = await bin.empty(requireActor(ctx));
  });

  return router;
}
