/** A tiny fetch-based client for the JSON API. */
import { randomBytes } from 'node:crypto';
import { login, type TestServer } from './server.js';

export interface TestUser {
  id: string;
  username: string;
  email: string;
  password: string;
  token: string;
  rootId: string;
}

export type Body =
  string | Buffer | Uint8Array | ReadableStream | FormData | Record<string, unknown> | unknown[] | undefined;

export class Api {
  constructor(
    readonly url: string,
    private readonly token?: string,
  ) {}

  as(who: { token: string } | string | undefined): Api {
    return new Api(this.url, typeof who === 'string' ? who : who?.token);
  }

  async request(method: string, path: string, body?: Body, headers: Record<string, string> = {}): Promise<Response> {
    const h: Record<string, string> = { ...headers };
    if (this.token) h.authorization ??= `Bearer ${this.token}`;
    let payload: BodyInit | undefined;
    if (body === undefined) payload = undefined;
    else if (
      typeof body === 'string' ||
      body instanceof Uint8Array ||
      body instanceof ReadableStream ||
      body instanceof FormData
    )
      payload = body as BodyInit;
    else {
      payload = JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    return fetch(this.url + path, {
      method,
      headers: h,
      body: payload,
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
  }

  get = (path: string, headers?: Record<string, string>) => this.request('GET', path, undefined, headers);
  delete = (path: string, headers?: Record<string, string>) => this.request('DELETE', path, undefined, headers);
  post = (path: string, body?: Body, headers?: Record<string, string>) => this.request('POST', path, body, headers);
  put = (path: string, body?: Body, headers?: Record<string, string>) => this.request('PUT', path, body, headers);
  patch = (path: string, body?: Body, headers?: Record<string, string>) => this.request('PATCH', path, body, headers);

  /** Uploads bytes as a file; returns the created node (throws unless 200/201). */
  async upload(parentId: string, name: string, content: string | Buffer, query = ''): Promise<NodeJson> {
    const res = await this.put(`/api/folders/${parentId}/files/${encodeURIComponent(name)}${query}`, content);
    if (res.status !== 201 && res.status !== 200) throw new Error(`upload ${name}: ${res.status} ${await res.text()}`);
    return (await res.json()) as NodeJson;
  }

  async mkdir(parentId: string, name: string): Promise<NodeJson> {
    const res = await this.post('/api/folders', { parentId, name });
    if (res.status !== 201) throw new Error(`mkdir ${name}: ${res.status} ${await res.text()}`);
    return (await res.json()) as NodeJson;
  }

  async children(folderId: string, query = ''): Promise<NodeJson[]> {
    const res = await this.get(`/api/nodes/${folderId}/children${query}`);
    if (res.status !== 200) throw new Error(`children: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { items: NodeJson[] }).items;
  }

  async json<T = any>(res: Response | Promise<Response>): Promise<T> {
    return (await (await res).json()) as T;
  }
}

export interface NodeJson {
  id: string;
  name: string;
  kind: 'file' | 'folder';
  size: number;
  mime: string | null;
  parentId: string | null;
  ownerId: string;
  etag: string;
  modifiedAt: string;
  permission: string;
}

export const api = (url: string) => new Api(url);

let counter = 0;
/** Creates a fresh user through the admin API and signs them in. */
export async function createUser(
  srv: TestServer,
  opts: { quotaBytes?: number; role?: 'admin' | 'user'; prefix?: string } = {},
): Promise<TestUser> {
  const username = `${opts.prefix ?? 'u'}${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`;
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const email = `${username}@example.test`;
  const res = await api(srv.url)
    .as(await srv.adminToken())
    .post('/api/admin/users', { username, email, password, ...opts });
  if (res.status !== 201) throw new Error(`create user: ${res.status} ${await res.text()}`);
  const session = await login(srv.url, username, password);
  return { id: session.user.id, username, email, password, token: session.token, rootId: session.user.rootId };
}
