/** WebDAV locks seen from the API: list them on one's files (admins: anyone's) and break them. */
import Router from '@koa/router';
import { z } from 'zod';
import { byId } from '../by-id.js';
import type { ApiDeps } from '../deps.js';
import { requireActor } from '../middleware/auth.js';
import { presentLock } from '../presenters.js';
import { Id, parseParams, parseQuery } from '../validate.js';

const ListQuery = z.object({ owner: z.union([Id, z.literal('all')]).optional() });
// The token is a URI ("urn:uuid:…"), URL-encoded in the path; an unknown one is simply not found.
const TokenParams = z.object({ token: z.string().min(1).max(512) });

export function lockRoutes({ locks }: ApiDeps) {
  const router = new Router();

  router.get('/locks', async (ctx) => {
    const { owner } = parseQuery(ctx, ListQuery);
    ctx.body = { items: (await locks.list(requireActor(ctx), owner === 'all' ? null : owner)).map(presentLock) };
  });

  router.get(
    '/nodes/:id/locks',
    byId(async (actor, id) => ({ items: (await locks.onNode(actor, id)).map(presentLock) })),
  );

  router.delete('/locks/:token', async (ctx) => {
    const { token } = parseParams(ctx, TokenParams);
    await locks.break(requireActor(ctx), token);
    ctx.status = 204;
  });

  return router;
}
