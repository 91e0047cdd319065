/**
 * Live updates for the console: Server-Sent Events that announce when a watched folder changes.
 * Every change to a folder's children bumps the folder's ETag in the database — through any door
 * (API, WebDAV, links), by any user, on any instance — so a stream checks that ETag: at once when
 * the database announces a change to the folder (PostgreSQL's LISTEN/NOTIFY, FolderChanges), and
 * on a timer: every `interval` on SQLite, every FALLBACK_POLL_MS as a safety net on PostgreSQL.
 */
import { PassThrough } from 'node:stream';
import Router from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { requireActor } from '../middleware/auth.js';
import { Id, parseQuery } from '../validate.js';
import { ConcurrencyLimit } from '../../domain/concurrency.js';

const EventsQuery = z.object({ folder: Id, interval: z.coerce.number().int().min(200).max(60_000).default(2000) });
const HEARTBEAT_MS = 15_000;
/** With announcements, the poll only covers what they might miss. */
const FALLBACK_POLL_MS = 15_000;

export function eventRoutes({ drive, config, folderChanges }: ApiDeps) {
  const router = new Router();
  // Each stream holds a connection and polls: a few per user (several tabs), not hundreds.
  const streams = new ConcurrencyLimit(config.eventsMaxStreamsPerUser, 'live-update streams', HEARTBEAT_MS / 1000);

  router.get('/events', async (ctx) => {
    const actor = requireActor(ctx);
    const { folder, interval } = parseQuery(ctx, EventsQuery);
    let etag = (await drive.stat(actor, folder)).etag; // 404 for a folder the user cannot see
    const release = streams.acquire(actor.user.id); // 429 over the cap
    const stream = new PassThrough();
    const send = (event: string, data: object) => stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    let lastWrite = Date.now();
    // One check at a time; an announcement during a check asks for another after it.
    let checking = false;
    let again = false;
    const check = async () => {
      if (checking) return void (again = true);
      checking = true;
      try {
        const now = await drive.stat(actor, folder);
        if (now.etag !== etag) {
          etag = now.etag;
          send('changed', { folderId: folder, etag });
          lastWrite = Date.now();
        } else if (Date.now() - lastWrite >= HEARTBEAT_MS) {
          stream.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
      } catch {
        send('gone', { folderId: folder }); // trashed, or access revoked
        stream.end();
      } finally {
        checking = false;
      }
      if (again) {
        again = false;
        await check();
      }
    };
    const timer = setInterval(() => void check(), folderChanges.live ? Math.max(interval, FALLBACK_POLL_MS) : interval);
    const unwatch = folderChanges.watch(folder, () => void check());
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      unwatch();
      release();
    };
    stream.on('close', stop);
    ctx.req.on('close', () => {
      stop();
      stream.end();
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.set('X-Accel-Buffering', 'no');
    ctx.type = 'text/event-stream';
    ctx.status = 200;
    ctx.body = stream;
    stream.write(`retry: 3000\nevent: ready\ndata: ${JSON.stringify({ folderId: folder, etag })}\n\n`);
  });

  return router;
}
