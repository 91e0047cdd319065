/**
 * Accounts and sessions: bcrypt passwords, HS256 JWTs that carry token_version (a password change
 * revokes them all) and a jti naming the token's session row (sessions.ts; logout deletes it),
 * throttled sign-in.
 */
import { createHash, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Config } from '../../config/index.js';
import { num, type Db } from '../db/index.js';
import { deleteSession, sessionUser } from '../db/repos/sessions.js';
import { anyAdminId, bumpTokenVersion, passwordHashOf, setLastLogin, setPasswordHash } from '../db/repos/users.js';
import type { Actor, Origin } from './actor.js';
import { record } from './activity.js';
import { matchAppPassword, type AppPasswordRow } from './app-passwords.js';
import type { Clock } from './clock.js';
import { claimHolds } from './credentials.js';
import { DomainError, forbidden, invalidInput, unauthenticated } from './errors.js';
import type { PasswordHasher } from './hasher.js';
import { noteSeen, openSession } from './sessions.js';
import {
  accountKey,
  ipKey,
  refundAttempt,
  reserveAttempt,
  settleSuccess,
  unknownLoginKey,
  type Reservation,
  type ThrottleRule,
} from './throttle.js';
import { useSecondFactor } from './second-factor.js';
import { findUserByLogin, insertUser, requireUser, validatePassword } from './users.js';
import type { Role, UserRow } from './types.js';

export interface Session {
  token: string;
  user: UserRow;
  expiresAt: number;
}

/** What a sign-in accepts besides the main password, or demands with it (app-passwords.ts, totp.ts). */
export interface SignInFactors {
  /**
   * WebDAV Basic: an app password opens it too (checked first, by hash: no bcrypt); with two-factor
   * sign-in on, the main password does not (a WebDAV client cannot ask for a code).
   */
  dav?: boolean;
  /** The second factor sent with the password: a TOTP code or a recovery code. */
  totp?: string;
}

/** A checked credential: the user, and the app password it was when it was one. */
export type VerifiedUser = UserRow & { appPassword?: AppPasswordRow };

export interface TokenInfo {
  user: UserRow;
  jti: string;
  expiresAt: number;
}

/** bcrypt reads at most 72 bytes: hash a fixed-length digest so long and Unicode passwords count whole. */
const prehash = (password: string) => createHash('sha256').update(password.normalize('NFC'), 'utf8').digest('base64');

