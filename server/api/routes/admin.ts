import Router, { type RouterMiddleware } from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { requireActor } from '../middleware/auth.js';
import { presentUser } from '../presenters.js';
import { Id, IdParams, parseBody, parseParams, parseQuery } from '../validate.js';
import { requireAdmin } from '../../domain/admin.js';

const CreateUser = z.object({
  username: z.string(),
  email: z.string(),
  password: z.string(),
  quotaBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  role: z.enum(['admin', 'user']).optional(),
});
const PatchUser = z
  .object({
    quotaBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    disabled: z.boolean().optional(),
    role: z.enum(['admin', 'user']).optional(),
    password: z.string().optional(),
    displayName: z.string().nullable().optional(),
    email: z.string().optional(),
  })
  .refine((p) => Object.keys(p).length > 0, { message: 'Nothing to change' });

const DeleteUser = z.object({ transferTo: Id.optional() });

export function adminRoutes({ admin, accounts, userDeletion }: ApiDeps, json: RouterMiddleware) {
  const router = new Router();

  router.get('/admin/users', async (ctx) => {
    ctx.body = { items: (await admin.listUsers(requireActor(ctx))).map((u) => presentUser(u)) };
  });

  router.post('/admin/users', json, async (ctx) => {
    const actor = requireActor(ctx);
    requireAdmin(actor);
    const user = await accounts.createUser(actor, parseBody(ctx, CreateUser));
    ctx.status = 201;
    ctx.body = { user: presentUser(user) };
  });

  router.get('/admin/stats', async (ctx) => {
    ctx.body = await admin.stats(requireActor(ctx));
  });

  router.patch('/admin/users/:id', json, async (ctx) => {
    const { id } = parseParams(ctx, IdParams);
    ctx.body = { user: presentUser(await admin.updateUser(requireActor(ctx), id, parseBody(ctx, PatchUser))) };
  });

  router.delete('/admin/users/:id', async (ctx) => {
    const { id } = parseParams(ctx, IdParams);
    const { transferTo } = parseQuery(ctx, DeleteUser);
    await userDeletion.delete(requireActor(ctx), id, transferTo);
    ctx.status = 204;
  });

  return router;
}
