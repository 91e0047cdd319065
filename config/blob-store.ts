/** Where large file contents live: BLOB_STORE and the S3_* / AWS_* settings (config/index.ts reads them). */
import { z } from 'zod';
import { bool, bytes, ConfigError, int, KiB, seconds } from './values.js';

/** `s3://bucket/prefix` → bucket and prefix (no leading or trailing slash; may be empty). */
const s3Url = z.string().transform((v, ctx) => {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(v);
  const bucket = m?.[1] ?? '';
  const prefix = (m?.[2] ?? '').replace(/\/+$/, '');
  const badSegment = prefix !== '' && prefix.split('/').some((seg) => seg === '' || seg === '.' || seg === '..');
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || badSegment) {
    ctx.addIssue({
      code: 'custom',
      message: `"${v}" is not an S3 location (example: s3://coffer-blobs/production; leave unset for the local disk)`,
    });
    return z.NEVER;
  }
  return { bucket, prefix };
});

const S3Env = z.object({
  BLOB_STORE: s3Url,
  S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  /** MinIO and most self-hosted stores want `bucket` in the path, not in the host name. */
  S3_FORCE_PATH_STYLE: bool.default(false),
  /** Uploads at most this long go up in one PutObject; longer ones in parts of this size (S3's minimum is 5 MiB). */
  S3_PART_SIZE: bytes
    .refine((b) => b >= 5 * KiB ** 2 && b <= 5 * KiB ** 3, 'S3_PART_SIZE must be between 5MiB and 5GiB')
    .default(8 * KiB ** 2),
  /** Parts of one upload sent at once (each is held in memory while it is sent). */
  S3_PARTS_IN_FLIGHT: int(1, 64).default(4),
  /** A request to the store that sends and receives nothing for this long fails (the SDK retries it first). */
  S3_TIMEOUT: seconds.refine((s) => s >= 1, 'S3_TIMEOUT must be at least 1s').default(60),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
});

/** Where large file contents live (small ones are inline in the database either way). */
export type BlobStoreSettings = { readonly kind: 'local' } | S3Settings;

export interface S3Settings {
  readonly kind: 's3';
  readonly bucket: string;
  /** Key prefix without slashes at either end; '' for the whole bucket. */
  readonly prefix: string;
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly forcePathStyle: boolean;
  /** From AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; undefined leaves the SDK's own chain (profile, instance role). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  readonly partSize: number;
  readonly partsInFlight: number;
  /** Seconds a request to the store may stay silent before it fails. */
  readonly timeoutSeconds: number;
}

/**
 * The blob store that `url` names (`local`, or `s3://bucket/prefix` with the S3_* and AWS_*
 * variables of `env`). Also for `npm run migrate-store`, whose target store is an argument.
 */
export function blobStoreSettings(
  url: string | undefined,
  env: Record<string, string | undefined> = process.env,
): BlobStoreSettings {
  if (!url || url === 'local') return Object.freeze({ kind: 'local' });
  const defined = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = S3Env.safeParse({ ...defined, BLOB_STORE: url });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (Boolean(e.AWS_ACCESS_KEY_ID) !== Boolean(e.AWS_SECRET_ACCESS_KEY)) {
    throw new ConfigError('Invalid configuration:\n  AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together');
  }
  return Object.freeze({
    kind: 's3',
    bucket: e.BLOB_STORE.bucket,
    prefix: e.BLOB_STORE.prefix,
    endpoint: e.S3_ENDPOINT,
    region: e.S3_REGION,
    forcePathStyle: e.S3_FORCE_PATH_STYLE,
    credentials:
      e.AWS_ACCESS_KEY_ID && e.AWS_SECRET_ACCESS_KEY
        ? Object.freeze({ accessKeyId: e.AWS_ACCESS_KEY_ID, secretAccessKey: e.AWS_SECRET_ACCESS_KEY })
        : undefined,
    partSize: e.S3_PART_SIZE,
    partsInFlight: e.S3_PARTS_IN_FLIGHT,
    timeoutSeconds: e.S3_TIMEOUT,
  });
}
