/**
 * Where formidable writes a multipart file part (its `fileWriteStreamHandler`): every chunk is
 * counted on the upload's ticket before it is written, as a raw upload's are (in-flight.ts), so the
 * spool never holds more than the owner's room — counting after formidable's own write let tmp/
 * pass the room by up to a chunk while uploads cut off were still letting go of theirs.
 * 'finish' comes after the file is closed: formidable may hand the file on as soon as it ends.
 */
import fsp from 'node:fs/promises';
import { Writable } from 'node:stream';

export class SpoolWriter extends Writable {
  private handle: fsp.FileHandle | null = null;

  constructor(
    private readonly filepath: string,
    /** Resolves when `bytes` more may be written; rejects (quota_exceeded) when they may not. */
    private readonly admit: (bytes: number) => Promise<void>,
  ) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _construct(cb: (err?: Error | null) => void): void {
    fsp.open(this.filepath, 'wx', 0o600).then((h) => {
      this.handle = h;
      cb();
    }, cb);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.admit(chunk.length)
      .then(() => this.handle!.write(chunk))
      .then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    const h = this.handle;
    this.handle = null;
    (h ? h.close() : Promise.resolve()).then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const h = this.handle;
    this.handle = null;
    void (h ? h.close().catch(() => {}) : Promise.resolve()).then(() => cb(err));
  }
}
