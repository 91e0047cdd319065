/** The Koa application for /api (and, once built, the console at /). */
import Router from '@koa/router';
import Koa from 'koa';
import type { Log } from '../log.js';
import type { ApiDeps } from './deps.js';
import { clientAddress } from '../client-address.js';
import { contentOrigin } from './content-origin.js';
import { sendContinue } from './http-util.js';
import { jsonBody } from './json-body.js';
import { serveConsole } from './static.js';
import { authenticate } from './middleware/auth.js';
import { errorHandler } from './middleware/errors.js';
import { twoFactorGate } from './middleware/two-factor-gate.js';
import { notFound } from '../domain/errors.js';
import { adminRoutes } from './routes/admin.js';
import { appPasswordRoutes } from './routes/app-passwords.js';
import { authRoutes } from './routes/auth.js';
import { binRoutes } from './routes/bin.js';
import { eventRoutes } from './routes/events.js';
import { contentRoutes } from './routes/content.js';
import { journalRoutes } from './routes/journal.js';
import { lockRoutes } from './routes/locks.js';
import { nodeRoutes } from './routes/nodes.js';
import { passwordResetRoutes } from './routes/password-reset.js';
import { preferenceRoutes } from './routes/preferences.js';
import { publicRoutes } from './routes/public.js';
import { profileRoutes } from './routes/profile.js';
import { searchRoutes } from './routes/search.js';
import { sessionRoutes } from './routes/sessions.js';
import { shareRoutes } from './routes/shares.js';
import { thumbnailRoutes } from './routes/thumbnails.js';
import { twoFactorRoutes } from './routes/two-factor.js';
import { tusRoutes } from './routes/tus.js';
import { versionRoutes } from './routes/versions.js';
import { zipRoutes } from './routes/zip.js';

/** Routes that read a (possibly huge) body themselves and decide when to send `100 Continue`. */
const STREAMING_UPLOAD = /^\/api\/(folders\/[^/]+\/(files\/[^/]+|upload)|public\/[^/]+\/files\/[^/]+)$/;
/** Resumable (tus) upload chunks, read by routes/tus.ts, which sends `100 Continue` itself too. */
const RESUMABLE_UPLOAD = /^\/api\/(public\/[^/]+\/)?uploads(\/[^/]+)?$/;

export function createApi(deps: ApiDeps, log: Log): Koa {
  const app = new Koa({ proxy: deps.config.trustProxy });
  const json = jsonBody;
  // Errors Koa meets outside the middleware chain (mostly a client hanging up mid-request): into
  // the log, instead of Koa's default raw stack on stderr.
  app.on('error', (err: Error & { code?: string }, ctx?: { method?: string; path?: string }) => {
    const hangUp =
      /^(ECONNRESET|EPIPE|ECONNABORTED|ERR_STREAM_PREMATURE_CLOSE|HPE_)/.test(err.code ?? '') ||
      err.message === 'Parse Error' ||
      err.message === 'aborted';
    (hangUp ? log.debug : log.warn)(
      { err, method: ctx?.method, path: ctx?.path },
      hangUp ? 'client went away' : 'request error',
    );
  });

  app.use(async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      log.debug(
        { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - started) },
        'request',
      );
    }
  });
  app.use(errorHandler(log));
  app.use(async (ctx, next) => {
    if (!STREAMING_UPLOAD.test(ctx.path) && !RESUMABLE_UPLOAD.test(ctx.path)) sendContinue(ctx.req, ctx.res);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'same-origin');
    // Koa's own ctx.ip believes the left-most X-Forwarded-For entry, which the client writes.
    ctx.request.ip = clientAddress(ctx.req, deps.config) ?? '';
    await next();
  });
  app.use(contentOrigin(deps));

  const api = new Router({ prefix: '/api' });
  api.get('/health', (ctx) => {
    // Public facts the console needs before sign-in (whether to offer sign-up) and in the bin.
    ctx.body = {
      status: 'ok',
      version: deps.version,
      openRegistration: deps.config.openRegistration,
      trashRetentionDays: deps.config.trashRetentionDays,
      passwordResetByEmail: deps.passwordResets.available,
    };
  });
  api.get('/ready', async (ctx) => {
    // For load balancers and orchestrators: 200 only when every dependency answers now (readiness.ts).
    const report = await deps.readiness.check();
    for (const { check, error } of report.errors) log.warn({ err: error, check }, 'readiness check failed');
    ctx.set('Cache-Control', 'no-store');
    ctx.status = report.ready ? 200 : 503;
    ctx.body = {
      status: report.ready ? 'ready' : 'not_ready',
      ...(report.ready
        ? {}
        : { error: { code: 'not_ready', message: report.checks.find((c) => !c.ok)!.problem ?? 'not ready' } }),
      checks: report.checks,
    };
  });
  api.use(authenticate(deps.accounts, deps.config.basePath + '/'));
  api.use(twoFactorGate(deps.twoFactor));
  for (const r of [
    authRoutes(deps, json),
    passwordResetRoutes(deps, json),
    preferenceRoutes(deps, json),
    appPasswordRoutes(deps, json),
    twoFactorRoutes(deps, json),
    sessionRoutes(deps),
    profileRoutes(deps, json),
    nodeRoutes(deps, json),
    contentRoutes(deps),
    thumbnailRoutes(deps),
    zipRoutes(deps),
    journalRoutes(deps),
    adminRoutes(deps, json),
    binRoutes(deps),
    shareRoutes(deps, json),
    publicRoutes(deps, json),
    searchRoutes(deps),
    eventRoutes(deps),
    versionRoutes(deps),
    lockRoutes(deps),
    tusRoutes(deps),
  ]) {
    api.use(r.routes(), r.allowedMethods());
  }
  app.use(api.routes());
  app.use(api.allowedMethods({ throw: false }));
  const consoleApp = serveConsole(undefined, deps.config.basePath);
  app.use(async (ctx, next) => {
    if (ctx.path.startsWith('/api/') || ctx.path === '/api') throw notFound('Route');
    await consoleApp(ctx, next);
  });
  return app;
}
