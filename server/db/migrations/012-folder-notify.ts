import type { Migration } from '../migration.js';

/**
 * On PostgreSQL, a folder whose ETag changes (a child added, removed, renamed or changed) or that
 * goes to or comes back from the bin is announced on the `coffer_folders` channel, with its id, when
 * the transaction that changed it commits: every instance LISTENs there and wakes the live-update
 * streams watching that folder (postgres/listener.ts). A trigger rather than a NOTIFY beside each
 * statement: set-based tree operations change many folders in one UPDATE, and a trigger sees them
 * all. PostgreSQL folds identical notifications of one transaction into one. SQLite has no such
 * channel: its streams poll the folder's ETag.
 */
export const folderNotify: Migration = {
  name: '012-folder-notify',
  statements: (d) =>
    d === 'postgres'
      ? [
          `CREATE FUNCTION coffer_notify_folder() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             PERFORM pg_notify('coffer_folders', NEW.id);
             RETURN NULL;
           END $$`,
          `CREATE TRIGGER nodes_folder_changed AFTER UPDATE OF etag, deleted_at ON nodes FOR EACH ROW
           WHEN (NEW.kind = 'folder' AND (NEW.etag IS DISTINCT FROM OLD.etag OR NEW.deleted_at IS DISTINCT FROM OLD.deleted_at))
           EXECUTE FUNCTION coffer_notify_folder()`,
        ]
      : [],
};
