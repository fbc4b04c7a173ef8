import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { type FileHandle, listAll, type StreamSource } from "../src/storage/backend.ts";
import { StorageError } from "../src/storage/errors.ts";
import { FaultyBackend, injected, seededRandom } from "../src/storage/faulty.ts";
import { MemoryBackend } from "../src/storage/memory.ts";
import { type RetryEvent, type RetryPolicy, withRetry } from "../src/storage/retry.ts";
import { storageContract } from "./storage-contract.ts";

// The retry wrapper over the fault-injecting one: transient failures are retried and reported, permanent ones
// surface at once, truncated reads are caught by their length, and an abort ends the waiting.

const pack: FileHandle = { type: "data", name: "ab".repeat(32) };

function setup(policy: RetryPolicy = {}, seed = 1) {
  const memory = new MemoryBackend();
  const faulty = new FaultyBackend(memory, { seed });
  const events: RetryEvent[] = [];
  const backend = withRetry(faulty, {
    attempts: 5,
    baseDelayMs: 1,
    maxDelayMs: 4,
    random: seededRandom(seed),
    onRetry: (event) => events.push(event),
    ...policy,
  });
  return { memory, faulty, backend, events };
}

// The wrappers keep the contract: a healthy faulty backend behind retries is still a backend.
storageContract("withRetry(FaultyBackend(MemoryBackend))", async () => ({ backend: setup().backend }));

describe("withRetry over FaultyBackend", () => {
  it.each([
    ["ECONNRESET", injected.connectionReset],
    ["EPIPE", injected.brokenPipe],
    ["socket hang up", injected.socketHangUp],
    ["a timeout", injected.timeout],
    ["HTTP 500", () => injected.serverError(500)],
    ["HTTP 503 SlowDown", injected.slowDown],
    ["HTTP 429", () => injected.serverError(429)],
  ])("retries %s and reports each retry", async (_label, error) => {
    const { memory, faulty, backend, events } = setup();
    const bytes = randomBytes(1000);
    await memory.save(pack, bytes);
    faulty.failNext("load", 2, error);
    expect(await backend.load(pack, { offset: 10, length: 100 })).toEqual(bytes.subarray(10, 110));
    expect(faulty.count("load")).toBe(3);
    expect(events.map(({ operation, attempt, target }) => ({ operation, attempt, target }))).toEqual([
      { operation: "load", attempt: 1, target: `data/ab/${pack.name}` },
      { operation: "load", attempt: 2, target: `data/ab/${pack.name}` },
    ]);
    expect(events.every((event) => event.delayMs >= 0 && event.delayMs <= 4)).toBe(true);
  });

  it.each([
    ["NOT_FOUND", injected.notFound],
    ["403 access denied", injected.accessDenied],
    ["400 bad request", () => new StorageError("STORAGE_ERROR", "InvalidArgument", { status: 400 })],
    ["a full disk", injected.noSpace],
    ["a bug", () => new TypeError("undefined is not a function")],
  ])("does not retry %s", async (_label, error) => {
    const { faulty, backend, events } = setup();
    const thrown = error();
    faulty.failNext("stat", 1, thrown);
    await expect(backend.stat(pack)).rejects.toBe(thrown);
    expect(faulty.count("stat")).toBe(1);
    expect(events).toEqual([]);
  });

  it("does not retry a real NOT_FOUND", async () => {
    const { faulty, backend, events } = setup();
    await expect(backend.load(pack)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(backend.stat(pack)).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(faulty.calls.map((call) => call.operation)).toEqual(["load", "stat"]);
    expect(events).toEqual([]);
  });

  it("gives up after the configured attempts with the last error", async () => {
    const { faulty, backend, events } = setup({ attempts: 4 });
    faulty.failNext("remove", 100, () => injected.serverError(503));
    const error = await backend.remove(pack).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "STORAGE_UNAVAILABLE" });
    expect(faulty.count("remove")).toBe(4);
    expect(events.map((event) => event.attempt)).toEqual([1, 2, 3]);
  });

  it("detects a truncated ranged read by its length and reads again", async () => {
    const { memory, faulty, backend, events } = setup();
    const bytes = randomBytes(10_000);
    await memory.save(pack, bytes);
    faulty.truncateNextLoads(2, { keep: 123 });
    expect(await backend.load(pack, { offset: 1000, length: 5000 })).toEqual(bytes.subarray(1000, 6000));
    expect(faulty.calls.map((call) => call.fault)).toEqual(["truncated", "truncated", undefined]);
    expect(events.map((event) => (event.error as StorageError).code)).toEqual(["TRUNCATED_READ", "TRUNCATED_READ"]);
  });

  it("resumes a cut loadChunks where it broke: the consumer sees every byte once, in order", async () => {
    const { memory, faulty, backend, events } = setup();
    const bytes = randomBytes(10_000);
    await memory.save(pack, bytes);
    faulty.truncateNextLoads(2, { keep: 1234 });
    const pieces: Buffer[] = [];
    await backend.loadChunks(pack, (chunk) => void pieces.push(Buffer.from(chunk)), { offset: 1000, length: 5000 });
    expect(Buffer.concat(pieces)).toEqual(bytes.subarray(1000, 6000));
    expect(pieces.map((piece) => piece.byteLength)).toEqual([1234, 1234, 5000 - 2468]);
    expect(events.map((event) => (event.error as StorageError).code)).toEqual(["TRUNCATED_READ", "TRUNCATED_READ"]);
  });

  it("does not retry a loadChunks for its consumer's error", async () => {
    const { memory, faulty, backend, events } = setup();
    await memory.save(pack, randomBytes(100));
    const refusal = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }); // looks transient, is not
    await expect(
      backend.loadChunks(pack, () => {
        throw refusal;
      }),
    ).rejects.toBe(refusal);
    expect(faulty.count("load")).toBe(1);
    expect(events).toEqual([]);
  });

  it("treats a save whose answer was lost as done when the file is there with the right size", async () => {
    const { memory, faulty, backend, events } = setup();
    const bytes = randomBytes(500);
    // The first attempt stores the file, then the connection drops before the answer.
    faulty.failNext("save", 1, injected.connectionReset, { after: true });
    await backend.save(pack, bytes);
    expect(await memory.load(pack)).toEqual(bytes);
    expect(events).toHaveLength(1);
    // A name taken before any failure is still refused: write-once is not weakened.
    await expect(backend.save(pack, bytes)).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
  });

  it("re-opens a streamed body for each attempt", async () => {
    const { memory, faulty, backend } = setup();
    const bytes = randomBytes(200_000);
    let opened = 0;
    const source: StreamSource = {
      size: bytes.byteLength,
      open: () => {
        opened++;
        const first = opened === 1;
        return Readable.from(
          (async function* () {
            yield bytes.subarray(0, 100_000);
            // The first attempt's body breaks off halfway, as a cut connection would.
            if (first) throw injected.connectionReset();
            yield bytes.subarray(100_000);
          })(),
        );
      },
    };
    faulty.failNext("save", 1, injected.brokenPipe);
    await backend.save(pack, source);
    expect(await memory.load(pack)).toEqual(bytes);
    // One attempt failed before reading, one broke off midway, the third stored the whole body.
    expect(faulty.count("save")).toBe(3);
    expect(opened).toBe(2);
  });

  it("restarts a broken listing without repeating names", async () => {
    const { memory, faulty, backend, events } = setup();
    const names = Array.from({ length: 10 }, (_, index) => index.toString(16).padStart(2, "0").repeat(32));
    for (const name of names) await memory.save({ type: "index", name }, Buffer.from(name));
    faulty.breakNextLists(2, 4, injected.socketHangUp);
    const listed = await listAll(backend, "index");
    expect(listed.map((entry) => entry.name).sort()).toEqual(names);
    expect(faulty.count("list")).toBe(3);
    expect(events.map((event) => event.operation)).toEqual(["list", "list"]);
  });

  it("stops retrying when the signal fires during the pause", async () => {
    const { faulty, backend } = setup({ baseDelayMs: 60_000, maxDelayMs: 60_000, attempts: 10 });
    faulty.failNext("load", 100, injected.connectionReset);
    const controller = new AbortController();
    const started = performance.now();
    const loading = backend.load(pack, { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    await expect(loading).rejects.toMatchObject({ name: "AbortError" });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(faulty.count("load")).toBe(1);
  });

  it("stops a delayed call when the signal fires, and never starts one on an aborted signal", async () => {
    const { faulty, backend } = setup();
    faulty.delay("stat", 60_000);
    const controller = new AbortController();
    const pending = backend.stat(pack, { signal: controller.signal });
    setTimeout(() => controller.abort(new DOMException("run cancelled", "AbortError")), 20);
    await expect(pending).rejects.toMatchObject({ name: "AbortError", message: "run cancelled" });
    await expect(backend.stat(pack, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });
    expect(faulty.count("stat")).toBe(1);
  });
});

