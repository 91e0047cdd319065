/**
 * A TCP proxy on loopback between Coffer and its object store, for fault tests: it passes traffic,
 * refuses connections (closes them at once), or cuts each connection once it has carried a number
 * of bytes towards the store — and then, if asked, refuses every later one (a store that went away
 * mid-upload and stayed away, so that not even the abort reaches it). It can also hold back the
 * requests of one HTTP method until released (a slow store, at one chosen step).
 */
import net from 'node:net';

export type ProxyMode =
  { kind: 'pass' } | { kind: 'refuse' } | { kind: 'cut'; afterBytes: number; thenRefuse?: boolean };

export interface FaultProxy {
  readonly url: string;
  mode: ProxyMode;
  /** Connections cut or refused so far. */
  readonly faults: number;
  /**
   * Holds every request whose first bytes name `method` (a request starts a new chunk on an idle
   * keep-alive connection) until `release`; `held` settles when the first one is held.
   */
  hold(method: string): { held: Promise<void>; release(): void };
  close(): Promise<void>;
}

export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const sockets = new Set<net.Socket>();
  let faults = 0;
  const state: { mode: ProxyMode } = { mode: { kind: 'pass' } };
  let holding: { prefix: Buffer; onHeld: () => void } | null = null;
  /** Per held connection, the chunks not yet sent on and what sends them. */
  const heldBack = new Map<net.Socket, { chunks: Buffer[]; flush: () => void }>();
  const server = net.createServer((client) => {
    const mode = state.mode;
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (mode.kind === 'refuse') {
      faults++;
      return void client.destroy();
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.once('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => {});
    client.once('close', () => upstream.destroy());
    let sent = 0;
    const forward = (chunk: Buffer) => {
      if (!upstream.write(chunk)) client.pause();
    };
    client.on('data', (chunk: Buffer) => {
      const queue = heldBack.get(client);
      if (queue) return void queue.chunks.push(chunk);
      if (holding && chunk.subarray(0, holding.prefix.length).equals(holding.prefix)) {
        const q = { chunks: [chunk], flush: () => q.chunks.splice(0).forEach(forward) };
        heldBack.set(client, q);
        return holding.onHeld();
      }
      sent += chunk.length;
      if (mode.kind === 'cut' && sent > mode.afterBytes) {
        faults++;
        // Gone for good: the connections kept alive go too, or a request would still get through on one.
        if (mode.thenRefuse) state.mode = { kind: 'refuse' };
        for (const s of mode.thenRefuse ? sockets : [client, upstream]) s.destroy();
        return;
      }
      forward(chunk);
    });
    upstream.on('drain', () => client.resume());
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return state.mode;
    },
    /** A new mode also drops the connections already open (the SDK keeps them alive), so it holds at once. */
    set mode(m: ProxyMode) {
      state.mode = m;
      for (const s of sockets) s.destroy();
    },
    get faults() {
      return faults;
    },
    hold(method) {
      let onHeld = () => {};
      const held = new Promise<void>((resolve) => (onHeld = resolve));
      holding = { prefix: Buffer.from(`${method} `), onHeld };
      return {
        held,
        release() {
          holding = null;
          for (const [socket, q] of heldBack) {
            heldBack.delete(socket);
            q.flush();
          }
        },
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
