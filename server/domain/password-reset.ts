/**
 * Password reset by email. A request is answered the same way whether or not the address belongs
 * to an account (no account oracle): it is counted against its address and its IP before anything
 * else, and everything that depends on the account (the lookup, the token, the mail) happens after
 * the answer, in the mailer's background work. The link carries a 256-bit random token valid for
 * an hour and usable once; only its sha256 is stored. Using it sets the password and ends every
 * session of the account; it does not sign in (a second factor, if any, still has its say).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/index.js';
import { consumeReset, deleteResetsOf, replaceReset, resetByHash } from '../db/repos/password-resets.js';
import { clearAttempts } from '../db/repos/throttle.js';
import { setPasswordHash } from '../db/repos/users.js';
import type { Origin } from './actor.js';
import { record } from './activity.js';
import type { Accounts } from './auth.js';
import type { Clock } from './clock.js';
import { DomainError, rateLimited } from './errors.js';
import { composeMail, type Mail, type Mailer } from './mail.js';
import { accountKey, ipKey, reserveAttempt } from './throttle.js';
import { findUserByLogin, getUser, validateEmail, validatePassword } from './users.js';

export const RESET_TTL_MS = 3600 * 1000;

const sha256 = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');
const addressKey = (address: string) => `reset-address:${address}`;
const resetIpKey = (ip: string | null | undefined) => `reset-${ipKey(ip)}`;

const invalidToken = () =>
  new DomainError(
    'invalid_token',
    'This reset link is not valid: it was used already, has expired, or was replaced by a newer one',
  );

export const notConfigured = () =>
  new DomainError(
    'not_configured',
    'Password reset by email is not available on this server (no mail server is configured); ask your administrator to reset your password',
  );

export interface PasswordResetOptions {
  /** The console's address (PUBLIC_URL and BASE_PATH): the link in the mail points there. */
  siteUrl: string;
  maxPerAddress: number;
  maxPerIp: number;
  windowMs: number;
}

export class PasswordResets {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly accounts: Accounts,
    private readonly mailer: Mailer | undefined,
    private readonly opts: PasswordResetOptions,
  ) {}

  /** Whether reset by email is offered at all (a mail server is configured). */
  get available(): boolean {
    return this.mailer !== undefined;
  }

  /**
   * Asks for a reset link for `email`. Returns as soon as the request is counted; the mail, if the
   * address belongs to an enabled account, follows. Throttled per address and per IP.
   */
  async request(email: string, origin: Origin): Promise<void> {
    const mailer = this.mailer;
    if (!mailer) throw notConfigured();
    const address = validateEmail(email).normalize('NFC').toLowerCase();
    try {
      await reserveAttempt(
        this.db,
        [
          { key: addressKey(address), max: this.opts.maxPerAddress, onSuccess: 'refund' },
          { key: resetIpKey(origin.ip), max: this.opts.maxPerIp, onSuccess: 'refund' },
        ],
        this.opts.windowMs,
        this.clock.now(),
      );
    } catch (err) {
      if (err instanceof DomainError && err.code === 'rate_limited')
        throw rateLimited(Number(err.details?.retryAfterSeconds), 'Too many password reset requests; try again later');
      throw err;
    }
    mailer.sendLater('password reset', () => this.issue(address, origin));
  }

  /**
   * Sets a new password with a reset link's token and ends every session of the account (its
   * token_version moves). The token is checked before the password is hashed, so a wrong one
   * costs no bcrypt; it is used up in the transaction that sets the password, so it works once.
   */
  async reset(token: string, password: string, origin: Origin): Promise<{ username: string }> {
    validatePassword(password);
    const tokenHash = sha256(token);
    const found = await resetByHash(this.db, tokenHash);
    const user = found && found.expiresAt > this.clock.now() ? await getUser(this.db, found.userId) : undefined;
    if (!user || user.disabled) throw invalidToken();
    const passwordHash = await this.accounts.hashPassword(password);
    await this.db.tx(async (tx) => {
      const now = this.clock.now();
      if (!(await consumeReset(tx, tokenHash, now))) throw invalidToken();
      await deleteResetsOf(tx, user.id);
      await setPasswordHash(tx, user.id, passwordHash);
      // Whoever was locked out by failed sign-ins has just proven the account is theirs.
      await clearAttempts(tx, accountKey(user.id));
      await record(tx, { kind: 'user', user, origin }, { ownerId: user.id, action: 'auth.password_reset' }, now);
    });
    return { username: user.username };
  }

  /** Off the response path: the account behind the address, a fresh token, and the mail (or nothing). */
  private async issue(address: string, origin: Origin): Promise<Mail | undefined> {
    const user = await findUserByLogin(this.db, address);
    // By email only (a username that happens to look like this address is not its owner), enabled accounts only.
    if (!user || user.disabled || user.email.toLowerCase() !== address) return undefined;
    const token = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    await this.db.tx(async (tx) => {
      await replaceReset(tx, {
        tokenHash: sha256(token),
        userId: user.id,
        createdAt: now,
        expiresAt: now + RESET_TTL_MS,
      });
      await record(
        tx,
        { kind: 'user', user, origin },
        { ownerId: user.id, action: 'auth.password_reset_requested' },
        now,
      );
    });
    return composeMail({
      to: user.email,
      subject: 'Reset your Coffer password',
      paragraphs: [
        `Someone (hopefully you) asked to reset the password of the Coffer account "${user.username}"${origin.ip ? ` from the address ${origin.ip}` : ''}.`,
        'The link below lets you choose a new password. It works once, within one hour. Setting a new password signs you out everywhere.',
        'If you did not ask for this, ignore this mail: your password stays as it is.',
      ],
      action: { label: 'Choose a new password', url: `${this.opts.siteUrl}/reset?token=${token}` },
    });
  }
}
