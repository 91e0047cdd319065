/** DomainError codes → WebDAV status codes, in one place. */
import { DomainError, isUnavailable, UNAVAILABLE_MESSAGE } from '../server/domain/errors.js';
import { ERROR_STATUS, RETRY_AFTER } from '../server/error-status.js';

export interface DavFailure {
  status: number;
  message: string;
  retryAfter?: number;
  /** A DAV:error precondition element name (RFC 4918 §16), when one applies. */
  condition?: string;
}

/** A protocol-level failure raised by the DAV layer itself (bad header, bad XML, ...). */
export class DavError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly condition?: string,
  ) {
    super(message);
    this.name = 'DavError';
  }
}

export function toDavFailure(err: unknown, method: string): DavFailure | null {
  if (err instanceof DavError) return { status: err.status, message: err.message, condition: err.condition };
  if (isUnavailable(err)) return { status: 503, message: UNAVAILABLE_MESSAGE, retryAfter: 5 };
  if (!(err instanceof DomainError)) return null;
  const message = err.message;
  if (err.code === 'already_exists') {
    // The request URL is not mapped, but a sibling differs from it only in case: the URL cannot be
    // created without touching that other resource, a conflict with its state (RFC 9110 §15.5.10).
    if (err.details?.existing !== undefined) return { status: 409, message };
    // MKCOL on a mapped URL and PUT onto a collection: 405; COPY/MOVE without overwrite: 412.
    return { status: method === 'COPY' || method === 'MOVE' ? 412 : 405, message };
  }
  // A failure of the server's own: answered 500 and logged by the caller.
  if (err.code === 'internal' || err.code === 'unavailable') return null;
  // A COPY or MOVE onto itself or into its own subtree: 403 (RFC 4918 §9.8.5, §9.9.4); the API answers 409.
  const status = err.code === 'invalid_move' ? 403 : ERROR_STATUS[err.code];
  const retry = RETRY_AFTER[err.code];
  if (retry === undefined) return { status, message };
  return { status, message, retryAfter: Number(err.details?.retryAfterSeconds ?? retry) };
}
