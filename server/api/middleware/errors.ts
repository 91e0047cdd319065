/** The only place where errors become HTTP responses: `{"error": {code, message, details}}`; 5xx hide their message. */
import type { Context, Next } from 'koa';
import { DomainError, isUnavailable, UNAVAILABLE_MESSAGE, type ErrorCode } from '../../domain/errors.js';
import { answerUnreadBody } from '../http-util.js';
import { ERROR_STATUS, RETRY_AFTER } from '../../error-status.js';

export interface Logger {
  error(obj: object, msg: string): void;
}

export function errorHandler(log: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (err) {
      // A client that hung up mid-request (a cancelled upload) is no server failure, and nobody is left to answer.
      if (!(err instanceof DomainError) && ctx.req.socket?.destroyed) {
        ctx.res.destroy();
        return;
      }
      const { status, code, message, details } = describe(err);
      // The database or the store out of reach is no bug, but the operator must hear of it (the cause is in err).
      if (code === 'internal' || code === 'unavailable' || code === 'storage_unavailable')
        log.error({ err, method: ctx.method, path: ctx.path }, 'request failed');
      if (ctx.headerSent || !ctx.writable) {
        ctx.res.destroy();
        return;
      }
      ctx.status = status;
      ctx.set('Cache-Control', 'no-store');
      if (RETRY_AFTER[code] !== undefined && details?.retryAfterSeconds)
        ctx.set('Retry-After', String(details.retryAfterSeconds));
      if (code === 'unauthenticated' && ctx.path.startsWith('/api/')) ctx.remove('WWW-Authenticate');
      const payload = { error: { code, message, ...(details ? { details } : {}) } };
      if (!ctx.req.complete) {
        // A body we did not read (refused up front, or cut off by the quota or a full disk): answer,
        // then close the connection once the client stops sending (see answerUnreadBody).
        ctx.type = 'application/json';
        ctx.respond = false;
        answerUnreadBody(ctx.req, ctx.res, JSON.stringify(payload));
        return;
      }
      ctx.body = payload;
    }
  };
}

function describe(err: unknown): {
  status: number;
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
} {
  if (isUnavailable(err)) return { status: 503, code: 'unavailable', message: UNAVAILABLE_MESSAGE };
  if (err instanceof DomainError)
    return { status: ERROR_STATUS[err.code], code: err.code, message: err.message, details: err.details };
  // Errors from koa, koa-body and friends carry a status; 4xx ones are the client's mistake.
  const e = err as { status?: number; statusCode?: number; expose?: boolean; message?: string; type?: string };
  const status = e.status ?? e.statusCode ?? 500;
  if (status === 413 || e.type === 'entity.too.large')
    return { status: 413, code: 'payload_too_large', message: 'The request body is too large' };
  if (status >= 400 && status < 500) {
    const message =
      e.type === 'entity.parse.failed' || /JSON/i.test(e.message ?? '')
        ? 'The request body is not valid JSON'
        : e.expose && e.message
          ? e.message
          : 'Bad request';
    return { status: 400, code: 'invalid_input', message };
  }
  return { status: 500, code: 'internal', message: 'Something went wrong on the server' };
}
