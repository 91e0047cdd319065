/**
 * Reads a JSON request body into `ctx.request.body`. koa-body did this before, but its JSON path
 * (co-body with raw-body, iconv-lite and qs) costs ~15 MiB of resident memory for what is a bounded
 * read and one `JSON.parse`; koa-body is now loaded only for multipart uploads (routes/content.ts).
 * Like koa-body's strict mode: only an object or an array is a JSON body; another content type
 * leaves the body unset (the route then says what it expects).
 */
import type { Context, Next } from 'koa';
import { DomainError, invalidInput } from '../domain/errors.js';

const LIMIT = 1024 * 1024;

async function readLimited(ctx: Context): Promise<string> {
  const declared = ctx.request.length;
  if (declared !== undefined && declared > LIMIT) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > LIMIT) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const tooLarge = () => new DomainError('payload_too_large', 'The request body is too large', { limit: LIMIT });

export async function jsonBody(ctx: Context, next: Next): Promise<void> {
  if (ctx.is('application/json', '+json')) {
    const encoding = ctx.get('content-encoding');
    if (encoding && encoding !== 'identity') throw invalidInput('Send the JSON body without a Content-Encoding');
    const text = await readLimited(ctx);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw invalidInput('The request body is not valid JSON');
    }
    if (value === null || typeof value !== 'object') throw invalidInput('The request body is not valid JSON');
    (ctx.request as unknown as { body?: unknown }).body = value;
  }
  await next();
}
