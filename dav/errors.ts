/** DomainError codes → WebDAV status codes, in one place. */
import { DomainError, isUnavailable, UNAVAILABLE_MESSAGE, type ErrorCode } from '../server/domain/errors.js';

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

/** The WebDAV status of each domain code; null: a failure of the server's own (500, logged). */
const STATUS: Record<ErrorCode, number | null> = {
  unauthenticated: 401,
  totp_required: 401,
  two_factor_setup_required: 403,
  forbidden: 403,
  not_found: 404,
  already_exists: 405, // see toDavFailure
  parent_missing: 409,
  not_a_folder: 409,
  invalid_move: 403,
  invalid_name: 400,
  invalid_input: 400,
  invalid_token: 400,
  payload_too_large: 413,
  precondition_failed: 412,
  locked: 423,
  rate_limited: 429,
  quota_exceeded: 507,
  storage_full: 507,
  storage_unavailable: 503,
  not_configured: 501,
  no_thumbnail: 404,
  overloaded: 503,
  unavailable: null,
  internal: null,
};

/** Codes whose answer says when to try again: seconds, unless the error itself says. */
const RETRY_AFTER: Partial<Record<ErrorCode, number>> = { rate_limited: 60, storage_unavailable: 30, overloaded: 5 };

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
  const status = STATUS[err.code];
  if (status === null) return null;
  const retry = RETRY_AFTER[err.code];
  if (retry === undefined) return { status, message };
  return { status, message, retryAfter: Number(err.details?.retryAfterSeconds ?? retry) };
}
