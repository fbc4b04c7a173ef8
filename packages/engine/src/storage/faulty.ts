import type {
  ChunkConsumer,
  FileHandle,
  FileInfo,
  FileType,
  LoadOptions,
  SaveData,
  SaveOptions,
  SignalOptions,
  StorageBackend,
} from "./backend.ts";
import { sleep } from "./backend.ts";
import { StorageError } from "./errors.ts";
import type { StorageOperation } from "./retry.ts";

// A backend that misbehaves on request, for tests of everything above storage (restic tests its repository on a
// fault-injecting backend the same way, never with a mocked repository). Faults are rules: fail the next N calls of
// an operation, fail calls matching a predicate, fail at a seeded random rate, delay, cut loads short, break a
// listing midway. The same seed gives the same faults in the same order, so a failing test replays exactly.

export type FaultyCall = { operation: StorageOperation; handle?: FileHandle; type?: FileType };
export type RecordedCall = FaultyCall & { fault?: "error" | "truncated" };
export type FaultError = unknown | ((call: FaultyCall) => unknown);

type Rule = {
  matches: (call: FaultyCall) => boolean;
  /** Calls left to fail; Infinity for "always". */
  remaining: number;
  error: FaultError;
  /** Fail after the inner call ran (the effect happened, the answer was lost). */
  after: boolean;
  /** Chance per matching call, drawn from the seeded generator. */
  probability: number;
};

type Delay = { matches: (call: FaultyCall) => boolean; minMs: number; maxMs: number; remaining: number };
type Truncation = { matches: (call: FaultyCall) => boolean; remaining: number; keep: (length: number) => number };
type ListBreak = { remaining: number; afterEntries: number; error: FaultError };

/** Errors as storages really produce them. */
export const injected = {
  connectionReset: () => Object.assign(new Error("read ECONNRESET (injected)"), { code: "ECONNRESET" }),
  socketHangUp: () => Object.assign(new Error("socket hang up (injected)"), { code: "ECONNRESET" }),
  brokenPipe: () => Object.assign(new Error("write EPIPE (injected)"), { code: "EPIPE" }),
  timeout: () => Object.assign(new Error("request timed out (injected)"), { name: "TimeoutError" }),
  serverError: (status = 500) =>
    new StorageError("STORAGE_UNAVAILABLE", `HTTP ${status} (injected)`, { status, transient: true }),
  slowDown: () =>
    new StorageError("STORAGE_UNAVAILABLE", "SlowDown: reduce your request rate (injected)", { status: 503 }),
  accessDenied: () => new StorageError("ACCESS_DENIED", "AccessDenied (injected)", { status: 403 }),
  notFound: () => new StorageError("NOT_FOUND", "NoSuchKey (injected)", { status: 404 }),
  noSpace: () => new StorageError("NO_SPACE", "ENOSPC (injected)"),
};