export class Accounts {
  /** A hash no password matches, compared against for unknown logins so they cost what known ones do. */
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly db: Db,
    private readonly config: Config,
    private readonly clock: Clock,
    private readonly secret: string,
    private readonly hasher: PasswordHasher,
  ) {}

  hashPassword(password: string): Promise<string> {
    return this.hasher.hash(prehash(password));
  }

  /** Creates a user with a home folder. Self-registration needs OPEN_REGISTRATION; admins may always create. */
  async createUser(
    actor: Actor | null,
    input: { username: string; email: string; password: string; role?: Role; quotaBytes?: number },
  ): Promise<UserRow> {
    const isAdmin = actor?.kind === 'user' && actor.user.role === 'admin';
    const isSystem = actor?.kind === 'system';
    if (!isAdmin && !isSystem && !this.config.openRegistration)
      throw forbidden('Registration is closed; ask an administrator for an account');
    if (!isAdmin && !isSystem && (input.role === 'admin' || input.quotaBytes !== undefined))
      throw forbidden('Only administrators can set roles and quotas');
    validatePassword(input.password);
    const passwordHash = await this.hashPassword(input.password);
    return this.db.tx(async (tx) => {
      const now = this.clock.now();
      const user = await insertUser(
        tx,
        {
          username: input.username,
          email: input.email,
          passwordHash,
          role: input.role ?? 'user',
          quotaBytes: input.quotaBytes ?? this.config.defaultQuotaBytes,
        },
        now,
      );
      await record(
        tx,
        actor ?? { kind: 'user', user, origin: { via: 'api' } },
        { ownerId: user.id, action: 'user.created', details: { username: user.username } },
        now,
      );
      return user;
    });
  }

  /**
   * Checks a username (or email) and password. Unknown user and wrong password look the same
   * (same error, same bcrypt cost, same budget). The attempt is counted before bcrypt runs, per
   * account (username and email share it) and per IP; disabled users are refused. A wrong second
   * factor is a failed attempt on the same budget; only a complete sign-in clears it.
   */
  async verifyCredentials(
    login: string,
    password: string,
    origin: Origin,
    factors: SignInFactors = {},
  ): Promise<VerifiedUser> {
    const found = await findUserByLogin(this.db, login);
    const reservation = await reserveAttempt(
      this.db,
      [
        {
          key: found ? accountKey(found.id) : unknownLoginKey(login),
          max: this.config.login.maxFailures,
          onSuccess: 'clear',
        },
        { key: ipKey(origin.ip), max: this.config.login.maxFailuresPerIp, onSuccess: 'refund' },
      ],
      this.windowMs,
      this.clock.now(),
    );
    if (factors.dav && found && !found.disabled) {
      const appPassword = await matchAppPassword(this.db, this.clock, found, password, origin);
      if (appPassword) {
        await this.db.tx((tx) => settleSuccess(tx, reservation));
        const { passwordHash: _omit, ...user } = found;
        return { ...user, appPassword };
      }
    }
    const ok = await this.hasher.compare(prehash(password), found?.passwordHash ?? (await this.unmatchableHash()));
    const now = this.clock.now();
    if (!found || !ok || found.disabled) {
      if (found) {
        const reason = found.disabled && ok ? 'disabled' : 'bad_password';
        await this.db.tx((tx) =>
          record(
            tx,
            { kind: 'user', user: found, origin },
            { ownerId: found.id, action: 'auth.login_failed', details: { reason } },
            now,
          ),
        );
      }
      if (found?.disabled && ok) throw new DomainError('unauthenticated', 'This account is disabled');
      throw unauthenticated('Wrong username or password');
    }
    if (found.totpEnabled) await this.secondFactor(found, factors, reservation, origin);
    await this.db.tx((tx) => settleSuccess(tx, reservation));
    const { passwordHash: _omit, ...user } = found;
    return user;
  }

  /**
   * The right main password of an account with two-factor sign-in on: WebDAV is refused and a
   * sign-in without a code is asked for one, each with this attempt given back (the password was
   * right; earlier failures stay counted, so a known password cannot reset the budget that guesses
   * of the code spend). A wrong or used code stays counted.
   */
  private async secondFactor(user: UserRow, factors: SignInFactors, reservation: Reservation, origin: Origin) {
    if (factors.dav || !factors.totp) {
      await this.db.tx(async (tx) => {
        await refundAttempt(tx, reservation);
        // A WebDAV client still set up with the account password: the owner sees it in the activity.
        if (factors.dav)
          await record(
            tx,
            { kind: 'user', user, origin },
            { ownerId: user.id, action: 'auth.login_failed', details: { reason: 'app_password_required' } },
            this.clock.now(),
          );
      });
      if (factors.dav)
        throw unauthenticated(
          'This account uses two-factor sign-in: WebDAV clients sign in with an app password ' +
            '(console: Settings → Devices and app passwords), not the account password',
        );
      throw new DomainError('totp_required', 'Enter the code from your authenticator app, or a recovery code');
    }
    const used = await useSecondFactor(this.db, this.clock, user.id, factors.totp);
    if (used === 'totp') return;
    const now = this.clock.now();
    await this.db.tx((tx) =>
      record(
        tx,
        { kind: 'user', user, origin },
        used === null
          ? { ownerId: user.id, action: 'auth.login_failed', details: { reason: 'bad_code' } }
          : { ownerId: user.id, action: 'auth.recovery_code_used' },
        now,
      ),
    );
    if (used === null)
      throw new DomainError('totp_required', 'That code is wrong or was used already', { invalidCode: true });
  }

  async login(login: string, password: string, origin: Origin, totp?: string): Promise<Session> {
    const user = await this.verifyCredentials(login, password, origin, { totp });
    const now = this.clock.now();
    await this.db.tx(async (tx) => {
      await record(tx, { kind: 'user', user, origin }, { ownerId: user.id, action: 'auth.login' }, now);
      await setLastLogin(tx, user.id, now);
    });
    return this.issue({ ...user, lastLoginAt: now }, origin);
  }

  /** Signs a token and records its session (the device it was issued to: `origin`). */
  async issue(user: UserRow, origin: Origin = { via: 'api' }): Promise<Session> {
    const now = this.clock.now();
    const expiresAt = Math.floor(now / 1000) + this.config.jwtTtlSeconds;
    const jti = randomUUID();
    const token = jwt.sign({ tv: user.tokenVersion, exp: expiresAt }, this.secret, {
      algorithm: 'HS256',
      subject: user.id,
      jwtid: jti,
    });
    await this.db.tx((tx) => openSession(tx, { id: jti, userId: user.id, origin, now, expiresAt: expiresAt * 1000 }));
    return { token, user, expiresAt: expiresAt * 1000 };
  }

  /** Verifies signature, expiry, the session row (logout, ended devices), token_version (password change) and that the user is enabled. */
  async verifyToken(token: string): Promise<TokenInfo> {
    let claims: jwt.JwtPayload;
    try {
      const decoded = jwt.verify(token, this.secret, {
        algorithms: ['HS256'],
        clockTimestamp: Math.floor(this.clock.now() / 1000),
      });
      // jsonwebtoken only checks an exp that is present: a token without one would never expire.
      if (typeof decoded === 'string' || typeof decoded.exp !== 'number') throw new Error('unexpected payload');
      claims = decoded;
    } catch {
      throw unauthenticated('Your session is invalid or has expired; sign in again');
    }
    const { sub, tv, jti } = claims;
    if (typeof sub !== 'string' || typeof tv !== 'number' || typeof jti !== 'string')
      throw unauthenticated('Your session is invalid or has expired; sign in again');
    // One query: the user row (token_version, disabled) and this token's live session row.
    const now = this.clock.now();
    const row = await sessionUser(this.db, sub, jti, now);
    if (!row || !claimHolds(row.user, { userId: sub, tokenVersion: tv })) {
      throw unauthenticated('Your session is invalid or has expired; sign in again');
    }
    if (!row.session) throw unauthenticated('This session has ended; sign in again');
    await noteSeen(this.db, jti, row.session.lastSeenAt, now);
    return { user: row.user, jti, expiresAt: num(claims.exp) * 1000 };
  }

  /** Ends one session: its row goes, so its token is refused from the next request on. */
  async logout(actor: Actor, session: { jti: string; expiresAt: number }): Promise<void> {
    if (actor.kind !== 'user') return;
    const now = this.clock.now();
    await this.db.tx(async (tx) => {
      await deleteSession(tx, actor.user.id, session.jti);
      await record(tx, actor, { ownerId: actor.user.id, action: 'auth.logout' }, now);
    });
  }

  /**
   * Checks the signed-in user's own password before a change a stolen session must not make alone
   * (a new password, a new email — the address password resets go to). The same secret as sign-in,
   * so the same per-account budget, counted before bcrypt: a stolen session cannot guess the
   * password faster than the sign-in form allows. Throws forbidden when it is wrong.
   */
  async confirmPassword(actor: Actor, currentPassword: unknown): Promise<void> {
    if (actor.kind !== 'user') throw forbidden('Only a signed-in user can do this');
    if (typeof currentPassword !== 'string' || currentPassword === '')
      throw invalidInput('currentPassword is required', { field: 'currentPassword' });
    const rule: ThrottleRule = {
      key: accountKey(actor.user.id),
      max: this.config.login.maxFailures,
      onSuccess: 'clear',
    };
    const reservation = await reserveAttempt(this.db, [rule], this.windowMs, this.clock.now());
    const current = await passwordHashOf(this.db, actor.user.id);
    if (current === undefined || !(await this.hasher.compare(prehash(currentPassword), current))) {
      throw new DomainError('forbidden', 'The current password is wrong', { field: 'currentPassword' });
    }
    await this.db.tx((tx) => settleSuccess(tx, reservation));
  }

  /** Changes the password and bumps token_version: every other session and cached WebDAV credential ends. */
  async changePassword(actor: Actor, currentPassword: string, newPassword: string): Promise<Session> {
    if (actor.kind !== 'user') throw forbidden('Only a signed-in user can change a password');
    validatePassword(newPassword, 'newPassword');
    await this.confirmPassword(actor, currentPassword);
    const hash = await this.hashPassword(newPassword);
    const user = await this.db.tx(async (tx) => {
      const now = this.clock.now();
      await setPasswordHash(tx, actor.user.id, hash);
      await record(tx, actor, { ownerId: actor.user.id, action: 'auth.password_changed' }, now);
      return requireUser(tx, actor.user.id);
    });
    return this.issue(user, actor.origin);
  }

  /** Ends every session of the user (token_version + 1). */
  async signOutEverywhere(actor: Actor): Promise<void> {
    if (actor.kind !== 'user') throw forbidden('Only a signed-in user can do this');
    await bumpTokenVersion(this.db, actor.user.id);
  }

  /** First start: the `admin` account, with ADMIN_PASSWORD or a generated password (returned so it can be printed once). */
  async ensureAdmin(): Promise<{ created: boolean; password?: string }> {
    if (await anyAdminId(this.db)) return { created: false };
    const password = this.config.adminPassword ?? randomUUID().replace(/-/g, '').slice(0, 20);
    await this.createUser(
      { kind: 'system', origin: { via: 'system' } },
      { username: 'admin', email: 'admin@localhost', password, role: 'admin' },
    );
    return { created: true, password: this.config.adminPassword ? undefined : password };
  }

  private get windowMs(): number {
    return this.config.login.windowSeconds * 1000;
  }

  private unmatchableHash(): Promise<string> {
    this.dummyHash ??= this.hasher.hash(prehash(randomUUID())).catch((err: unknown) => {
      this.dummyHash = undefined;
      throw err;
    });
    return this.dummyHash;
  }
}
