import {
  type ChunkConsumer,
  describeHandle,
  type FileHandle,
  type FileInfo,
  type FileType,
  type LoadOptions,
  type SaveData,
  type SaveOptions,
  type SignalOptions,
  type StorageBackend,
  sizeOf,
  sleep,
} from "./backend.ts";
import { classifyError, isStorageError, StorageError } from "./errors.ts";

// Retrying transient storage failures (restic's RetryBackend): network errors, 5xx, throttling and truncated reads
// are tried again after an exponentially growing, jittered pause; NOT_FOUND, 4xx and aborts never are. The number
// of attempts is bounded, the pauses honour the caller's AbortSignal, and every retry is reported so a run's log
// shows a flaky storage before it becomes a failed backup.

export type StorageOperation = "save" | "load" | "stat" | "list" | "remove";

export type RetryEvent = {
  operation: StorageOperation;
  /** The file, or for `list` the file type. */
  target: string;
  /** The attempt that failed (1 = the first try). */
  attempt: number;
  /** The pause before the next attempt. */
  delayMs: number;
  error: unknown;
};

export type RetryPolicy = {
  /** Total attempts, the first included (default 8). */
  attempts?: number;
  /** The pause after the first failure (default 500 ms); it doubles per attempt. */
  baseDelayMs?: number;
  /** The longest pause (default 60 s). */
  maxDelayMs?: number;
  /** The jitter source, a number in [0, 1) (default Math.random; tests pass a seeded one). */
  random?: () => number;
  /** Called before each pause. */
  onRetry?: (event: RetryEvent) => void;
};

const defaults = { attempts: 8, baseDelayMs: 500, maxDelayMs: 60_000 };

/**
 * The pause after failed attempt `attempt` (1-based): half of the exponential step fixed, half random ("equal
 * jitter"), so pauses always grow and parallel clients spread out.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy = {}, random: number = Math.random()): number {
  const base = policy.baseDelayMs ?? defaults.baseDelayMs;
  const max = policy.maxDelayMs ?? defaults.maxDelayMs;
  const step = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + (step / 2) * random);
}

export function isRetryable(error: unknown): boolean {
  return classifyError(error) === "transient";
}

/** Runs `task` until it succeeds, fails permanently, runs out of attempts or the signal fires. */
export async function retrying<T>(
  task: (attempt: number) => Promise<T>,
  context: { operation: StorageOperation; target: string; policy?: RetryPolicy; signal?: AbortSignal | undefined },
): Promise<T> {
  const policy = context.policy ?? {};
  const attempts = Math.max(1, policy.attempts ?? defaults.attempts);
  for (let attempt = 1; ; attempt++) {
    context.signal?.throwIfAborted();
    try {
      return await task(attempt);
    } catch (error) {
      context.signal?.throwIfAborted();
      if (attempt >= attempts || !isRetryable(error)) throw error;
      const delayMs = backoffDelay(attempt, policy, (policy.random ?? Math.random)());
      policy.onRetry?.({ operation: context.operation, target: context.target, attempt, delayMs, error });
      await sleep(delayMs, context.signal);
    }
  }
}

/** Carries what a load's consumer threw out of `retrying`, which must not try again for it. */
class NotRetried extends Error {
  readonly error: unknown;
  constructor(error: unknown) {
    super("the consumer failed");
    this.error = error;
  }
}

/** A backend whose operations are retried by `policy`. */
export function withRetry(backend: StorageBackend, policy: RetryPolicy = {}): StorageBackend {
  return new RetryBackend(backend, policy);
}

export class RetryBackend implements StorageBackend {
  readonly #inner: StorageBackend;
  readonly #policy: RetryPolicy;

  constructor(inner: StorageBackend, policy: RetryPolicy = {}) {
    this.#inner = inner;
    this.#policy = policy;
  }

  location(): string {
    return this.#inner.location();
  }

