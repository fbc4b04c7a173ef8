// A bounded pool for work that must all succeed (the parts of one upload): at most `limit` tasks at once, no new
// task after the first failure, and every started task settled before the failure is thrown, so nothing is
// still running when the caller cleans up.

export async function allLimited<T>(
  items: Iterable<T>,
  limit: number,
  task: (item: T, signal: AbortSignal) => Promise<void>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const failed = new AbortController();
  const combined = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal;
  let failure: { error: unknown } | undefined;
  const running = new Set<Promise<void>>();
  for (const item of items) {
    if (failure || combined.aborted) break;
    const started: Promise<void> = task(item, combined)
      .catch((error: unknown) => {
        failure ??= { error };
        failed.abort(error);
      })
      .finally(() => running.delete(started));
    running.add(started);
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
  signal?.throwIfAborted();
  if (failure) throw failure.error;
}

/**
 * A bounded hand-over between producers (the checkers) and consumers (the transfer workers): `push` waits while
 * `capacity` items are queued, so a million changed files never become a million pending promises.
 */
export class WorkQueue<T> {
  readonly #capacity: number;
  readonly #items: T[] = [];
  #closed = false;
  #waitingForItem: (() => void)[] = [];
  #waitingForRoom: (() => void)[] = [];

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  async push(item: T): Promise<void> {
    while (this.#items.length >= this.#capacity)
      await new Promise<void>((resolve) => this.#waitingForRoom.push(resolve));
    this.#items.push(item);
    this.#waitingForItem.shift()?.();
  }

  /** The next item, or undefined once the queue is closed and empty. */
  async pull(): Promise<T | undefined> {
    for (;;) {
      const item = this.#items.shift();
      if (item !== undefined) {
        this.#waitingForRoom.shift()?.();
        return item;
      }
      if (this.#closed) return undefined;
      await new Promise<void>((resolve) => this.#waitingForItem.push(resolve));
    }
  }

  /** No more pushes: consumers drain what is left, then get undefined. */
  close(): void {
    this.#closed = true;
    for (const wake of this.#waitingForItem.splice(0)) wake();
  }
}
