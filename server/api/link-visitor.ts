/**
 * A public link's visitor, as every route under /api/public/:token sees them: the link opened by its
 * token (its expiry, throttling and password checked by Links.open), with the password from
 * `X-Link-Password` or the httpOnly cookie POST /unlock set. A cookie-unlocked visitor's writes need
 * `X-Requested-With: coffer` (CSRF), as a signed-in user's do.
 */
import type { Context } from 'koa';
import { z } from 'zod';
import type { Actor } from '../domain/actor.js';
import { forbidden } from '../domain/errors.js';
import type { LinkView } from '../domain/share-views.js';
import type { ApiDeps } from './deps.js';
import { origin } from './middleware/auth.js';
import { parseParams } from './validate.js';

export const TokenParams = z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'is not a link token') });

export const linkCookieName = (linkId: string) => `coffer_link_${linkId}`;

/** `visit`: the request is the visitor opening the link's page (Links.open logs it, coalesced). */
export async function openLink(
  deps: Pick<ApiDeps, 'links'>,
  ctx: Context,
  visit = false,
): Promise<{ actor: Actor; link: LinkView }> {
  const { links } = deps;
  const { token } = parseParams(ctx, TokenParams);
  const linkId = await links.idOf(token);
  const cookie = linkId ? ctx.cookies.get(linkCookieName(linkId)) : undefined;
  const unlocked = linkId !== undefined && links.isUnlocked(cookie, linkId);
  const opened = await links.open(
    token,
    { password: ctx.get('x-link-password') || null, unlocked, visit },
    origin(ctx, 'link'),
  );
  if (unlocked && !['GET', 'HEAD'].includes(ctx.method) && ctx.get('x-requested-with') !== 'coffer') {
    throw forbidden('Missing the X-Requested-With: coffer header (CSRF protection)');
  }
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Referrer-Policy', 'no-referrer');
  return opened;
}
