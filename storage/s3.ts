/**
 * Blobs in an S3-compatible object store (AWS S3, MinIO, Ceph RGW, Garage): one object per blob,
 * `<prefix>/<sha256>`.
 *
 * Writing: stage to a local temp file, then upload under the final key. `stage` is the local
 * store's (the body is hashed while it streams into `<dataDir>/tmp`, small bodies stay in memory),
 * and `place` — which runs just before the transaction that adds the reference — checks for the
 * object (HeadObject: there at the right size → dedup, below) and otherwise sends the file under
 * its hash: one PutObject (with Content-MD5, so the store checks the bytes) up to the part size, a
 * multipart upload above it (bounded parts in flight, aborted on failure). Chosen over
 * "stream to a temp key, then CopyObject to the final key" because:
 *  - an object under a final key is only ever the complete, hashed content: no temp keys to sweep,
 *    and no server-side copy that doubles every upload's bytes in the store (CopyObject also stops
 *    at 5 GiB, beyond which a copy is a multipart copy of its own);
 *  - dedup is free: an existing object is refreshed instead of uploaded again;
 *  - every request is retryable (its bytes come from the file, not from the client's socket),
 *    and a client that disconnects mid-body costs the store nothing: its upload never started.
 * The price: uploads need local temp space (freeBytes reports it), and the client waits for the
 * upload to the store after its last byte (the same as the local store's fsync, only longer).
 *
 * GC safety against a concurrent dedup. `place` of an existing object refreshes it — a CopyObject
 * onto itself with a new `touched` metadata value (LastModified moves too on AWS and MinIO, but not
 * on every emulator, hence a stamp of our own, in the instances' clock like the GC's cutoff) — and
 * `removeUnlessTouched` deletes only an object whose stamp is older than the grace period. S3 has
 * no atomic rename and no portable conditional delete, so the collector's HeadObject and its
 * DeleteObject are two requests, and a refresh between them would be lost. Within one process the
 * two are serialized per hash (hashLocks): a place() waits for a deletion in progress and then
 * finds no object (and uploads its own), or runs first and the collector sees its stamp. Across
 * instances sharing a bucket, the domain closes that window with claims in the database
 * (server/domain/blob-claims.ts): an upload never places a blob while the collector deletes it.
 */
import fsp from 'node:fs/promises';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3Settings } from '../config/index.js';
import { BlobStoreUnavailable, type BlobStore, type StagedBlob, type StagedFile } from './blob-store.js';
import { hashStream } from './hash-stream.js';
import { ObjectReader } from './s3-reader.js';
import { stageBody, sweepTempDir } from './staging-sink.js';

const HASH = /^[0-9a-f]{64}$/;
/** A multipart upload this old is a leftover (a crash, or an abort the store did not receive): the GC aborts it. */
export const STALE_MULTIPART_MS = 24 * 3600 * 1000;

/** The configuration's S3 settings (bucket, prefix, endpoint, credentials, part size and parts in flight). */
export type S3StoreOptions = Omit<S3Settings, 'kind'>;

/** The AWS SDK's modules, loaded only when a store is opened: a local install never holds them (~20 MiB). */
type Sdk = typeof import('@aws-sdk/client-s3') & Pick<typeof import('@aws-sdk/lib-storage'), 'Upload'>;

export class S3BlobStore implements BlobStore {
  /** HeadObject and DeleteObject are two requests; see the GC note above. */
  readonly atomicRemoval = false;
  readonly client: S3Client;
  readonly bucket: string;
  /** '' or 'some/prefix/': what every key of ours starts with. */
  private readonly keyPrefix: string;
  private readonly tmpDir: string;
  /** place() and removeUnlessTouched() of the same hash, one at a time (see the GC note above). */
  private readonly hashLocks = new Map<string, Promise<unknown>>();

