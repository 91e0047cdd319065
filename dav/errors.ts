/** DomainError codes → WebDAV status codes, in one place. */
import { DomainError, isUnavailable, UNAVAILABLE_MESSAGE } from '../server/domain/errors.js';

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
  const m = err.message;
  switch (err.code) {
    case 'unauthenticated':
    case 'totp_required':
      return { status: 401, message: m };
    case 'two_factor_setup_required':
      return { status: 403, message: m };
    case 'forbidden':
      return { status: 403, message: m };
    case 'not_found':
      return { status: 404, message: m };
    case 'already_exists':
      // The request URL is not mapped, but a sibling differs from it only in case: the URL cannot be
      // created without touching that other resource, a conflict with its state (RFC 9110 §15.5.10).
      if (err.details?.existing !== undefined) return { status: 409, message: m };
      // MKCOL on a mapped URL and PUT onto a collection: 405; COPY/MOVE without overwrite: 412.
      return { status: method === 'COPY' || method === 'MOVE' ? 412 : 405, message: m };
    case 'parent_missing':
      return { status: 409, message: m };
    case 'not_a_folder':
      return { status: 409, message: m };
    case 'invalid_move':
      return { status: 403, message: m };
    case 'invalid_name':
      return { status: 400, message: m };
    case 'invalid_input':
    case 'invalid_token':
      return { status: 400, message: m };
    case 'payload_too_large':
      return { status: 413, message: m };
    case 'precondition_failed':
      return { status: 412, message: m };
    case 'locked':
      return { status: 423, message: m };
    case 'rate_limited':
      return { status: 429, message: m, retryAfter: Number(err.details?.retryAfterSeconds ?? 60) };
    case 'quota_exceeded':
      return { status: 507, message: m };
    case 'storage_full':
      return { status: 507, message: m };
    case 'storage_unavailable':
      return { status: 503, message: m, retryAfter: Number(err.details?.retryAfterSeconds ?? 30) };
    case 'not_configured':
      return { status: 501, message: m };
    case 'no_thumbnail':
      return { status: 404, message: m };
    case 'overloaded':
      return { status: 503, message: m, retryAfter: Number(err.details?.retryAfterSeconds ?? 5) };
    case 'unavailable':
    case 'internal':
      return null;
  }
}
