/**
 * The optional limits of a public link: the largest file a file drop takes (maxUploadBytes) and how
 * many downloads a view or edit link serves (maxDownloads). A download is counted in the database by
 * one conditional UPDATE (claimDownload), so parallel downloads on several instances can never pass
 * the limit; a link that has served them all no longer opens (Links.open: not found).
 *
 * What counts as a download: bytes of a file opened from its first byte (a whole file, or a Range
 * that starts at 0 — a player's or a resuming client's later ranges continue the same download),
 * and a ZIP. HEAD, 304 revalidations and listings are not downloads.
 */
import { SMALL_TX, type Db, type Q } from '../db/index.js';
import { claimDownload } from '../db/repos/links.js';
import type { Actor } from './actor.js';
import { recordVisit } from './activity.js';
import { DomainError, invalidInput } from './errors.js';
import type { LinkPermission } from './actor.js';

export function downloadsExhausted(): DomainError {
  return new DomainError('not_found', 'This link has served all its downloads', { exhausted: true });
}

/** Counts one download for a link actor whose link has a limit; not_found once it is used up. */
export async function countDownload(q: Q, actor: Actor, start = 0): Promise<void> {
  if (actor.kind !== 'link' || actor.share.maxDownloads == null || start > 0) return;
  if (!(await claimDownload(q, actor.share.id))) throw downloadsExhausted();
}

/**
 * A download by a link visitor: counted against the link's limit, and noted in the owner's activity
 * log (coalesced per visitor and hour: recordVisit). `node`: the file, or for a ZIP the link's folder.
 * Later ranges of the same download count for neither.
 */
export async function noteDownload(
  db: Db,
  actor: Actor,
  node: { id: string; ownerId: string },
  now: number,
  start = 0,
): Promise<void> {
  await countDownload(db, actor, start);
  if (actor.kind !== 'link' || start > 0) return;
  await db.tx((tx) => recordVisit(tx, actor, node, 'link.downloaded', now), SMALL_TX);
}

/** Refuses an upload larger than the file drop's cap (before its body is read when its size is known). */
export function tooLarge(maxBytes: number, size?: number): DomainError {
  return new DomainError('payload_too_large', `Files uploaded through this link can have at most ${maxBytes} bytes`, {
    maxBytes,
    ...(size !== undefined ? { size } : {}),
  });
}

/** Which limit fits which kind of link, checked when it is created. */
export function checkLimits(input: {
  permission: LinkPermission;
  maxUploadBytes?: number | null;
  maxDownloads?: number | null;
}): void {
  const positive = (v: number | null | undefined) => v == null || (Number.isSafeInteger(v) && v > 0);
  if (!positive(input.maxUploadBytes))
    throw invalidInput('maxUploadBytes must be a positive whole number', { field: 'maxUploadBytes' });
  if (!positive(input.maxDownloads))
    throw invalidInput('maxDownloads must be a positive whole number', { field: 'maxDownloads' });
  if (input.maxUploadBytes != null && input.permission !== 'upload')
    throw invalidInput('Only upload links have a size limit per file', { field: 'maxUploadBytes' });
  if (input.maxDownloads != null && input.permission === 'upload')
    throw invalidInput('Upload links serve no downloads to limit', { field: 'maxDownloads' });
}
