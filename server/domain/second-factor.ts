/**
 * The second factor's codes: TOTP (RFC 6238: 6 digits, 30-second steps, SHA-1 — what every
 * authenticator app reads from a QR code) and single-use recovery codes; checked and used up here
 * for sign-in (Accounts.verifyCredentials) and for the setup (totp.ts).
 *
 * - A code is accepted one step either side of now (clocks drift), and each step signs in once:
 *   the last step used is stored and a code of that step or an earlier one is refused, so a code
 *   seen over a shoulder or in a proxy log cannot be replayed.
 * - Recovery codes are stored as SHA-256 (≈50 random bits each, and every guess is throttled with
 *   the password's budget), each marked used in the statement that accepts it.
 */
import * as OTPAuth from 'otpauth';
import { createHash } from 'node:crypto';
import type { Q } from '../db/index.js';
import { claimStep, totpOf, useRecoveryCode } from '../db/repos/totp.js';
import type { Clock } from './clock.js';
import { readableSecret } from './readable-secret.js';

const PERIOD = 30;
const DIGITS = 6;
export const RECOVERY_CODES = 10;

export const totpFor = (secret: string, label: string) =>
  new OTPAuth.TOTP({
    issuer: 'Coffer',
    label,
    algorithm: 'SHA1',
    digits: DIGITS,
    period: PERIOD,
    secret: OTPAuth.Secret.fromBase32(secret),
  });

/** The time step a code is valid for (±1 around now), or null. */
export function stepOf(secret: string, code: string, now: number): number | null {
  const delta = totpFor(secret, 'x').validate({ token: code, timestamp: now, window: 1 });
  return delta === null ? null : Math.floor(now / 1000 / PERIOD) + delta;
}

/** What a recovery code is compared as: letters and digits only, lower case (dashes and spaces are typing aids). */
const recoveryKey = (code: string) => code.toLowerCase().replace(/[^a-z0-9]/g, '');
export const recoveryHash = (code: string) => createHash('sha256').update(recoveryKey(code), 'utf8').digest('hex');

/** Two groups of five, e.g. `k7mqa-3xz9p`. */
export const newRecoveryCode = () => readableSecret(2, 5);

/** True when the text looks like a TOTP code rather than a recovery code. */
const isTotpCode = (code: string) => /^\d{6}$/.test(code.replace(/\s/g, ''));

/**
 * Checks a second factor of `userId` (a current TOTP code, or an unused recovery code) and uses it
 * up. Null when it is wrong or used already.
 */
export async function useSecondFactor(
  q: Q,
  clock: Clock,
  userId: string,
  code: string,
): Promise<'totp' | 'recovery' | null> {
  if (isTotpCode(code)) {
    const row = await totpOf(q, userId);
    if (!row?.secret) return null;
    const step = stepOf(row.secret, code.replace(/\s/g, ''), clock.now());
    return step !== null && (await claimStep(q, userId, step)) ? 'totp' : null;
  }
  if (recoveryKey(code).length !== 10) return null;
  return (await useRecoveryCode(q, userId, recoveryHash(code), clock.now())) ? 'recovery' : null;
}
