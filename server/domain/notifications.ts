/**
 * Mail about what others did for you: "X shared Y with you", unless the user turned it off
 * (users.notify_shares, on by default). Sent after the share is committed, in the mailer's
 * background work: a slow or broken mail server never delays or fails a share.
 */
import type { Db } from '../db/index.js';
import { notifySharesOf, setNotifyShares } from '../db/repos/mail-preferences.js';
import type { Actor } from './actor.js';
import { composeMail, type Mailer } from './mail.js';
import type { UserShareView } from './share-views.js';
import { signedInUser } from './share-views.js';

export interface MailPreferences {
  /** Whether a mail tells the user when someone shares a file or folder with them. */
  notifyShares: boolean;
}

export class Notifications {
  constructor(
    private readonly db: Db,
    private readonly mailer: Mailer | undefined,
    /** The console's address (PUBLIC_URL and BASE_PATH), for the links in mails. */
    private readonly siteUrl: string | undefined,
  ) {}

  /** From the user row the request's session check read: no query of its own. */
  preferences(actor: Actor): MailPreferences {
    return { notifyShares: signedInUser(actor).notifyShares };
  }

  async setPreferences(actor: Actor, prefs: Partial<MailPreferences>): Promise<MailPreferences> {
    const me = signedInUser(actor);
    if (prefs.notifyShares !== undefined) await setNotifyShares(this.db, me.id, prefs.notifyShares);
    return { notifyShares: prefs.notifyShares ?? me.notifyShares };
  }

  /** A new user share (Sharing calls this once its transaction has committed). */
  shareCreated(share: UserShareView): void {
    const { mailer, siteUrl } = this;
    if (!mailer || !siteUrl) return;
    mailer.sendLater('share notification', async () => {
      if (!(await notifySharesOf(this.db, share.grantee.id))) return undefined;
      const what = share.node.kind === 'folder' ? 'folder' : 'file';
      const access = share.permission === 'edit' ? 'view and change' : 'view';
      return composeMail({
        to: share.grantee.email,
        subject: `${share.owner.username} shared "${share.shareName}" with you`,
        paragraphs: [
          `${share.owner.username} shared the ${what} "${share.node.name}" with you on Coffer. You can ${access} it; it is in "Shared with me" as "${share.shareName}".`,
        ],
        // A folder opens in the file list; a single file is found in "Shared with me".
        action: {
          label: `Open the ${what}`,
          url: share.node.kind === 'folder' ? `${siteUrl}/files/${share.node.id}` : `${siteUrl}/shared`,
        },
        footer: `You get this mail because someone shared with your account "${share.grantee.username}". To stop these mails, turn them off in your account settings: ${siteUrl}/settings`,
      });
    });
  }
}
