/** Helpers for the tests of app passwords and two-factor sign-in. */
import * as OTPAuth from 'otpauth';
import { api, type TestUser } from './http.js';
import type { TestServer } from './server.js';

export interface CreatedAppPassword {
  id: string;
  name: string;
  scope: 'full' | 'read';
  password: string;
}

export async function createAppPassword(
  srv: TestServer,
  user: { token: string },
  scope: 'full' | 'read' = 'full',
  name = `device ${scope}`,
): Promise<CreatedAppPassword> {
  const res = await api(srv.url).as(user).post('/api/auth/app-passwords', { name, scope });
  if (res.status !== 201) throw new Error(`create app password: ${res.status} ${await res.text()}`);
  return (await res.json()) as CreatedAppPassword;
}

/** The TOTP code of `secret` at time `at` (epoch ms), as an authenticator app would show it. */
export function totpCode(secret: string, at: number): string {
  return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 }).generate({
    timestamp: at,
  });
}

/** Sets up and enables TOTP for `user` at time `at` (the server's clock); its secret and recovery codes. */
export async function enableTotp(
  srv: TestServer,
  user: TestUser,
  at: number,
): Promise<{ secret: string; recoveryCodes: string[] }> {
  const as = api(srv.url).as(user);
  const setup = await as.post('/api/auth/totp/setup');
  if (setup.status !== 200) throw new Error(`totp setup: ${setup.status} ${await setup.text()}`);
  const { secret } = (await setup.json()) as { secret: string };
  const res = await as.post('/api/auth/totp/enable', { code: totpCode(secret, at) });
  if (res.status !== 200) throw new Error(`totp enable: ${res.status} ${await res.text()}`);
  return { secret, ...((await res.json()) as { recoveryCodes: string[] }) };
}

/** POST /api/auth/login with an optional second factor; the response. */
export function signIn(srv: TestServer, username: string, password: string, totp?: string): Promise<Response> {
  return fetch(`${srv.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password, ...(totp !== undefined ? { totp } : {}) }),
  });
}
