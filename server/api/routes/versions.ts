/** File versions: list, download, restore, delete (GET|POST|DELETE /api/nodes/:id/versions…). */
import Router from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { requireActor } from '../middleware/auth.js';
import { presentNode, presentVersion } from '../presenters.js';
import { userContentHeaders } from '../http-util.js';
import { sendContent } from '../send-file.js';
import { Id, parseParams } from '../validate.js';

const VersionParams = z.object({ id: Id, versionId: Id });

export function versionRoutes({ versions, content }: ApiDeps) {
  const router = new Router();

  router.get('/nodes/:id/versions', async (ctx) => {
    const { id } = parseParams(ctx, z.object({ id: Id }));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { items: (await versions.list(requireActor(ctx), id)).map(presentVersion) };
  });

  /** Always an attachment: a version is a file to keep, not a page to preview. */
  router.get('/nodes/:id/versions/:versionId/content', async (ctx) => {
    const { id, versionId } = parseParams(ctx, VersionParams);
    const { node, version, open } = await content.openVersion(requireActor(ctx), id, versionId);
    const file = {
      name: node.name,
      mime: node.mime,
      size: version.size,
      etag: version.etag,
      modifiedAt: version.modifiedAt,
      open,
    };
    await sendContent(ctx, file, userContentHeaders(file, { download: true }));
  });

  router.post('/nodes/:id/versions/:versionId/restore', async (ctx) => {
    const { id, versionId } = parseParams(ctx, VersionParams);
    ctx.body = presentNode(await versions.restore(requireActor(ctx), id, versionId));
  });

  router.delete('/nodes/:id/versions/:versionId', async (ctx) => {
    const { id, versionId } = parseParams(ctx, VersionParams);
    await versions.remove(requireActor(ctx), id, versionId);
    ctx.status = 204;
  });

  return router;
}
