import type { Config } from '../../config/index.js';
import type { ActivityLog } from '../domain/activity.js';
import type { Admin } from '../domain/admin.js';
import type { AppPasswords } from '../domain/app-passwords.js';
import type { Accounts } from '../domain/auth.js';
import type { TwoFactor } from '../domain/totp.js';
import type { Bin } from '../domain/bin.js';
import type { Content } from '../domain/content.js';
import type { ContentGrants } from '../domain/content-grants.js';
import type { Drive } from '../domain/drive.js';
import type { Actor } from '../domain/actor.js';
import type { FileDrops } from '../domain/file-drop.js';
import type { Links } from '../domain/links.js';
import type { Notifications } from '../domain/notifications.js';
import type { PasswordResets } from '../domain/password-reset.js';
import type { Locks } from '../domain/locks.js';
import type { SearchHit, SearchQuery } from '../domain/search.js';
import type { Sharing } from '../domain/sharing.js';
import type { Thumbnails } from '../domain/thumbnails.js';
import type { Versions } from '../domain/versions.js';
import type { FolderChanges } from '../domain/folder-changes.js';
import type { Readiness } from '../domain/readiness.js';
import type { Sessions } from '../domain/sessions.js';
import type { Profiles } from '../domain/profile.js';
import type { UserDeletion } from '../domain/user-deletion.js';
import type { ResumableUploads } from '../domain/resumable-uploads.js';

/** What the API layer is given by the composition root. */
export interface ApiDeps {
  config: Config;
  drive: Drive;
  content: Content;
  activity: ActivityLog;
  accounts: Accounts;
  passwordResets: PasswordResets;
  notifications: Notifications;
  appPasswords: AppPasswords;
  twoFactor: TwoFactor;
  sessions: Sessions;
  profiles: Profiles;
  admin: Admin;
  userDeletion: UserDeletion;
  sharing: Sharing;
  links: Links;
  fileDrops: FileDrops;
  bin: Bin;
  versions: Versions;
  locks: Locks;
  grants: ContentGrants;
  thumbnails: Thumbnails;
  search(actor: Actor, query: SearchQuery): Promise<SearchHit[]>;
  readiness: Readiness;
  /** Folder changes the database announces, for the live-update streams (events.ts). */
  folderChanges: FolderChanges;
  version: string;
  /** Resumable (tus) uploads: routes/tus.ts. */
  resumable: ResumableUploads;
}
