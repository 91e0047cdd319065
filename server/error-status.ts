/**
 * The HTTP status of each domain error code, for both doors: the API answers it as is; WebDAV too,
 * but for the few codes RFC 4918 gives a status of their own (dav/errors.ts).
 */
import type { ErrorCode } from './domain/errors.js';

export const ERROR_STATUS: Record<ErrorCode, number> = {
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  already_exists: 409,
  parent_missing: 409,
  not_a_folder: 409,
  invalid_move: 409,
  invalid_name: 400,
  invalid_input: 400,
  invalid_token: 400,
  payload_too_large: 413,
  precondition_failed: 412,
  locked: 423,
  rate_limited: 429,
  totp_required: 401,
  two_factor_setup_required: 403,
  quota_exceeded: 507,
  storage_full: 507,
  unavailable: 503,
  storage_unavailable: 503,
  not_configured: 501,
  no_thumbnail: 404,
  overloaded: 503,
  internal: 500,
};

/**
 * Codes whose answer says when to try again (Retry-After): the seconds the error itself gives, else
 * these (WebDAV; the API sends the header only when the error gives them).
 */
export const RETRY_AFTER: Partial<Record<ErrorCode, number>> = {
  rate_limited: 60,
  storage_unavailable: 30,
  overloaded: 5,
};
