/**
 * `npm run user -- <command>`: account administration from the command line, for when no admin can
 * sign in (a lost admin password) or for scripts. It opens the configured database (DATABASE_URL or
 * DATA_DIR, read by the server's own config loader) and goes through the domain, so passwords are
 * bcrypt-hashed the same way, the activity log records each change (actor "system"), and a running
 * server refuses an ended session at its next request (each request reads the user row).
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../config/index.js';
import { openDb, type Db } from './db/index.js';
import { runMigrations } from './db/migrate.js';
import type { Actor } from './domain/actor.js';
import { Admin } from './domain/admin.js';
import { Accounts } from './domain/auth.js';
import { systemClock } from './domain/clock.js';
import { DomainError } from './domain/errors.js';
import { migrationRules } from './domain/migration-rules.js';
import type { UserRow } from './domain/types.js';
import { findUserByLogin } from './domain/users.js';
import { BcryptPool } from './passwords/bcrypt-pool.js';
import { loadSigningSecret } from './secrets.js';

const USAGE = `Usage: npm run user -- <command>
  list                                  every account: username, role, state, email, usage, last sign-in
  create <username> <email> [--admin]   a new account; prints its generated password once
  reset-password <username>             a new random password, printed once; signs the user out everywhere
  promote <username>                    makes the account an administrator
  disable <username>                    disables the account and ends its sessions
  enable <username>                     enables a disabled account`;

const actor: Actor = { kind: 'system', origin: { via: 'system', userAgent: 'npm run user' } };

/** A refusal the operator can act on: printed as is, exit code 1. */
class UsageError extends Error {}

/** 20 characters from 120 random bits, readable and safe to paste. */
const generatePassword = () => randomBytes(15).toString('base64url');

const gib = (b: number) => `${(b / 1024 ** 3).toFixed(2)} GiB`;
const when = (t: number | null) => (t === null ? 'never' : new Date(t).toISOString().slice(0, 16).replace('T', ' '));

function table(users: UserRow[]): string {
  const rows = [
    ['USERNAME', 'ROLE', 'STATE', 'EMAIL', 'DISPLAY NAME', 'USED / QUOTA', 'LAST SIGN-IN'],
    ...users.map((u) => [
      u.username,
      u.role,
      u.disabled ? 'disabled' : 'enabled',
      u.email,
      u.displayName ?? '',
      `${gib(u.usedBytes)} / ${gib(u.quotaBytes)}`,
      when(u.lastLoginAt),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function run(db: Db, accounts: Accounts, admin: Admin, args: string[]): Promise<string> {
  const [command, ...rest] = args;
  const positional = rest.filter((a) => !a.startsWith('--'));
  const named = async (): Promise<UserRow> => {
    const [login] = positional;
    if (positional.length !== 1 || login === undefined) throw new UsageError(`${command} needs one username\n${USAGE}`);
    const found = await findUserByLogin(db, login);
    if (!found) throw new UsageError(`No user "${login}"`);
    const { passwordHash: _omit, ...user } = found;
    return user;
  };
  switch (command) {
    case 'list':
      return table(await admin.listUsers(actor));
    case 'create': {
      const [username, email] = positional;
      if (positional.length !== 2 || !username || !email)
        throw new UsageError(`create needs a username and an email\n${USAGE}`);
      const password = generatePassword();
      const role = rest.includes('--admin') ? 'admin' : 'user';
      const user = await accounts.createUser(actor, { username, email, password, role });
      return `Created ${user.username} (${user.role}).\nPassword (shown only this once): ${password}`;
    }
    case 'reset-password': {
      const user = await named();
      const password = generatePassword();
      await admin.updateUser(actor, user.id, { password });
      return `New password for ${user.username} (shown only this once): ${password}\nTheir sessions have ended; app passwords are unchanged.`;
    }
    case 'promote': {
      const user = await named();
      await admin.updateUser(actor, user.id, { role: 'admin' });
      return `${user.username} is an administrator.`;
    }
    case 'disable':
    case 'enable': {
      const user = await named();
      await admin.updateUser(actor, user.id, { disabled: command === 'disable' });
      return `${user.username} is ${command}d${command === 'disable' ? '; their sessions have ended' : ''}.`;
    }
    default:
      throw new UsageError(command ? `Unknown command "${command}"\n${USAGE}` : USAGE);
  }
}

let code = 0;
try {
  const config = loadConfig();
  const db = await openDb(config.postgresUrl ?? config.dbFile);
  const hasher = new BcryptPool(config.bcryptCost, 1);
  try {
    await runMigrations(db, migrationRules); // the schema the server runs on (a no-op when it is current)
    const accounts = new Accounts(
      db,
      config,
      systemClock,
      await loadSigningSecret(db, config.dataDir, config.jwtSecret),
      hasher,
    );
    const admin = new Admin(db, systemClock, (password) => accounts.hashPassword(password));
    console.log(await run(db, accounts, admin, process.argv.slice(2)));
  } finally {
    await hasher.close();
    await db.close();
  }
} catch (err) {
  code = err instanceof UsageError || err instanceof DomainError ? 1 : 2;
  if (err instanceof UsageError || err instanceof DomainError || err instanceof ConfigError) console.error(err.message);
  else console.error(`user: ${(err as Error).message}`);
}
process.exit(code);
