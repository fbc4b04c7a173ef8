import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  configHandle,
  type FileHandle,
  type FileType,
  type LoadOptions,
  listAll,
  type StorageBackend,
  type StreamSource,
} from "../src/storage/backend.ts";

// What every storage backend promises, run unchanged against memory, a local folder and a real S3 server
// (restic's backend test suite plays the same part). A backend that passes can carry a repository.

export type ContractFixture = { backend: StorageBackend; cleanup?: () => Promise<void> };

const id = (seed: string) => createHash("sha256").update(seed).digest("hex");
const handle = (type: FileType, seed: string): FileHandle => ({ type, name: id(seed) });

/** A stream body delivered in small pieces; `declared` lets a test lie about the size. */
export function streamOf(bytes: Buffer, declared = bytes.byteLength, pieceSize = 64 * 1024): StreamSource {
  return {
    size: declared,
    open: () =>
      Readable.from(
        (function* () {
          for (let offset = 0; offset < bytes.byteLength; offset += pieceSize)
            yield bytes.subarray(offset, offset + pieceSize);
        })(),
      ),
  };
}

/** A loadChunks gathered into one buffer, to compare with a load. */
export async function loadAllChunks(backend: StorageBackend, file: FileHandle, options: LoadOptions): Promise<Buffer> {
  const pieces: Buffer[] = [];
  await backend.loadChunks(file, (chunk) => void pieces.push(Buffer.from(chunk)), options);
  return Buffer.concat(pieces);
}

