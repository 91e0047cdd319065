/** Password reset by email: ask for a link (always the same answer), then use it. */
import Router, { type RouterMiddleware } from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { origin } from '../middleware/auth.js';
import { parseBody } from '../validate.js';

const Forgot = z.object({ email: z.string().min(1).max(320) });
const Reset = z.object({ token: z.string().min(1).max(200), password: z.string() });

/** The one answer to every accepted request, whether or not an account has the address. */
const ACCEPTED = {
  status: 'accepted',
  message: 'If an account uses this address, a link to reset its password is on its way. It works for one hour.',
};

export function passwordResetRoutes({ passwordResets }: ApiDeps, json: RouterMiddleware) {
  const router = new Router();

  router.post('/auth/forgot', json, async (ctx) => {
    const { email } = parseBody(ctx, Forgot);
    await passwordResets.request(email, origin(ctx));
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 202;
    ctx.body = ACCEPTED;
  });

  router.post('/auth/reset', json, async (ctx) => {
    const { token, password } = parseBody(ctx, Reset);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await passwordResets.reset(token, password, origin(ctx));
  });

  return router;
}
