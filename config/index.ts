/**
 * The only reader of process.env. `loadConfig(env)` parses, validates and freezes the settings;
 * everything else receives the typed Config, so tests build their own without touching the environment.
 */
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { blobStoreSettings, type BlobStoreSettings } from './blob-store.js';
import { mailSettings, type MailSettings } from './mail.js';
import { thumbnailSettings, type ThumbnailSettings } from './thumbnails.js';
import { bool, bytes, ConfigError, int, KiB, seconds } from './values.js';

export { blobStoreSettings, type BlobStoreSettings, type S3Settings } from './blob-store.js';
export { ConfigError, parseBytes, parseDuration } from './values.js';
export type { MailSettings } from './mail.js';
export type { ThumbnailSettings } from './thumbnails.js';

/** An origin given as configuration ("https://files.example.com"): http(s), no path, query or credentials. */
const originUrl = z.string().transform((v, ctx) => {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a URL (example: https://files.example.com)` });
    return z.NEVER;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `"${v}" must start with http:// or https://` });
    return z.NEVER;
  }
  if (u.username || u.password || u.pathname !== '/' || u.search || u.hash) {
    ctx.addIssue({
      code: 'custom',
      message: `"${v}" must be an origin only, such as https://files.example.com (no path, query or credentials)`,
    });
    return z.NEVER;
  }
  return Object.freeze({ origin: u.origin, host: u.host });
});

/** "10.0.0.0/8, ::1" → ["10.0.0.0/8", "::1"]; each an IP address or a CIDR block. */
const ipList = z.string().transform((v, ctx) => {
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    const [addr, prefix, extra] = item.split('/');
    const family = net.isIP(addr ?? '');
    const bits = family === 4 ? 32 : 128;
    const okPrefix = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (!family || !okPrefix || extra !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `"${item}" is not an IP address or CIDR block (examples: 10.0.0.5, 172.16.0.0/12, fd00::/8)`,
      });
      return z.NEVER;
    }
  }
  return Object.freeze(items);
});

/** "/coffer", "/apps/files/" → "/coffer", "/apps/files"; "" or "/" → "" (the root). */
const basePath = z.string().transform((v, ctx) => {
  const trimmed = v.replace(/\/+$/, '');
  if (trimmed === '') return '';
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(trimmed) || trimmed.split('/').some((s) => s === '.' || s === '..')) {
    ctx.addIssue({
      code: 'custom',
      message: `"${v}" must be a path such as /coffer (letters, digits, "._~-" between slashes)`,
    });
    return z.NEVER;
  }
  return trimmed;
});

