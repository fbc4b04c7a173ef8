import { createHash } from "node:crypto";
import type { CryptoKey } from "../crypto/seal.ts";
import { EngineError } from "../errors.ts";
import { LoadingCache } from "../snapshots/loading-cache.ts";
import type { StorageBackend } from "../storage/backend.ts";
import { decodeTree, type TreeNode } from "../tree/tree-json.ts";
import { decodeBlob } from "./blob-decode.ts";
import type { BlobIdTable } from "./blob-ids.ts";
import { parseIndex } from "./index-file.ts";
import type { BlobType, PackedBlob } from "./pack.ts";
import { parseSnapshot, type Snapshot } from "./snapshot.ts";
import { decodeUnpacked } from "./unpacked.ts";

// Reading a repository, ours or restic's: snapshots, the index, and blobs, each verified against its id so a
// damaged byte is reported, never returned.

export type BlobLocation = PackedBlob & { pack: string };

// Tree blobs are read a segment of their pack at a time, and segments are kept a while: a walk over a snapshot asks
// for its trees one by one (restore planning, a re-backup reading its parent, listing), and they sit together in a
// few packs. One ranged read per tree cost 1 000 reads for 1 000 folders, each an open/stat/read/close locally or a
// request on S3; now it is one per MiB of trees.
const treeSegmentBytes = 1024 * 1024;
const treeSegmentsKept = 32 * 1024 * 1024;

/** The segment a blob starts in, as `pack:segment`. */
function segmentOf(location: BlobLocation): string {
  return `${location.pack}:${Math.floor(location.offset / treeSegmentBytes)}`;
}

/** Where the tree blobs starting in one segment of a pack lie: from the first one's start to the last one's end. */
type SegmentExtent = { pack: string; start: number; end: number };

export type ReaderOptions = {
  /**
   * Where the index's data blobs go, as ids only: the reader then keeps locations of tree blobs alone and reads no
   * data blob. For a backup, which needs the ids of data blobs but never their bytes: a location costs ~190 bytes of
   * heap per blob, an id in the table 43-85 (a 32-byte slot, the table 3/8 to 3/4 full): for a million blobs 200 MiB
   * against 64.
   */
  dataBlobIds?: BlobIdTable;
};

export class RepositoryReader {
  readonly #key: CryptoKey;
  readonly #storage: StorageBackend;
  readonly #dataBlobIds: BlobIdTable | undefined;
  #index: Map<string, BlobLocation> | null = null;
  /** Tree segments by `pack:segment`, built from the index on the first tree read. */
  #treeSegments: Map<string, SegmentExtent> | null = null;
  readonly #segmentCache: LoadingCache<Buffer>;

  constructor(key: CryptoKey, storage: StorageBackend, options: ReaderOptions = {}) {
    this.#key = key;
    this.#storage = storage;
    this.#dataBlobIds = options.dataBlobIds;
    this.#segmentCache = new LoadingCache(
      (segment) => this.#loadSegment(segment),
      (bytes) => bytes.length,
      treeSegmentsKept,
    );
  }

  async snapshots(): Promise<(Snapshot & { id: string })[]> {
    const snapshots = [];
    for await (const { name: id } of this.#storage.list("snapshot")) {
      const sealed = await this.#storage.load({ type: "snapshot", name: id });
      verifyStorageId(sealed, id, `snapshot ${id}`);
      snapshots.push({ id, ...parseSnapshot(decodeUnpacked(this.#key, sealed, `snapshot ${id}`)) });
    }
    return snapshots.sort((a, b) => a.time.localeCompare(b.time));
  }

  /**
   * Every index file merged: blob id → where it lives (tree blobs only with `dataBlobIds`). Loaded once, after the
   * snapshots (restic's read order).
   */
  async index(): Promise<Map<string, BlobLocation>> {
    if (this.#index) return this.#index;
    const index = new Map<string, BlobLocation>();
    for await (const { name } of this.#storage.list("index")) {
      const sealed = await this.#storage.load({ type: "index", name });
      verifyStorageId(sealed, name, `index ${name}`);
      for (const pack of parseIndex(decodeUnpacked(this.#key, sealed, `index ${name}`))) {
        for (const blob of pack.blobs) {
          if (blob.type === "data" && this.#dataBlobIds) this.#dataBlobIds.add(blob.id);
          else index.set(blob.id, { ...blob, pack: pack.id });
        }
      }
    }
    this.#index = index;
    return index;
  }

  /** A blob's plaintext, fetched by range from its pack, authenticated, decompressed and checked against its id. */
  async blob(type: BlobType, id: string): Promise<Buffer> {
    if (type === "data" && this.#dataBlobIds)
      throw new Error("this reader keeps the ids of data blobs, not where they are");
    const location = (await this.index()).get(id);
    if (!location || location.type !== type) {
      throw new EngineError("BLOB_NOT_FOUND", `${type} blob ${id} is not in the repository's index`);
    }
    if (type === "tree") {
      const segment = segmentOf(location);
      const extent = (await this.#segments()).get(segment);
      if (extent) {
        const bytes = await this.#segmentCache.get(segment);
        const at = location.offset - extent.start;
        return decodeBlob(this.#key, id, location, bytes.subarray(at, at + location.length));
      }
    }
    const sealed = await this.#storage.load(
      { type: "data", name: location.pack },
      { offset: location.offset, length: location.length },
    );
    return decodeBlob(this.#key, id, location, sealed);
  }

  async #segments(): Promise<Map<string, SegmentExtent>> {
    if (this.#treeSegments) return this.#treeSegments;
    const segments = new Map<string, SegmentExtent>();
    for (const location of (await this.index()).values()) {
      if (location.type !== "tree") continue;
      const key = segmentOf(location);
      const end = location.offset + location.length;
      const extent = segments.get(key);
      if (!extent) segments.set(key, { pack: location.pack, start: location.offset, end });
      else {
        extent.start = Math.min(extent.start, location.offset);
        extent.end = Math.max(extent.end, end);
      }
    }
    this.#treeSegments = segments;
    return segments;
  }

  async #loadSegment(segment: string): Promise<Buffer> {
    const { pack, start, end } = (await this.#segments()).get(segment)!;
    return this.#storage.load({ type: "data", name: pack }, { offset: start, length: end - start });
  }

  async tree(id: string): Promise<TreeNode[]> {
    return decodeTree(await this.blob("tree", id));
  }
}

function verifyStorageId(bytes: Uint8Array, name: string, what: string): void {
  if (createHash("sha256").update(bytes).digest("hex") !== name) {
    throw new EngineError("MAC_MISMATCH", `${what} is damaged: its content does not match its name`);
  }
}
