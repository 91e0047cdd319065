/**
 * Mail as the domain sees it: a message (plain text with a simple HTML alternative) and a Mailer
 * that sends it in the background. The composition root injects the SMTP implementation
 * (server/mail/); without SMTP_URL there is none, and the features that mail are off.
 */
export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  /**
   * Runs `compose` and sends what it returns (nothing for undefined) after the caller has moved on:
   * the caller never waits for the mail server, and a failure, in composing or in sending, is the
   * mailer's to log (as `what`), never the caller's error.
   */
  sendLater(what: string, compose: () => Promise<Mail | undefined>): void;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

/**
 * A short mail: paragraphs of plain text and one link. The HTML part is the same words, every
 * value escaped (names and addresses are user-supplied), so no user text becomes markup.
 */
export function composeMail(m: {
  to: string;
  subject: string;
  paragraphs: string[];
  action: { label: string; url: string };
  footer?: string;
}): Mail {
  const text = [...m.paragraphs, `${m.action.label}: ${m.action.url}`, ...(m.footer ? ['--', m.footer] : [])].join(
    '\n\n',
  );
  const p = (s: string) => `<p>${escapeHtml(s)}</p>`;
  const html = [
    '<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#0f172a">',
    ...m.paragraphs.map(p),
    `<p><a href="${escapeHtml(m.action.url)}">${escapeHtml(m.action.label)}</a></p>`,
    ...(m.footer ? [`<p style="color:#64748b;font-size:90%">${escapeHtml(m.footer)}</p>`] : []),
    '</body></html>',
  ].join('\n');
  return { to: m.to, subject: m.subject, text, html };
}
