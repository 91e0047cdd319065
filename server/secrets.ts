import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from './db/index.js';
import { settleSetting } from './db/repos/settings.js';

/** Where versions before 011 kept the token signing secret in a data dir. */
export const legacySecretFile = (dataDir: string): string => path.join(dataDir, 'jwt-secret');

const SETTING = 'jwt_secret';

/**
 * The token signing secret: `override` (JWT_SECRET) when given, else the one stored in the database
 * — shared by every instance on it, so a session issued by one is valid on all — made on first
 * start. An install upgraded from a version that kept it in `<data>/jwt-secret` adopts that file's
 * secret (sessions already issued stay valid) and the file is removed: the secret has one home.
 */
export async function loadSigningSecret(db: Db, dataDir: string, override?: string): Promise<string> {
  if (override) return override;
  const file = legacySecretFile(dataDir);
  let legacy: string | undefined;
  try {
    legacy = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = await settleSetting(
    db,
    SETTING,
    legacy && legacy.length >= 32 ? legacy : randomBytes(48).toString('base64url'),
  );
  if (legacy !== undefined) fs.rmSync(file, { force: true });
  return secret;
}
