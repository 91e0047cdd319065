/**
 * CONTENT_ORIGIN: a second host name that serves only file bytes, as `/content/<grant>/<name>`.
 * Requests addressed to it reach nothing else (no API, no console, no WebDAV: server/http.ts sends
 * them here), and it never sets or reads a cookie, so a page rendered there runs on an origin that
 * holds no session and can read nothing of the main one. `/content/…` on the main host is 404.
 */
import type { Context, Next } from 'koa';
import { notFound } from '../domain/errors.js';
import type { ApiDeps } from './deps.js';
import { addressedTo, userContentHeaders } from './http-util.js';
import { origin } from './middleware/auth.js';
import { sendContent } from './send-file.js';

const CONTENT_PATH = /^\/content\/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)\/[^/]+$/;

export function contentOrigin(deps: Pick<ApiDeps, 'config' | 'grants'>) {
  const target = deps.config.contentOrigin;
  return async (ctx: Context, next: Next) => {
    if (!target) return next();
    const underContent = ctx.path === '/content' || ctx.path.startsWith('/content/');
    if (!addressedTo(ctx.req, target)) {
      if (underContent) throw notFound('Route');
      return next();
    }
    const match = CONTENT_PATH.exec(ctx.path);
    if (!match) throw notFound('Route');
    // The console (another origin) fetches text and PDF previews through the redirect; the grant in
    // the URL is the only credential, so any origin may read what it names.
    ctx.set('Access-Control-Allow-Origin', '*');
    ctx.set('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges, ETag');
    ctx.set('Referrer-Policy', 'no-referrer');
    if (ctx.method === 'OPTIONS') {
      ctx.set('Access-Control-Allow-Methods', 'GET, HEAD');
      ctx.set('Access-Control-Allow-Headers', 'Range, If-None-Match, If-Range');
      ctx.set('Access-Control-Max-Age', '600');
      ctx.status = 204;
      return;
    }
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.set('Allow', 'GET, HEAD, OPTIONS');
      ctx.status = 405;
      ctx.body = { error: { code: 'invalid_input', message: 'The content host only serves GET and HEAD' } };
      return;
    }
    const { node, open } = await deps.grants.open(match[1]!, origin(ctx));
    await sendContent(ctx, { ...node, open }, userContentHeaders(node, { sandboxedInline: true }));
  };
}
