import { sealOverhead } from "../crypto/seal.ts";
import { EngineError } from "../errors.ts";
import type { BlobLocation, RepositoryReader } from "../repository/reader.ts";
import type { TreeNode } from "../tree/node.ts";
import { LoadingCache } from "./loading-cache.ts";

// Reading part of a file in a snapshot without restoring it (a WebDAV client's ranged GET): the file's data blobs
// laid end to end using the index's lengths, so a byte range maps to the few blobs that cover it and only those are
// fetched. Each blob is still verified (MAC and id) by the reader. Recently read blobs are kept, bounded by bytes,
// because clients read a file in many small consecutive ranges.

export type FileLayout = {
  /** The content's length: the sum of its blobs' plaintext lengths (what a restore writes). */
  size: number;
  blobs: { id: string; start: number; length: number }[];
};

/** Where each of a file node's data blobs starts in the file; BLOB_NOT_FOUND when one is not indexed. */
export async function fileLayout(reader: RepositoryReader, node: TreeNode): Promise<FileLayout> {
  return layoutFromIndex(await reader.index(), node);
}

/** fileLayout with the index already at hand (a listing of many files asks for each one's size). */
export function layoutFromIndex(index: Map<string, BlobLocation>, node: TreeNode): FileLayout {
  if (node.type !== "file") throw new EngineError("INVALID_ARGUMENT", `${node.name.toString()} is not a file`);
  const blobs: FileLayout["blobs"] = [];
  let start = 0;
  for (const id of node.content ?? []) {
    const location = index.get(id);
    if (location?.type !== "data") {
      throw new EngineError("BLOB_NOT_FOUND", `data blob ${id} of ${node.name.toString()} is not in the index`);
    }
    const length = location.uncompressedLength ?? location.length - sealOverhead;
    blobs.push({ id, start, length });
    start += length;
  }
  return { size: start, blobs };
}

/** Data blobs by id, the most recently used kept up to `maxBytes` (64 MiB); one load for concurrent asks. */
export class BlobCache {
  readonly #cache: LoadingCache<Buffer>;

  constructor(reader: RepositoryReader, options: { maxBytes?: number } = {}) {
    this.#cache = new LoadingCache(
      (id) => reader.blob("data", id),
      (data) => data.length,
      options.maxBytes ?? 64 * 1024 * 1024,
    );
  }

  /** Blobs loaded from the repository so far (not served from memory), for tests and logs. */
  get loads(): number {
    return this.#cache.loads;
  }

  blob(id: string): Promise<Buffer> {
    return this.#cache.get(id);
  }
}

/**
 * Bytes `start` to `end` (exclusive) of a file, as pieces in order; the next blob is fetched while the current one
 * is consumed. Out-of-range bounds are an INVALID_ARGUMENT.
 */
export async function* readFileRange(
  blobs: BlobCache,
  layout: FileLayout,
  start = 0,
  end = layout.size,
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<Buffer> {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= layout.size)) {
    throw new EngineError("INVALID_ARGUMENT", `bytes ${start}-${end} are outside a file of ${layout.size} bytes`);
  }
  if (start === end) return;
  const needed = layout.blobs.filter((blob) => blob.start < end && blob.start + blob.length > start);
  let next: Promise<Buffer> | undefined = needed[0] ? blobs.blob(needed[0].id) : undefined;
  // A prefetched blob that is never awaited (the consumer stopped) must not become an unhandled rejection.
  next?.catch(() => {});
  for (const [i, blob] of needed.entries()) {
    options.signal?.throwIfAborted();
    const data = await (next as Promise<Buffer>);
    const following = needed[i + 1];
    next = following ? blobs.blob(following.id) : undefined;
    next?.catch(() => {});
    if (data.length !== blob.length) {
      throw new EngineError(
        "MAC_MISMATCH",
        `data blob ${blob.id} is ${data.length} bytes, the index says ${blob.length}`,
      );
    }
    const from = Math.max(start - blob.start, 0);
    const to = Math.min(end - blob.start, blob.length);
    yield from === 0 && to === blob.length ? data : data.subarray(from, to);
  }
}
