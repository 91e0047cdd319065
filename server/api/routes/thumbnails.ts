/**
 * GET /api/files/:id/thumbnail?size=64|256|1024 (and the link visitors' twin in public.ts): a WebP
 * image of the file, or 404 no_thumbnail (clients show the file's icon).
 *
 * Caching. The URL names a file by id, and a file's content changes, so a response may not be
 * cached as immutable under that alone. It is sent `private, no-cache` with a strong ETag made of the
 * content hash, the size and the thumbnail recipe: a browser revalidates and gets a 304 (two indexed
 * queries, nothing read from disk) until the file or the recipe changes. The console names the
 * content it expects (`&v=<the file's ETag>`, which is its content hash): when that is the content
 * the thumbnail was made from, the URL can only ever mean these bytes, and the answer is cached for
 * a year (`immutable`); a new content comes with a new `v`, so a new URL.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Actor } from '../../domain/actor.js';
import { THUMBNAIL_SIZES, type ThumbnailSize } from '../../domain/thumbnails.js';
import type { ApiDeps } from '../deps.js';
import { etagMatches, userContentHeaders } from '../http-util.js';
import { requireActor } from '../middleware/auth.js';
import { IdParams, parseParams, parseQuery } from '../validate.js';

export const ThumbnailQuery = z.object({
  size: z.coerce
    .number()
    .refine((n): n is ThumbnailSize => (THUMBNAIL_SIZES as readonly number[]).includes(n), {
      message: `must be one of ${THUMBNAIL_SIZES.join(', ')}`,
    })
    .default(256),
  /** The content the caller expects (the file's ETag): with it, a matching answer is cached long. */
  v: z.string().max(200).optional(),
});

export async function sendThumbnail(
  ctx: Context,
  deps: Pick<ApiDeps, 'thumbnails'>,
  actor: Actor,
  id: string,
  size: number,
  version?: string,
): Promise<void> {
  const thumb = await deps.thumbnails.get(actor, id, size as ThumbnailSize, {
    ifNoneMatch: (etag) => etagMatches(ctx.get('if-none-match'), etag),
  });
  ctx.set('ETag', `"${thumb.etag}"`);
  // The thumbnail's ETag ends with the content hash it was made from (domain/thumbnails.ts).
  const pinned = version !== undefined && version !== '' && thumb.etag.endsWith(`-${version}`);
  ctx.set('Cache-Control', pinned ? 'private, max-age=31536000, immutable' : 'private, no-cache');
  ctx.set(userContentHeaders({ name: 'thumbnail.webp', mime: thumb.type }));
  if (!thumb.bytes) {
    ctx.status = 304;
    return;
  }
  ctx.type = thumb.type;
  ctx.body = thumb.bytes;
}

export function thumbnailRoutes(deps: ApiDeps) {
  const router = new Router();
  router.get('/files/:id/thumbnail', async (ctx) => {
    const { id } = parseParams(ctx, IdParams);
    const { size, v } = parseQuery(ctx, ThumbnailQuery);
    await sendThumbnail(ctx, deps, requireActor(ctx), id, size, v);
  });
  return router;
}
