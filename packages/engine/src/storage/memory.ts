import {
  type ChunkConsumer,
  type FileHandle,
  type FileInfo,
  type FileType,
  type LoadOptions,
  pathOf,
  readSaveData,
  resolveRange,
  type SaveData,
  type SaveOptions,
  type SignalOptions,
  type StorageBackend,
} from "./backend.ts";
import { StorageError } from "./errors.ts";

// A repository in a Map, for fast tests of the layers above (restic's mem backend plays the same part). Bytes are
// copied on the way in and out, so a caller mutating its buffer cannot change a stored file.

export class MemoryBackend implements StorageBackend {
  readonly #files = new Map<string, { handle: FileHandle; bytes: Buffer }>();

  location(): string {
    return "memory:";
  }

  async save(handle: FileHandle, data: SaveData, options: SaveOptions = {}): Promise<void> {
    const path = pathOf(handle);
    if (this.#files.has(path)) throw new StorageError("ALREADY_EXISTS", `${path} exists already`);
    const bytes = Buffer.from(await readSaveData(data, handle, options.signal));
    options.signal?.throwIfAborted();
    // A concurrent save of the same name may have finished while this body was read.
    if (this.#files.has(path)) throw new StorageError("ALREADY_EXISTS", `${path} exists already`);
    this.#files.set(path, {
      handle: { type: handle.type, name: handle.type === "config" ? "config" : handle.name },
      bytes,
    });
  }

  async load(handle: FileHandle, options: LoadOptions = {}): Promise<Buffer> {
    options.signal?.throwIfAborted();
    const bytes = this.#get(handle);
    const { start, end } = resolveRange(bytes.byteLength, options, handle);
    return Buffer.from(bytes.subarray(start, end));
  }

  async loadChunks(handle: FileHandle, consume: ChunkConsumer, options: LoadOptions = {}): Promise<void> {
    await consume(await this.load(handle, options));
  }

  async stat(handle: FileHandle, options: SignalOptions = {}): Promise<FileInfo> {
    options.signal?.throwIfAborted();
    return { name: handle.type === "config" ? "config" : handle.name, size: this.#get(handle).byteLength };
  }

  async *list(type: FileType, options: SignalOptions = {}): AsyncIterable<FileInfo> {
    // A snapshot of the names, so saves and removes during the iteration do not disturb it.
    const entries = [...this.#files.values()].filter((file) => file.handle.type === type);
    for (const { handle, bytes } of entries) {
      options.signal?.throwIfAborted();
      yield { name: handle.name, size: bytes.byteLength };
    }
  }

  async remove(handle: FileHandle, options: SignalOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    this.#files.delete(pathOf(handle));
  }

  async close(): Promise<void> {}

  #get(handle: FileHandle): Buffer {
    const path = pathOf(handle);
    const file = this.#files.get(path);
    if (!file) throw new StorageError("NOT_FOUND", `${path} does not exist`);
    return file.bytes;
  }
}
