/**
 * Two-factor sign-in: setting it up (a pending secret confirmed by a code), turning it off, an
 * administrator's reset, and the REQUIRE_2FA policy. The codes themselves: second-factor.ts.
 *
 * - The secret is stored as is, never returned after setup. Encrypting it with a key kept in the
 *   same database (as the token signing secret is) would protect nothing a database leak exposes.
 * - The attempt a code rides on is counted before the password is checked (Accounts.verifyCredentials).
 */
import * as OTPAuth from 'otpauth';
import type { Db } from '../db/index.js';
import {
  enablePendingSecret,
  removeTotp,
  replaceRecoveryCodes,
  setPendingSecret,
  totpOf,
  unusedRecoveryCodes,
} from '../db/repos/totp.js';
import type { Actor, Origin } from './actor.js';
import { record } from './activity.js';
import { requireAdmin } from './admin.js';
import type { Accounts } from './auth.js';
import type { Clock } from './clock.js';
import { DomainError, forbidden, invalidInput } from './errors.js';
import { newRecoveryCode, RECOVERY_CODES, recoveryHash, stepOf, totpFor } from './second-factor.js';
import { requireUser } from './users.js';
import type { UserRow } from './types.js';

/** What the console shows about a user's two-factor sign-in. */
export interface TwoFactorStatus {
  enabled: boolean;
  /** REQUIRE_2FA: the user must turn it on. */
  required: boolean;
  recoveryCodesLeft: number;
}

export class TwoFactor {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly accounts: Accounts,
    private readonly required: boolean,
  ) {}

  /** Whether the policy (REQUIRE_2FA) asks this user to set it up before anything else. */
  setupRequired(user: UserRow): boolean {
    return this.required && !user.totpEnabled;
  }

  async status(actor: Actor): Promise<TwoFactorStatus> {
    const { user } = userOf(actor);
    return {
      enabled: user.totpEnabled,
      required: this.required,
      recoveryCodesLeft: user.totpEnabled ? await unusedRecoveryCodes(this.db, user.id) : 0,
    };
  }

  /** A new pending secret (replacing an earlier pending one), for the authenticator app. */
  async setup(actor: Actor): Promise<{ secret: string; otpauthUrl: string }> {
    const { user } = userOf(actor);
    if (user.totpEnabled) throw invalidInput('Two-factor sign-in is already on; turn it off first to set it up again');
    const secret = new OTPAuth.Secret({ size: 20 }).base32;
    await setPendingSecret(this.db, user.id, secret);
    return { secret, otpauthUrl: totpFor(secret, user.username).toString() };
  }

  /**
   * Turns it on once a code from the pending secret proves the app has it; answers the recovery
   * codes, shown this once. Not throttled: it needs a session already, and guessing a secret that
   * was just shown to that session's holder would gain nothing.
   */
  async enable(actor: Actor & { kind: 'user' }, code: string): Promise<{ recoveryCodes: string[] }> {
    const { user } = actor;
    const row = await totpOf(this.db, user.id);
    if (user.totpEnabled || !row?.pendingSecret)
      throw invalidInput('Start the setup first (POST /api/auth/totp/setup)');
    const step = stepOf(row.pendingSecret, code.replace(/\s/g, ''), this.clock.now());
    if (step === null)
      throw invalidInput('That code is not right; check that the app and this device agree on the time', {
        field: 'code',
      });
    const recoveryCodes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode);
    await this.db.tx(async (tx) => {
      if (!(await enablePendingSecret(tx, user.id, row.pendingSecret!, step)))
        throw invalidInput('The setup changed meanwhile; start again');
      await replaceRecoveryCodes(tx, user.id, recoveryCodes.map(recoveryHash));
      await record(tx, actor, { ownerId: user.id, action: 'totp.enabled' }, this.clock.now());
    });
    return { recoveryCodes };
  }

  /** Turns it off: needs the password and a code (or a recovery code), checked and throttled as a sign-in. */
  async disable(actor: Actor & { kind: 'user' }, password: string, code: string, origin: Origin): Promise<void> {
    if (!actor.user.totpEnabled) throw invalidInput('Two-factor sign-in is not on');
    try {
      await this.accounts.verifyCredentials(actor.user.username, password, origin, { totp: code });
    } catch (err) {
      if (err instanceof DomainError && (err.code === 'unauthenticated' || err.code === 'totp_required'))
        throw forbidden('The password or the code is wrong');
      throw err;
    }
    await this.db.tx(async (tx) => {
      await removeTotp(tx, actor.user.id);
      await record(tx, actor, { ownerId: actor.user.id, action: 'totp.disabled' }, this.clock.now());
    });
  }

  /** An administrator turns a user's two-factor sign-in off (a lost phone and no recovery codes). */
  async reset(actor: Actor, userId: string): Promise<void> {
    requireAdmin(actor);
    await this.db.tx(async (tx) => {
      const user = await requireUser(tx, userId);
      await removeTotp(tx, user.id);
      await record(
        tx,
        actor,
        { ownerId: user.id, action: 'totp.reset', details: { username: user.username } },
        this.clock.now(),
      );
    });
  }
}

function userOf(actor: Actor): Actor & { kind: 'user' } {
  if (actor.kind !== 'user') throw forbidden('Only a signed-in user has two-factor sign-in');
  return actor;
}
