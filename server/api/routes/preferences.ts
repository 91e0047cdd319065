/** The signed-in user's mail preferences (what Coffer may mail them about). */
import Router, { type RouterMiddleware } from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { requireActor } from '../middleware/auth.js';
import { parseBody } from '../validate.js';

const Preferences = z.strictObject({ notifyShares: z.boolean() }).partial();

export function preferenceRoutes({ notifications }: ApiDeps, json: RouterMiddleware) {
  const router = new Router();

  router.get('/auth/me/preferences', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = notifications.preferences(requireActor(ctx));
  });

  router.patch('/auth/me/preferences', json, async (ctx) => {
    const actor = requireActor(ctx);
    ctx.body = await notifications.setPreferences(actor, parseBody(ctx, Preferences));
  });

  return router;
}
