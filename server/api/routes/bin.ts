/** Recycle bin actions (the list is in journal.ts). */
import Router from '@koa/router';
import type { ApiDeps } from '../deps.js';
import { requireActor } from '../middleware/auth.js';
import { presentNode } from '../presenters.js';
import { IdParams, parseParams } from '../validate.js';

export function binRoutes({ bin }: ApiDeps) {
  const router = new Router();

  router.post('/trash/:id/restore', async (ctx) => {
    const { id } = parseParams(ctx, IdParams);
    ctx.body = presentNode(await bin.restore(requireActor(ctx), id));
  });

  router.delete('/trash/:id', async (ctx) => {
    const { id } = parseParams(ctx, IdParams);
    ctx.body = await bin.purge(requireActor(ctx), id);
  });

  router.delete('/trash', async (ctx) => {
    ctx.body = await bin.empty(requireActor(ctx));
  });

  return router;
}
