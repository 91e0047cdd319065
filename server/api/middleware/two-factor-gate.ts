/**
 * REQUIRE_2FA: a session of a user without two-factor sign-in may only set it up. Everything else
 * answers 403 `two_factor_setup_required` until it is on; the user row read by the session check
 * says so on every request, so turning it on (or an admin resetting it) shows at the next one.
 */
import type { Context, Next } from 'koa';
import { DomainError } from '../../domain/errors.js';
import type { TwoFactor } from '../../domain/totp.js';
import type { ApiState } from './auth.js';

/**
 * What such a session may still reach: who am I, signing out, the setup itself, and the routes
 * that need no session (signing in again, public links, health).
 */
const OPEN =
  /^\/api\/(auth\/(me|login|logout|logout-all|register|totp|totp\/setup|totp\/enable)|health|ready|public\/.*)$/;

export function twoFactorGate(twoFactor: TwoFactor) {
  return async (ctx: Context, next: Next) => {
    const actor = (ctx.state as ApiState).actor;
    if (actor?.kind === 'user' && twoFactor.setupRequired(actor.user) && !OPEN.test(ctx.path)) {
      throw new DomainError(
        'two_factor_setup_required',
        'Your administrator requires two-factor sign-in: set it up in Settings first',
      );
    }
    await next();
  };
}
