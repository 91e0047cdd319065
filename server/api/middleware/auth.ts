/**
 * Builds ctx.state.actor from `Authorization: Bearer <jwt>` or the session cookie.
 * CSRF guard: a cookie-authenticated POST/PUT/PATCH/DELETE must carry `X-Requested-With: coffer`.
 */
import type { Context, Next } from 'koa';
import { userActor, type Actor } from '../../domain/actor.js';
import type { Accounts } from '../../domain/auth.js';
import { forbidden, unauthenticated } from '../../domain/errors.js';

export const SESSION_COOKIE = 'coffer_session';
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface ApiState {
  actor?: Actor;
  session?: { jti: string; expiresAt: number };
}

/** Where an API request came from (ctx.ip is set from clientAddress by the router). */
export function origin(ctx: Context, via: 'api' | 'link' = 'api') {
  return { via, ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null };
}

/** `cookiePath`: where the session cookie was set (BASE_PATH + '/'), to clear a stale one there. */
export function authenticate(accounts: Accounts, cookiePath = '/') {
  return async (ctx: Context, next: Next) => {
    const header = ctx.get('authorization');
    const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const cookie = bearer ? undefined : ctx.cookies.get(SESSION_COOKIE);
    const token = bearer ?? cookie;
    if (token) {
      try {
        const info = await accounts.verifyToken(token);
        (ctx.state as ApiState).actor = userActor(info.user, origin(ctx));
        (ctx.state as ApiState).session = { jti: info.jti, expiresAt: info.expiresAt };
      } catch (err) {
        if (bearer) throw err; // an explicit bad token is an error; a stale cookie just means "signed out"
        ctx.cookies.set(SESSION_COOKIE, null, { path: cookiePath });
      }
      if (
        cookie &&
        (ctx.state as ApiState).actor &&
        !SAFE.has(ctx.method) &&
        ctx.get('x-requested-with') !== 'coffer'
      ) {
        throw forbidden('Missing the X-Requested-With: coffer header (CSRF protection)');
      }
    }
    await next();
  };
}

/** The signed-in user's actor, or 401. */
export function requireActor(ctx: Context): Actor & { kind: 'user' } {
  const actor = (ctx.state as ApiState).actor;
  if (!actor || actor.kind !== 'user') throw unauthenticated();
  return actor;
}
