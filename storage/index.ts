export type { BlobStore, StagedBlob } from './blob-store.js';
export { BlobTooLarge } from './blob-store.js';
export { LocalDiskBlobStore } from './local-disk.js';
