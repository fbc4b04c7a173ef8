import { createHash } from "node:crypto";
import type { CryptoKey } from "../crypto/seal.ts";
import { freeNow } from "../memory.ts";
import type { StorageBackend } from "../storage/backend.ts";
import { Semaphore } from "../storage/semaphore.ts";
import { BlobIdTable } from "./blob-ids.ts";
import {
  type BlobSealer,
  blobId,
  type CompressionLevel,
  inlineSealer,
  type SealedBlob,
  sealBlob,
} from "./blob-sealer.ts";
import { type IndexedPack, indexDocument } from "./index-file.ts";
import type { BlobType } from "./pack.ts";
import { type Snapshot, snapshotDocument } from "./snapshot.ts";
import { StagedPack } from "./staged-pack.ts";
import { encodeUnpacked } from "./unpacked.ts";

// Writes blobs into packs (data and tree blobs never share a pack), then index files naming them, then snapshots:
// the order that keeps a repository valid at every step (engine-reference §1.13). Sealing runs concurrently (see
// blob-sealer.ts) and packs upload concurrently, both bounded so memory stays bounded however fast blobs arrive.
// An index file is written every few packs, so after a crash the next backup finds those packs and re-uploads
// nothing they hold.
//
// A sealed blob goes into its pack's temporary file (staged-pack.ts) as soon as it comes back from sealing, and its
// memory is freed once written. Holding the sealed blobs until the pack was complete kept them alive long enough to
// reach V8's old generation, where their memory waited for a full collection: the main thread's external memory
// peaked at ~210 MiB during a 128 MiB backup, about twice what was in flight. Staging packs in memory instead cost a
// 24 MiB buffer per pack in flight.

export type Compression = "auto" | "off" | "max";

/** zstd levels: restic's "auto" is klauspost's SpeedDefault (≈ zstd 3), "max" its SpeedBestCompression (≈ 11). */
export const compressionLevels: Record<Compression, CompressionLevel> = { auto: 3, off: null, max: 11 };
const defaultPackSize = 16 * 1024 * 1024;
const indexAtLeastEveryMs = 30_000;
/** A batch of small blobs goes to a sealing thread at this size or count. */
const batchBytes = 256 * 1024;
const batchBlobs = 128;
/** Blobs smaller than this are sealed on the calling thread (small files, trees). */
const inlineSealingBelow = 64 * 1024;

export type WriterOptions = {
  packSize?: number;
  compression?: Compression;
  /** Blob ids already in the repository (from its index): never stored again. The writer adds the ones it stores. */
  known?: BlobIdTable;
  /** Where sealing runs; on this thread by default. */
  sealer?: BlobSealer;
  /** Blobs being sealed at once (bounds memory: each holds up to 8 MiB). */
  sealingConcurrency?: number;
  /** Packs uploading at once. */
  uploadConcurrency?: number;
  /** An index file is written after this many packs (and at every flush). */
  packsPerIndex?: number;
  /** Cancels: calls fail with the signal's reason, uploads in flight are abandoned (see abandon()). */
  signal?: AbortSignal;
};

export type WriterStats = {
  dataBlobs: number;
  treeBlobs: number;
  /** Plaintext bytes of the blobs added. */
  dataAdded: number;
  /** Bytes those blobs take in packs (compressed and sealed). */
  dataAddedPacked: number;
  packsWritten: number;
};