/** Runs `tasks` with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export function storageContract(label: string, create: () => Promise<ContractFixture>): void {
  describe(`${label}: the storage contract`, () => {
    let fixture: ContractFixture;
    let backend: StorageBackend;
    beforeEach(async () => {
      fixture = await create();
      backend = fixture.backend;
    });
    afterEach(async () => {
      await fixture.backend.close();
      await fixture.cleanup?.();
    });

    it("round-trips every file type, each listed under its own type only", async () => {
      const types: FileType[] = ["key", "data", "index", "snapshot", "lock"];
      const saved = new Map<FileType, { name: string; bytes: Buffer }>();
      for (const type of types) {
        const bytes = randomBytes(100 + types.indexOf(type));
        const file = handle(type, `${label} ${type}`);
        await backend.save(file, bytes);
        saved.set(type, { name: file.name, bytes });
      }
      const config = randomBytes(155);
      await backend.save(configHandle, config);

      for (const type of types) {
        const { name, bytes } = saved.get(type)!;
        expect(await backend.load({ type, name })).toEqual(bytes);
        expect(await backend.stat({ type, name })).toEqual({ name, size: bytes.byteLength });
        expect(await listAll(backend, type)).toEqual([{ name, size: bytes.byteLength }]);
      }
      expect(await backend.load(configHandle)).toEqual(config);
      expect(await backend.stat(configHandle)).toEqual({ name: "config", size: 155 });
      expect(await listAll(backend, "config")).toEqual([{ name: "config", size: 155 }]);
      expect(backend.location()).toBeTruthy();
    });

    it("round-trips an empty file and a streamed body; a stream of the wrong size is refused and leaves nothing", async () => {
      const empty = handle("lock", "empty");
      await backend.save(empty, Buffer.alloc(0));
      expect(await backend.load(empty)).toEqual(Buffer.alloc(0));
      expect(await backend.stat(empty)).toEqual({ name: empty.name, size: 0 });

      const bytes = randomBytes(300_000);
      const streamed = handle("data", "streamed");
      await backend.save(streamed, streamOf(bytes));
      expect(await backend.load(streamed)).toEqual(bytes);

      const short = handle("data", "short");
      await expect(backend.save(short, streamOf(bytes, bytes.byteLength + 10))).rejects.toMatchObject({
        code: "SIZE_MISMATCH",
      });
      const long = handle("data", "long");
      await expect(backend.save(long, streamOf(bytes, bytes.byteLength - 10))).rejects.toMatchObject({
        code: "SIZE_MISMATCH",
      });
      await expect(backend.stat(short)).rejects.toMatchObject({ code: "NOT_FOUND" });
      await expect(backend.stat(long)).rejects.toMatchObject({ code: "NOT_FOUND" });
      expect((await listAll(backend, "data")).map((entry) => entry.name)).toEqual([streamed.name]);
    });

    it("loads exact ranges up to the edges and refuses ranges outside the file", async () => {
      const bytes = randomBytes(4096 + 17);
      const file = handle("data", "ranges");
      await backend.save(file, bytes);
      const size = bytes.byteLength;
      const cases: [number | undefined, number | undefined][] = [
        [0, 1],
        [0, size],
        [size - 1, 1],
        [1, size - 1],
        [1000, 2000],
        [size, 0],
        [0, 0],
        [size - 5, undefined],
        [undefined, 10],
        [size, undefined],
      ];
      for (const [offset, length] of cases) {
        const start = offset ?? 0;
        const end = length === undefined ? size : start + length;
        expect(await backend.load(file, { offset, length }), `offset ${offset} length ${length}`).toEqual(
          bytes.subarray(start, end),
        );
        expect(await loadAllChunks(backend, file, { offset, length }), `chunks at ${offset}, ${length}`).toEqual(
          bytes.subarray(start, end),
        );
      }
      for (const [offset, length] of [
        [size, 1],
        [size - 1, 2],
        [0, size + 1],
        [size + 1, undefined],
        [-1, 1],
        [0, -1],
        [0.5, 1],
      ] as const) {
        await expect(backend.load(file, { offset, length }), `offset ${offset} length ${length}`).rejects.toMatchObject(
          {
            code: "INVALID_RANGE",
          },
        );
        await expect(loadAllChunks(backend, file, { offset, length })).rejects.toMatchObject({
          code: "INVALID_RANGE",
        });
      }
    });

    it("hands a large range to loadChunks in order, one piece at a time, and ends with the consumer's own error", async () => {
      const bytes = randomBytes(3 * 1024 * 1024 + 11);
      const file = handle("data", "chunks");
      await backend.save(file, bytes);
      const pieces: Buffer[] = [];
      let consuming = false;
      await backend.loadChunks(
        file,
        async (chunk) => {
          expect(consuming).toBe(false); // the next piece waits for this one
          consuming = true;
          pieces.push(Buffer.from(chunk));
          await new Promise((resolve) => setTimeout(resolve, 1));
          consuming = false;
        },
        { offset: 5, length: bytes.byteLength - 6 },
      );
      expect(Buffer.concat(pieces)).toEqual(bytes.subarray(5, bytes.byteLength - 1));
      const refusal = new Error("the consumer has had enough");
      await expect(
        backend.loadChunks(file, () => {
          throw refusal;
        }),
      ).rejects.toBe(refusal);
      await expect(backend.loadChunks(handle("data", "absent"), () => {})).rejects.toMatchObject({ code: "NOT_FOUND" });
    });

    it("is write-once: a second save of a name is refused and the first content stays", async () => {
      const file = handle("index", "once");
      const first = randomBytes(64);
      await backend.save(file, first);
      await expect(backend.save(file, randomBytes(64))).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
      await expect(backend.save(file, streamOf(randomBytes(32)))).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
      expect(await backend.load(file)).toEqual(first);
      await backend.save(configHandle, Buffer.from("config"));
      await expect(backend.save(configHandle, Buffer.from("other"))).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
      expect(await backend.load(configHandle)).toEqual(Buffer.from("config"));
    });

    it("lets exactly one of several concurrent saves of one name win", async () => {
      const file = handle("snapshot", "race");
      const bodies = Array.from({ length: 4 }, () => randomBytes(50_000));
      const results = await Promise.allSettled(bodies.map((body) => backend.save(file, body)));
      const winners = results.flatMap((result, index) => (result.status === "fulfilled" ? [index] : []));
      expect(winners).toHaveLength(1);
      for (const result of results) {
        if (result.status === "rejected") expect(result.reason).toMatchObject({ code: "ALREADY_EXISTS" });
      }
      expect(await backend.load(file)).toEqual(bodies[winners[0]!]);
      expect(await listAll(backend, "snapshot")).toEqual([{ name: file.name, size: 50_000 }]);
    });

    it("reports missing files as NOT_FOUND, removes idempotently, and accepts a name again after removal", async () => {
      const file = handle("data", "gone");
      await expect(backend.stat(file)).rejects.toMatchObject({ code: "NOT_FOUND" });
      await expect(backend.load(file)).rejects.toMatchObject({ code: "NOT_FOUND" });
      await expect(backend.load(file, { offset: 0, length: 1 })).rejects.toMatchObject({ code: "NOT_FOUND" });
      await expect(backend.stat(configHandle)).rejects.toMatchObject({ code: "NOT_FOUND" });
      expect(await listAll(backend, "config")).toEqual([]);
      await backend.remove(file);

      await backend.save(file, Buffer.from("first"));
      await backend.remove(file);
      await expect(backend.stat(file)).rejects.toMatchObject({ code: "NOT_FOUND" });
      expect(await listAll(backend, "data")).toEqual([]);
      await backend.remove(file);
      await backend.save(file, Buffer.from("second"));
      expect(await backend.load(file)).toEqual(Buffer.from("second"));
    });

    it("lists data spread over many of the 256 sub-folders with their sizes", async () => {
      const files = Array.from({ length: 300 }, (_, index) => ({
        ...handle("data", `spread ${index}`),
        size: index % 7,
      }));
      await pool(files, 16, (file) => backend.save(file, randomBytes(file.size)));
      await backend.save(handle("index", "not data"), Buffer.from("x"));
      const listed = await listAll(backend, "data");
      const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
      expect(listed.sort(byName)).toEqual(files.map(({ name, size }) => ({ name, size })).sort(byName));
      expect(new Set(files.map((file) => file.name.slice(0, 2))).size).toBeGreaterThan(150);
    });

    it("refuses names that are not one path element or that the layout reserves", async () => {
      for (const name of ["", ".", "..", "../config", "a/b", "x-tmp-123", ".hidden", "a\\b", "a"]) {
        const type = name === "a" ? "data" : "index";
        await expect(backend.save({ type, name }, Buffer.from("x")), name).rejects.toMatchObject({
          code: "INVALID_HANDLE",
        });
        await expect(backend.load({ type, name }), name).rejects.toMatchObject({ code: "INVALID_HANDLE" });
      }
      expect(await listAll(backend, "index")).toEqual([]);
    });

    it("stops at once on an aborted signal and stores nothing", async () => {
      const file = handle("data", "aborted");
      const signal = AbortSignal.abort();
      await expect(backend.save(file, randomBytes(10), { signal })).rejects.toMatchObject({ name: "AbortError" });
      await expect(backend.save(file, streamOf(randomBytes(10)), { signal })).rejects.toMatchObject({
        name: "AbortError",
      });
      await expect(backend.stat(file)).rejects.toMatchObject({ code: "NOT_FOUND" });
      await backend.save(file, Buffer.from("kept"));
      await expect(backend.load(file, { signal })).rejects.toMatchObject({ name: "AbortError" });
      await expect(backend.stat(file, { signal })).rejects.toMatchObject({ name: "AbortError" });
      await expect(listAll(backend, "data", { signal })).rejects.toMatchObject({ name: "AbortError" });
      await expect(backend.remove(file, { signal })).rejects.toMatchObject({ name: "AbortError" });
      expect(await backend.load(file)).toEqual(Buffer.from("kept"));
    });

    it("copies caller buffers: changing them after save or load changes nothing stored", async () => {
      const file = handle("key", "copy");
      const bytes = Buffer.from("original");
      await backend.save(file, bytes);
      bytes.fill(0);
      const loaded = await backend.load(file);
      loaded.fill(1);
      expect(await backend.load(file)).toEqual(Buffer.from("original"));
    });
  });
}
