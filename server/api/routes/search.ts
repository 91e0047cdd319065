import Router from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { requireActor } from '../middleware/auth.js';
import { presentHit } from '../presenters.js';
import { parseQuery } from '../validate.js';

const SearchQuery = z.object({
  q: z.string().min(1, 'type something to search for').max(255),
  kind: z.enum(['file', 'folder']).optional(),
  minSize: z.coerce.number().int().min(0).optional(),
  maxSize: z.coerce.number().int().min(0).optional(),
  modifiedAfter: z
    .union([z.iso.datetime({ offset: true }), z.iso.date()])
    .transform((s) => Date.parse(s))
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export function searchRoutes({ search }: ApiDeps) {
  const router = new Router();
  router.get('/search', async (ctx) => {
    const q = parseQuery(ctx, SearchQuery);
    ctx.body = { items: (await search(requireActor(ctx), q)).map(presentHit) };
  });
  return router;
}
