import { randomBytes } from "node:crypto";
import { link, mkdir, open, readdir, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  type ByteRange,
  type FileHandle,
  type FileType,
  folderOf,
  pathOf,
  type StorageBackend,
  StorageError,
} from "./backend.ts";

// A repository in a local (or mounted network) folder, readable by restic. A file is written under a temporary
// name, flushed to disk, then linked into place: link() fails if the name exists, so saves are write-once even
// between processes, and a crash leaves at most a temporary file, never a half-written repository file.

function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

export class LocalBackend implements StorageBackend {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  location(): string {
    return this.#root;
  }

  #path(handle: FileHandle): string {
    return join(this.#root, pathOf(handle));
  }

  async save(handle: FileHandle, data: Uint8Array): Promise<void> {
    const target = this.#path(handle);
    await mkdir(dirname(target), { recursive: true });
    const temporary = join(dirname(target), `.tmp-${randomBytes(8).toString("hex")}`);
    // Repository files are read-only once written, as restic's are (the folder stays writable for prune).
    const file = await open(temporary, "wx", 0o400);
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await link(temporary, target);
    } catch (error) {
      if (isErrno(error, "EEXIST")) throw new StorageError("ALREADY_EXISTS", `${pathOf(handle)} exists already`);
      throw error;
    } finally {
      await unlink(temporary).catch(() => {});
    }
  }

  async load(handle: FileHandle, range?: ByteRange): Promise<Buffer> {
    let file: Awaited<ReturnType<typeof open>>;
    try {
      file = await open(this.#path(handle), "r");
    } catch (error) {
      if (isErrno(error, "ENOENT")) throw new StorageError("NOT_FOUND", `${pathOf(handle)} does not exist`);
      throw error;
    }
    try {
      if (!range) return await file.readFile();
      const buffer = Buffer.alloc(range.length);
      const { bytesRead } = await file.read(buffer, 0, range.length, range.offset);
      if (bytesRead !== range.length) {
        throw new StorageError("NOT_FOUND", `${pathOf(handle)} is shorter than the requested range`);
      }
      return buffer;
    } finally {
      await file.close();
    }
  }

  async stat(handle: FileHandle): Promise<{ size: number }> {
    try {
      return { size: (await stat(this.#path(handle))).size };
    } catch (error) {
      if (isErrno(error, "ENOENT")) throw new StorageError("NOT_FOUND", `${pathOf(handle)} does not exist`);
      throw error;
    }
  }

  async *list(type: Exclude<FileType, "config">): AsyncIterable<{ name: string; size: number }> {
    const folder = join(this.#root, folderOf(type));
    const folders =
      type === "data" ? (await readdir(folder).catch(() => [])).map((sub) => join(folder, sub)) : [folder];
    for (const current of folders) {
      const entries = await readdir(current, { withFileTypes: true }).catch((error: unknown) => {
        if (isErrno(error, "ENOENT")) return [];
        throw error;
      });
      for (const entry of entries) {
        if (!entry.isFile() || entry.name.startsWith(".tmp-")) continue;
        yield { name: entry.name, size: (await stat(join(current, entry.name))).size };
      }
    }
  }

  async remove(handle: FileHandle): Promise<void> {
    try {
      await unlink(this.#path(handle));
    } catch (error) {
      if (isErrno(error, "ENOENT")) throw new StorageError("NOT_FOUND", `${pathOf(handle)} does not exist`);
      throw error;
    }
  }
}

/** Creates restic's folder layout up front (restic's local backend does the same on init). */
export async function createLocalLayout(root: string): Promise<void> {
  for (const folder of ["keys", "snapshots", "index", "locks"]) await mkdir(join(root, folder), { recursive: true });
  for (let i = 0; i < 256; i++) await mkdir(join(root, "data", i.toString(16).padStart(2, "0")), { recursive: true });
}
