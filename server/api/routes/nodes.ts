import Router, { type RouterMiddleware } from '@koa/router';
import { z } from 'zod';
import { byId } from '../by-id.js';
import type { ApiDeps } from '../deps.js';
import { requireActor } from '../middleware/auth.js';
import { presentNode } from '../presenters.js';
import { Id, IdParams, Name, parseBody, parseParams, parseQuery } from '../validate.js';

const ChildrenQuery = z.object({
  sort: z.enum(['name', 'size', 'modified']).default('name'),
  order: z.enum(['asc', 'desc']).default('asc'),
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});
const CreateFolder = z.object({ parentId: Id, name: Name });
const Patch = z
  .object({ name: Name.optional(), parentId: Id.optional() })
  .refine((b) => b.name !== undefined || b.parentId !== undefined, {
    message: 'Give a new name, a new parentId, or both',
  });
const Copy = z.object({ parentId: Id, name: Name.optional() });
const Bulk = z.object({
  action: z.enum(['move', 'copy', 'trash']),
  ids: z.array(Id).min(1).max(1000),
  parentId: Id.optional(),
});

export function nodeRoutes({ drive }: ApiDeps, json: RouterMiddleware) {
  const router = new Router();

  router.get(
    '/nodes/:id',
    byId(async (actor, id) => presentNode(await drive.stat(actor, id))),
  );

  router.get('/nodes/:id/children', async (ctx) => {
    const { id } = parseParams(ctx, IdParams);
    const page = await drive.list(requireActor(ctx), id, parseQuery(ctx, ChildrenQuery));
    ctx.body = { items: page.items.map(presentNode), total: page.total };
  });

  router.get(
    '/nodes/:id/path',
    byId(async (actor, id) => ({ items: (await drive.path(actor, id)).map(presentNode) })),
  );

  router.post('/folders', json, async (ctx) => {
    const { parentId, name } = parseBody(ctx, CreateFolder);
    ctx.status = 201;
    ctx.body = presentNode(await drive.createFolder(requireActor(ctx), parentId, name));
  });

  router.patch('/nodes/:id', json, async (ctx) => {
    const { id } = parseParams(ctx, IdParams);
    const body = parseBody(ctx, Patch);
    const actor = requireActor(ctx);
    const node = body.parentId
      ? await drive.move(actor, id, body.parentId, { name: body.name })
      : await drive.rename(actor, id, body.name!);
    ctx.body = presentNode(node);
  });

  router.post('/nodes/:id/copy', json, async (ctx) => {
    const { id } = parseParams(ctx, IdParams);
    const { parentId, name } = parseBody(ctx, Copy);
    ctx.status = 201;
    ctx.body = presentNode(await drive.copy(requireActor(ctx), id, parentId, { name }));
  });

  router.delete(
    '/nodes/:id',
    byId((actor, id) => drive.trash(actor, id)),
  );

  router.post('/nodes/bulk', json, async (ctx) => {
    const { action, ids, parentId } = parseBody(ctx, Bulk);
    const items = await drive.bulk(requireActor(ctx), action, ids, parentId);
    ctx.status = action === 'copy' ? 201 : 200;
    ctx.body = { items: items.map(presentNode) };
  });

  return router;
}