/** mulberry32: tiny, fast, and the same sequence for the same seed on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Selector = StorageOperation | "*" | ((call: FaultyCall) => boolean);

function matcher(selector: Selector): (call: FaultyCall) => boolean {
  if (typeof selector === "function") return selector;
  return (call) => selector === "*" || call.operation === selector;
}

function raise(error: FaultError, call: FaultyCall): never {
  throw typeof error === "function" ? (error as (call: FaultyCall) => unknown)(call) : error;
}

export class FaultyBackend implements StorageBackend {
  readonly #inner: StorageBackend;
  readonly #random: () => number;
  #rules: Rule[] = [];
  #delays: Delay[] = [];
  #truncations: Truncation[] = [];
  #listBreaks: ListBreak[] = [];
  /** Every call made, in order, with the faults it met. */
  readonly calls: RecordedCall[] = [];

  constructor(inner: StorageBackend, options: { seed?: number } = {}) {
    this.#inner = inner;
    this.#random = seededRandom(options.seed ?? 1);
  }

  /** The next `count` calls of `selector` fail with `error` (before reaching the inner backend, unless `after`). */
  failNext(selector: Selector, count: number, error: FaultError, options: { after?: boolean } = {}): this {
    this.#rules.push({
      matches: matcher(selector),
      remaining: count,
      error,
      after: options.after ?? false,
      probability: 1,
    });
    return this;
  }

  /** Every call matching `predicate` fails (for at most `times` calls). */
  failWhen(predicate: (call: FaultyCall) => boolean, error: FaultError, options: { times?: number } = {}): this {
    this.#rules.push({
      matches: predicate,
      remaining: options.times ?? Number.POSITIVE_INFINITY,
      error,
      after: false,
      probability: 1,
    });
    return this;
  }

  /** Each call of `selector` fails with chance `probability`, drawn from the seeded generator. */
  failRandomly(selector: Selector, probability: number, error: FaultError): this {
    this.#rules.push({
      matches: matcher(selector),
      remaining: Number.POSITIVE_INFINITY,
      error,
      after: false,
      probability,
    });
    return this;
  }

  /** Calls of `selector` wait `ms` (or a seeded amount in [min, max]) first; an abort ends the wait. */
  delay(selector: Selector, ms: number | { min: number; max: number }, options: { times?: number } = {}): this {
    const { min, max } = typeof ms === "number" ? { min: ms, max: ms } : ms;
    this.#delays.push({
      matches: matcher(selector),
      minMs: min,
      maxMs: max,
      remaining: options.times ?? Number.POSITIVE_INFINITY,
    });
    return this;
  }

  /** The next `count` loads (matching `predicate`) return only their first `keep` bytes (default: half). */
  truncateNextLoads(count: number, options: { keep?: number; predicate?: (call: FaultyCall) => boolean } = {}): this {
    const keep = options.keep;
    this.#truncations.push({
      matches: (call) => call.operation === "load" && (options.predicate?.(call) ?? true),
      remaining: count,
      keep: (length) => Math.min(length, keep ?? Math.floor(length / 2)),
    });
    return this;
  }

  /** The next `count` listings fail after delivering `afterEntries` entries. */
  breakNextLists(count: number, afterEntries: number, error: FaultError): this {
    this.#listBreaks.push({ remaining: count, afterEntries, error });
    return this;
  }

  /** Removes every fault. */
  heal(): this {
    this.#rules = [];
    this.#delays = [];
    this.#truncations = [];
    this.#listBreaks = [];
    return this;
  }

  /** How many calls of `operation` were made. */
  count(operation: StorageOperation): number {
    return this.calls.filter((call) => call.operation === operation).length;
  }

  location(): string {
    return `faulty:${this.#inner.location()}`;
  }

  async save(handle: FileHandle, data: SaveData, options: SaveOptions = {}): Promise<void> {
    const call = await this.#enter({ operation: "save", handle }, options.signal);
    await this.#inner.save(handle, data, options);
    this.#after(call);
  }

  async load(handle: FileHandle, options: LoadOptions = {}): Promise<Buffer> {
    const call = await this.#enter({ operation: "load", handle }, options.signal);
    const bytes = await this.#inner.load(handle, options);
    this.#after(call);
    const truncation = this.#truncations.find((rule) => rule.remaining > 0 && rule.matches(call));
    if (!truncation) return bytes;
    truncation.remaining--;
    call.fault = "truncated";
    return bytes.subarray(0, truncation.keep(bytes.byteLength));
  }

  /** A truncation delivers the first bytes and ends quietly, as a cut connection that looks like a short file. */
  async loadChunks(handle: FileHandle, consume: ChunkConsumer, options: LoadOptions = {}): Promise<void> {
    const call = await this.#enter({ operation: "load", handle }, options.signal);
    const truncation = this.#truncations.find((rule) => rule.remaining > 0 && rule.matches(call));
    let left = Number.POSITIVE_INFINITY;
    if (truncation) {
      truncation.remaining--;
      call.fault = "truncated";
      const offset = options.offset ?? 0;
      left = truncation.keep(options.length ?? (await this.#inner.stat(handle, options)).size - offset);
    }
    await this.#inner.loadChunks(
      handle,
      async (chunk) => {
        if (left <= 0) return;
        const kept = chunk.subarray(0, Math.min(chunk.byteLength, left));
        left -= kept.byteLength;
        await consume(kept);
      },
      options,
    );
    this.#after(call);
  }

  async stat(handle: FileHandle, options: SignalOptions = {}): Promise<FileInfo> {
    const call = await this.#enter({ operation: "stat", handle }, options.signal);
    const info = await this.#inner.stat(handle, options);
    this.#after(call);
    return info;
  }

  async *list(type: FileType, options: SignalOptions = {}): AsyncIterable<FileInfo> {
    const call = await this.#enter({ operation: "list", type }, options.signal);
    const listBreak = this.#listBreaks.find((rule) => rule.remaining > 0);
    if (listBreak) listBreak.remaining--;
    let delivered = 0;
    for await (const entry of this.#inner.list(type, options)) {
      if (listBreak && delivered >= listBreak.afterEntries) raise(listBreak.error, call);
      yield entry;
      delivered++;
    }
    if (listBreak && delivered >= listBreak.afterEntries) raise(listBreak.error, call);
    this.#after(call);
  }

  async remove(handle: FileHandle, options: SignalOptions = {}): Promise<void> {
    const call = await this.#enter({ operation: "remove", handle }, options.signal);
    await this.#inner.remove(handle, options);
    this.#after(call);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /** Records the call, waits out delays, and throws a "before" fault. Returns the call for the "after" faults. */
  async #enter(call: RecordedCall, signal: AbortSignal | undefined): Promise<RecordedCall> {
    this.calls.push(call);
    for (const delay of this.#delays) {
      if (delay.remaining <= 0 || !delay.matches(call)) continue;
      delay.remaining--;
      await sleep(delay.minMs + Math.round((delay.maxMs - delay.minMs) * this.#random()), signal);
    }
    signal?.throwIfAborted();
    this.#fire(call, false);
    return call;
  }

  #after(call: RecordedCall): void {
    this.#fire(call, true);
  }

  #fire(call: RecordedCall, after: boolean): void {
    for (const rule of this.#rules) {
      if (rule.after !== after || rule.remaining <= 0 || !rule.matches(call)) continue;
      if (rule.probability < 1 && this.#random() >= rule.probability) continue;
      rule.remaining--;
      call.fault = "error";
      raise(rule.error, call);
    }
  }
}
