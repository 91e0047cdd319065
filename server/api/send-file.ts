/**
 * Sends stored bytes: ETag/If-None-Match (304), single Range (206/416), HEAD, inline or attachment,
 * always with the user-content policy (nosniff, sandbox CSP, active types downloaded). With
 * CONTENT_ORIGIN configured, an inline request is redirected there instead (see content-origin.ts).
 */
import type { Context } from 'koa';
import type { Actor } from '../domain/actor.js';
import type { Opener } from '../domain/content.js';
import type { ApiDeps } from './deps.js';
import { etagMatches, parseRange, userContentHeaders } from './http-util.js';

/** What a download needs to know about some stored bytes, and how to read them. */
export interface Content {
  name: string;
  mime: string | null;
  size: number;
  etag: string;
  modifiedAt: number;
  /** Opens the bytes (an inclusive range), or null for a file without content. */
  open: Opener;
}

export async function sendFile(
  ctx: Context,
  deps: Pick<ApiDeps, 'content' | 'grants' | 'config'>,
  actor: Actor,
  id: string,
  opts: { download: boolean },
): Promise<void> {
  const { node, open } = await deps.content.openFile(actor, id);
  const contentOrigin = deps.config.contentOrigin;
  if (contentOrigin && !opts.download) {
    // Previews render on the other host name, where a page can reach neither the console nor the API.
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 302;
    ctx.redirect(
      `${contentOrigin.origin}${deps.config.basePath}/content/${deps.grants.issue(actor, node)}/${encodeURIComponent(node.name)}`,
    );
    return;
  }
  await sendContent(ctx, { ...node, open }, userContentHeaders(node, { download: opts.download }));
}

export async function sendContent(ctx: Context, file: Content, headers: Record<string, string>): Promise<void> {
  const { etag, size } = file;
  ctx.set('ETag', `"${etag}"`);
  ctx.set('Last-Modified', new Date(file.modifiedAt).toUTCString());
  ctx.set('Accept-Ranges', 'bytes');
  ctx.set('Cache-Control', 'private, no-cache');
  ctx.set(headers);
  if (etagMatches(ctx.get('if-none-match'), etag)) {
    ctx.status = 304;
    return;
  }
  ctx.type = file.mime ?? 'application/octet-stream';
  const ifRange = ctx.get('if-range');
  const range =
    ifRange && ifRange !== `"${etag}"` ? ({ kind: 'full' } as const) : parseRange(ctx.get('range') || undefined, size);
  if (range.kind === 'unsatisfiable') {
    ctx.status = 416;
    ctx.set('Content-Range', `bytes */${size}`);
    ctx.body = { error: { code: 'invalid_input', message: 'The requested range is outside the file' } };
    return;
  }
  const { start, end } = range.kind === 'partial' ? range : { start: 0, end: size - 1 };
  ctx.status = range.kind === 'partial' ? 206 : 200;
  if (range.kind === 'partial') ctx.set('Content-Range', `bytes ${start}-${end}/${size}`);
  if (ctx.method === 'HEAD' || size === 0 || !file.open) {
    ctx.set('Content-Length', String(end - start + 1));
    if (ctx.method !== 'HEAD') ctx.body = '';
    return;
  }
  // Opened before answering: a missing blob becomes a logged 500, not a 200 cut short.
  const stream = await file.open({ start, end });
  ctx.body = stream;
  ctx.length = end - start + 1;
}
