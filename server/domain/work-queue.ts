/**
 * Bounded background work in this process (thumbnail generation): at most `concurrency` jobs run at
 * once, at most `maxWaiting` wait for a slot, and past that the caller is told the server is
 * overloaded (503) rather than queued without end. Jobs with the same key share one run: twenty
 * tabs asking for the same thumbnail make it once.
 */
import { overloaded } from './errors.js';

export class WorkQueue {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly concurrency: number,
    private readonly maxWaiting: number,
    /** What the work is, for the error message ("thumbnails"). */
    private readonly what: string,
  ) {}

  run<T>(key: string, job: () => Promise<T>): Promise<T> {
    const same = this.inFlight.get(key);
    if (same) return same as Promise<T>;
    if (this.running >= this.concurrency && this.waiting.length >= this.maxWaiting)
      throw overloaded(`Too many ${this.what} are being made right now; try again shortly`);
    const done = this.slot()
      .then(job)
      .finally(() => {
        this.inFlight.delete(key);
        this.running--;
        this.waiting.shift()?.();
      });
    this.inFlight.set(key, done);
    return done;
  }

  /** Resolves when a slot is taken for the caller. */
  private slot(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.waiting.push(() => {
        this.running++;
        resolve();
      }),
    );
  }
}
