// The one narrow interface every storage speaks (restic's backend: save / load / stat / list / remove). Files are
// write-once; a repository is a set of named files by type, laid out as restic lays them out.

export type FileType = "config" | "key" | "data" | "index" | "snapshot" | "lock";
export type FileHandle = { type: FileType; name: string };
export type ByteRange = { offset: number; length: number };

export interface StorageBackend {
  /** Where the repository lives, for messages. */
  location(): string;
  /** Stores a new file; refuses to overwrite one (ALREADY_EXISTS). Readers never see it half-written. */
  save(handle: FileHandle, data: Uint8Array): Promise<void>;
  load(handle: FileHandle, range?: ByteRange): Promise<Buffer>;
  stat(handle: FileHandle): Promise<{ size: number }>;
  list(type: Exclude<FileType, "config">): AsyncIterable<{ name: string; size: number }>;
  remove(handle: FileHandle): Promise<void>;
}

export class StorageError extends Error {
  readonly code: "NOT_FOUND" | "ALREADY_EXISTS" | "STORAGE_UNAVAILABLE";
  constructor(code: StorageError["code"], message: string) {
    super(message);
    this.name = "StorageError";
    this.code = code;
  }
}

const folders: Record<Exclude<FileType, "config">, string> = {
  key: "keys",
  data: "data",
  index: "index",
  snapshot: "snapshots",
  lock: "locks",
};

/** restic's layout: `config`, `keys/<id>`, `data/<id[0:2]>/<id>`, `index/<id>`, `snapshots/<id>`, `locks/<id>`. */
export function pathOf(handle: FileHandle): string {
  if (handle.type === "config") return "config";
  if (handle.type === "data") return `data/${handle.name.slice(0, 2)}/${handle.name}`;
  return `${folders[handle.type]}/${handle.name}`;
}

/** The inverse of pathOf, for code that names files by path. */
export function handleOf(path: string): FileHandle {
  if (path === "config") return { type: "config", name: "config" };
  const [folder, ...rest] = path.split("/");
  const type = (Object.entries(folders).find(([, name]) => name === folder)?.[0] ?? null) as FileType | null;
  const name = rest.at(-1);
  if (!type || !name) throw new StorageError("NOT_FOUND", `${path} is not a repository file path`);
  return { type, name };
}

export function folderOf(type: Exclude<FileType, "config">): string {
  return folders[type];
}
