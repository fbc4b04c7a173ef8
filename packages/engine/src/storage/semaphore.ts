// A counting semaphore: at most `limit` holders at a time, waiters served first come first served, a wait that
// an AbortSignal cancels. Bounds a backend's connections however many callers share it.

export class Semaphore {
  readonly limit: number;
  #held = 0;
  readonly #waiting: { grant: () => void; signal: AbortSignal | undefined }[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`a semaphore needs a limit of 1 or more, not ${limit}`);
    this.limit = limit;
  }

  /** How many slots are taken right now. */
  get held(): number {
    return this.#held;
  }

  /** Waits for a slot; returns its release (safe to call more than once). */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.#held < this.limit) {
      this.#held++;
      return this.#releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const waiter = {
        signal,
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const index = this.#waiting.indexOf(waiter);
        if (index >= 0) this.#waiting.splice(index, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
    });
    return this.#releaser();
  }

  /** Runs `task` holding a slot. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await task();
    } finally {
      release();
    }
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter, so `held` never dips and a newcomer cannot overtake.
      if (next) next.grant();
      else this.#held--;
    };
  }
}
