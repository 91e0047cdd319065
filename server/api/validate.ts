/** Request shape checks with zod at the edge; domain rules are checked again in the domain. */
import type { Context } from 'koa';
import { z } from 'zod';
import { invalidInput } from '../domain/errors.js';

function check<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.join('.');
  throw invalidInput(`${field ? `${field}: ` : ''}${issue.message}`, {
    where,
    field,
    issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  });
}

export const parseBody = <T extends z.ZodType>(ctx: Context, schema: T) => {
  const body = (ctx.request as unknown as { body?: unknown }).body;
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidInput('Send a JSON object as the request body (Content-Type: application/json)');
  }
  return check(schema, body, 'body');
};
export const parseQuery = <T extends z.ZodType>(ctx: Context, schema: T) => check(schema, ctx.query, 'query');
export const parseParams = <T extends z.ZodType>(ctx: Context, schema: T) =>
  check(schema, (ctx as unknown as { params: unknown }).params, 'path');

export const Id = z.uuid({ error: 'must be a valid id (UUID)' });
export const IdParams = z.object({ id: Id });
export const Name = z.string({ error: 'must be a string' });
