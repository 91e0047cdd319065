/** Small HTTP helpers of the API's download routes. */
export {
  addressedTo,
  answerUnreadBody,
  contentDisposition,
  isActiveContent,
  parseRange,
  sendContinue,
  userContentHeaders,
  type RangeResult,
} from '../http-util.js';

/** True when an If-None-Match list names this ETag (weak comparison, as RFC 9110 wants for GET). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === `"${etag}"`);
}
