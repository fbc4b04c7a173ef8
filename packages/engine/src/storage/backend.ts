import type { Readable } from "node:stream";
import type { Bandwidth } from "./bandwidth.ts";
import { StorageError } from "./errors.ts";

// The one narrow interface every storage speaks, restic's backend (save / load / stat / list / remove): a
// repository is a set of write-once files named by type, laid out as restic lays them out (engine-reference §1.1).
// Repository code never sees paths, buckets or sockets; retries and fault injection are wrappers around this.

export { isStorageError, StorageError, type StorageErrorCode } from "./errors.ts";

export type FileType = "config" | "key" | "data" | "index" | "snapshot" | "lock";
export type FileHandle = { type: FileType; name: string };
export type FileInfo = { name: string; size: number };
export type ByteRange = { offset: number; length: number };

/** A body too large to hold in memory: `open` is called once per attempt, so a retry re-reads it from the start. */
export type StreamSource = { size: number; open: () => Readable };
export type SaveData = Uint8Array | StreamSource;

export type SignalOptions = { signal?: AbortSignal };
/** `bandwidth` paces the bytes as they leave (a backup's upload limit); backends that cannot pace ignore it. */
export type SaveOptions = SignalOptions & { bandwidth?: Bandwidth | undefined };
/** `offset` defaults to 0; without `length` the load runs to the end of the file. */
export type LoadOptions = SignalOptions & { offset?: number; length?: number };
/**
 * Takes the next bytes of a loadChunks, in order. The next chunk waits for the promise it returns (backpressure);
 * the chunk's memory is the backend's again once that settles, so keep a copy, not the chunk.
 */
export type ChunkConsumer = (chunk: Uint8Array) => void | Promise<void>;

export interface StorageBackend {
  /** Where the repository lives, for messages (never credentials). */
  location(): string;
  /**
   * Stores a new file. Write-once: an existing name is refused with ALREADY_EXISTS. Atomic: readers and listings
   * see the whole file or nothing, also after a crash or an abort.
   */
  save(handle: FileHandle, data: SaveData, options?: SaveOptions): Promise<void>;
  /** The file, or exactly `length` bytes at `offset` (INVALID_RANGE if they are not all inside the file). */
  load(handle: FileHandle, options?: LoadOptions): Promise<Buffer>;
  /**
   * The bytes `load` would return, handed to `consume` a piece at a time as they arrive instead of gathered into one
   * buffer: a reader of whole packs (a restore) holds only what it has not yet dealt with. TRUNCATED_READ when the
   * bytes end early; an error `consume` throws ends the load with that error.
   */
  loadChunks(handle: FileHandle, consume: ChunkConsumer, options?: LoadOptions): Promise<void>;
  /** The file's size; NOT_FOUND when it does not exist. */
  stat(handle: FileHandle, options?: SignalOptions): Promise<FileInfo>;
  /** Every complete file of one type, in no particular order. */
  list(type: FileType, options?: SignalOptions): AsyncIterable<FileInfo>;
  /** Deletes a file; a file that is already gone is not an error (a retried or concurrent delete succeeds). */
  remove(handle: FileHandle, options?: SignalOptions): Promise<void>;
  /** Releases connections; the backend is not used afterwards. */
  close(): Promise<void>;
}

const folders: Record<Exclude<FileType, "config">, string> = {
  key: "keys",
  data: "data",
  index: "index",
  snapshot: "snapshots",
  lock: "locks",
};

export const configHandle: FileHandle = { type: "config", name: "config" };

/**
 * A name a storage can hold as one path element: no separators, no leading dot, and never restic's temporary-file
 * marker `-tmp-` (the local backend writes `<name>-tmp-<random>` beside the final file, as restic does).
 */
const namePattern = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

export function checkHandle(handle: FileHandle): void {
  if (handle.type === "config") return;
  if (!(handle.type in folders)) {
    throw new StorageError("INVALID_HANDLE", `unknown file type ${JSON.stringify(handle.type)}`);
  }
  const { name } = handle;
  if (!namePattern.test(name) || name.includes("-tmp-") || (handle.type === "data" && name.length < 2)) {
    throw new StorageError("INVALID_HANDLE", `${JSON.stringify(name)} is not a valid ${handle.type} file name`);
  }
}