  static async open(opts: S3StoreOptions, dataDir: string): Promise<S3BlobStore> {
    const [client, storage] = await Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]);
    return new S3BlobStore({ ...client, Upload: storage.Upload }, opts, dataDir);
  }

  private constructor(
    private readonly sdk: Sdk,
    private readonly opts: S3StoreOptions,
    dataDir: string,
  ) {
    this.bucket = opts.bucket;
    this.keyPrefix = opts.prefix ? `${opts.prefix}/` : '';
    this.tmpDir = path.join(dataDir, 'tmp');
    fs.mkdirSync(this.tmpDir, { recursive: true });
    this.client = new sdk.S3Client({
      region: opts.region,
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle,
      // A copy: the SDK marks where credentials came from on the object itself (the settings are frozen).
      ...(opts.credentials ? { credentials: { ...opts.credentials } } : {}),
      // The SDK's default (a checksum on every request) sends a streamed body with aws-chunked
      // framing, which some S3-compatible stores save as part of the object (1,043 bytes stored for
      // 1,000 sent, no error). Uploads carry Content-MD5 or are checked by size afterwards instead.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // A store that stops answering must fail the request (a 5xx to the client), not hang it: the
      // idle timeout covers a response body too (a stalled download fails instead of hanging). Not
      // the SDK's requestTimeout: without throwOnRequestTimeout it only logs a warning, and with it
      // it bounds a whole part upload, however fast its bytes are still moving.
      requestHandler: { connectionTimeout: 5000, socketTimeout: opts.timeoutSeconds * 1000 },
    });
  }

  keyOf(hash: string): string {
    if (!HASH.test(hash)) throw new Error(`not a blob hash: ${hash}`);
    return this.keyPrefix + hash;
  }

  stage(body: Readable, opts?: { maxBytes?: number }): Promise<StagedFile>;
  stage(body: Readable, opts: { maxBytes?: number; memoryLimit: number }): Promise<StagedBlob>;
  stage(body: Readable, opts: { maxBytes?: number; memoryLimit?: number } = {}): Promise<StagedBlob> {
    // No fsync: the temp file is only read back by place(); the object store makes the bytes durable.
    return stageBody(this.tmpDir, body, opts, false);
  }

  async place(staged: StagedFile): Promise<void> {
    try {
      await this.locked(staged.hash, async () => {
        // An object of another size under this name is damage (a truncated copy): the upload replaces it.
        const existing = await this.stat(staged.hash);
        if (existing?.size !== staged.size || !(await this.refresh(staged.hash))) await this.upload(staged);
      });
    } catch (err) {
      throw new BlobStoreUnavailable('the object store did not take the upload', err);
    } finally {
      await fsp.rm(staged.tempPath, { force: true });
    }
  }

  /** Runs `fn` once every earlier locked call for the same hash has settled. */
  private async locked<T>(hash: string, fn: () => Promise<T>): Promise<T> {
    const before = this.hashLocks.get(hash);
    const mine = (before ?? Promise.resolve()).catch(() => {}).then(fn);
    this.hashLocks.set(hash, mine);
    try {
      return await mine;
    } finally {
      if (this.hashLocks.get(hash) === mine) this.hashLocks.delete(hash);
    }
  }

  /** Marks an existing object as just used (see the GC note above); false when there is none (any more). */
  private async refresh(hash: string): Promise<boolean> {
    const key = this.keyOf(hash);
    try {
      await this.client.send(
        new this.sdk.CopyObjectCommand({
          Bucket: this.bucket,
          Key: key,
          CopySource: `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`, // a URL path
          MetadataDirective: 'REPLACE',
          ContentType: 'application/octet-stream',
          Metadata: { touched: String(Date.now()) },
        }),
      );
      return true;
    } catch (err) {
      if (isMissing(this.sdk, err)) return false;
      // Larger than a single CopyObject may copy (5 GiB on AWS): uploading it again refreshes it as well.
      if (err instanceof this.sdk.S3ServiceException && err.name === 'InvalidRequest') return false;
      throw err;
    }
  }

  private async upload(staged: StagedFile): Promise<void> {
    const params = {
      Bucket: this.bucket,
      Key: this.keyOf(staged.hash),
      ContentType: 'application/octet-stream',
      Metadata: { touched: String(Date.now()) },
    };
    if (staged.size <= this.opts.partSize) {
      // In memory (at most one part): a retried request resends the same bytes, and the store checks them.
      const body = await fsp.readFile(staged.tempPath);
      await this.client.send(
        new this.sdk.PutObjectCommand({
          ...params,
          Body: body,
          ContentLength: body.length,
          ContentMD5: Buffer.from(staged.md5, 'hex').toString('base64'),
        }),
      );
      return;
    }
    // lib-storage reads the file part by part (each part a buffer, so retryable), keeps at most
    // `partsInFlight` of them in flight, and aborts the multipart upload when a part or the
    // completion fails (leavePartsOnError: false); an abort the store never receives is the GC's.
    const file = fs.createReadStream(staged.tempPath);
    const upload = new this.sdk.Upload({
      client: this.client,
      params: { ...params, Body: file },
      partSize: this.opts.partSize,
      queueSize: this.opts.partsInFlight,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } finally {
      file.destroy(); // a failed upload stops reading mid-file: its descriptor must not wait for the GC
    }
    // Parts carry no checksum of ours (WHEN_REQUIRED): the stored size catches a store that kept framing bytes.
    const st = await this.stat(staged.hash);
    if (st?.size !== staged.size) {
      await this.remove(staged.hash);
      throw new Error(`the object store kept ${st?.size ?? 'no'} bytes of a ${staged.size}-byte upload`);
    }
  }

  async discard(staged: StagedBlob): Promise<void> {
    if (staged.tempPath) await fsp.rm(staged.tempPath, { force: true });
  }

  open(hash: string, range?: { start: number; end: number }): Readable {
    const key = this.keyOf(hash);
    return new ObjectReader(async (signal) => {
      try {
        const res = await this.client.send(
          new this.sdk.GetObjectCommand({
            Bucket: this.bucket,
            Key: key,
            ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
          }),
          { abortSignal: signal },
        );
        return { body: res.Body as Readable, length: Number(res.ContentLength) };
      } catch (err) {
        if (isMissing(this.sdk, err)) throw notFound(hash);
        throw signal.aborted ? err : new BlobStoreUnavailable('the object store did not give the blob', err);
      }
    });
  }

  async stat(hash: string): Promise<{ size: number; mtimeMs: number } | null> {
    try {
      const h = await this.client.send(new this.sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(hash) }));
      // Our own stamp when there is one (every place() writes it); LastModified for an object put there by other means.
      const touched = Number(h.Metadata?.touched);
      return { size: Number(h.ContentLength), mtimeMs: touched > 0 ? touched : (h.LastModified?.getTime() ?? 0) };
    } catch (err) {
      if (isMissing(this.sdk, err)) return null;
      throw err;
    }
  }

  async remove(hash: string): Promise<void> {
    await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(hash) }));
  }

  removeUnlessTouched(hash: string, withinMs: number): Promise<boolean> {
    return this.locked(hash, async () => {
      const st = await this.stat(hash);
      if (!st) return true;
      if (st.mtimeMs > Date.now() - withinMs) return false;
      await this.remove(hash);
      return true;
    });
  }

  async *list(): AsyncIterable<string> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new this.sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.keyPrefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        const name = o.Key?.slice(this.keyPrefix.length) ?? '';
        if (HASH.test(name)) yield name;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Temp files older than the cutoff, and multipart uploads under our prefix older than a day. */
  async sweepTemp(olderThanMs: number): Promise<number> {
    const files = await sweepTempDir(this.tmpDir, olderThanMs);
    const uploads = await this.abortStaleUploads(Date.now() - STALE_MULTIPART_MS).catch((err: unknown) => {
      // A store without ListMultipartUploads (some emulators) has nothing this sweep can do.
      if (err instanceof this.sdk.S3ServiceException && err.name === 'NotImplemented') return 0;
      throw err;
    });
    return files + uploads;
  }

  /** Aborts every multipart upload under our prefix started before the cutoff; returns how many. */
  async abortStaleUploads(startedBeforeMs: number): Promise<number> {
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.client.send(
        new this.sdk.ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: this.keyPrefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || (u.Initiated?.getTime() ?? 0) >= startedBeforeMs) continue;
        await this.client.send(
          new this.sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }),
        );
        aborted++;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return aborted;
  }

  async freeBytes(): Promise<number | null> {
    // The bucket has no size to report, but every upload is staged on this disk first.
    const s = await fsp.statfs(this.tmpDir);
    return s.bavail * s.bsize;
  }

  async probe(): Promise<void> {
    await this.client.send(new this.sdk.HeadBucketCommand({ Bucket: this.bucket }));
    await fsp.access(this.tmpDir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
  }

  verify(hash: string): Promise<{ hash: string; size: number }> {
    return hashStream(this.open(hash));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

function isMissing(sdk: Sdk, err: unknown): boolean {
  if (!(err instanceof sdk.S3ServiceException)) return false;
  return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata.httpStatusCode === 404;
}

/** The same error a missing blob file gives, so callers need not know which store they have. */
function notFound(hash: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`blob ${hash} is not in the object store`), { code: 'ENOENT' });
}
