import { once, type EventEmitter } from 'node:events';
import fsp from 'node:fs/promises';
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { DomainError, invalidInput, isOutOfSpace, quotaExceeded, storageFull } from '../../domain/errors.js';
import type { UploadTicket } from '../../domain/in-flight.js';
import type { ApiDeps } from '../deps.js';
import { sendContinue } from '../http-util.js';
import { sendFile } from '../send-file.js';
import { SpoolWriter } from '../spool-writer.js';
import { requireActor } from '../middleware/auth.js';
import { presentNode } from '../presenters.js';
import { Id, IdParams, parseParams, parseQuery } from '../validate.js';

const UploadParams = z.object({ parentId: Id, name: z.string() });
const UploadQuery = z.object({ overwrite: z.enum(['true', 'false', '1', '0']).optional() });
const ParentParams = z.object({ parentId: Id });
const DownloadQuery = z.object({ download: z.string().optional() });
const FRAMING_ALLOWANCE = 1024 * 1024;

/** formidable's file while it is spooled (its write stream is private, but we must wait for it to close). */
type SpoolFile = EventEmitter & { filepath: string; _writeStream?: Writable | null };

/**
 * Spools the form's files into `dir` (formidable), counting their bytes on the ticket before they are
 * written (SpoolWriter): past the owner's room the spooling stops (quota_exceeded); a full disk is
 * storage_full.
 */
async function spool(ctx: Context, dir: string, ticket: UploadTicket, files: SpoolFile[]): Promise<void> {
  let total = 0;
  const room = Math.max(1, ticket.available);
  try {
    // Loaded on the first multipart upload: it (formidable, co-body) costs ~15 MiB that JSON and WebDAV never need.
    const { koaBody } = await import('koa-body');
    await koaBody({
      multipart: true,
      json: false,
      text: false,
      urlencoded: false,
      formidable: {
        uploadDir: dir,
        maxFileSize: room,
        maxTotalFileSize: room,
        allowEmptyFiles: true,
        minFileSize: 0,
        maxFiles: 1000,
        hashAlgorithm: false,
        fileWriteStreamHandler: (file) =>
          new SpoolWriter((file as unknown as SpoolFile).filepath, (bytes) => ticket.admit((total += bytes))),
        onFileBegin: (_field, formFile) => {
          files.push(formFile as unknown as SpoolFile);
        },
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
    if (err instanceof DomainError) throw err;
    if (isOutOfSpace(err)) throw storageFull(ctx.request.length ?? undefined);
    const httpCode = (err as { httpCode?: number; status?: number }).httpCode ?? (err as { status?: number }).status;
    if (httpCode === 413) throw quotaExceeded(ctx.request.length ?? room + 1, room);
    // formidable marks the client's mistakes (no boundary, truncated or malformed parts) with httpCode 4xx.
    if (httpCode !== undefined && httpCode >= 400 && httpCode < 500)
      throw invalidInput(`The multipart body could not be read: ${(err as Error).message}`);
    throw err;
  }
}

/** Removes spooled files once formidable has closed them (a file still being opened would outlive an earlier unlink). */
async function removeSpool(files: SpoolFile[]): Promise<void> {
  await Promise.all(
    files.map(async (f) => {
      const ws = f._writeStream;
      if (ws && !ws.closed)
        await Promise.race([once(ws, 'close').catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
      await fsp.rm(f.filepath, { force: true });
    }),
  );
}

/** The router leaves a malformed %-escape as literal text; a name must be exact, so that is a 400. */
function decodeName(rawPath: string): string {
  try {
    return decodeURIComponent(rawPath.slice(rawPath.lastIndexOf('/') + 1));
  } catch {
    throw new DomainError(
      'invalid_name',
      'The file name in the URL is not valid percent-encoded UTF-8 (encode "%" as "%25")',
    );
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
    // Multipart framing costs well under 1 KiB a part: the body's length less 1 MiB is the least its
    // files need, refused before `100 Continue` (like a raw PUT) when it cannot fit (access is
    // checked first). The files' bytes count among the owner's uploads in flight as they are spooled.
    const length = ctx.request.length ?? null;
    const ticket = await drive.reserveUpload(
      actor,
      parentId,
      length === null ? null : Math.max(0, length - FRAMING_ALLOWANCE),
    );
    const spooled: SpoolFile[] = []; // in the form's order (parts finish writing in any order)
    try {
      sendContinue(ctx.req, ctx.res);
      await spool(ctx, path.join(config.dataDir, 'tmp'), ticket, spooled);
      const byPath = new Map(
        Object.values(ctx.request.files ?? {})
          .flat()
          .map((f) => [f.filepath, f]),
      );
      const files = spooled.map((s) => byPath.get(s.filepath)).filter((f) => f !== undefined);
      if (files.length === 0) throw invalidInput('No files in the form');
      const overwrite = ctx.query.overwrite === 'true';
      const items = [];
      for (const f of files) {
        const body = fs.createReadStream(f.filepath);
        try {
          // Each file takes its bytes over from the form's reservation while it is staged and committed.
          const result = await drive.upload(actor, parentId, f.originalFilename ?? 'upload', body, {
            expectedSize: f.size,
            overwrite,
            inFlight: ticket,
          });
          items.push(presentNode(result.node));
        } finally {
          body.destroy();
        }
      }
      ctx.status = 201;
      ctx.body = { items };
    } finally {
      ticket.release();
      await removeSpool(spooled);
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
