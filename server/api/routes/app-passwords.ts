import Router, { type RouterMiddleware } from '@koa/router';
import { z } from 'zod';
import { byId } from '../by-id.js';
import type { ApiDeps } from '../deps.js';
import { requireActor } from '../middleware/auth.js';
import { presentAppPassword } from '../presenters.js';
import { parseBody } from '../validate.js';

const Create = z.object({ name: z.string().min(1).max(100), scope: z.enum(['full', 'read']) });

/** App passwords: WebDAV credentials per device (server/domain/app-passwords.ts). */
export function appPasswordRoutes({ appPasswords }: ApiDeps, json: RouterMiddleware) {
  const router = new Router();

  router.get('/auth/app-passwords', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { items: (await appPasswords.list(requireActor(ctx))).map(presentAppPassword) };
  });

  router.post('/auth/app-passwords', json, async (ctx) => {
    const created = await appPasswords.create(requireActor(ctx), parseBody(ctx, Create));
    ctx.status = 201;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { id: created.id, name: created.name, scope: created.scope, password: created.password };
  });

  router.delete(
    '/auth/app-passwords/:id',
    byId((actor, id) => appPasswords.revoke(actor, id)),
  );

  return router;
}
