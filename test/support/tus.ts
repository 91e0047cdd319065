/** A tiny tus 1.0 client over fetch, for the resumable-upload tests. */
import { createHash } from 'node:crypto';
import type { Api, Body } from './http.js';

export const TUS = { 'tus-resumable': '1.0.0' };
export const CHUNK_TYPE = { 'content-type': 'application/offset+octet-stream' };

/** Upload-Metadata from plain values. */
export function metadata(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
}

export class Tus {
  constructor(
    readonly api: Api,
    /** Where creation goes: /api/uploads, or /api/public/<token>/uploads. */
    readonly endpoint = '/api/uploads',
    readonly headers: Record<string, string> = {},
  ) {}

  create(length: number, meta: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.api.post(this.endpoint, undefined, {
      ...TUS,
      ...this.headers,
      'upload-length': String(length),
      'upload-metadata': metadata(meta),
      ...headers,
    });
  }

  /** Creates and returns the upload's path (throws unless 201). */
  async start(length: number, meta: Record<string, string>): Promise<string> {
    const res = await this.create(length, meta);
    if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
    return new URL(res.headers.get('location')!, this.api.url).pathname;
  }

  head(path: string): Promise<Response> {
    return this.api.request('HEAD', path, undefined, { ...TUS, ...this.headers });
  }

  async offset(path: string): Promise<number> {
    const res = await this.head(path);
    if (res.status !== 200) throw new Error(`HEAD: ${res.status}`);
    return Number(res.headers.get('upload-offset'));
  }

  patch(
    path: string,
    offset: number,
    body: Body,
    headers: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<Response> {
    return fetch(this.api.url + path, {
      method: 'PATCH',
      headers: {
        ...TUS,
        ...CHUNK_TYPE,
        ...this.auth(),
        ...this.headers,
        'upload-offset': String(offset),
        ...headers,
      },
      body: body as BodyInit,
      signal,
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
  }

  terminate(path: string): Promise<Response> {
    return this.api.request('DELETE', path, undefined, { ...TUS, ...this.headers });
  }

  private auth(): Record<string, string> {
    const token = (this.api as unknown as { token?: string }).token;
    return token ? { authorization: `Bearer ${token}` } : {};
  }
}

export const sha256Header = (b: Buffer | string) => `sha256 ${createHash('sha256').update(b).digest('base64')}`;
