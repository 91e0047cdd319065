/**
 * The "done when" for resumable uploads: a 2 GiB upload cut three times — the client gone
 * mid-chunk twice, the server restarted once — resumes each time from the offset HEAD reports and
 * completes byte-identical. The bytes are generated on the fly (never held in memory) and hashed
 * as the server acknowledges them.
 */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { api, createUser, type NodeJson } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { expectFsckClean, hashBody, MiB, patternChunk } from '../support/store.js';
import { Tus } from '../support/tus.js';

const SIZE = 2 * 1024 * MiB;
/** Sixteen distinct MiB-long chunks, each byte a function of its position alone. */
const CHUNKS = Array.from({ length: 16 }, (_, i) => patternChunk(i + 1));

/** The source's bytes [from, to), a MiB (or less) at a time. */
function* bytes(from: number, to: number): Generator<Buffer> {
  for (let pos = from; pos < to;) {
    const inChunk = pos % MiB;
    const n = Math.min(MiB - inChunk, to - pos);
    yield CHUNKS[Math.floor(pos / MiB) % CHUNKS.length]!.subarray(inChunk, inChunk + n);
    pos += n;
  }
}

/** The source from `from` on, as a request body; `onSent(total)` after each chunk handed to fetch. */
function body(from: number, onSent: (sent: number) => void = () => {}): ReadableStream<Uint8Array> {
  const it = bytes(from, SIZE);
  let sent = from;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = it.next();
      if (next.done) return controller.close();
      controller.enqueue(new Uint8Array(next.value));
      sent += next.value.length;
      onSent(sent);
    },
  });
}

describe('a 2 GiB resumable upload cut three times', function () {
  this.timeout(300_000);
  let first: TestServer;
  let second: TestServer | undefined;

  after(async () => {
    await second?.close();
    await first?.close();
  });

  it('resumes after two client aborts and a server restart, byte-identical, versioned and fsck-clean', async () => {
    const started = Date.now();
    first = await startTestServer();
    const user = await createUser(first, { quotaBytes: 5 * 1024 * MiB });
    const old = await api(first.url).as(user).upload(user.rootId, 'big.bin', 'the old small content');
    let tus = new Tus(api(first.url).as(user));
    const where = await tus.start(SIZE, { parentId: user.rootId, name: 'big.bin', overwrite: 'true' });
    const source = createHash('sha256');
    let acknowledged = 0;
    /** HEAD's offset, which must have moved on; the source hash takes the bytes it acknowledges. */
    const resumeFrom = async (atMost: number) => {
      const offset = await tus.offset(where);
      expect(offset).to.be.above(acknowledged).and.at.most(atMost);
      for (const b of bytes(acknowledged, offset)) source.update(b);
      acknowledged = offset;
      return offset;
    };

    // Cuts 1 and 2: the client goes away mid-chunk.
    for (const cutAt of [600 * MiB, 1200 * MiB]) {
      const abort = new AbortController();
      const res = tus.patch(
        where,
        acknowledged,
        body(acknowledged, (sent) => sent >= cutAt && abort.abort()),
        {},
        abort.signal,
      );
      await res.then(
        () => expect.fail('the chunk should have been cut off'),
        (err: Error) => expect(err.name).to.equal('AbortError'),
      );
      await resumeFrom(cutAt);
    }

    // Cut 3: the server stops mid-chunk; another starts on the same data directory and database.
    let stopping: Promise<void> | undefined;
    const cutAt = 1700 * MiB;
    const cut = tus.patch(
      where,
      acknowledged,
      body(acknowledged, (sent) => sent >= cutAt && (stopping ??= first.stop())),
    );
    await cut.then(
      (res) => expect.fail(`the chunk should have been cut off, got ${res.status}`),
      (err: Error) => expect(err).to.be.an('error'),
    );
    await stopping;
    second = await startTestServer({ shareStoreWith: first });
    tus = new Tus(api(second.url).as(user));
    const offset = await resumeFrom(cutAt);

    const done = await tus.patch(where, offset, body(offset));
    expect(done.status).to.equal(204);
    for (const b of bytes(acknowledged, SIZE)) source.update(b);
    const id = done.headers.get('coffer-file-id');
    expect(id).to.equal(old.id); // replaced in place…
    const a = api(second.url).as(user);
    const versions = await a.json<{ items: { size: number }[] }>(a.get(`/api/nodes/${id}/versions`));
    expect(versions.items.map((v) => v.size)).to.deep.equal(['the old small content'.length]); // …the old content kept
    const file = await a.json<NodeJson>(a.get(`/api/nodes/${id}`));
    expect(file.size).to.equal(SIZE);
    const download = await hashBody(await a.get(`/api/files/${id}/content`));
    expect(download).to.deep.equal({ sha256: source.digest('hex'), length: SIZE });
    const activity = await a.json<{ items: { action: string; nodeName?: string; name?: string }[] }>(
      a.get('/api/activity'),
    );
    expect(activity.items.filter((r) => r.action === 'file.replaced').length).to.equal(1);
    const reserved = await second.app.db.get<{ r: unknown }>('SELECT reserved_bytes AS r FROM users WHERE id = $id', {
      id: user.id,
    });
    expect(Number(reserved?.r)).to.equal(0);
    await expectFsckClean(second);
    console.log(`      (2 GiB upload, three cuts, download and fsck: ${Math.round((Date.now() - started) / 1000)} s)`);
  });
});
