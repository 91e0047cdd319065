/**
 * Write transactions run one at a time (both executors), so a transaction opened from inside another
 * would wait in the line for the one that waits for it: the writer would hang. This refuses it.
 *
 * Not with an AsyncLocalStorage: on Node 20 an enabled one runs a hook on every promise the process
 * makes, and under a stream of uploads it is always enabled — measured here as ~20% of a small
 * upload's CPU (PUT 4 KiB at c=8: 1,300–1,436 files/s with it, 1,703–1,724 without). Instead, while
 * a transaction's code runs, a new transaction looks at its own stack: V8's async stack traces
 * follow the chain of `await`s, so a call made from inside a transaction has `runInsideTransaction`
 * on it. The look costs a few µs and is taken only while a transaction's code is running (a small
 * window: statements run synchronously on SQLite).
 *
 * The stack shows what awaits; a chain of promises not yet linked by an `await` (a transaction that
 * returns an unawaited call, which opens another in its first turn) escapes it. For that case, and
 * any other, the watchdog ends the wait instead of the writer: when a transaction has run no
 * statement for `stallMs` while others wait behind it, those are refused with NESTED_TX (the one it
 * waits for is among them, and a transaction holds no file I/O: none idles that long on its own).
 */
export const NESTED_TX = 'db.tx() called inside a transaction: pass the open tx down instead';

const STALL_MS = 10_000;

/** The frame a transaction's code runs under; `inside()` looks for its name on the stack. */
async function runInsideTransaction<T>(fn: () => Promise<T>): Promise<T> {
  return await fn();
}
const MARK = runInsideTransaction.name;

type CallSites = { getFunctionName(): string | null }[];

function onTransactionStack(): boolean {
  const { stackTraceLimit, prepareStackTrace } = Error;
  const holder: { stack?: CallSites } = {};
  try {
    Error.stackTraceLimit = Infinity;
    Error.prepareStackTrace = (_err, sites) => sites; // the call sites as they are, no text formatted
    Error.captureStackTrace(holder, onTransactionStack);
    const sites = holder.stack!;
    for (const site of sites) if (site.getFunctionName() === MARK) return true;
    return false;
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
    Error.prepareStackTrace = prepareStackTrace;
  }
}

export class TxGuard {
  private running = 0;
  private lastStatement = 0;
  /** Transactions that arrived while one was running and have not started: how to refuse each. */
  private readonly waiting = new Set<(err: Error) => void>();
  private watchdog: NodeJS.Timeout | undefined;

  constructor(private readonly stallMs = STALL_MS) {}

  /** True when the calling code runs inside a transaction of this executor. */
  inside(): boolean {
    return this.running > 0 && onTransactionStack();
  }

  /** Runs one transaction's code (the executor has begun it and ends it). */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.running++;
    this.lastStatement = performance.now();
    try {
      return await runInsideTransaction(fn);
    } finally {
      this.running--;
    }
  }

  /** The running transaction has run a statement: it is not stalled. */
  statement(): void {
    this.lastStatement = performance.now();
  }

  /**
   * A transaction queued behind a running one: `refuse` is called if the running one stalls first.
   * Answers the function to call once it starts (or is answered otherwise).
   */
  queued(refuse: (err: Error) => void): () => void {
    if (this.running === 0) return () => {};
    this.waiting.add(refuse);
    this.watchdog ??= setTimeout(() => this.watch(), this.stallMs).unref();
    return () => this.waiting.delete(refuse);
  }

  private watch(): void {
    this.watchdog = undefined;
    if (this.waiting.size === 0) return;
    const idle = performance.now() - this.lastStatement;
    if (this.running > 0 && idle >= this.stallMs) {
      const refused = [...this.waiting];
      this.waiting.clear();
      for (const refuse of refused) refuse(new Error(NESTED_TX));
      return;
    }
    this.watchdog = setTimeout(() => this.watch(), Math.max(1, this.stallMs - idle)).unref();
  }
}