export class RepositoryWriter {
  readonly #key: CryptoKey;
  readonly #storage: StorageBackend;
  readonly #packSize: number;
  readonly #level: CompressionLevel;
  readonly #sealer: BlobSealer;
  /** Shared with the sealing threads, which skip the blobs it holds. */
  readonly #known: BlobIdTable;
  readonly #sealing: Semaphore;
  readonly #uploading: Semaphore;
  readonly #packsPerIndex: number;
  readonly #signal: AbortSignal | undefined;
  /** The pack being filled per type, opened with its first blob. */
  readonly #pending: Record<BlobType, StagedPack | null> = { data: null, tree: null };
  /** Small data blobs waiting to go to the sealing threads together. */
  readonly #batch: {
    plaintext: Buffer;
    resolve: (result: { id: string; added: boolean }) => void;
    reject: (error: unknown) => void;
  }[] = [];
  #batchBytes = 0;
  #batchScheduled = false;
  /** Seals and uploads in flight; the first failure is kept and rethrown by the next call. */
  readonly #inFlight = new Set<Promise<void>>();
  #failure: { error: unknown } | null = null;
  /** Packs uploaded and not yet named by an index file. */
  readonly #unindexed: IndexedPack[] = [];
  /** When the oldest pack not yet named by an index file finished uploading. */
  #oldestUnindexedAt = 0;
  readonly stats: WriterStats = { dataBlobs: 0, treeBlobs: 0, dataAdded: 0, dataAddedPacked: 0, packsWritten: 0 };

  constructor(key: CryptoKey, storage: StorageBackend, options: WriterOptions = {}) {
    this.#key = key;
    this.#storage = storage;
    this.#packSize = options.packSize ?? defaultPackSize;
    this.#level = compressionLevels[options.compression ?? "auto"];
    this.#sealer = options.sealer ?? inlineSealer(key);
    this.#known = options.known ?? new BlobIdTable();
    this.#sealing = new Semaphore(options.sealingConcurrency ?? 4);
    this.#uploading = new Semaphore(options.uploadConcurrency ?? 3);
    this.#packsPerIndex = options.packsPerIndex ?? 4;
    this.#signal = options.signal;
  }

  /** Whether the repository (or this writer) holds the blob. */
  has(id: string): boolean {
    return this.#known.has(id);
  }

  /**
   * Adds a blob unless the repository has it already; returns its id (SHA-256 of the plaintext) once it is queued
   * for its pack. The buffer is handed over (it may move to a worker thread): do not use it afterwards.
   */
  async addBlob(type: BlobType, plaintext: Buffer): Promise<{ id: string; added: boolean }> {
    this.#throwIfFailed();
    if (type === "data" && plaintext.length >= inlineSealingBelow) return (await this.queueBlob(plaintext)).result;
    const id = blobId(plaintext);
    if (this.#known.has(id)) return { id, added: false };
    this.#known.add(id);
    // A thread hop costs more than hashing and sealing a small blob here.
    const sealed = sealBlob(this.#key, plaintext, this.#levelFor(type));
    await this.#addSealed(type, id, plaintext.length, sealed);
    freeNow(sealed.sealed);
    return { id, added: true };
  }

  /**
   * Hands a data blob to the sealing threads, which also compute its id, and returns as soon as there is room: waits
   * only while too many blobs are being sealed. `result` settles when the blob is in its pack (or found to be there
   * already). The caller keeps reading meanwhile, which is what keeps every core busy. Small blobs travel in
   * batches: the batch goes when it is full or when the event loop next comes round.
   */
  async queueBlob(plaintext: Buffer): Promise<{ result: Promise<{ id: string; added: boolean }> }> {
    this.#throwIfFailed();
    if (plaintext.length >= inlineSealingBelow) {
      const release = await this.#sealing.acquire();
      return {
        result: this.#seal([plaintext], release).then((results) => results[0] as { id: string; added: boolean }),
      };
    }
    const result = new Promise<{ id: string; added: boolean }>((resolve, reject) => {
      this.#batch.push({ plaintext, resolve, reject });
    });
    result.catch(() => {}); // the caller sees the failure when it awaits; this only keeps it from going unhandled
    this.#batchBytes += plaintext.length;
    if (this.#batchBytes >= batchBytes || this.#batch.length >= batchBlobs) await this.#sendBatch();
    else if (!this.#batchScheduled) {
      this.#batchScheduled = true;
      setImmediate(() => void this.#sendBatch());
    }
    return { result };
  }

  async #sendBatch(): Promise<void> {
    this.#batchScheduled = false;
    if (this.#batch.length === 0) return;
    const waiting = this.#batch.splice(0);
    this.#batchBytes = 0;
    const release = await this.#sealing.acquire();
    this.#seal(
      waiting.map((blob) => blob.plaintext),
      release,
    ).then(
      (results) => {
        for (const [i, blob] of waiting.entries()) blob.resolve(results[i] as { id: string; added: boolean });
      },
      (error: unknown) => {
        for (const blob of waiting) blob.reject(error);
      },
    );
  }

  /** Seals data blobs on the sealing threads and puts the new ones into packs, in order. */
  #seal(plaintexts: Buffer[], release: () => void): Promise<{ id: string; added: boolean }[]> {
    const lengths = plaintexts.map((plaintext) => plaintext.length);
    const result = this.#sealer
      .seal(plaintexts, this.#level, this.#known)
      .then(async (sealedBlobs) => {
        const results: { id: string; added: boolean }[] = [];
        for (const [i, blob] of sealedBlobs.entries()) {
          // A blob the sealer found known comes back without bytes. Of identical chunks sealed at the same time, the
          // first one in wins and the other is dropped.
          const added = "sealed" in blob && this.#known.add(blob.id);
          if (added) await this.#addSealed("data", blob.id, lengths[i] ?? 0, blob);
          results.push({ id: blob.id, added });
        }
        // Copied into packs: the sealed bytes (one buffer for a batch) are garbage.
        for (const blob of sealedBlobs) if ("sealed" in blob) freeNow(blob.sealed);
        return results;
      })
      .finally(release);
    this.#track(result.then(() => {}));
    return result;
  }

  /** Trees are always compressed in v2; data blobs at the chosen level. */
  #levelFor(type: BlobType): CompressionLevel {
    return type === "tree" ? compressionLevels.auto : this.#level;
  }

  /** Puts a sealed blob into the open pack of its type; a full pack starts uploading (waiting for a slot). */
  async #addSealed(type: BlobType, id: string, plaintextLength: number, sealed: SealedBlob): Promise<void> {
    const counts = this.stats;
    if (type === "data") counts.dataBlobs++;
    else counts.treeBlobs++;
    counts.dataAdded += plaintextLength;
    counts.dataAddedPacked += sealed.sealed.length;
    this.#pending[type] ??= new StagedPack();
    const pack = this.#pending[type];
    const room = pack.add(
      {
        id,
        type,
        ...(sealed.uncompressedLength !== undefined ? { uncompressedLength: sealed.uncompressedLength } : {}),
      },
      sealed.sealed,
    );
    if (pack.size >= this.#packSize) await this.#startPack(type);
    await room;
  }

  #track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => {
      this.#failure ??= { error };
    });
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
  }

  #throwIfFailed(): void {
    this.#signal?.throwIfAborted();
    if (this.#failure) throw this.#failure.error;
  }

  /** Takes the open pack of `type` and uploads it; waits while too many uploads are in flight. */
  async #startPack(type: BlobType): Promise<void> {
    const pack = this.#pending[type];
    if (!pack) return;
    this.#pending[type] = null;
    const release = await this.#uploading.acquire();
    this.#track(
      (async () => {
        const { id, blobs } = await pack.saveTo(this.#key, this.#storage, { signal: this.#signal });
        this.stats.packsWritten++;
        if (this.#unindexed.length === 0) this.#oldestUnindexedAt = Date.now();
        this.#unindexed.push({ id, blobs });
        // Every few packs, and on a slow link with the first pack done after half a minute, so little is lost to a
        // crash.
        const due = Date.now() - this.#oldestUnindexedAt >= indexAtLeastEveryMs;
        if (this.#unindexed.length >= this.#packsPerIndex || due) await this.#writeIndex();
      })().finally(release),
    );
  }

  async #writeIndex(): Promise<void> {
    if (this.#unindexed.length === 0) return;
    const packs = this.#unindexed.splice(0);
    const sealed = encodeUnpacked(this.#key, indexDocument(packs));
    await this.#storage.save({ type: "index", name: createHash("sha256").update(sealed).digest("hex") }, sealed);
  }

  async #drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
    this.#throwIfFailed();
  }

  /** Waits for everything queued, writes the open packs and an index file naming every pack not yet indexed. */
  async flush(): Promise<void> {
    this.#throwIfFailed();
    await this.#sendBatch();
    await this.#drain();
    await this.#startPack("data");
    await this.#startPack("tree");
    await this.#drain();
    await this.#writeIndex();
  }

  /** Flushes, then records the snapshot (only after its data is indexed). Returns the snapshot id. */
  async writeSnapshot(snapshot: Snapshot): Promise<string> {
    await this.flush();
    this.#throwIfFailed();
    const sealed = encodeUnpacked(this.#key, snapshotDocument(snapshot));
    const id = createHash("sha256").update(sealed).digest("hex");
    await this.#storage.save({ type: "snapshot", name: id }, sealed);
    return id;
  }

  /**
   * After a cancel or failure: waits for work in flight, then writes an index file naming the packs that did upload,
   * so the next backup finds their blobs instead of storing them again. Never throws.
   */
  async abandon(): Promise<void> {
    await this.#sendBatch().catch(() => {});
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
    for (const type of ["data", "tree"] as const) {
      await this.#pending[type]?.discard();
      this.#pending[type] = null;
    }
    await this.#writeIndex().catch(() => {});
  }
}
