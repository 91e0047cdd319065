/** Helpers for the WebDAV tests: a user with a chosen password, and a fetch-based DAV client. */
import { randomBytes } from 'node:crypto';
import { api } from '../support/http.js';
import { login, type TestServer } from '../support/server.js';

export interface DavUser {
  id: string;
  username: string;
  email: string;
  password: string;
  token: string;
  rootId: string;
}

let counter = 0;

export async function davUser(
  srv: TestServer,
  opts: { password?: string; quotaBytes?: number } = {},
): Promise<DavUser> {
  const username = `dav${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`;
  const password = opts.password ?? `pw-${randomBytes(6).toString('hex')}`;
  const email = `${username}@example.test`;
  const body: Record<string, unknown> = { username, email, password };
  if (opts.quotaBytes !== undefined) body.quotaBytes = opts.quotaBytes;
  const res = await api(srv.url)
    .as(await srv.adminToken())
    .post('/api/admin/users', body);
  if (res.status !== 201) throw new Error(`create user: ${res.status} ${await res.text()}`);
  const session = await login(srv.url, username, password);
  return { id: session.user.id, username, email, password, token: session.token, rootId: session.user.rootId };
}

export function basic(login: string, password: string): string {
  return 'Basic ' + Buffer.from(`${login}:${password}`, 'utf8').toString('base64');
}

export type DavBody = string | Buffer | Uint8Array | ReadableStream | undefined;

export class Dav {
  constructor(
    readonly url: string,
    readonly authorization?: string,
  ) {}

  static for(srv: TestServer, user: { username: string; password: string }): Dav {
    return new Dav(srv.url, basic(user.username, user.password));
  }

  request(
    method: string,
    path: string,
    opts: { headers?: Record<string, string>; body?: DavBody } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...opts.headers };
    if (this.authorization && headers.authorization === undefined) headers.authorization = this.authorization;
    return fetch(this.url + path, {
      method,
      headers,
      body: opts.body as BodyInit | undefined,
      redirect: 'manual',
      ...(opts.body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
  }

  async put(path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Response> {
    const res = await this.request('PUT', path, { body, headers });
    await res.arrayBuffer();
    return res;
  }

  async mkcol(path: string): Promise<number> {
    const res = await this.request('MKCOL', path);
    await res.arrayBuffer();
    return res.status;
  }

  propfind(path: string, depth: string | null, body?: string): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': 'application/xml' };
    if (depth !== null) headers.depth = depth;
    return this.request('PROPFIND', path, { headers, body });
  }
}

/** The <D:href> values of a multistatus, in order. */
export function hrefs(xml: string): string[] {
  return [...xml.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]!);
}
