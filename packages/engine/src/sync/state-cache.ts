import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { md5FromEtag } from "./rclone-meta.ts";

// What a sync remembers about a destination between runs, in one folder on the machine that syncs:
//
// - Objects: the mtime and MD5 read from each object's metadata, stored with the object's size, ETag and
//   Last-Modified. rclone HEADs every object on every run to learn its mtime; we HEAD only objects whose listed
//   (size, ETag, Last-Modified) differ from what we saw, because any rewrite or metadata change (a self-copy
//   included) gives a new Last-Modified. The cache is checked against every listing, never trusted blindly; a
//   missing or unreadable cache costs only HEADs.
// - Open multipart uploads: written down before the first part goes up and crossed out when completed or
//   aborted, so the next run aborts exactly the uploads a killed run left behind, and nobody else's.

export type CachedObject = { size: number; etag: string; lastModifiedMs: number; mtime: string; md5?: string };

type CacheEntry = [size: number, etag: string, lastModifiedMs: number, mtime: string, md5: string | null];

// Checked by hand, not with zod: a cache holds one entry per object, and a schema run over hundreds of thousands
// of tuples costs more time and memory than the HEADs the cache saves. Anything unexpected discards the cache.
function isEntry(value: unknown): value is CacheEntry {
  return (
    Array.isArray(value) &&
    value.length === 5 &&
    typeof value[0] === "number" &&
    typeof value[1] === "string" &&
    typeof value[2] === "number" &&
    typeof value[3] === "string" &&
    (value[4] === null || typeof value[4] === "string")
  );
}

const uploadsSchema = z.array(z.object({ key: z.string(), uploadId: z.string() }));

export type OpenUpload = z.infer<typeof uploadsSchema>[number];

export class StateCache {
  readonly #file: string | undefined;
  readonly #uploadsFile: string | undefined;
  readonly #location: string;
  readonly #objects = new Map<string, CachedObject>();
  /** Whether the objects changed since loading (an unchanged re-sync writes nothing). */
  #dirty = false;
  readonly #uploads = new Map<string, OpenUpload>();
  #uploadsWrite: Promise<void> = Promise.resolve();

  private constructor(folder: string | undefined, location: string) {
    this.#location = location;
    if (folder) {
      const id = createHash("sha256").update(location).digest("hex").slice(0, 32);
      this.#file = join(folder, `${id}.objects.json`);
      this.#uploadsFile = join(folder, `${id}.uploads.json`);
    }
  }

  /** The state of `location` kept in `folder`; without a folder, a cache that remembers nothing. */
  static async open(folder: string | undefined, location: string): Promise<StateCache> {
    const cache = new StateCache(folder, location);
    if (!folder) return cache;
    await mkdir(folder, { recursive: true });
    const document = (await readJson(cache.#file!)) as { version?: unknown; location?: unknown; objects?: unknown };
    // Another location hashing to the same name, or an older format: start afresh (HEADs, not wrong answers).
    if (document?.version === 1 && document.location === location && typeof document.objects === "object") {
      // One pass, no list of [path, entry] pairs beside the parsed document (a second copy of the cache).
      const objects = (document.objects ?? {}) as Record<string, unknown>;
      for (const path in objects) {
        const entry = objects[path];
        if (!isEntry(entry)) {
          cache.#objects.clear();
          break;
        }
        const [size, etag, lastModifiedMs, mtime, md5] = entry;
        cache.#objects.set(
          path,
          md5 ? { size, etag, lastModifiedMs, mtime, md5 } : { size, etag, lastModifiedMs, mtime },
        );
      }
    }
    const uploads = uploadsSchema.safeParse(await readJson(cache.#uploadsFile!));
    if (uploads.success) for (const upload of uploads.data) cache.#uploads.set(upload.uploadId, upload);
    return cache;
  }

  /** The cached facts, when the object is still the one they were read from. */
  lookup(path: string, listed: { size: number; etag: string; lastModifiedMs: number }): CachedObject | undefined {
    const cached = this.#objects.get(path);
    if (
      !cached ||
      cached.size !== listed.size ||
      cached.etag !== listed.etag ||
      cached.lastModifiedMs !== listed.lastModifiedMs
    )
      return undefined;
    return cached;
  }

  remember(path: string, given: CachedObject): void {
    // An MD5 the ETag already spells (single-part uploads) is not kept twice.
    const { md5, ...rest } = given;
    const object: CachedObject = md5 === undefined || md5 === md5FromEtag(given.etag) ? rest : given;
    const known = this.#objects.get(path);
    if (
      known?.size === object.size &&
      known.etag === object.etag &&
      known.lastModifiedMs === object.lastModifiedMs &&
      known.mtime === object.mtime &&
      known.md5 === object.md5
    )
      return;
    this.#objects.set(path, object);
    this.#dirty = true;
  }

  forget(path: string): void {
    this.#dirty = this.#objects.delete(path) || this.#dirty;
  }

  /** Keeps only the paths in `present` (objects deleted by anyone drop out). */
  retain(present: (path: string) => boolean): void {
    for (const path of this.#objects.keys()) if (!present(path)) this.forget(path);
  }

  async save(): Promise<void> {
    if (!this.#file || !this.#dirty) return;
    this.#dirty = false;
    await writeAtomically(this.#file, this.#document());
  }

  /**
   * The same JSON as `JSON.stringify({ version, location, objects })`, written a thousand entries at a time: the
   * objects record and the whole document as one string were two more copies of the cache at the sync's end.
   */
  async *#document(): AsyncGenerator<string> {
    yield `{"version":1,"location":${JSON.stringify(this.#location)},"objects":{`;
    let chunk = "";
    let count = 0;
    for (const [path, entry] of this.#objects) {
      const tuple: CacheEntry = [entry.size, entry.etag, entry.lastModifiedMs, entry.mtime, entry.md5 ?? null];
      chunk += `${count === 0 ? "" : ","}${JSON.stringify(path)}:${JSON.stringify(tuple)}`;
      if (++count % 1000 === 0) {
        yield chunk;
        chunk = "";
      }
    }
    yield `${chunk}}}`;
  }

  openUploads(): OpenUpload[] {
    return [...this.#uploads.values()];
  }

  /** Resolves once the upload is on disk, so a kill right after still finds it next time. */
  uploadStarted(upload: OpenUpload): Promise<void> {
    this.#uploads.set(upload.uploadId, upload);
    return this.#writeUploads();
  }

  uploadEnded(uploadId: string): Promise<void> {
    this.#uploads.delete(uploadId);
    return this.#writeUploads();
  }

  #writeUploads(): Promise<void> {
    const file = this.#uploadsFile;
    if (!file) return Promise.resolve();
    // Serialized: the last write holds the latest set.
    this.#uploadsWrite = this.#uploadsWrite.then(() =>
      writeAtomically(file, JSON.stringify([...this.#uploads.values()])),
    );
    return this.#uploadsWrite;
  }
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, "utf8"));
  } catch {
    return undefined;
  }
}

async function writeAtomically(file: string, text: string | AsyncIterable<string>): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}
