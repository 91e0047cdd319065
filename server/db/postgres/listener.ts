/**
 * A dedicated connection that LISTENs on a channel (pooled connections are handed around and
 * cannot hold a LISTEN). A lost connection is opened again after a growing delay (0.5 s … 30 s),
 * the LISTEN repeated, and `onResync` called: notifications sent while it was away are gone, so
 * whoever relies on them checks again.
 */
import pg from 'pg';

export interface Listener {
  close(): Promise<void>;
}

export function listen(
  url: string,
  channel: string,
  onPayload: (payload: string) => void,
  onResync: () => void,
): Listener {
  let client: pg.Client | undefined;
  let closed = false;
  let delay = 500;
  let timer: NodeJS.Timeout | undefined;

  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: url });
    client = c;
    c.on('notification', (m) => {
      if (m.channel === channel && m.payload) onPayload(m.payload);
    });
    c.on('error', () => retry(c)); // the connection is gone: 'end' follows
    c.on('end', () => retry(c));
    try {
      await c.connect();
      await c.query(`LISTEN ${channel}`);
      delay = 500;
      onResync();
    } catch {
      retry(c);
    }
  };
  const retry = (c: pg.Client) => {
    if (closed || client !== c || timer) return;
    client = undefined;
    c.end().catch(() => {});
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, delay);
    timer.unref();
    delay = Math.min(delay * 2, 30_000);
  };
  void connect();

  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      await client?.end().catch(() => {});
    },
  };
}
