/**
 * File drops: a link with permission `upload` lets anyone holding it add files to the link's folder
 * and nothing else — no listing, no reading, no replacing (access.ts gives such a link no access to
 * any node). Each upload is a new file in the link's folder: a name already taken gets the first
 * free "name (n).ext" (never replaced), a file larger than the link's maxUploadBytes is refused with
 * payload_too_large (before its body is read when its size is known, else as soon as it passes the
 * cap), and it is charged to the folder's owner and logged in their activity as the link's (via link),
 * through the one upload path every door uses (Uploads.upload: quota, locks, activity).
 *
 * The rules live here for every door: the public API (PUT /api/public/:token/files/:name),
 * /public-dav/<token>/ (dav/file-drop.ts) and resumable uploads through a link — a transport that
 * knows the size up front calls `admit` when the upload is created and `upload` when its bytes are all in.
 */
import { Transform, type Readable } from 'node:stream';
import type { Actor } from './actor.js';
import type { Drive } from './drive.js';
import { forbidden } from './errors.js';
import { tooLarge } from './link-limits.js';
import type { NodeView } from './types.js';
import type { UploadOptions } from './uploads.js';

/** What a file drop's upload is, once admitted: where it goes, as whom, and with which options. */
export interface DropAdmission {
  folderId: string;
  /** The visitor with the right to add to that one folder, for this one upload (never to list or replace). */
  actor: Actor;
  options: UploadOptions;
  /** The cap on the file's size (null: none but the owner's quota). */
  maxBytes: number | null;
}

export class FileDrops {
  constructor(private readonly drive: Drive) {}

  /** True when the actor is a file drop's visitor. */
  static isDrop(actor: Actor): boolean {
    return actor.kind === 'link' && actor.share.permission === 'upload';
  }

  /**
   * Checks an upload through a file drop before any byte of it is read: the actor must be a file
   * drop's visitor, and a known size must fit the link's cap. Throws forbidden or payload_too_large.
   */
  admit(actor: Actor, expectedSize: number | null): DropAdmission {
    return admitToDrop(actor, expectedSize);
  }

  /** Streams a visitor's file into the link's folder under its name, or a numbered one when taken. */
  async upload(
    actor: Actor,
    rawName: string,
    body: Readable,
    opts: { expectedSize: number | null; beforeRead?: () => void },
  ): Promise<NodeView> {
    const drop = this.admit(actor, opts.expectedSize);
    // The cap counts the bytes as they are read: the body is piped into it only when the upload reads it.
    const cap = drop.maxBytes === null ? null : capped(drop.maxBytes, body);
    const { node } = await this.drive.upload(drop.actor, drop.folderId, rawName, cap?.stream ?? body, {
      ...drop.options,
      beforeRead: () => {
        cap?.start();
        opts.beforeRead?.();
      },
    });
    return node;
  }
}

/**
 * Passes the source's bytes through, once started, until more than `max` arrived; then fails with
 * payload_too_large and stops reading the source (the transport answers and closes the connection).
 */
function capped(max: number, source: Readable): { stream: Transform; start(): void } {
  let seen = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen <= max) return done(null, chunk);
      source.unpipe(stream);
      done(tooLarge(max));
    },
  });
  return {
    stream,
    start() {
      source.once('error', (err) => stream.destroy(err));
      source.pipe(stream);
    },
  };
}

/**
 * Checks an upload through a file drop before any byte of it is read (the API, WebDAV and tus all
 * come here): the actor must be a file drop's visitor, and a known size must fit the link's cap.
 * Throws forbidden or payload_too_large.
 */
export function admitToDrop(actor: Actor, expectedSize: number | null): DropAdmission {
  if (actor.kind !== 'link' || actor.share.permission !== 'upload') throw forbidden('This link does not take uploads');
  const maxBytes = actor.share.maxUploadBytes ?? null;
  if (maxBytes !== null && expectedSize !== null && expectedSize > maxBytes) throw tooLarge(maxBytes, expectedSize);
  return {
    folderId: actor.share.nodeId,
    // Edit on the link's subtree, used only for a create that never replaces (onClash: rename).
    actor: { ...actor, share: { ...actor.share, permission: 'edit' } },
    options: { overwrite: false, onClash: 'rename', expectedSize },
    maxBytes,
  };
}