/** restic's layout: `config`, `keys/<id>`, `data/<id[0:2]>/<id>`, `index/<id>`, `snapshots/<id>`, `locks/<id>`. */
export function pathOf(handle: FileHandle): string {
  checkHandle(handle);
  if (handle.type === "config") return "config";
  if (handle.type === "data") return `data/${handle.name.slice(0, 2)}/${handle.name}`;
  return `${folders[handle.type]}/${handle.name}`;
}

/** The inverse of pathOf, for code that names files by path. */
export function handleOf(path: string): FileHandle {
  if (path === "config") return configHandle;
  const parts = path.split("/");
  const type = (Object.keys(folders) as Exclude<FileType, "config">[]).find((key) => folders[key] === parts[0]);
  const name = parts.at(-1) ?? "";
  const expectedParts = type === "data" ? 3 : 2;
  if (!type || parts.length !== expectedParts || (type === "data" && parts[1] !== name.slice(0, 2))) {
    throw new StorageError("INVALID_HANDLE", `${path} is not a repository file path`);
  }
  const handle = { type, name };
  checkHandle(handle);
  return handle;
}

export function folderOf(type: Exclude<FileType, "config">): string {
  return folders[type];
}

/** For messages: `data/ab/ab12…` style, without failing on a bad handle. */
export function describeHandle(handle: FileHandle): string {
  try {
    return pathOf(handle);
  } catch {
    return `${handle.type} ${JSON.stringify(handle.name)}`;
  }
}

export function isStreamSource(data: SaveData): data is StreamSource {
  return !(data instanceof Uint8Array);
}

export function sizeOf(data: SaveData): number {
  return isStreamSource(data) ? data.size : data.byteLength;
}

/**
 * Which bytes of a file of `size` bytes a load asks for, or INVALID_RANGE. Offsets and lengths are whole numbers;
 * the range must lie inside the file (readers know exact lengths from the index; a short answer would hide a bug).
 */
export function resolveRange(size: number, options: LoadOptions, handle: FileHandle): { start: number; end: number } {
  const start = options.offset ?? 0;
  const length = options.length ?? size - start;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 0) {
    throw new StorageError(
      "INVALID_RANGE",
      `invalid range (offset ${options.offset}, length ${options.length}) for ${describeHandle(handle)}`,
    );
  }
  if (start + length > size) {
    throw new StorageError(
      "INVALID_RANGE",
      `${describeHandle(handle)} has ${size} bytes; bytes ${start}..${start + length} were asked for`,
    );
  }
  return { start, end: start + length };
}

/** Reads a whole save body into memory, insisting on the declared size. */
export async function readSaveData(data: SaveData, handle: FileHandle, signal?: AbortSignal): Promise<Buffer> {
  if (!isStreamSource(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const stream = data.open();
  // Filled as the chunks arrive, so the body is in memory once, not as chunks and again as their concatenation.
  const body = Buffer.allocUnsafeSlow(data.size);
  let total = 0;
  const onAbort = () => stream.destroy(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    for await (const chunk of stream) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
      if (total + bytes.byteLength > data.size) {
        total += bytes.byteLength;
        break;
      }
      bytes.copy(body, total);
      total += bytes.byteLength;
    }
  } catch (error) {
    signal?.throwIfAborted();
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    stream.destroy();
  }
  signal?.throwIfAborted();
  if (total !== data.size) throw sizeMismatch(handle, data.size, total);
  return body;
}

export function sizeMismatch(handle: FileHandle, declared: number, actual: number): StorageError {
  return new StorageError(
    "SIZE_MISMATCH",
    `the body for ${describeHandle(handle)} was declared as ${declared} bytes but ${actual > declared ? "has more" : `had ${actual}`}`,
  );
}

/** Every entry of one type, for callers that want an array. */
export async function listAll(
  backend: StorageBackend,
  type: FileType,
  options: SignalOptions = {},
): Promise<FileInfo[]> {
  const entries: FileInfo[] = [];
  for await (const entry of backend.list(type, options)) entries.push(entry);
  return entries;
}

/** A promise that resolves after `ms`, or rejects with the signal's reason when it fires first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
