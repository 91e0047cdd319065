/**
 * Uploads still being received count against their owner's remaining room. Without this, each of
 * several parallel uploads may stage up to the whole remaining quota in tmp/ before its commit
 * finds the quota gone (six 7 MiB uploads against 8 MiB of room filled 42 MiB of disk).
 *
 * Kept in memory, per process, on purpose: what it protects is the disk of the machine that does
 * the staging, and only this process stages here. The quota itself stays enforced where it always
 * was, atomically in the transaction that commits an upload (quota.ts), on every instance.
 */
import { Transform, type Readable } from 'node:stream';
import { quotaExceeded, storageFull } from './errors.js';

/** One upload's claim on its owner's room: its declared length up front, then whatever has arrived. */
export class UploadTicket {
  private reserved: number;
  private received = 0;
  private released = false;
  /** Cut off: it will store nothing, but its temp file holds disk space until it is released. */
  cutOff = false;

  constructor(
    private readonly registry: InFlightUploads,
    readonly ownerId: string,
    /** What the owner had left (quota room) when the upload started… */
    private readonly roomAtStart: number,
    /** …and what this process's uploads had committed for the owner then. */
    private readonly committedAtStart: number,
    expected: number | null,
  ) {
    this.reserved = expected ?? 0;
  }

  /** The owner's room now: less what uploads that finished since the start have committed. */
  private get room(): number {
    return this.roomAtStart - (this.registry.committed(this.ownerId) - this.committedAtStart);
  }

  /** Bytes held for this upload until it is released. */
  get held(): number {
    return this.released ? 0 : this.reserved;
  }

  /** Bytes this upload may still take before it is cut off (its reservation included). */
  get available(): number {
    return this.room - (this.registry.reservedBy(this.ownerId) - this.reserved);
  }

  /** Bytes promised (a declared length) but not received yet: they will land on the disk soon. */
  get outstanding(): number {
    return this.released ? 0 : Math.max(0, this.reserved - this.received);
  }

  /**
   * The body has delivered `total` bytes so far. Past the declared length the reservation grows
   * with them. When the room minus the other uploads in flight cannot hold them, the upload is cut
   * off (quota_exceeded) — unless uploads already cut off are what fills the room: then 'wait'
   * (for `registry.released()`), as their temp files are about to go.
   */
  arrived(total: number): 'ok' | 'wait' {
    this.received = total;
    if (this.released || total <= this.reserved) return 'ok';
    const others = this.registry.reservedBy(this.ownerId) - this.reserved;
    if (others + total > this.room) {
      if (others - this.registry.cutOffBy(this.ownerId) + total > this.room) {
        this.cutOff = true;
        throw quotaExceeded(total, this.room - others);
      }
      return 'wait';
    }
    this.registry.adjust(this.ownerId, total - this.reserved);
    this.reserved = total;
    return 'ok';
  }

  /**
   * `arrived` for bytes about to be written: resolves once they may be (waiting, when uploads cut off
   * fill the room, until they let go of it), throws quota_exceeded when they cannot.
   */
  async admit(total: number): Promise<void> {
    while (this.arrived(total) === 'wait') await new Promise<void>((resolve) => this.registry.released(resolve));
  }

  /**
   * Hands `bytes` of this reservation to a new ticket, with no moment in between when another upload
   * could take them: a spooled multipart body's file, about to be staged as an upload of its own.
   */
  split(bytes: number): UploadTicket {
    const moved = Math.min(bytes, this.reserved);
    this.reserved -= moved;
    this.received = Math.max(0, this.received - bytes);
    this.registry.adjust(this.ownerId, bytes - moved); // more than was reserved: the rest is new
    return this.registry.adopt(
      new UploadTicket(this.registry, this.ownerId, this.roomAtStart, this.committedAtStart, bytes),
    );
  }

  /**
   * The upload is over and its temp file gone: failed (`committed` 0), or committed with `committed`
   * bytes charged to the owner's usage in the database, which the room of uploads starting now
   * already reflects. Idempotent.
   */
  release(committed = 0): void {
    if (this.released) return;
    this.registry.adjust(this.ownerId, -this.reserved);
    this.released = true;
    this.registry.forget(this, committed);
  }
}

export class InFlightUploads {
  private readonly byOwner = new Map<string, number>();
  private readonly open = new Set<UploadTicket>();
  /** Bytes committed by this process's uploads, per owner, ever: see begin(). */
  private readonly committedBy = new Map<string, number>();
  private waiting: (() => void)[] = [];

