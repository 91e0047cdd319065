export type { BlobStore, StagedBlob, StagedBytes, StagedFile } from './blob-store.js';
export { BlobTooLarge } from './blob-store.js';
export { LocalDiskBlobStore } from './local-disk.js';
