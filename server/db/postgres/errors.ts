/** How the PostgreSQL executor tells a lost or refused connection from a failed statement. */

/** SQLSTATE classes 08 (connection exception) and the 57P0x shutdowns: the server, not the statement. */
const LOST_STATES = /^(08|57P0[123])/;
const LOST_ERRNOS = ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'];

/** True when a query failed because the connection to the database was lost or could not be made. */
export function isConnectionLoss(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (LOST_STATES.test(code) || LOST_ERRNOS.includes(code)) return true;
  // node-postgres reports a socket closed under it, a connect that timed out, or a pool that had no
  // connection free in time (overload: a 503 too), without a code.
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    typeof e?.message === 'string' ? e.message : '',
  );
}

/** The code a database error carries when the database cannot be reached: the transports answer 503. */
export const DB_UNAVAILABLE = 'DB_UNAVAILABLE';

export function unavailable(cause: unknown): Error {
  return Object.assign(new Error('the database is unavailable', { cause }), { code: DB_UNAVAILABLE });
}
