/** The signed-in user's sessions (devices): list them, end one. */
import Router from '@koa/router';
import { byId } from '../by-id.js';
import type { ApiDeps } from '../deps.js';
import { requireActor, type ApiState } from '../middleware/auth.js';
import { presentSession } from '../presenters.js';

export function sessionRoutes({ sessions }: ApiDeps) {
  const router = new Router();

  router.get('/auth/sessions', async (ctx) => {
    const actor = requireActor(ctx);
    ctx.set('Cache-Control', 'no-store');
    const items = await sessions.list(actor, (ctx.state as ApiState).session?.jti);
    ctx.body = { items: items.map(presentSession) };
  });

  router.delete(
    '/auth/sessions/:id',
    byId((actor, id) => sessions.end(actor, id)),
  );

  return router;
}
