/** The composition root: the only module that knows every layer. */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/index.js';
import { openBlobStore, PartialUploads, ThumbnailCache, type BlobStore } from '../storage/index.js';
import { createDavHandler } from '../dav/index.js';
import { createPublicDavHandler } from '../dav/public.js';
import { createApi } from './api/router.js';
import { openDb, type Db } from './db/index.js';
import { runMigrations } from './db/migrate.js';
import { SearchBacklog } from './db/search-backlog.js';
import { migrationRules } from './domain/migration-rules.js';
import { ActivityLog } from './domain/activity.js';
import { Sessions } from './domain/sessions.js';
import { Profiles } from './domain/profile.js';
import { Admin } from './domain/admin.js';
import { AppPasswords } from './domain/app-passwords.js';
import { Bin } from './domain/bin.js';
import { Content } from './domain/content.js';
import { ContentGrants } from './domain/content-grants.js';
import { Accounts } from './domain/auth.js';
import { systemClock, type Clock } from './domain/clock.js';
import { Drive } from './domain/drive.js';
import { FolderChanges } from './domain/folder-changes.js';
import { JobRuns } from './domain/job-runs.js';
import { FileDrops } from './domain/file-drop.js';
import { Links } from './domain/links.js';
import { Locks } from './domain/locks.js';
import { Namespace } from './domain/namespace.js';
import { Notifications } from './domain/notifications.js';
import { PasswordResets } from './domain/password-reset.js';
import { Readiness } from './domain/readiness.js';
import { ResumableUploads } from './domain/resumable-uploads.js';
import { collectGarbage, type GcResult } from './domain/maintenance.js';
import { searchNodes } from './domain/search.js';
import { Sharing } from './domain/sharing.js';
import { TwoFactor } from './domain/totp.js';
import { Versions } from './domain/versions.js';
import { Thumbnails } from './domain/thumbnails.js';
import { RECIPE, THUMBNAIL_TYPE, ThumbnailRenderer } from './thumbnails/render.js';
import { sweepThrottle } from './domain/throttle.js';
import { createHttpServer } from './http.js';
import { BcryptPool } from './passwords/bcrypt-pool.js';
import { SmtpMailer } from './mail/smtp-mailer.js';
import { startScheduler, type Scheduler } from './jobs/scheduler.js';
import { createLog, type Log } from './log.js';
import { Metrics } from './metrics.js';
import { loadSigningSecret } from './secrets.js';
import { VERSION } from './version.js';
import { UserDeletion } from './domain/user-deletion.js';

export interface App {
  readonly config: Config;
  readonly db: Db;
  readonly drive: Drive;
  readonly accounts: Accounts;
  readonly admin: Admin;
  readonly sharing: Sharing;
  readonly bin: Bin;
  readonly versions: Versions;
  readonly blobs: BlobStore;
  /** The background jobs: scheduled unless JOBS_ENABLED=false; `fire` runs one as its schedule would. */
  readonly jobs: Scheduler;
  /**
   * Puts new names into the search index once a second (SQLite; search-backlog.ts). Not a job: it runs
   * with JOBS_ENABLED=false too, so a test that counts a request's statements closes it first.
   */
  readonly searchBacklog: SearchBacklog;
  /** Sends mail when SMTP_URL is set; `settled()` waits for the messages under way (tests). */
  readonly mailer: SmtpMailer | undefined;
  /** The generated admin password on first start (printed once by main). */
  readonly firstAdminPassword: string | undefined;
  listen(): Promise<string>;
  collectGarbage(graceMs?: number): Promise<GcResult>;
  close(): Promise<void>;
}

/** Shows the generated first admin password, once, on the console (never in a log line). */
export function printFirstAdminPassword(password: string | undefined): void {
  if (!password) return;
  console.log('\n  First start: created the administrator account');
  console.log(`    username: admin\n    password: ${password}`);
  console.log('  This password is shown only once. Sign in and change it.\n');
}

