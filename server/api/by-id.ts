/**
 * A route that acts, for the signed-in user, on the one thing its `:id` names (a node, share,
 * link, session…): the id is checked, the actor required, and what the action returns is the
 * answer — 204 when it returns nothing.
 */
import type { Context, Middleware } from 'koa';
import type { Actor } from '../domain/actor.js';
import { requireActor } from './middleware/auth.js';
import { IdParams, parseParams } from './validate.js';

type UserActor = Actor & { kind: 'user' };

export function byId(act: (actor: UserActor, id: string, ctx: Context) => Promise<unknown>): Middleware {
  return async (ctx) => {
    const actor = requireActor(ctx);
    const answer = await act(actor, parseParams(ctx, IdParams).id, ctx);
    if (answer === undefined) ctx.status = 204;
    else ctx.body = answer;
  };
}
