import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import Router from '@koa/router';
import { koaBody } from 'koa-body';
import { z } from 'zod';
import { DomainError, quotaExceeded, invalidInput } from '../../domain/errors.js';
import type { ApiDeps } from '../deps.js';
import { sendContinue } from '../http-util.js';
import { sendFile } from '../send-file.js';
import { requireActor } from '../middleware/auth.js';
import { presentNode } from '../presenters.js';
import { Id, IdParams, parseParams, parseQuery } from '../validate.js';

const UploadParams = z.object({ parentId: Id, name: z.string() });
const UploadQuery = z.object({ overwrite: z.enum(['true', 'false', '1', '0']).optional() });
const ParentParams = z.object({ parentId: Id });
const DownloadQuery = z.object({ download: z.string().optional() });

/** The router leaves a malformed %-escape as literal text; a name must be exact, so that is a 400. */
function decodeName(rawPath: string): string {
  try {
    return decodeURIComponent(rawPath.slice(rawPath.lastIndexOf('/') + 1));
  } catch {
    throw new DomainError('invalid_name', 'The file name in the URL is not valid percent-encoded UTF-8 (encode "%" as "%25")');
  }
}

export function contentRoutes(deps: ApiDeps) {
  const { drive, config } = deps;
  const router = new Router();

  /** Raw streaming body; 201 when created, 200 when `?overwrite=true` replaced the file (same id). */
  router.put('/folders/:parentId/files/:name', async (ctx) => {
    const { parentId } = parseParams(ctx, UploadParams);
    const name = decodeName(ctx.path);
    const { overwrite } = parseQuery(ctx, UploadQuery);
    const { node, created } = await drive.upload(requireActor(ctx), parentId, name, ctx.req, {
      expectedSize: ctx.request.length ?? null,
      overwrite: overwrite === 'true' || overwrite === '1',
      beforeRead: () => sendContinue(ctx.req, ctx.res),
    });
    ctx.status = created ? 201 : 200;
    ctx.set('ETag', `"${node.etag}"`);
    ctx.body = presentNode(node);
  });

  /** multipart/form-data with one or more files; each becomes a file in the folder. */
  router.post('/folders/:parentId/upload', async (ctx) => {
    const { parentId } = parseParams(ctx, ParentParams);
    const actor = requireActor(ctx);
    if (!ctx.is('multipart/form-data')) throw invalidInput('Send the files as multipart/form-data');
    const room = Math.max(1, await drive.uploadRoom(actor, parentId)); // access is checked before any byte is read
    // Multipart framing costs well under 1 KiB a part: a body longer than the room plus 1 MiB cannot
    // fit, so it is refused before `100 Continue` (like a raw PUT).
    if (ctx.request.length != null && ctx.request.length > room + 1024 * 1024) throw quotaExceeded(ctx.request.length, room);
    sendContinue(ctx.req, ctx.res);
    const tmp = path.join(config.dataDir, 'tmp');
    const order: string[] = []; // parts finish writing in any order: keep the form's
    try {
      await koaBody({
        multipart: true, json: false, text: false, urlencoded: false,
        formidable: {
          uploadDir: tmp, maxFileSize: room, maxTotalFileSize: room, allowEmptyFiles: true, minFileSize: 0, maxFiles: 1000, hashAlgorithm: false,
          onFileBegin: (_field, file) => void order.push(file.filepath),
          // formidable takes a part without its own Content-Type for a text field, whatever its
          // filename says; clients such as Python requests send files that way (RFC 7578 §4.4: the
          // default is text/plain, and a filename marks a file). The type itself is unused: a stored
          // file's type comes from its name.
          onPart: (part, handle) => {
            if (part.originalFilename && !part.mimetype) part.mimetype = 'application/octet-stream';
            return handle(part);
          },
        },
      })(ctx, async () => {});
    } catch (err) {
      const httpCode = (err as { httpCode?: number; status?: number }).httpCode ?? (err as { status?: number }).status;
      if (httpCode === 413) throw quotaExceeded(ctx.request.length ?? room + 1, room);
      // formidable marks the client's mistakes (no boundary, truncated or malformed parts) with httpCode 4xx.
      if (httpCode !== undefined && httpCode >= 400 && httpCode < 500) throw invalidInput(`The multipart body could not be read: ${(err as Error).message}`);
      throw err;
    }
    const files = Object.values(ctx.request.files ?? {}).flat().sort((x, y) => order.indexOf(x.filepath) - order.indexOf(y.filepath));
    const overwrite = ctx.query.overwrite === 'true';
    try {
      if (files.length === 0) throw invalidInput('No files in the form');
      const items = [];
      for (const f of files) {
        const result = await drive.upload(actor, parentId, f.originalFilename ?? 'upload', fs.createReadStream(f.filepath), { expectedSize: f.size, overwrite });
        items.push(presentNode(result.node));
      }
      ctx.status = 201;
      ctx.body = { items };
    } finally {
      await Promise.all(files.map((f) => fsp.rm(f.filepath, { force: true })));
    }
  });

  /** Download with ETag/If-None-Match (304), single Range (206/416), inline or `?download=1` attachment. */
  router.get('/files/:id/content', async (ctx) => {
    const { id } = parseParams(ctx, IdParams);
    const { download } = parseQuery(ctx, DownloadQuery);
    await sendFile(ctx, deps, requireActor(ctx), id, { download: download !== undefined && download !== '0' });
  });

  return router;
}
