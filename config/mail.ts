/** Mail: SMTP_URL, MAIL_FROM, and how often a password-reset mail may be asked for (config/index.ts reads them). */
import os from 'node:os';
import { z } from 'zod';
import { ConfigError, int } from './values.js';

/** smtp://user:pass@host:587 or smtps://…:465, with nodemailer's query options; kept as written (nodemailer parses it). */
const smtpUrl = z.string().transform((v, ctx) => {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not a URL (example: smtp://user:password@mail.example.com:587)' });
    return z.NEVER;
  }
  if ((u.protocol !== 'smtp:' && u.protocol !== 'smtps:') || !u.hostname) {
    ctx.addIssue({
      code: 'custom',
      message:
        'must be smtp://[user:password@]host[:port] or smtps://… (example: smtp://user:password@mail.example.com:587)',
    });
    return z.NEVER;
  }
  return v;
});

const MailEnv = z.object({
  SMTP_URL: smtpUrl.optional(),
  MAIL_FROM: z.string().min(3).max(320).optional(),
  /** Reset mails one address may ask for per LOGIN_WINDOW (the sign-in throttle's window). */
  PASSWORD_RESET_MAX_PER_ADDRESS: int(1, 1_000_000).default(3),
  /** Reset requests one IP address may make per LOGIN_WINDOW, whatever addresses it names. */
  PASSWORD_RESET_MAX_PER_IP: int(1, 1_000_000).default(20),
});

export interface MailSettings {
  /** Where mail goes out; undefined: Coffer sends no mail (no reset by email, no share notifications). */
  readonly smtpUrl: string | undefined;
  /** The From of every mail. */
  readonly from: string;
  readonly resetMaxPerAddress: number;
  readonly resetMaxPerIp: number;
}

/**
 * The mail settings of `env`. SMTP_URL needs PUBLIC_URL (`hasPublicUrl`): a link in a mail built
 * from a request's Host header would let anyone who can reach the server make Coffer mail a
 * password-reset token to a host of their choosing (Host and X-Forwarded-Host are the client's to write).
 */
export function mailSettings(env: Record<string, string | undefined>, hasPublicUrl: boolean): MailSettings {
  const parsed = MailEnv.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.SMTP_URL && !hasPublicUrl) {
    throw new ConfigError(
      'Invalid configuration:\n  SMTP_URL needs PUBLIC_URL: the links in mails (password reset, shares) point there, never to a Host header a client sent',
    );
  }
  return Object.freeze({
    smtpUrl: e.SMTP_URL,
    from: e.MAIL_FROM ?? `Coffer <coffer@${os.hostname()}>`,
    resetMaxPerAddress: e.PASSWORD_RESET_MAX_PER_ADDRESS,
    resetMaxPerIp: e.PASSWORD_RESET_MAX_PER_IP,
  });
}
