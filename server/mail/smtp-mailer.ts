/**
 * The domain's Mailer over SMTP (nodemailer): one transport for the process, messages sent in the
 * background. A message that cannot be composed or sent is logged at error level (the operator
 * must hear that mail is failing) and never reaches the request that caused it.
 */
import type { Transporter, TransportOptions } from 'nodemailer';
import type { Mail, Mailer } from '../domain/mail.js';
import type { Log } from '../log.js';

/** How long close() lets messages under way finish before it drops the connections. */
const CLOSE_GRACE_MS = 5000;

export class SmtpMailer implements Mailer {
  private readonly underWay = new Set<Promise<void>>();

  private constructor(
    private readonly transport: Transporter,
    private readonly from: string,
    private readonly log: Log,
  ) {}

  /** nodemailer is loaded only here: an install without SMTP_URL never holds it in memory (~14 MiB). */
  static async open(smtpUrl: string, from: string, log: Log): Promise<SmtpMailer> {
    const { createTransport } = await import('nodemailer');
    // Short timeouts: a mail server that accepts connections and then says nothing must not hold
    // background work (and close()) for nodemailer's default minutes. Query options of SMTP_URL win.
    const transport = createTransport({
      url: smtpUrl,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    } as TransportOptions);
    return new SmtpMailer(transport, from, log);
  }

  sendLater(what: string, compose: () => Promise<Mail | undefined>): void {
    const work = (async () => {
      // Not even the first query of `compose` runs before the caller has answered its request.
      await new Promise((resolve) => setImmediate(resolve));
      const mail = await compose();
      if (!mail) return;
      const info = (await this.transport.sendMail({ from: this.from, ...mail })) as { messageId?: string };
      this.log.info({ what, messageId: info.messageId }, 'mail sent');
    })()
      .catch((err: unknown) => this.log.error({ err, what }, 'mail not sent'))
      .finally(() => this.underWay.delete(work));
    this.underWay.add(work);
  }

  /** Resolves when every message handed over so far has been sent or given up on. */
  async settled(): Promise<void> {
    while (this.underWay.size > 0) await Promise.allSettled([...this.underWay]);
  }

  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.settled(), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
    this.transport.close();
  }
}
