/** The signed-in user's sessions (devices): list them, end one. */
import Router from '@koa/router';
import type { ApiDeps } from '../deps.js';
import { requireActor, type ApiState } from '../middleware/auth.js';
import { presentSession } from '../presenters.js';
import { IdParams, parseParams } from '../validate.js';

export function sessionRoutes({ sessions }: ApiDeps) {
  const router = new Router();

  router.get('/auth/sessions', async (ctx) => {
    const actor = requireActor(ctx);
    ctx.set('Cache-Control', 'no-store');
    const items = await sessions.list(actor, (ctx.state as ApiState).session?.jti);
    ctx.body = { items: items.map(presentSession) };
  });

  router.delete('/auth/sessions/:id', async (ctx) => {
    const actor = requireActor(ctx);
    const { id } = parseParams(ctx, IdParams);
    await sessions.end(actor, id);
    ctx.status = 204;
  });

  return router;
}