const Env = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z.string().optional(),
  // At least 2: a transaction holds one connection while the code inside it may read on another.
  DATABASE_POOL_SIZE: int(2, 1000).default(10),
  /** Unset (or `local`): blobs under DATA_DIR/blobs. `s3://bucket/prefix`: an S3-compatible object store (S3_* below). */
  BLOB_STORE: z.string().optional(),
  DEFAULT_QUOTA: bytes.default(10 * KiB ** 3),
  TRASH_RETENTION_DAYS: int(1, 3650).default(30),
  /** A resumable (tus) upload left without a new chunk this long is removed and its reserved room given back. */
  UPLOAD_EXPIRY_HOURS: int(1, 24 * 365).default(24),
  JWT_TTL: seconds.default(24 * 3600),
  /** Signs session tokens instead of the secret Coffer keeps in its database (same on every instance). */
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Processes serving the one port (node:cluster): 1 runs no primary; `auto` one per CPU. */
  WORKERS: z
    .union([z.literal('auto'), int(1, 256)])
    .default(1)
    .transform((v) => (v === 'auto' ? 0 : v)),
  BCRYPT_COST: int(4, 15).default(12),
  OPEN_REGISTRATION: bool.default(false),
  REQUIRE_2FA: bool.default(false),
  ADMIN_PASSWORD: z.string().min(8, 'ADMIN_PASSWORD must have at least 8 characters').optional(),
  TLS_CERT: z.string().optional(),
  TLS_KEY: z.string().optional(),
  LOGIN_MAX_FAILURES: int(1, 1_000_000).default(10),
  LOGIN_MAX_FAILURES_PER_IP: int(1, 1_000_000).default(100),
  LOGIN_WINDOW: seconds.default(15 * 60),
  /** User lookup for non-admins: `all` offers username prefixes, `exact` only finds a whole username or email. */
  DIRECTORY: z.enum(['all', 'exact']).default('all'),
  DAV_AUTH_CACHE_TTL: seconds.default(5 * 60),
  DAV_PROPFIND_MAX_ENTRIES: int(1, 10_000_000).default(20_000),
  /** Longest WebDAV lock timeout granted, seconds (`Infinite` and longer requests get this). */
  DAV_LOCK_MAX_TIMEOUT: seconds.default(24 * 3600),
  /** Longest lock granted to someone who is not the owner of the resource (a grantee), on LOCK and on refresh. */
  DAV_GRANTEE_LOCK_MAX_TIMEOUT: seconds.default(3600),
  /** Dead properties one resource may hold, bytes (namespace + name + value); they count toward the quota too. */
  DAV_MAX_PROPERTY_BYTES: bytes.default(64 * KiB),
  /** Live-update (SSE) streams one user may hold open at once, per process. */
  EVENTS_MAX_STREAMS_PER_USER: int(1, 10_000).default(8),
  /** At least a minute: it must cover an upload's time between placing its blob and committing (maintenance.ts). */
  BLOB_GC_GRACE: seconds.refine((s) => s >= 60, 'BLOB_GC_GRACE must be at least 1m').default(3600),
  /** `full`: an acknowledged upload survives a power cut (fsync of blob, directory and WAL). `relaxed`: it survives a crash of the process only. */
  DURABILITY: z.enum(['full', 'relaxed']).default('full'),
  JOBS_ENABLED: bool.default(true),
  VERSIONS_COALESCE: seconds.default(5 * 60),
  VERSIONS_KEEP_ALL: seconds.default(24 * 3600),
  VERSIONS_KEEP_DAILY: seconds.default(30 * 24 * 3600),
  VERSIONS_MAX_SHARE: int(0, 100).default(50),
  TRUST_PROXY: bool.default(false),
  TRUSTED_PROXIES: ipList.default(['127.0.0.0/8', '::1']),
  PUBLIC_URL: originUrl.optional(),
  BASE_PATH: basePath.default(''),
  CONTENT_ORIGIN: originUrl.optional(),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters (it guards /metrics)').optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  NODE_ENV: z.string().default('development'),
});

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** The SQLite database file; unused when `postgresUrl` is set. */
  readonly dbFile: string;
  /** DATABASE_URL when it names a PostgreSQL database: metadata lives there instead of in `dbFile`. */
  readonly postgresUrl: string | undefined;
  /** Connections in the PostgreSQL pool. */
  readonly dbPoolSize: number;
  readonly blobStore: BlobStoreSettings;
  readonly defaultQuotaBytes: number;
  readonly trashRetentionDays: number;
  readonly uploadExpiryHours: number;
  readonly jwtTtlSeconds: number;
  /** JWT_SECRET, when set; otherwise the secret stored in the database signs tokens. */
  readonly jwtSecret: string | undefined;
  /** Worker processes on the port (0: one per CPU); 1 runs the server in this process. */
  readonly workers: number;
  readonly bcryptCost: number;
  readonly openRegistration: boolean;
  /** Every user must turn on two-factor sign-in: a session without it may only set it up. */
  readonly require2fa: boolean;
  readonly adminPassword: string | undefined;
  readonly tls: { readonly cert: string; readonly key: string } | undefined;
  readonly login: { readonly maxFailures: number; readonly maxFailuresPerIp: number; readonly windowSeconds: number };
  readonly directory: 'all' | 'exact';
  readonly dav: {
    readonly authCacheTtlSeconds: number;
    readonly propfindMaxEntries: number;
    readonly lockMaxTimeoutSeconds: number;
    readonly granteeLockMaxTimeoutSeconds: number;
  };
  readonly davMaxPropertyBytes: number;
  readonly eventsMaxStreamsPerUser: number;
  readonly blobGcGraceSeconds: number;
  /** `full`: acknowledged writes survive a power cut; `relaxed`: a power cut may lose the last ones, never corrupt. */
  readonly durability: 'full' | 'relaxed';
  readonly jobsEnabled: boolean;
  /** File versions: coalescing window and retention (milliseconds), and the most of the free space they may take (0–1). */
  readonly versions: {
    readonly coalesceMs: number;
    readonly keepAllMs: number;
    readonly keepDailyMs: number;
    readonly maxShareOfFree: number;
  };
  readonly trustProxy: boolean;
  /** Peers whose X-Forwarded-For is believed (only with trustProxy): IP addresses and CIDR blocks. */
  readonly trustedProxies: readonly string[];
  /** The path Coffer is served under ("/coffer"), or "" at the root of its host. */
  readonly basePath: string;
  /** The address users reach Coffer at, when a proxy hides it from the Host header. */
  readonly publicUrl: { readonly origin: string; readonly host: string } | undefined;
  /** A second host name that serves only file bytes (inline previews), never the console or the API. */
  readonly contentOrigin: { readonly origin: string; readonly host: string } | undefined;
  /** The bearer token /metrics asks for; without one, /metrics is off (404). */
  readonly metricsToken: string | undefined;
  /** SMTP_URL, MAIL_FROM and the password-reset request budgets (config/mail.ts). */
  readonly mail: MailSettings;
  /** THUMBNAIL_* : input limits, concurrency and renderer timeouts (config/thumbnails.ts). */
  readonly thumbnails: ThumbnailSettings;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  readonly production: boolean;
}

