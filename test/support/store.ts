/** Looks under the hood of a test server: blob files, temp files, database rows, fsck, raw sockets. */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { fsck } from '../../server/domain/maintenance.js';
import type { LocalDiskBlobStore } from '../../storage/index.js';
import { S3BlobStore } from '../../storage/s3.js';
import type { TestServer } from './server.js';

export const MiB = 1024 * 1024;

export const sha256 = (b: Buffer | Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** The hash of every blob in the server's blob store (files under <dataDir>/blobs, or objects in its bucket). */
export async function storedBlobs(srv: TestServer): Promise<string[]> {
  const hashes: string[] = [];
  for await (const h of srv.app.blobs.list()) hashes.push(h);
  return hashes;
}

export async function blobExists(srv: TestServer, hash: string): Promise<boolean> {
  return (await srv.app.blobs.stat(hash)) !== null;
}

export async function readStoredBlob(srv: TestServer, hash: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of srv.app.blobs.open(hash)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Writes `bytes` where the store keeps the blob named `hash`, whatever they hash to (damage, or a
 * blob written by an older version), bypassing place(); `touchedMs` dates it.
 */
export async function writeStoredBlob(
  srv: TestServer,
  hash: string,
  bytes: Buffer,
  touchedMs = Date.now(),
): Promise<void> {
  const store = srv.app.blobs;
  if (store instanceof S3BlobStore) {
    await store.client.send(
      new PutObjectCommand({
        Bucket: store.bucket,
        Key: store.keyOf(hash),
        Body: bytes,
        ContentLength: bytes.length,
        Metadata: { touched: String(touchedMs) },
      }),
    );
    return;
  }
  const file = (store as LocalDiskBlobStore).pathOf(hash);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  fs.utimesSync(file, new Date(touchedMs), new Date(touchedMs));
}

/** Dates a stored blob as last touched at `ms` (what the GC's grace period reads). */
export async function ageStoredBlob(srv: TestServer, hash: string, ms: number): Promise<void> {
  const store = srv.app.blobs;
  if (store instanceof S3BlobStore) return writeStoredBlob(srv, hash, await readStoredBlob(srv, hash), ms);
  fs.utimesSync((store as LocalDiskBlobStore).pathOf(hash), new Date(ms), new Date(ms));
}

/** Makes a released blob look older than any grace period: its row's released_at and its file's (object's) stamp. */
export async function ageReleasedBlob(srv: TestServer, hash: string): Promise<void> {
  const old = Date.now() - 3600_000;
  await srv.app.db.run('UPDATE blobs SET released_at = $old WHERE hash = $hash', { old, hash });
  await ageStoredBlob(srv, hash, old);
}

/** Takes a stored blob away; the returned function puts it back. */
export async function hideStoredBlob(srv: TestServer, hash: string): Promise<() => Promise<void>> {
  const bytes = await readStoredBlob(srv, hash);
  await srv.app.blobs.remove(hash);
  return () => writeStoredBlob(srv, hash, bytes);
}

/** Every file under <dataDir>/tmp (partial uploads, multipart spools). */
export function tempFiles(dataDir: string): string[] {
  const root = path.join(dataDir, 'tmp');
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((p) =>
    fs.statSync(path.join(root, p)).isFile(),
  );
}

export async function blobRows(srv: TestServer): Promise<{ hash: string; ref_count: number; size: number }[]> {
  const rows = await srv.app.db.all<{ hash: string; ref_count: unknown; size: unknown }>(
    'SELECT hash, ref_count, size FROM blobs',
  );
  return rows.map((r) => ({ hash: r.hash, ref_count: Number(r.ref_count), size: Number(r.size) }));
}

/** Where a blob's bytes are: in the database (inline_blobs), in a blob file, both (a file left to the GC) or nowhere. */
export async function bytesPlace(srv: TestServer, hash: string): Promise<'inline' | 'file' | 'both' | 'none'> {
  const inline = (await srv.app.db.get('SELECT 1 AS x FROM inline_blobs WHERE hash = $hash', { hash })) !== undefined;
  const file = await blobExists(srv, hash);
  return inline ? (file ? 'both' : 'inline') : file ? 'file' : 'none';
}

export async function usedBytes(srv: TestServer, userId: string): Promise<number> {
  const r = await srv.app.db.get<{ used_bytes: unknown }>('SELECT used_bytes FROM users WHERE id = $id', {
    id: userId,
  });
  return Number(r?.used_bytes);
}

/** Runs the domain's integrity check (re-hashing every blob) and fails the test with its problem list. */
export async function expectFsckClean(srv: TestServer): Promise<void> {
  const report = await fsck(srv.app.db, srv.app.blobs, { verifyContent: true });
  expect(report.problems, 'fsck problems').to.deep.equal([]);
  expect(report.ok).to.equal(true);
}

/** At the end of a test file: fsck finds the store clean and the server logged no internal error (no 500, no failed job). */
export async function expectHealthy(srv: TestServer): Promise<void> {
  expect(
    srv.errors.map((l) => l.slice(0, 500)),
    'error-level server log lines',
  ).to.deep.equal([]);
  await expectFsckClean(srv);
}

/** After GC with no grace period: no blob row without references, no blob file without a row. */
export async function expectNoUnreferencedBlobs(srv: TestServer): Promise<void> {
  await srv.app.collectGarbage(0);
  const rows = await blobRows(srv);
  expect(
    rows.filter((r) => r.ref_count === 0),
    'blob rows with ref_count 0',
  ).to.deep.equal([]);
  const known = new Set(rows.map((r) => r.hash));
  expect(
    (await storedBlobs(srv)).filter((h) => !known.has(h)),
    'blob files without a row',
  ).to.deep.equal([]);
}

/** A readable stream of `size` deterministic pseudo-random bytes, produced in 1 MiB chunks, and its sha256. */
export function patternStream(size: number, seed = 1): { stream: ReadableStream<Uint8Array>; sha256: string } {
  const chunk = patternChunk(seed);
  const h = createHash('sha256');
  for (let left = size; left > 0; left -= chunk.length)
    h.update(left >= chunk.length ? chunk : chunk.subarray(0, left));
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= size) return controller.close();
      const n = Math.min(chunk.length, size - sent);
      controller.enqueue(new Uint8Array(chunk.subarray(0, n)));
      sent += n;
    },
  });
  return { stream, sha256: h.digest('hex') };
}

export function patternChunk(seed: number, size = MiB): Buffer {
  const b = Buffer.allocUnsafe(Math.ceil(size / 4) * 4);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < b.length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b.writeUInt32LE(x, i);
  }
  return b.subarray(0, size);
}

/** Hashes a response body as it streams in; returns its sha256 and length. */
export async function hashBody(res: Response): Promise<{ sha256: string; length: number }> {
  const h = createHash('sha256');
  let length = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    h.update(chunk);
    length += chunk.length;
  }
  return { sha256: h.digest('hex'), length };
}

/** A raw TCP connection to the test server, for what fetch cannot do (Expect: 100-continue, cut uploads). */
export function rawSocket(url: string): Promise<net.Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname, () => resolve(s));
    s.once('error', reject);
  });
}

/** Polls `fn` until it returns true or `ms` pass. */
export async function eventually(fn: () => boolean | Promise<boolean>, ms = 3000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
