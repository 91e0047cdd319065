/** SQL on two-factor sign-in: the TOTP secret (enabled and pending), the last step used, recovery codes. */
import { num, type Q } from '../index.js';

export interface TotpRow {
  /** The enabled secret (base32), or null while only a setup is pending. */
  secret: string | null;
  /** A setup in progress: the secret shown to the user, not yet confirmed with a code. */
  pendingSecret: string | null;
  /** The last TOTP time step that signed in: a code counts once. */
  lastStep: number;
}

export async function totpOf(q: Q, userId: string): Promise<TotpRow | undefined> {
  const r = await q.get<{ secret: string | null; pending_secret: string | null; last_step: unknown }>(
    'SELECT secret, pending_secret, last_step FROM totp_secrets WHERE user_id = $userId',
    { userId },
  );
  return r && { secret: r.secret ?? null, pendingSecret: r.pending_secret ?? null, lastStep: num(r.last_step) };
}

/** Starts (or restarts) a setup: the pending secret replaces any earlier pending one; an enabled secret stays. */
export async function setPendingSecret(q: Q, userId: string, secret: string): Promise<void> {
  await q.run(
    `INSERT INTO totp_secrets (user_id, pending_secret) VALUES ($userId, $secret)
     ON CONFLICT (user_id) DO UPDATE SET pending_secret = $secret`,
    { userId, secret },
  );
}

/**
 * Makes the pending secret the enabled one (the step that confirmed it counts as used), turns
 * totp_enabled on and moves credentials_version (a cached main-password WebDAV credential ends).
 */
export async function enablePendingSecret(
  tx: Q,
  userId: string,
  pendingSecret: string,
  step: number,
): Promise<boolean> {
  const changed = await tx.run(
    `UPDATE totp_secrets SET secret = pending_secret, pending_secret = NULL, last_step = $step
     WHERE user_id = $userId AND pending_secret = $pending`,
    { userId, pending: pendingSecret, step },
  );
  if (changed === 0) return false;
  await tx.run(
    'UPDATE users SET totp_enabled = TRUE, credentials_version = credentials_version + 1 WHERE id = $userId',
    { userId },
  );
  return true;
}

/** Takes time step `step` for a sign-in unless it (or a later one) was used: false when it was. */
export async function claimStep(q: Q, userId: string, step: number): Promise<boolean> {
  return (
    (await q.run('UPDATE totp_secrets SET last_step = $step WHERE user_id = $userId AND last_step < $step', {
      userId,
      step,
    })) > 0
  );
}

/** Replaces the user's recovery codes with these hashes. */
export async function replaceRecoveryCodes(tx: Q, userId: string, hashes: string[]): Promise<void> {
  await tx.run('DELETE FROM recovery_codes WHERE user_id = $userId', { userId });
  for (const hash of hashes)
    await tx.run('INSERT INTO recovery_codes (user_id, hash) VALUES ($userId, $hash)', { userId, hash });
}

/** Uses the recovery code with this hash: false when there is none, or it was used already. */
export async function useRecoveryCode(q: Q, userId: string, hash: string, now: number): Promise<boolean> {
  return (
    (await q.run(
      'UPDATE recovery_codes SET used_at = $now WHERE user_id = $userId AND hash = $hash AND used_at IS NULL',
      { userId, hash, now },
    )) > 0
  );
}

export async function unusedRecoveryCodes(q: Q, userId: string): Promise<number> {
  return num(
    (
      await q.get<{ n: unknown }>(
        'SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $userId AND used_at IS NULL',
        { userId },
      )
    )?.n,
  );
}

/** Turns two-factor sign-in off: secret and codes go, totp_enabled off, credentials_version moves. */
export async function removeTotp(tx: Q, userId: string): Promise<void> {
  await tx.run('DELETE FROM totp_secrets WHERE user_id = $userId', { userId });
  await tx.run('DELETE FROM recovery_codes WHERE user_id = $userId', { userId });
  await tx.run(
    'UPDATE users SET totp_enabled = FALSE, credentials_version = credentials_version + 1 WHERE id = $userId',
    { userId },
  );
}