/** Parses the environment (process.env by default); throws ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const defined = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = Env.safeParse(defined);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const postgresUrl = e.DATABASE_URL && /^postgres(ql)?:\/\//.test(e.DATABASE_URL) ? e.DATABASE_URL : undefined;
  if (e.DATABASE_URL && !postgresUrl && !/^sqlite:/.test(e.DATABASE_URL)) {
    throw new ConfigError(
      'Invalid configuration:\n  DATABASE_URL: sqlite:<file> or postgres://user:pass@host:5432/db (or leave it unset)',
    );
  }
  if (Boolean(e.TLS_CERT) !== Boolean(e.TLS_KEY)) {
    throw new ConfigError('Invalid configuration:\n  TLS_CERT and TLS_KEY must be set together');
  }
  if (e.CONTENT_ORIGIN && e.PUBLIC_URL && e.CONTENT_ORIGIN.host === e.PUBLIC_URL.host) {
    throw new ConfigError(
      'Invalid configuration:\n  CONTENT_ORIGIN must be a different host name from PUBLIC_URL (it serves only file bytes)',
    );
  }
  const dataDir = path.resolve(e.DATA_DIR);
  const blobStore = blobStoreSettings(e.BLOB_STORE, defined);
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    dataDir,
    postgresUrl,
    dbPoolSize: e.DATABASE_POOL_SIZE,
    dbFile:
      e.DATABASE_URL && !postgresUrl
        ? path.resolve(e.DATABASE_URL.replace(/^sqlite:(\/\/)?/, ''))
        : path.join(dataDir, 'coffer.sqlite'),
    blobStore,
    defaultQuotaBytes: e.DEFAULT_QUOTA,
    trashRetentionDays: e.TRASH_RETENTION_DAYS,
    uploadExpiryHours: e.UPLOAD_EXPIRY_HOURS,
    jwtTtlSeconds: e.JWT_TTL,
    jwtSecret: e.JWT_SECRET,
    workers: e.WORKERS,
    bcryptCost: e.BCRYPT_COST,
    openRegistration: e.OPEN_REGISTRATION,
    require2fa: e.REQUIRE_2FA,
    adminPassword: e.ADMIN_PASSWORD,
    tls:
      e.TLS_CERT && e.TLS_KEY
        ? Object.freeze({ cert: path.resolve(e.TLS_CERT), key: path.resolve(e.TLS_KEY) })
        : undefined,
    login: Object.freeze({
      maxFailures: e.LOGIN_MAX_FAILURES,
      maxFailuresPerIp: e.LOGIN_MAX_FAILURES_PER_IP,
      windowSeconds: e.LOGIN_WINDOW,
    }),
    directory: e.DIRECTORY,
    dav: Object.freeze({
      authCacheTtlSeconds: e.DAV_AUTH_CACHE_TTL,
      propfindMaxEntries: e.DAV_PROPFIND_MAX_ENTRIES,
      lockMaxTimeoutSeconds: e.DAV_LOCK_MAX_TIMEOUT,
      granteeLockMaxTimeoutSeconds: e.DAV_GRANTEE_LOCK_MAX_TIMEOUT,
    }),
    davMaxPropertyBytes: e.DAV_MAX_PROPERTY_BYTES,
    eventsMaxStreamsPerUser: e.EVENTS_MAX_STREAMS_PER_USER,
    blobGcGraceSeconds: e.BLOB_GC_GRACE,
    durability: e.DURABILITY,
    jobsEnabled: e.JOBS_ENABLED,
    versions: Object.freeze({
      coalesceMs: e.VERSIONS_COALESCE * 1000,
      keepAllMs: e.VERSIONS_KEEP_ALL * 1000,
      keepDailyMs: e.VERSIONS_KEEP_DAILY * 1000,
      maxShareOfFree: e.VERSIONS_MAX_SHARE / 100,
    }),
    trustProxy: e.TRUST_PROXY,
    trustedProxies: e.TRUSTED_PROXIES,
    publicUrl: e.PUBLIC_URL,
    basePath: e.BASE_PATH,
    contentOrigin: e.CONTENT_ORIGIN,
    metricsToken: e.METRICS_TOKEN,
    mail: mailSettings(defined, Boolean(e.PUBLIC_URL)),
    thumbnails: thumbnailSettings(defined),
    logLevel: e.LOG_LEVEL,
    production: e.NODE_ENV === 'production',
  });
}