  /**
   * Starts an upload of `expected` bytes (null: unknown length) out of the owner's room, as
   * `readRoom` reads it from the database: quota_exceeded up front when the room minus the owner's
   * other uploads in flight cannot hold it.
   */
  async begin(ownerId: string, readRoom: () => Promise<number>, expected: number | null): Promise<UploadTicket> {
    // An upload that commits while the room is being read leaves the registry, and may or may not
    // be in that reading: read again. After a few tries (a burst of commits), count it as not in.
    let room: number;
    let mark: number;
    for (let attempt = 1; ; attempt++) {
      mark = this.committed(ownerId);
      const read = await readRoom();
      const since = this.committed(ownerId) - mark;
      if (since === 0 || attempt === 4) {
        room = read - since;
        mark += since;
        break;
      }
    }
    const others = this.reservedBy(ownerId);
    if (expected !== null && expected > room - others) throw quotaExceeded(expected, room - others);
    this.adjust(ownerId, expected ?? 0);
    return this.adopt(new UploadTicket(this, ownerId, room, mark, expected));
  }

  /** Bytes this process's uploads have committed for the owner, ever (a running total). */
  committed(ownerId: string): number {
    return this.committedBy.get(ownerId) ?? 0;
  }

  /**
   * storage_full up front when a declared length cannot fit on the disk that stages it: its free
   * space minus what uploads in flight have promised and not yet written. (A body of unknown length
   * is stopped by the disk itself: ENOSPC.)
   */
  checkDisk(expected: number | null, freeBytes: number | null): void {
    if (expected === null || freeBytes === null) return;
    let promised = 0;
    for (const t of this.open) promised += t.outstanding;
    if (expected > freeBytes - promised) throw storageFull(expected);
  }

  /** Uploads being received now (every owner). */
  get count(): number {
    return this.open.size;
  }

  reservedBy(ownerId: string): number {
    return this.byOwner.get(ownerId) ?? 0;
  }

  /** Bytes still held by the owner's uploads that were cut off. */
  cutOffBy(ownerId: string): number {
    let sum = 0;
    for (const t of this.open) if (t.cutOff && t.ownerId === ownerId) sum += t.held;
    return sum;
  }

  /** Calls `fn` once, the next time an upload is released. */
  released(fn: () => void): void {
    this.waiting.push(fn);
  }

  /** @internal for UploadTicket */
  adjust(ownerId: string, delta: number): void {
    const next = this.reservedBy(ownerId) + delta;
    if (next <= 0) this.byOwner.delete(ownerId);
    else this.byOwner.set(ownerId, next);
  }

  /** @internal for UploadTicket */
  adopt(ticket: UploadTicket): UploadTicket {
    this.open.add(ticket);
    return ticket;
  }

  /**
   * Bytes an upload without a ticket (a small body, read straight into memory) committed for the
   * owner: the room of the uploads in flight shrinks by them as by any other commit.
   */
  record(ownerId: string, committed: number): void {
    if (committed > 0) this.committedBy.set(ownerId, (this.committedBy.get(ownerId) ?? 0) + committed);
  }

  /** @internal for UploadTicket */
  forget(ticket: UploadTicket, committed: number): void {
    this.open.delete(ticket);
    this.record(ticket.ownerId, committed);
    const waiting = this.waiting;
    this.waiting = [];
    for (const fn of waiting) fn();
  }
}

/**
 * The body as the blob store reads it: every chunk is first counted on the ticket (which may cut
 * the upload off, or hold the chunk back until an upload cut off before it has let go of its room).
 * A failed store destroys this stream, never `body`: the transport still has to answer on that
 * connection (a request body is left unpiped, for the transport to drain).
 */
export function metered(body: Readable, ticket: UploadTicket, registry: InFlightUploads): Readable {
  let total = 0;
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      const admit = () => {
        if (out.destroyed) return;
        let verdict: 'ok' | 'wait';
        try {
          verdict = ticket.arrived(total);
        } catch (err) {
          return cb(err as Error);
        }
        if (verdict === 'wait') registry.released(admit);
        else cb(null, chunk);
      };
      admit();
    },
  });
  // The store takes this stream up a little later (after opening its temp file) and then gets its
  // error from its pipeline; until then an early cut-off must not be an uncaught 'error' event.
  out.on('error', () => {});
  if (body.destroyed && !body.readableEnded) {
    out.destroy(new Error('The body ended before it was complete'));
    return out;
  }
  const fail = (err: Error) => out.destroy(err);
  const cut = () => {
    if (!body.readableEnded) out.destroy(new Error('The body ended before it was complete'));
  };
  body.on('error', fail);
  body.on('close', cut);
  out.on('close', () => {
    body.off('error', fail);
    body.off('close', cut);
    body.unpipe(out);
  });
  body.pipe(out);
  return out;
}
