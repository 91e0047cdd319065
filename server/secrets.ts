import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Where the JWT signing secret lives in a data dir. */
export const secretFile = (dataDir: string): string => path.join(dataDir, 'jwt-secret');

/** Reads the JWT signing secret from the data dir, creating it (mode 0600) on first start. */
export function loadOrCreateSecret(dataDir: string): string {
  const file = secretFile(dataDir);
  try {
    const s = fs.readFileSync(file, 'utf8').trim();
    if (s.length >= 32) return s;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = randomBytes(48).toString('base64url');
  fs.writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'w' });
  fs.chmodSync(file, 0o600);
  return secret;
}
