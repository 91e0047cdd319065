/**
 * Public link visitors: no account, the link's permission inside the link's subtree only.
 * `?id=<nodeId>` picks a node inside a folder link. Password links take `X-Link-Password`, or the
 * httpOnly cookie set by POST /unlock (so <img>, <video> and download links work).
 */
import Router, { type RouterMiddleware } from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { FileDrops } from '../../domain/file-drop.js';
import type { LinkView } from '../../domain/share-views.js';
import type { ApiDeps } from '../deps.js';
import { sendContinue } from '../http-util.js';
import { origin } from '../middleware/auth.js';
import { linkCookieName, openLink, TokenParams } from '../link-visitor.js';
import { presentNode } from '../presenters.js';
import { sendFile } from '../send-file.js';
import { Id, parseBody, parseParams, parseQuery } from '../validate.js';
import { sendThumbnail, ThumbnailQuery } from './thumbnails.js';
import { sendZip } from './zip.js';

const UploadParams = TokenParams.extend({ name: z.string() });
const NodeQuery = z.object({ id: Id.optional() });
const ChildrenQuery = NodeQuery.extend({
  sort: z.enum(['name', 'size', 'modified']).default('name'),
  order: z.enum(['asc', 'desc']).default('asc'),
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});
const ContentQuery = NodeQuery.extend({ download: z.string().optional() });
const ZipQuery = z.object({ id: Id.optional(), ids: z.string().optional() });
const Unlock = z.object({ password: z.string().max(1024) });

function presentLinkInfo(link: LinkView) {
  return {
    permission: link.permission,
    expiresAt: link.expiresAt === null ? null : new Date(link.expiresAt).toISOString(),
    hasPassword: link.hasPassword,
    rootId: link.node.id,
    maxUploadBytes: link.maxUploadBytes,
  };
}

export function publicRoutes(deps: ApiDeps, json: RouterMiddleware) {
  const { links, drive } = deps;
  const router = new Router();

  /** `visit`: this request is the visitor opening the link's page (logged, coalesced), not one it makes from there. */
  const open = (ctx: Context, visit = false) => openLink(deps, ctx, visit);

  router.get('/public/:token', async (ctx) => {
    const { id } = parseQuery(ctx, NodeQuery);
    const { actor, link } = await open(ctx, id === undefined);
    // A file drop shows its folder's name and nothing of what is in it (domain/file-drop.ts).
    if (FileDrops.isDrop(actor))
      return void (ctx.body = { link: presentLinkInfo(link), node: null, name: link.node.name });
    ctx.body = { link: presentLinkInfo(link), node: presentNode(await drive.stat(actor, id ?? link.node.id)) };
  });

  router.post('/public/:token/unlock', json, async (ctx) => {
    const { token } = parseParams(ctx, TokenParams);
    const { password } = parseBody(ctx, Unlock);
    const { link } = await links.open(token, { password }, origin(ctx, 'link'));
    const unlock = links.unlockToken(link);
    ctx.cookies.set(linkCookieName(link.id), unlock.value, {
      httpOnly: true,
      sameSite: 'lax',
      secure: ctx.secure,
      expires: new Date(unlock.expiresAt),
      path: `${deps.config.basePath}/api/public/${token}`,
    });
    ctx.body = { link: presentLinkInfo(link) };
  });

  router.get('/public/:token/children', async (ctx) => {
    const { actor, link } = await open(ctx);
    const q = parseQuery(ctx, ChildrenQuery);
    const page = await drive.list(actor, q.id ?? link.node.id, q);
    ctx.body = { items: page.items.map(presentNode), total: page.total };
  });

  router.get('/public/:token/path', async (ctx) => {
    const { actor, link } = await open(ctx);
    const { id } = parseQuery(ctx, NodeQuery);
    ctx.body = { items: (await drive.path(actor, id ?? link.node.id)).map(presentNode) };
  });

  router.get('/public/:token/content', async (ctx) => {
    const { actor, link } = await open(ctx);
    const { id, download } = parseQuery(ctx, ContentQuery);
    await sendFile(ctx, deps, actor, id ?? link.node.id, { download: download !== undefined && download !== '0' });
  });

  router.get('/public/:token/thumbnail', async (ctx) => {
    const { actor, link } = await open(ctx);
    const { id, size } = parseQuery(ctx, NodeQuery.merge(ThumbnailQuery));
    await sendThumbnail(ctx, deps, actor, id ?? link.node.id, size);
  });

  router.get('/public/:token/zip', async (ctx) => {
    const { actor, link } = await open(ctx);
    const q = parseQuery(ctx, ZipQuery);
    const ids = q.ids
      ? q.ids
          .split(',')
          .filter(Boolean)
          .map((s) => Id.parse(s))
      : [q.id ?? link.node.id];
    await sendZip(ctx, deps.content, actor, ids);
  });

  /** Upload through an edit link (into the link's folder or `?id=` a folder inside it) or a file drop; never overwrites. */
  router.put('/public/:token/files/:name', async (ctx) => {
    const { actor, link } = await open(ctx);
    const { name } = parseParams(ctx, UploadParams);
    if (FileDrops.isDrop(actor)) {
      // Through a file drop: a new file, renamed when the name is taken; the visitor learns only what was stored.
      const node = await deps.fileDrops.upload(actor, name, ctx.req, {
        expectedSize: ctx.request.length ?? null,
        beforeRead: () => sendContinue(ctx.req, ctx.res),
      });
      ctx.status = 201;
      ctx.body = { name: node.name, size: node.size };
      return;
    }
    const { id } = parseQuery(ctx, NodeQuery);
    const { node } = await drive.upload(actor, id ?? link.node.id, name, ctx.req, {
      expectedSize: ctx.request.length ?? null,
      beforeRead: () => sendContinue(ctx.req, ctx.res),
    });
    ctx.status = 201;
    ctx.body = presentNode(node);
  });

  return router;
}
