import fsp from 'node:fs/promises';
import { Writable } from 'node:stream';

/**
 * Where a body being staged goes: memory while it fits in `memoryLimit` bytes, else the temp file,
 * which is created the moment the body passes the limit and gets what was held in memory first.
 * With no limit the file is opened before the first byte, as for any large upload. `finish()`
 * fsyncs (when asked) and closes the file; `abandon()` removes whatever was written.
 */
export class StagingSink extends Writable {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private handle: fsp.FileHandle | null = null;
  private opened = false;
  private opening: Promise<void> | null = null;
  private abandoned = false;

  constructor(
    readonly tempPath: string,
    private readonly memoryLimit: number | undefined,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  /** Opens the temp file now (no memory limit: every byte goes there). */
  open(): Promise<void> {
    this.opening ??= fsp.open(this.tempPath, 'wx', 0o600).then((h) => {
      this.handle = h;
      this.opened = true;
    });
    return this.opening;
  }

  /** The whole body, when it never left memory; null when it went to the temp file. */
  get bytes(): Buffer | null {
    return this.opened ? null : Buffer.concat(this.held, this.heldBytes);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.take([chunk]).then(() => cb(), cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.take(chunks.map((c) => c.chunk)).then(() => cb(), cb);
  }

  private async take(chunks: Buffer[]): Promise<void> {
    if (!this.opened) {
      const n = chunks.reduce((sum, c) => sum + c.length, 0);
      if (this.memoryLimit !== undefined && this.heldBytes + n <= this.memoryLimit) {
        this.held.push(...chunks);
        this.heldBytes += n;
        return;
      }
      await this.open();
      if (this.abandoned) return; // failed while the file was being created: abandon() removes it
      chunks = [...this.held, ...chunks];
      this.held = [];
      this.heldBytes = 0;
    }
    await this.handle!.writev(chunks);
  }

  /** The body has ended: makes the temp file durable (`fsync`) and closes it. */
  async finish(fsync: boolean): Promise<void> {
    if (!this.handle) return;
    if (fsync) await this.handle.sync();
    await this.handle.close();
    this.handle = null;
  }

  /**
   * After a failure: closes and removes the temp file, if there is one — also one still being
   * created when the body failed (its bytes would otherwise stay in tmp/, counted by no upload).
   */
  async abandon(): Promise<void> {
    this.abandoned = true;
    this.held = [];
    await this.opening?.catch(() => {});
    await this.handle?.close().catch(() => {}); // after any write in progress (FileHandle.close waits for it)
    this.handle = null;
    if (this.opened) await fsp.rm(this.tempPath, { force: true });
  }
}
