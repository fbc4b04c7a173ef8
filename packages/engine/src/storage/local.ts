import { randomBytes } from "node:crypto";
import { type FileHandle as FsFile, link, lstat, mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { freeNow } from "../memory.ts";
import {
  type ChunkConsumer,
  type FileHandle,
  type FileInfo,
  type FileType,
  folderOf,
  isStreamSource,
  type LoadOptions,
  pathOf,
  resolveRange,
  type SaveData,
  type SaveOptions,
  type SignalOptions,
  type StorageBackend,
  sizeMismatch,
} from "./backend.ts";
import type { Bandwidth } from "./bandwidth.ts";
import { classifyError, isAbortError, StorageError } from "./errors.ts";

// A repository in a local (or mounted) folder that restic reads and prunes as its own (restic's
// internal/backend/local): a file is written beside its final name as `<name>-tmp-<random>`, flushed, made
// read-only, then linked into place and the folder flushed, so a crash leaves at most a temporary file, never a
// half-written repository file. link() refuses an existing name, which makes saves write-once even between
// processes (restic renames; the effect for a new name is the same). Permissions follow restic: files 0600 made
// read-only (0400), folders 0700; a group-readable config switches to 0660/0770 for shared repositories.

type Modes = { file: number; dir: number };

const defaultModes: Modes = { file: 0o600, dir: 0o700 };
/**
 * Bytes per write() of a save (and of a restore's files). Not more: on Linux 6.x an 8 MiB write makes ext4 fill
 * large page-cache folios, and on a VM whose free memory the host has reclaimed every such folio is first touched
 * inside the copy. Measured on the CI machine (Firecracker, 6.18), 256 MiB backup: 8 MiB writes spent 1.9 s in
 * write(), 1 MiB writes 0.09 s.
 */
export const writeBytes = 1024 * 1024;
/** Bytes per read() of a load: reads fill no new page-cache folios, so larger steps just mean fewer calls. */
const readBytes = 8 * 1024 * 1024;
/** Bytes per piece of a loadChunks: what its consumer is handed at a time (a restore streams 8 packs at once). */
const chunkBytes = 256 * 1024;
const statConcurrency = 32;

function errnoOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function fsError(error: unknown, what: string): unknown {
  if (isAbortError(error) || error instanceof StorageError) return error;
  const code = errnoOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  switch (code) {
    case "ENOENT":
      return new StorageError("NOT_FOUND", `${what} does not exist`, { cause: error });
    case "EEXIST":
      return new StorageError("ALREADY_EXISTS", `${what} exists already`, { cause: error });
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return new StorageError("ACCESS_DENIED", `${what}: ${detail}; check the folder's owner and permissions`, {
        cause: error,
      });
    case "ENOSPC":
    case "EDQUOT":
      return new StorageError("NO_SPACE", `${what}: ${detail}; free space on the repository's disk`, { cause: error });
  }
  if (classifyError(error) === "transient") {
    return new StorageError("STORAGE_UNAVAILABLE", `${what}: ${detail}`, { cause: error });
  }
  return new StorageError("STORAGE_ERROR", `${what}: ${detail}`, { cause: error });
}

/** fsync, tolerating file systems that cannot (restic ignores ENOTSUP the same way). */
async function syncQuietly(file: FsFile): Promise<void> {
  try {
    await file.sync();
  } catch (error) {
    if (!["EINVAL", "ENOTSUP", "EOPNOTSUPP", "EBADF", "EISDIR"].includes(errnoOf(error) ?? "")) throw error;
  }
}

async function syncDirectory(path: string): Promise<void> {
  let directory: FsFile;
  try {
    directory = await open(path, "r");
  } catch (error) {
    if (["EISDIR", "EACCES", "EPERM"].includes(errnoOf(error) ?? "")) return;
    throw error;
  }
  try {
    await syncQuietly(directory);
  } finally {
    await directory.close();
  }
}

export class LocalBackend implements StorageBackend {
  readonly #root: string;
  #modes: Promise<Modes> | null = null;

  constructor(root: string) {
    this.#root = root;
  }

  location(): string {
    return this.#root;
  }

  /** Derived once from the config file's permissions, as restic's local backend does when it opens a repository. */
  #fileModes(): Promise<Modes> {
    this.#modes ??= stat(join(this.#root, "config")).then(
      (info) => ((info.mode & 0o040) !== 0 ? { file: 0o660, dir: 0o770 } : defaultModes),
      () => defaultModes,
    );
    return this.#modes;
  }

  async save(handle: FileHandle, data: SaveData, options: SaveOptions = {}): Promise<void> {
    const { signal } = options;
    const relative = pathOf(handle);
    signal?.throwIfAborted();
    const target = join(this.#root, relative);
    const folder = dirname(target);
    const modes = await this.#fileModes();
    const temporary = join(folder, `${basename(target)}-tmp-${randomBytes(6).toString("hex")}`);
    let file: FsFile;
    try {
      file = await open(temporary, "wx", modes.file);
    } catch (error) {
      if (errnoOf(error) !== "ENOENT") throw fsError(error, relative);
      // Data folders are made on demand when the layout was not created up front (restic does the same).
      await mkdir(folder, { recursive: true, mode: modes.dir }).catch((mkdirError: unknown) => {
        throw fsError(mkdirError, relative);
      });
      file = await open(temporary, "wx", modes.file).catch((retryError: unknown) => {
        throw fsError(retryError, relative);
      });
    }
    try {
      try {
        await writeBody(file, data, handle, signal, options.bandwidth);
        // Read-only before it gets its final name, so the file is never writable under that name.
        await file.chmod(modes.file & ~0o222);
        await syncQuietly(file);
      } finally {
        await file.close();
      }
      signal?.throwIfAborted();
      try {
        await link(temporary, target);
      } catch (error) {
        const code = errnoOf(error);
        if (code === "EEXIST") throw new StorageError("ALREADY_EXISTS", `${relative} exists already`);
        // File systems without hard links (FAT, some network mounts): check, then rename.
        if (!["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EMLINK"].includes(code ?? "")) throw error;
        await renameIfAbsent(temporary, target, relative);
      }
      await syncDirectory(folder);
    } catch (error) {
      signal?.throwIfAborted();
      throw fsError(error, relative);
    } finally {
      // After link() the temporary is a second name for the file; after rename() it is gone. Either way: unlink.
      await unlink(temporary).catch(() => {});
    }
  }

  async load(handle: FileHandle, options: LoadOptions = {}): Promise<Buffer> {
    const range = await this.#openRange(handle, options);
    try {
      const buffer = Buffer.allocUnsafe(range.end - range.start);
      await range.read(buffer, range.start);
      return buffer;
    } finally {
      await range.close();
    }
  }

  async loadChunks(handle: FileHandle, consume: ChunkConsumer, options: LoadOptions = {}): Promise<void> {
    const range = await this.#openRange(handle, options);
    try {
      const buffer = Buffer.allocUnsafeSlow(Math.min(chunkBytes, range.end - range.start));
      for (let position = range.start; position < range.end; ) {
        const chunk = buffer.subarray(0, Math.min(buffer.length, range.end - position));
        await range.read(chunk, position);
        await consume(chunk); // outside read(): what the consumer throws is its own error, not the file's
        position += chunk.length;
      }
      freeNow(buffer);
    } finally {
      await range.close();
    }
  }

  /** The file open and the range of it resolved; `read` fills a buffer from a position of the file. */
  async #openRange(
    handle: FileHandle,
    options: LoadOptions,
  ): Promise<{
    start: number;
    end: number;
    read: (buffer: Buffer, position: number) => Promise<void>;
    close: () => Promise<void>;
  }> {
    const relative = pathOf(handle);
    const { signal } = options;
    signal?.throwIfAborted();
    let file: FsFile;
    try {
      file = await open(join(this.#root, relative), "r");
    } catch (error) {
      throw fsError(error, relative);
    }
    try {
      const { size } = await file.stat();
      const { start, end } = resolveRange(size, options, handle);
      const read = async (buffer: Buffer, position: number) => {
        try {
          for (let filled = 0; filled < buffer.length; ) {
            signal?.throwIfAborted();
            const step = Math.min(readBytes, buffer.length - filled);
            const { bytesRead } = await file.read(buffer, filled, step, position + filled);
            if (bytesRead === 0) {
              throw new StorageError("TRUNCATED_READ", `${relative} ended after ${position + filled} of ${end} bytes`);
            }
            filled += bytesRead;
          }
        } catch (error) {
          throw fsError(error, relative);
        }
      };
      return { start, end, read, close: () => file.close() };
    } catch (error) {
      await file.close();
      throw fsError(error, relative);
    }
  }

  async stat(handle: FileHandle, options: SignalOptions = {}): Promise<FileInfo> {
    const relative = pathOf(handle);
    options.signal?.throwIfAborted();
    try {
      const info = await stat(join(this.#root, relative));
      return { name: handle.type === "config" ? "config" : handle.name, size: info.size };
    } catch (error) {
      throw fsError(error, relative);
    }
  }

  async *list(type: FileType, options: SignalOptions = {}): AsyncIterable<FileInfo> {
    const { signal } = options;
    signal?.throwIfAborted();
    if (type === "config") {
      try {
        yield await this.stat({ type: "config", name: "config" }, options);
      } catch (error) {
        if (!(error instanceof StorageError && error.code === "NOT_FOUND")) throw error;
      }
      return;
    }
    const base = join(this.#root, folderOf(type));
    const folders =
      type === "data" ? (await this.#entries(base, "directories")).map((name) => join(base, name)) : [base];
    for (const folder of folders) {
      const names = await this.#entries(folder, "files");
      for (let i = 0; i < names.length; i += statConcurrency) {
        signal?.throwIfAborted();
        const batch = names.slice(i, i + statConcurrency);
        const sizes = await Promise.all(
          batch.map((name) =>
            stat(join(folder, name)).then(
              (info) => info.size,
              (error: unknown) => {
                // Removed between readdir and stat (a concurrent prune): not part of the listing any more.
                if (errnoOf(error) === "ENOENT") return -1;
                throw fsError(error, join(folder, name));
              },
            ),
          ),
        );
        for (const [index, name] of batch.entries()) {
          const size = sizes[index]!;
          if (size >= 0) yield { name, size };
        }
      }
    }
  }

  /** Names in a folder: complete regular files (temporaries skipped), or sub-folders; a missing folder is empty. */
  async #entries(folder: string, kind: "files" | "directories"): Promise<string[]> {
    try {
      const entries = await readdir(folder, { withFileTypes: true });
      return entries
        .filter((entry) =>
          kind === "directories" ? entry.isDirectory() : entry.isFile() && !entry.name.includes("-tmp-"),
        )
        .map((entry) => entry.name);
    } catch (error) {
      if (errnoOf(error) === "ENOENT") return [];
      throw fsError(error, folder);
    }
  }

  async remove(handle: FileHandle, options: SignalOptions = {}): Promise<void> {
    const relative = pathOf(handle);
    options.signal?.throwIfAborted();
    try {
      // Read-only files are removable: deleting needs write permission on the folder only (POSIX).
      await unlink(join(this.#root, relative));
    } catch (error) {
      if (errnoOf(error) === "ENOENT") return;
      throw fsError(error, relative);
    }
  }

  async close(): Promise<void> {}
}

/** Writes the body, paced by the upload limit when there is one (a repository on a network share). */
async function writeBody(
  file: FsFile,
  data: SaveData,
  handle: FileHandle,
  signal: AbortSignal | undefined,
  bandwidth: Bandwidth | undefined,
): Promise<void> {
  if (!isStreamSource(data)) {
    await writeBytesOf(file, data, signal, bandwidth);
    return;
  }
  const stream = data.open();
  let total = 0;
  try {
    for await (const chunk of stream) {
      signal?.throwIfAborted();
      const bytes: Buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      total += bytes.byteLength;
      if (total > data.size) throw sizeMismatch(handle, data.size, total);
      await writeBytesOf(file, bytes, signal, bandwidth);
    }
  } finally {
    stream.destroy();
  }
  signal?.throwIfAborted();
  if (total !== data.size) throw sizeMismatch(handle, data.size, total);
}

/** Appends `data` in steps of at most writeBytes (and of the bandwidth limit's slice). */
async function writeBytesOf(
  file: FsFile,
  data: Uint8Array,
  signal: AbortSignal | undefined,
  bandwidth: Bandwidth | undefined,
): Promise<void> {
  for (let offset = 0; offset < data.byteLength; ) {
    signal?.throwIfAborted();
    const step = Math.min(writeBytes, bandwidth?.sliceSize() ?? writeBytes, data.byteLength - offset);
    await bandwidth?.take(step, signal);
    const { bytesWritten } = await file.write(data, offset, step);
    offset += bytesWritten;
  }
}

async function renameIfAbsent(temporary: string, target: string, relative: string): Promise<void> {
  const exists = await lstat(target).then(
    () => true,
    (error: unknown) => {
      if (errnoOf(error) === "ENOENT") return false;
      throw error;
    },
  );
  if (exists) throw new StorageError("ALREADY_EXISTS", `${relative} exists already`);
  await rename(temporary, target);
}

/**
 * Creates restic's folder layout up front, as `restic init` does: keys, snapshots, index, locks and the 256 data
 * folders `data/00`…`data/ff` (0700, like restic's).
 */
export async function createLocalLayout(root: string): Promise<void> {
  const mode = defaultModes.dir;
  await mkdir(root, { recursive: true, mode });
  for (const folder of ["keys", "snapshots", "index", "locks"])
    await mkdir(join(root, folder), { recursive: true, mode });
  for (let i = 0; i < 256; i++) {
    await mkdir(join(root, "data", i.toString(16).padStart(2, "0")), { recursive: true, mode });
  }
}
