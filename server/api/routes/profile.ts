/** The signed-in user's own profile: PATCH /api/auth/me {displayName, email}. */
import Router, { type RouterMiddleware } from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { requireActor } from '../middleware/auth.js';
import { presentUser } from '../presenters.js';
import { parseBody } from '../validate.js';

const PatchMe = z
  .object({
    displayName: z.string().max(1000).nullable().optional(),
    email: z.string().max(400).optional(),
    currentPassword: z.string().max(1024).optional(),
  })
  .strict()
  .refine((p) => Object.keys(p).length > 0, { message: 'Nothing to change' });

export function profileRoutes({ profiles }: ApiDeps, json: RouterMiddleware) {
  const router = new Router();

  router.patch('/auth/me', json, async (ctx) => {
    ctx.body = { user: presentUser(await profiles.update(requireActor(ctx), parseBody(ctx, PatchMe))) };
  });

  return router;
}
