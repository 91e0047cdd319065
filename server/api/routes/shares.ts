/** User shares and public links, managed by the owner. */
import Router, { type RouterMiddleware } from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { byId } from '../by-id.js';
import type { ApiDeps } from '../deps.js';
import { requireActor } from '../middleware/auth.js';
import { presentIncoming, presentLink, presentShare } from '../presenters.js';
import { IdParams, parseBody, parseParams, parseQuery } from '../validate.js';

const Permission = z.enum(['view', 'edit']);
const Expiry = z.iso
  .datetime({ offset: true })
  .transform((s) => Date.parse(s))
  .nullable()
  .optional();
const CreateShare = z.object({ user: z.string().min(1).max(320), permission: Permission, expiresAt: Expiry });
// The owner sends `permission`, the grantee `name` (their name for it in "Shared with me"); the domain checks who may send which.
const PatchShare = z
  .object({ permission: Permission.optional(), name: z.string().max(1024).optional() })
  .refine((p) => p.permission !== undefined || p.name !== undefined, {
    message: 'Send permission (owner) or name (grantee)',
  });
const Limit = z.number().int().positive().nullable().optional();
const CreateLink = z.object({
  // `upload`: a file drop (folders only): visitors add files and see nothing (domain/file-drop.ts).
  permission: z.enum(['view', 'edit', 'upload']).default('view'),
  password: z.string().max(1024).nullable().optional(),
  expiresAt: Expiry,
  maxUploadBytes: Limit,
  maxDownloads: Limit,
});
const Lookup = z.object({ q: z.string().max(320).default('') });

export function shareRoutes({ sharing, links, config }: ApiDeps, json: RouterMiddleware) {
  // Where a public link's page is: PUBLIC_URL, else this host as the client named it, under BASE_PATH.
  // (Not ctx.origin: since Koa 3 that is the request's Origin header, absent outside browsers.)
  const siteOrigin = (ctx: Context) => (config.publicUrl?.origin ?? `${ctx.protocol}://${ctx.host}`) + config.basePath;
  const router = new Router();

  router.get(
    '/nodes/:id/shares',
    byId(async (actor, id) => ({
      items: (await sharing.listNodeShares(actor, id)).shares.map((s) => presentShare(s)),
    })),
  );

  router.post('/nodes/:id/shares', json, async (ctx) => {
    const { id } = parseParams(ctx, IdParams);
    const body = parseBody(ctx, CreateShare);
    ctx.status = 201;
    ctx.body = presentShare(await sharing.shareWithUser(requireActor(ctx), id, body));
  });

  router.patch('/shares/:id', json, async (ctx) => {
    const { id } = parseParams(ctx, IdParams);
    const actor = requireActor(ctx);
    const share = await sharing.updateShare(actor, id, parseBody(ctx, PatchShare));
    ctx.body = presentShare(share, share.grantee.id === actor.user.id);
  });

  router.delete(
    '/shares/:id',
    byId((actor, id) => sharing.revoke(actor, id)),
  );

  router.get('/shares/incoming', async (ctx) => {
    ctx.body = { items: (await sharing.incoming(requireActor(ctx))).map(presentIncoming) };
  });

  router.get('/shares/outgoing', async (ctx) => {
    const { shares, links } = await sharing.outgoing(requireActor(ctx));
    ctx.body = { items: shares.map((s) => presentShare(s)), links: links.map((l) => presentLink(l, siteOrigin(ctx))) };
  });

  router.get(
    '/nodes/:id/links',
    byId(async (actor, id, ctx) => ({
      items: (await sharing.listNodeShares(actor, id)).links.map((l) => presentLink(l, siteOrigin(ctx))),
    })),
  );

  router.post('/nodes/:id/links', json, async (ctx) => {
    const { id } = parseParams(ctx, IdParams);
    const body = parseBody(ctx, CreateLink);
    ctx.status = 201;
    ctx.body = presentLink(await links.create(requireActor(ctx), id, body), siteOrigin(ctx));
  });

  router.delete(
    '/links/:id',
    byId((actor, id) => links.revoke(actor, id)),
  );

  router.get('/users/lookup', async (ctx) => {
    const { q } = parseQuery(ctx, Lookup);
    ctx.body = { items: await sharing.lookupUsers(requireActor(ctx), q) };
  });

  return router;
}
