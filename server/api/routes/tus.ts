/**
 * Resumable uploads over the tus 1.0 protocol (https://tus.io/protocols/resumable-upload), with the
 * creation, termination, expiration and checksum extensions: `/api/uploads` for signed-in users,
 * `/api/public/:token/uploads` for an edit link's visitors. The protocol's framing lives here; its
 * rules (who may upload where, the reserved room, the commit) in domain/resumable-uploads.ts.
 *
 * Bodies are read from the request stream by the domain, never by a body parser (no route here
 * takes the JSON middleware). Errors keep the API's JSON body, with the statuses tus names: 409 for
 * a wrong offset, 415 for a chunk of another type, 460 for a checksum mismatch, 410 once expired.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Actor } from '../../domain/actor.js';
import { DomainError, invalidInput } from '../../domain/errors.js';
import type { Checksum, ResumableFailure, ResumableState, ResumableTarget } from '../../domain/resumable-uploads.js';
import type { ApiDeps } from '../deps.js';
import { sendContinue } from '../http-util.js';
import { openLink } from '../link-visitor.js';
import { requireActor } from '../middleware/auth.js';

const TUS_VERSION = '1.0.0';
const EXTENSIONS = 'creation,termination,expiration,checksum';
const ALGORITHMS = ['sha256', 'sha1'] as const;
const FAILURE_STATUS: Record<ResumableFailure, number> = { offset_mismatch: 409, checksum_mismatch: 460, expired: 410 };
/** Who is uploading, and where an upload goes when its metadata names no folder. */
type Visitor = (ctx: Context) => Promise<{ actor: Actor; defaultParentId: string | null }>;

export function tusRoutes(deps: ApiDeps) {
  const router = new Router();
  const base = deps.config.basePath;
  mount(
    router,
    deps,
    '/uploads',
    async (ctx) => ({ actor: requireActor(ctx), defaultParentId: null }),
    () => {
      return `${base}/api/uploads`;
    },
  );
  mount(
    router,
    deps,
    '/public/:token/uploads',
    async (ctx) => {
      const { actor, link } = await openLink(deps, ctx);
      return { actor, defaultParentId: link.node.id };
    },
    (ctx) => `${base}/api/public/${(ctx.params as { token: string }).token}/uploads`,
  );
  return router;
}

/** The tus endpoints at `prefix` (creation) and `prefix/:uploadId`, for the visitors `visitor` admits. */
function mount(router: Router, deps: ApiDeps, prefix: string, visitor: Visitor, location: (ctx: Context) => string) {
  const { resumable } = deps;
  const tus = async (ctx: Context, next: () => Promise<unknown>) => {
    ctx.set('Tus-Resumable', TUS_VERSION);
    ctx.set('Cache-Control', 'no-store');
    if (ctx.method !== 'OPTIONS' && ctx.get('tus-resumable') !== TUS_VERSION) {
      ctx.set('Tus-Version', TUS_VERSION);
      ctx.status = 412;
      ctx.body = { error: { code: 'precondition_failed', message: `Send Tus-Resumable: ${TUS_VERSION}` } };
      return;
    }
    try {
      await next();
    } catch (err) {
      const reason = err instanceof DomainError ? (err.details?.reason as ResumableFailure | undefined) : undefined;
      if (!reason || !(reason in FAILURE_STATUS)) throw err;
      ctx.status = FAILURE_STATUS[reason];
      ctx.body = { error: { code: reason, message: err instanceof Error ? err.message : reason } };
      if (!ctx.req.complete) ctx.set('Connection', 'close'); // the chunk's rest is not read
    }
  };
  const options = (ctx: Context) => {
    ctx.set('Tus-Version', TUS_VERSION);
    ctx.set('Tus-Extension', EXTENSIONS);
    ctx.set('Tus-Checksum-Algorithm', ALGORITHMS.join(','));
    ctx.status = 204;
  };
  const item = `${prefix}/:uploadId`;
  const uploadId = (ctx: Context) => (ctx.params as { uploadId: string }).uploadId;

  router.options(prefix, tus, options);
  router.options(item, tus, options);

  router.post(prefix, tus, async (ctx) => {
    const { actor, defaultParentId } = await visitor(ctx);
    if (ctx.get('upload-defer-length')) throw invalidInput('Upload-Defer-Length is not supported: send Upload-Length');
    const length = parseCount(ctx.get('upload-length'), 'Upload-Length');
    if (ctx.request.length) throw invalidInput('Creation with upload is not supported: send the bytes with PATCH');
    const target = parseTarget(ctx.get('upload-metadata'), defaultParentId);
    const state = await resumable.create(actor, target, length);
    ctx.status = 201;
    ctx.set('Location', `${location(ctx)}/${state.id}`);
    describe(ctx, state);
  });

  router.head(item, tus, async (ctx) => {
    const { actor } = await visitor(ctx);
    const state = await resumable.status(actor, uploadId(ctx));
    describe(ctx, state);
    ctx.set('Upload-Length', String(state.length));
    if (state.metadata) ctx.set('Upload-Metadata', state.metadata);
    ctx.status = 200;
  });

  router.patch(item, tus, async (ctx) => {
    const { actor } = await visitor(ctx);
    if (ctx.get('content-type').split(';')[0]!.trim().toLowerCase() !== 'application/offset+octet-stream') {
      ctx.status = 415;
      ctx.body = {
        error: {
          code: 'unsupported_media_type',
          message: 'Send chunks as Content-Type: application/offset+octet-stream',
        },
      };
      ctx.set('Connection', 'close');
      return;
    }
    const offset = parseCount(ctx.get('upload-offset'), 'Upload-Offset');
    const checksum = parseChecksum(ctx.get('upload-checksum'));
    sendContinue(ctx.req, ctx.res);
    const state = await resumable.append(actor, uploadId(ctx), offset, ctx.req, checksum);
    describe(ctx, state);
    ctx.status = 204;
  });

  router.delete(item, tus, async (ctx) => {
    const { actor } = await visitor(ctx);
    await resumable.terminate(actor, uploadId(ctx));
    ctx.status = 204;
  });
}

