import type { BlobStoreSettings } from '../config/index.js';
import type { BlobStore } from './blob-store.js';
import { LocalDiskBlobStore } from './local-disk.js';
import { S3BlobStore } from './s3.js';

export type { BlobStore, StagedBlob, StagedBytes, StagedFile } from './blob-store.js';
export { BlobStoreUnavailable, BlobTooLarge } from './blob-store.js';
export { LocalDiskBlobStore } from './local-disk.js';
export { PartialUploads, TooLong, type AppendResult, type Checkpoint } from './partial-uploads.js';

/**
 * The store the configuration names: the local disk under `dataDir`, or an S3 bucket (temp files
 * still in `dataDir`).
 */
export async function openBlobStore(
  where: BlobStoreSettings,
  dataDir: string,
  opts: { fsync?: boolean } = {},
): Promise<BlobStore> {
  if (where.kind !== 's3') return new LocalDiskBlobStore(dataDir, opts);
  return S3BlobStore.open(where, dataDir);
}
export { ThumbnailCache } from './thumbnail-cache.js';