describe("FaultyBackend", () => {
  it("fails by predicate on the handle, for a bounded number of calls", async () => {
    const memory = new MemoryBackend();
    const faulty = new FaultyBackend(memory);
    await memory.save(pack, Buffer.from("pack"));
    const index: FileHandle = { type: "index", name: "cd".repeat(32) };
    await memory.save(index, Buffer.from("index"));
    faulty.failWhen((call) => call.handle?.type === "data", injected.accessDenied, { times: 2 });
    await expect(faulty.load(pack)).rejects.toMatchObject({ code: "ACCESS_DENIED" });
    expect(await faulty.load(index)).toEqual(Buffer.from("index"));
    await expect(faulty.stat(pack)).rejects.toMatchObject({ code: "ACCESS_DENIED" });
    expect(await faulty.load(pack)).toEqual(Buffer.from("pack"));
    faulty.failWhen(() => true, injected.noSpace).heal();
    expect(await faulty.stat(pack)).toEqual({ name: pack.name, size: 4 });
  });

  it("is deterministic: the same seed fails the same calls and delays by the same amounts", async () => {
    const pattern = async (seed: number) => {
      const memory = new MemoryBackend();
      await memory.save(pack, Buffer.from("x"));
      const faulty = new FaultyBackend(memory, { seed });
      faulty.failRandomly("stat", 0.3, injected.connectionReset);
      const outcomes: string[] = [];
      for (let i = 0; i < 40; i++) {
        outcomes.push(
          await faulty.stat(pack).then(
            () => "ok",
            () => "fail",
          ),
        );
      }
      return outcomes.join(",");
    };
    const first = await pattern(42);
    expect(await pattern(42)).toBe(first);
    expect(await pattern(43)).not.toBe(first);
    const failures = first.split(",").filter((outcome) => outcome === "fail").length;
    expect(failures).toBeGreaterThan(4);
    expect(failures).toBeLessThan(24);
  });

  it("adds seeded delays within the given bounds", async () => {
    const faulty = new FaultyBackend(new MemoryBackend(), { seed: 7 });
    faulty.delay("list", { min: 20, max: 40 }, { times: 1 });
    const started = performance.now();
    await listAll(faulty, "lock");
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(19);
    expect(elapsed).toBeLessThan(1000);
  });
});