function describe(ctx: Context, state: ResumableState): void {
  ctx.set('Upload-Offset', String(state.offset));
  if (state.node) ctx.set('Coffer-File-Id', state.node.id);
  else ctx.set('Upload-Expires', new Date(state.expiresAt).toUTCString());
}

function parseCount(header: string, name: string): number {
  if (!/^\d{1,16}$/.test(header)) throw invalidInput(`${name} must be a non-negative integer`);
  const n = Number(header);
  if (!Number.isSafeInteger(n)) throw invalidInput(`${name} is too large`);
  return n;
}

/** `Upload-Checksum: <algorithm> <base64 digest>`; null when absent. */
function parseChecksum(header: string): Checksum | null {
  if (!header) return null;
  const [algorithm, digest] = header.trim().split(/\s+/);
  if (!ALGORITHMS.includes(algorithm as (typeof ALGORITHMS)[number]) || !digest) {
    throw invalidInput(`Upload-Checksum must be "<${ALGORITHMS.join('|')}> <base64 digest>"`);
  }
  return { algorithm: algorithm as Checksum['algorithm'], digest: Buffer.from(digest, 'base64') };
}

/**
 * Upload-Metadata: comma-separated `key base64(value)` pairs. Coffer reads `parentId` (a link's
 * visitor may leave it out: the link's folder), `name` (or tus-js-client's usual `filename`),
 * `overwrite` (true/1) and `modifiedAt` (epoch ms or an ISO date); other keys are kept and ignored.
 */
function parseTarget(header: string, defaultParentId: string | null): ResumableTarget {
  if (header.length > 4096) throw invalidInput('Upload-Metadata is too long');
  const meta = new Map<string, string>();
  for (const pair of header.split(',')) {
    const [key, value] = pair.trim().split(/\s+/);
    if (!key) continue;
    if (!/^[\x21-\x7e]+$/.test(key) || meta.has(key)) throw invalidInput('Upload-Metadata is malformed');
    meta.set(key, value ? Buffer.from(value, 'base64').toString('utf8') : '');
  }
  const parentId = meta.get('parentId') || defaultParentId;
  const name = meta.get('name') ?? meta.get('filename');
  if (!parentId) throw invalidInput('Upload-Metadata must name the folder (parentId)');
  if (!/^[0-9a-f-]{36}$/i.test(parentId)) throw invalidInput('parentId must be a valid id (UUID)');
  if (!name) throw invalidInput('Upload-Metadata must name the file (name)');
  const mtime = meta.get('modifiedAt');
  const modifiedAt = mtime ? (/^\d+$/.test(mtime) ? Number(mtime) : Date.parse(mtime)) : null;
  if (modifiedAt !== null && !Number.isFinite(modifiedAt)) throw invalidInput('modifiedAt must be a date');
  return {
    parentId,
    name,
    overwrite: ['true', '1'].includes(meta.get('overwrite') ?? ''),
    modifiedAt,
    metadata: header,
  };
}