export async function createApp(config: Config, opts: { clock?: Clock; log?: Log } = {}): Promise<App> {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLog(config.logLevel);
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const db = await openDb(config.postgresUrl ?? config.dbFile, {
    durability: config.durability,
    poolSize: config.dbPoolSize,
  });
  await runMigrations(db, migrationRules);
  const searchBacklog = SearchBacklog.start(db, (err) => log.warn({ err }, 'indexing new names for search failed'));
  const blobs = await openBlobStore(config.blobStore, config.dataDir, { fsync: config.durability === 'full' });
  const secret = await loadSigningSecret(db, config.dataDir, config.jwtSecret);
  const hasher = new BcryptPool(config.bcryptCost);
  const accounts = new Accounts(db, config, clock, secret, hasher);
  const appPasswords = new AppPasswords(db, clock);
  const twoFactor = new TwoFactor(db, clock, accounts, config.require2fa);
  const drive = new Drive(db, blobs, clock, config.versions, { maxPropertyBytes: config.davMaxPropertyBytes });
  const versions = new Versions(db, clock, config.versions);
  const content = new Content(db, blobs, clock);
  const locks = new Locks(db, clock, {
    maxTimeoutSeconds: config.dav.lockMaxTimeoutSeconds,
    granteeMaxTimeoutSeconds: config.dav.granteeLockMaxTimeoutSeconds,
  });
  const admin = new Admin(db, clock, (password) => accounts.hashPassword(password));
  const sessions = new Sessions(db, clock);
  const profiles = new Profiles(db, clock, (actor, password) => accounts.confirmPassword(actor, password));
  const mailer = config.mail.smtpUrl ? await SmtpMailer.open(config.mail.smtpUrl, config.mail.from, log) : undefined;
  // Links in mails go to PUBLIC_URL (config/mail.ts requires it with SMTP_URL), never to a request's Host.
  const siteUrl = config.publicUrl && config.publicUrl.origin + config.basePath;
  const notifications = new Notifications(db, mailer, siteUrl);
  const passwordResets = new PasswordResets(db, clock, accounts, mailer, {
    siteUrl: siteUrl ?? '',
    maxPerAddress: config.mail.resetMaxPerAddress,
    maxPerIp: config.mail.resetMaxPerIp,
    windowMs: config.login.windowSeconds * 1000,
  });
  const sharing = new Sharing(db, clock, {
    directory: config.directory,
    onShared: (share) => notifications.shareCreated(share),
  });
  const links = new Links(db, clock, {
    hasher,
    ...config.login,
    secret,
    verifiedTtlMs: config.dav.authCacheTtlSeconds * 1000,
  });
  const fileDrops = new FileDrops(drive);
  const bin = new Bin(db, clock, config.trashRetentionDays);
  const userDeletion = new UserDeletion(db, clock, bin);
  const grants = new ContentGrants(db, content, clock, secret);
  // Thumbnails are cached per instance under DATA_DIR, whatever the blob store (README, Thumbnails).
  const thumbnailCache = new ThumbnailCache(config.dataDir, RECIPE);
  const thumbnails = new Thumbnails(
    db,
    clock,
    content,
    thumbnailCache,
    new ThumbnailRenderer((what) => thumbnailCache.tempPath(what), config.thumbnails),
    { id: RECIPE, type: THUMBNAIL_TYPE },
    config.thumbnails,
  );
  // Partial bytes stay in the data directory whatever the blob store: it only ever sees whole files.
  const resumable = new ResumableUploads(
    db,
    drive.uploads,
    new PartialUploads(config.dataDir, config.durability === 'full'),
    blobs,
    clock,
    config.uploadExpiryHours * 3600_000,
  );
  const { password: firstAdminPassword } = await accounts.ensureAdmin();

  // On PostgreSQL a trigger announces folder changes (migration 012); one connection listens for them.
  const folderChanges = new FolderChanges(Boolean(config.postgresUrl));
  const listener = config.postgresUrl
    ? (await import('./db/postgres/listener.js')).listen(
        config.postgresUrl,
        'coffer_folders',
        (id) => folderChanges.changed(id),
        () => folderChanges.resync(),
      )
    : null;

  const gc = (graceMs = config.blobGcGraceSeconds * 1000) => collectGarbage(db, blobs, clock, graceMs, thumbnails);
  const koa = createApi(
    {
      config,
      drive,
      content,
      activity: new ActivityLog(db),
      accounts,
      passwordResets,
      notifications,
      appPasswords,
      twoFactor,
      sessions,
      profiles,
      admin,
      userDeletion,
      sharing,
      links,
      fileDrops,
      bin,
      versions,
      locks,
      grants,
      thumbnails,
      search: (actor, q) => searchNodes(db, clock, actor, q),
      readiness: new Readiness(db, blobs),
      folderChanges,
      version: VERSION,
      resumable,
    },
    log,
  );
  const metrics = new Metrics({
    uploadsInFlight: () => drive.uploadsInFlight(),
    activeLocks: () => locks.countActive(),
    db: () => db.stats(),
  });
  const davDeps = { config, drive, namespace: new Namespace(db, clock), content, locks, sharing, log };
  const server = createHttpServer(
    config,
    koa.callback(),
    createDavHandler({ ...davDeps, accounts, appPasswords }),
    metrics,
    createPublicDavHandler({ ...davDeps, links, fileDrops }),
  );
  // Every instance schedules the jobs; each run happens on the one that claims it (job-runs.ts).
  const jobs = startScheduler(
    [
      { name: 'trash-purge', schedule: '7 3 * * *', run: () => bin.purgeExpired() },
      { name: 'version-retention', schedule: '27 3 * * *', run: () => versions.prune() },
      { name: 'lock-sweep', schedule: '*/10 * * * *', run: () => locks.sweep() },
      { name: 'upload-expiry', schedule: '37 * * * *', run: () => resumable.expire() },
      { name: 'blob-gc', schedule: '17 * * * *', run: () => gc() as Promise<object> },
      {
        name: 'session-cleanup',
        schedule: '41 3 * * *',
        run: async () => ({
          expiredSessions: await sessions.sweep(),
          throttleCounters: await sweepThrottle(db, config.login.windowSeconds * 1000, clock.now()),
        }),
      },
    ],
    new JobRuns(db, clock),
    log,
    (job, ok) => metrics.jobFinished(job, ok),
    { schedule: config.jobsEnabled },
  );

  return {
    config,
    db,
    drive,
    accounts,
    admin,
    sharing,
    bin,
    versions,
    blobs,
    jobs,
    searchBacklog,
    mailer,
    firstAdminPassword,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          const { port } = server.address() as AddressInfo;
          const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
          resolve(`${config.tls ? 'https' : 'http'}://${host}:${port}`);
        });
      }),
    collectGarbage: gc,
    close: async () => {
      jobs.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await resumable.drain(); // a chunk cut off by the closing keeps what arrived: its offset is written first
      await mailer?.close();
      await hasher.close();
      await listener?.close();
      await searchBacklog.close();
      await db.close();
      await blobs.close();
    },
  };
}