  save(handle: FileHandle, data: SaveData, options: SaveOptions = {}): Promise<void> {
    let earlierAttemptFailed = false;
    return this.#retry("save", describeHandle(handle), options.signal, async () => {
      try {
        await this.#inner.save(handle, data, options);
      } catch (error) {
        // A failed attempt may still have stored the file (the response was lost). Write-once names are content
        // hashes, so a file of the same size under the same name is this very file.
        if (earlierAttemptFailed && isStorageError(error, "ALREADY_EXISTS")) {
          const stored = await this.#inner.stat(handle, options);
          if (stored.size === sizeOf(data)) return;
        }
        earlierAttemptFailed = true;
        throw error;
      }
    });
  }

  load(handle: FileHandle, options: LoadOptions = {}): Promise<Buffer> {
    return this.#retry("load", describeHandle(handle), options.signal, async () => {
      const bytes = await this.#inner.load(handle, options);
      // A cut connection can look like a short file; the caller knows the exact length, so check it.
      if (options.length !== undefined && bytes.byteLength !== options.length) {
        throw new StorageError(
          "TRUNCATED_READ",
          `${describeHandle(handle)}: ${bytes.byteLength} of ${options.length} bytes arrived`,
        );
      }
      return bytes;
    });
  }

  /** A cut connection resumes where it broke: the consumer sees each byte once, in order, and never a repeat. */
  loadChunks(handle: FileHandle, consume: ChunkConsumer, options: LoadOptions = {}): Promise<void> {
    const what = describeHandle(handle);
    const start = options.offset ?? 0;
    let delivered = 0;
    let consumerFailure: { error: unknown } | undefined;
    const counting = async (chunk: Uint8Array) => {
      try {
        await consume(chunk);
      } catch (error) {
        consumerFailure = { error };
        throw error;
      }
      delivered += chunk.byteLength;
    };
    return this.#retry("load", what, options.signal, async () => {
      if (options.length !== undefined && delivered === options.length && delivered > 0) return; // failed at the end
      const rest = options.length === undefined ? {} : { length: options.length - delivered };
      try {
        await this.#inner.loadChunks(handle, counting, { ...options, offset: start + delivered, ...rest });
      } catch (error) {
        // The consumer's own error is not the storage's, so not a reason to try again.
        throw consumerFailure ? new NotRetried(consumerFailure.error) : error;
      }
      if (options.length !== undefined && delivered !== options.length) {
        throw new StorageError("TRUNCATED_READ", `${what}: ${delivered} of ${options.length} bytes arrived`);
      }
    }).catch((error: unknown) => {
      throw error instanceof NotRetried ? error.error : error;
    });
  }

  stat(handle: FileHandle, options: SignalOptions = {}): Promise<FileInfo> {
    return this.#retry("stat", describeHandle(handle), options.signal, () => this.#inner.stat(handle, options));
  }

  /** A failed listing starts over; names already delivered are not repeated. */
  async *list(type: FileType, options: SignalOptions = {}): AsyncIterable<FileInfo> {
    const policy = this.#policy;
    const attempts = Math.max(1, policy.attempts ?? defaults.attempts);
    const seen = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      options.signal?.throwIfAborted();
      try {
        for await (const entry of this.#inner.list(type, options)) {
          if (seen.has(entry.name)) continue;
          seen.add(entry.name);
          yield entry;
        }
        return;
      } catch (error) {
        options.signal?.throwIfAborted();
        if (attempt >= attempts || !isRetryable(error)) throw error;
        const delayMs = backoffDelay(attempt, policy, (policy.random ?? Math.random)());
        policy.onRetry?.({ operation: "list", target: type, attempt, delayMs, error });
        await sleep(delayMs, options.signal);
      }
    }
  }

  remove(handle: FileHandle, options: SignalOptions = {}): Promise<void> {
    return this.#retry("remove", describeHandle(handle), options.signal, () => this.#inner.remove(handle, options));
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  #retry<T>(
    operation: StorageOperation,
    target: string,
    signal: AbortSignal | undefined,
    task: () => Promise<T>,
  ): Promise<T> {
    return retrying(task, { operation, target, policy: this.#policy, signal });
  }
}
