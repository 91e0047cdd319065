/**
 * App passwords: a WebDAV credential per device or sync app, revocable on its own, optionally
 * read-only, and the way into WebDAV once two-factor sign-in is on. They open WebDAV only: sign-in
 * to the console and the JSON API checks the main password (Accounts.verifyCredentials).
 *
 * Stored as SHA-256, not bcrypt. bcrypt's cost is there to slow guessing of passwords people
 * choose; an app password is 30 characters drawn at random (about 148 bits), which no amount of
 * hashing speed makes guessable, so a fast hash loses nothing — and it lets a WebDAV request be
 * checked with one indexed lookup instead of ~80 ms of CPU (DESIGN.md §6). The lookup is by the
 * hash itself: its timing can tell an attacker nothing about a secret whose hash they cannot aim.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Db, Q } from '../db/index.js';
import {
  appPasswordByHash,
  appPasswordsOf,
  bumpCredentialsVersion,
  deleteAppPassword,
  insertAppPassword,
  noteAppPasswordUse,
  type AppPasswordRow,
  type AppPasswordScope,
} from '../db/repos/app-passwords.js';
import type { Actor, Origin } from './actor.js';
import { record } from './activity.js';
import type { Clock } from './clock.js';
import { forbidden, invalidInput, notFound } from './errors.js';
import { readableSecret } from './readable-secret.js';
import type { UserRow } from './types.js';

export type { AppPasswordRow, AppPasswordScope } from '../db/repos/app-passwords.js';

/** A busy client notes its use at most this often (a write per request would be a write per GET). */
export const NOTE_USE_EVERY_MS = 60_000;
const MAX_PER_USER = 100;

const hashOf = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');

/** Six groups of five, e.g. `k7mqa-3xz9p-…`: 30 characters, about 148 random bits. */
const newSecret = () => readableSecret(6, 5);

function requireUserActor(actor: Actor): Actor & { kind: 'user' } {
  if (actor.kind !== 'user') throw forbidden('Only a signed-in user has app passwords');
  return actor;
}

export class AppPasswords {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async list(actor: Actor): Promise<AppPasswordRow[]> {
    return appPasswordsOf(this.db, requireUserActor(actor).user.id);
  }

  /** Creates one; the secret is in the answer and nowhere else, ever. */
  async create(
    actor: Actor,
    input: { name: string; scope: AppPasswordScope },
  ): Promise<AppPasswordRow & { password: string }> {
    const { user } = requireUserActor(actor);
    const name = input.name.normalize('NFC').trim();
    if (!name || name.length > 100)
      throw invalidInput('Give the app password a name of 1–100 characters', { field: 'name' });
    const password = newSecret();
    const row: AppPasswordRow = {
      id: randomUUID(),
      userId: user.id,
      name,
      scope: input.scope,
      createdAt: this.clock.now(),
      lastUsedAt: null,
      lastUsedIp: null,
    };
    await this.db.tx(async (tx) => {
      if ((await appPasswordsOf(tx, user.id)).length >= MAX_PER_USER)
        throw invalidInput(`At most ${MAX_PER_USER} app passwords per account; delete one you no longer use`);
      await insertAppPassword(tx, { ...row, hash: hashOf(password) });
      await record(
        tx,
        actor,
        { ownerId: user.id, action: 'app_password.created', details: { id: row.id, name, scope: row.scope } },
        row.createdAt,
      );
    });
    return { ...row, password };
  }

  /**
   * Deletes one of the actor's app passwords (another user's id is not found). credentials_version
   * moves in the same transaction, so a WebDAV client holding it cached is refused at its next request.
   */
  async revoke(actor: Actor, id: string): Promise<void> {
    const { user } = requireUserActor(actor);
    await this.db.tx(async (tx) => {
      const gone = await deleteAppPassword(tx, user.id, id);
      if (!gone) throw notFound('App password');
      await bumpCredentialsVersion(tx, user.id);
      await record(
        tx,
        actor,
        { ownerId: user.id, action: 'app_password.deleted', details: { id, name: gone.name } },
        this.clock.now(),
      );
    });
  }

  /**
   * Notes a use of app password `id` already checked once (a WebDAV credential from the cache), at
   * most once a minute: the first use was noted, with its activity row, when it was checked.
   */
  async noteCachedUse(id: string, origin: Origin): Promise<void> {
    await noteAppPasswordUse(this.db, id, this.clock.now(), origin.ip ?? null, NOTE_USE_EVERY_MS);
  }
}

/**
 * The app password of `user` that `secret` is, or null (called by Accounts.verifyCredentials after
 * the attempt was counted). A match is noted as a use.
 */
export async function matchAppPassword(
  db: Db,
  clock: Clock,
  user: UserRow,
  secret: string,
  origin: Origin,
): Promise<AppPasswordRow | null> {
  const found = await appPasswordByHash(db, user.id, hashOf(secret));
  if (!found) return null;
  await noteUse(db, clock, user, found.id, origin);
  return found;
}

async function noteUse(db: Db, clock: Clock, user: UserRow, id: string, origin: Origin): Promise<void> {
  const now = clock.now();
  await db.tx(async (tx: Q) => {
    const { first } = await noteAppPasswordUse(tx, id, now, origin.ip ?? null, NOTE_USE_EVERY_MS);
    if (first)
      await record(
        tx,
        { kind: 'user', user, origin },
        { ownerId: user.id, action: 'app_password.first_used', details: { id } },
        now,
      );
  });
}
