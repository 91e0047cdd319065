import Router, { type RouterMiddleware } from '@koa/router';
import { z } from 'zod';
import { byId } from '../by-id.js';
import type { ApiDeps } from '../deps.js';
import { origin, requireActor } from '../middleware/auth.js';
import { parseBody } from '../validate.js';

const Code = z.string().min(1).max(64);
const Enable = z.object({ code: Code });
const Disable = z.object({ password: z.string().min(1).max(1024), code: Code });

/** Two-factor sign-in (server/domain/totp.ts): the user's own setup, and an administrator's reset. */
export function twoFactorRoutes({ twoFactor }: ApiDeps, json: RouterMiddleware) {
  const router = new Router();

  router.get('/auth/totp', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await twoFactor.status(requireActor(ctx));
  });

  router.post('/auth/totp/setup', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await twoFactor.setup(requireActor(ctx));
  });

  router.post('/auth/totp/enable', json, async (ctx) => {
    const { code } = parseBody(ctx, Enable);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await twoFactor.enable(requireActor(ctx), code);
  });

  router.post('/auth/totp/disable', json, async (ctx) => {
    const { password, code } = parseBody(ctx, Disable);
    await twoFactor.disable(requireActor(ctx), password, code, origin(ctx));
    ctx.status = 204;
  });

  router.delete(
    '/admin/users/:id/totp',
    byId((actor, id) => twoFactor.reset(actor, id)),
  );

  return router;
}
