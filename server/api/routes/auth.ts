import Router, { type RouterMiddleware } from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { origin, requireActor, SESSION_COOKIE, type ApiState } from '../middleware/auth.js';
import { presentUser } from '../presenters.js';
import { parseBody } from '../validate.js';
import type { Session } from '../../domain/auth.js';

const Register = z.object({ username: z.string(), email: z.string(), password: z.string() });
const Login = z.object({
  username: z.string().min(1).max(320),
  password: z.string().min(1).max(1024),
  totp: z.string().min(1).max(64).optional(),
});
const ChangePassword = z.object({ currentPassword: z.string().max(1024), newPassword: z.string() });

export function authRoutes({ accounts, bin, versions, notifications, config }: ApiDeps, json: RouterMiddleware) {
  // The session cookie goes only to Coffer's own paths (other applications may share the host under BASE_PATH).
  const cookiePath = config.basePath + '/';
  const router = new Router();

  const startSession = (ctx: Context, s: Session) => {
    ctx.cookies.set(SESSION_COOKIE, s.token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: ctx.secure,
      expires: new Date(s.expiresAt),
      path: cookiePath,
      overwrite: true,
    });
    const user = presentUser(s.user, { twoFactorRequired: config.require2fa });
    return { token: s.token, expiresAt: new Date(s.expiresAt).toISOString(), user };
  };

  router.post('/auth/register', json, async (ctx) => {
    const body = parseBody(ctx, Register);
    const user = await accounts.createUser((ctx.state as ApiState).actor ?? null, body);
    ctx.status = 201;
    ctx.body = { user: presentUser(user) };
  });

  router.post('/auth/login', json, async (ctx) => {
    const { username, password, totp } = parseBody(ctx, Login);
    ctx.body = startSession(ctx, await accounts.login(username, password, origin(ctx), totp));
  });

  router.post('/auth/logout', async (ctx) => {
    const state = ctx.state as ApiState;
    if (state.actor && state.session) await accounts.logout(state.actor, state.session);
    ctx.cookies.set(SESSION_COOKIE, null, { path: cookiePath });
    ctx.status = 204;
  });

  router.post('/auth/logout-all', async (ctx) => {
    await accounts.signOutEverywhere(requireActor(ctx));
    ctx.cookies.set(SESSION_COOKIE, null, { path: cookiePath });
    ctx.status = 204;
  });

  router.get('/auth/me', async (ctx) => {
    const actor = requireActor(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      user: {
        ...presentUser(actor.user, {
          trashBytes: await bin.bytes(actor),
          versionBytes: await versions.bytesOf(actor),
          twoFactorRequired: config.require2fa,
        }),
        ...notifications.preferences(actor),
      },
    };
  });

  router.post('/auth/password', json, async (ctx) => {
    const actor = requireActor(ctx);
    const { currentPassword, newPassword } = parseBody(ctx, ChangePassword);
    ctx.body = startSession(ctx, await accounts.changePassword(actor, currentPassword, newPassword));
  });

  return router;
}
