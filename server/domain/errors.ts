/** The one error taxonomy of the domain. Transports map `code` to a status once (api/middleware/errors.ts, dav/errors.ts). */
import { isDbUnavailable, isDiskFull } from '../db/index.js';
import { BlobStoreUnavailable } from '../../storage/index.js';
export type ErrorCode =
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'already_exists'
  | 'parent_missing'
  | 'not_a_folder'
  | 'invalid_move'
  | 'invalid_name'
  | 'invalid_input'
  | 'invalid_token'
  | 'payload_too_large'
  | 'precondition_failed'
  | 'locked'
  | 'rate_limited'
  | 'totp_required'
  | 'two_factor_setup_required'
  | 'quota_exceeded'
  | 'storage_full'
  | 'unavailable'
  | 'storage_unavailable'
  | 'not_configured'
  | 'no_thumbnail'
  | 'overloaded'
  | 'internal';

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'DomainError';
  }
}

export const notFound = (what = 'Item') => new DomainError('not_found', `${what} not found`);
export const forbidden = (message: string) => new DomainError('forbidden', message);
/**
 * `existing` is the stored name when it differs from `name` only in case: names are unique per folder
 * case-insensitively, but a path names only its exact item (see paths.ts), so the other-cased item
 * is reported rather than silently replaced.
 */
export const alreadyExists = (name: string, existing?: string) =>
  existing !== undefined && existing !== name
    ? new DomainError(
        'already_exists',
        `"${existing}" already exists here (names that differ only in case cannot be side by side)`,
        { name, existing },
      )
    : new DomainError('already_exists', `An item named "${name}" already exists here`, { name });
export const invalidInput = (message: string, details?: Record<string, unknown>) =>
  new DomainError('invalid_input', message, details);
export const quotaExceeded = (needed: number, available: number) =>
  new DomainError('quota_exceeded', 'Not enough storage space left', { needed, available: Math.max(0, available) });
export const unauthenticated = (message = 'Authentication required') => new DomainError('unauthenticated', message);
export const rateLimited = (retryAfterSeconds: number, message = 'Too many failed attempts; try again later') =>
  new DomainError('rate_limited', message, { retryAfterSeconds });
/** This file has no thumbnail (its kind has none, or its bytes could not be rendered): clients show an icon. */
export const noThumbnail = (message: string) => new DomainError('no_thumbnail', message);
/** Work the server bounds (thumbnail generation) is full right now; try again after `retryAfterSeconds`. */
export const overloaded = (message: string, retryAfterSeconds = 5) =>
  new DomainError('overloaded', message, { retryAfterSeconds });
/** The server's disk (not the user's quota) cannot hold the upload. */
export const storageFull = (needed?: number) =>
  new DomainError(
    'storage_full',
    'The server has no disk space left for this upload; nothing was changed',
    needed === undefined ? undefined : { needed },
  );
/** The blob store (an object store) could not be reached or did not take the bytes; `cause` is its error, for the log. */
export const storageUnavailable = (cause: unknown) =>
  new DomainError(
    'storage_unavailable',
    'The storage service is unavailable; nothing was changed, try again later',
    { retryAfterSeconds: 30 },
    { cause },
  );

/** What a failure of the blob store means to a client: a full disk, a store out of reach, or itself. */
export const storeFailure = (err: unknown): unknown =>
  isOutOfSpace(err) ? storageFull() : err instanceof BlobStoreUnavailable ? storageUnavailable(err) : err;

/**
 * An error that means the disk (or the filesystem's quota) is full: from the operating system (a
 * temp or blob file), or from the database (an upload stored inline, in its transaction).
 */
export const isOutOfSpace = (err: unknown): boolean =>
  ['ENOSPC', 'EDQUOT'].includes((err as NodeJS.ErrnoException | null)?.code ?? '') || isDiskFull(err);

/**
 * The database could not be reached (a lost connection, not safe to retry): the request may be
 * tried again shortly, so the transports answer 503 rather than a 500.
 */
export const isUnavailable = (err: unknown): boolean =>
  isDbUnavailable(err) || (err instanceof DomainError && err.code === 'unavailable');
export const UNAVAILABLE_MESSAGE = 'The database cannot be reached right now; try again shortly';
