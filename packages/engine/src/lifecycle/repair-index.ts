import { createHash } from "node:crypto";
import { type ProgressCallback, ProgressMeter } from "../progress.ts";
import { type IndexedPack, indexDocument } from "../repository/index-file.ts";
import { withLock } from "../repository/lock.ts";
import { decodePackHeader, type PackedBlob } from "../repository/pack.ts";
import type { Repository } from "../repository/repository.ts";
import { encodeUnpacked } from "../repository/unpacked.ts";
import type { FileInfo } from "../storage/backend.ts";
import { enterPhase, loadIndexFile } from "./repository-state.ts";

// Index files rewritten: `repairIndex` (restic's `repair index`) rebuilds the whole index from the pack headers,
// for when index files are lost or damaged; `mergeIndexFiles` (quick maintenance) folds many small index files
// into few. Both write the new index files first and delete the old ones last, so a crash leaves blobs indexed
// twice (valid) and never not at all.

/** restic writes at most this many blobs into one index file. */
export const indexMaxBlobs = 50_000;
/** Index files below this size are merged by quick maintenance. */
const smallIndexBytes = 1024 * 1024;
const headerReads = 8;

/** Accumulates packs and writes an index file whenever indexMaxBlobs are reached. */
export class IndexFileWriter {
  readonly #repository: Repository;
  readonly #signal: AbortSignal | undefined;
  #packs: IndexedPack[] = [];
  #blobs = 0;
  written = 0;

  constructor(repository: Repository, signal?: AbortSignal) {
    this.#repository = repository;
    this.#signal = signal;
  }

  async add(pack: IndexedPack): Promise<void> {
    this.#packs.push(pack);
    this.#blobs += pack.blobs.length;
    if (this.#blobs >= indexMaxBlobs) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#packs.length === 0) return;
    const sealed = encodeUnpacked(this.#repository.key, indexDocument(this.#packs));
    const name = createHash("sha256").update(sealed).digest("hex");
    await this.#repository.storage.save({ type: "index", name }, sealed, { signal: this.#signal });
    this.written++;
    this.#packs = [];
    this.#blobs = 0;
  }
}

export type RepairIndexResult = {
  packs: number;
  blobs: number;
  indexFilesWritten: number;
  indexFilesRemoved: number;
  /** Pack files whose header could not be read: they are left out of the new index (and left in place). */
  unreadablePacks: { pack: string; message: string }[];
};

export async function repairIndex(
  repository: Repository,
  options: { signal?: AbortSignal; onProgress?: ProgressCallback; lockWaitMs?: number } = {},
): Promise<RepairIndexResult> {
  const { signal } = options;
  return withLock(repository, { exclusive: true, signal, waitMs: options.lockWaitMs ?? 0 }, async () => {
    const meter = new ProgressMeter("listing", options.onProgress);
    try {
      const oldIndex: FileInfo[] = [];
      for await (const file of repository.storage.list("index", { signal })) oldIndex.push(file);
      const packs: FileInfo[] = [];
      for await (const file of repository.storage.list("data", { signal })) packs.push(file);
      enterPhase(meter, "reading pack headers");
      meter.state.filesTotal = packs.length;
      const writer = new IndexFileWriter(repository, signal);
      const unreadablePacks: RepairIndexResult["unreadablePacks"] = [];
      let blobs = 0;
      let indexed = 0;
      // Headers are read a few at a time and indexed in listing order.
      for (let start = 0; start < packs.length; start += headerReads) {
        signal?.throwIfAborted();
        const batch = packs.slice(start, start + headerReads);
        const headers = await Promise.all(batch.map((pack) => readHeader(repository, pack, signal)));
        for (const [i, header] of headers.entries()) {
          const pack = batch[i]!;
          if ("error" in header) unreadablePacks.push({ pack: pack.name, message: header.error });
          else {
            await writer.add({ id: pack.name, blobs: header.blobs });
            blobs += header.blobs.length;
            indexed++;
          }
          meter.state.filesDone++;
        }
      }
      await writer.flush();
      enterPhase(meter, "deleting old index files");
      for (const file of oldIndex) {
        signal?.throwIfAborted();
        await repository.storage.remove({ type: "index", name: file.name }, { signal });
      }
      return {
        packs: indexed,
        blobs,
        indexFilesWritten: writer.written,
        indexFilesRemoved: oldIndex.length,
        unreadablePacks,
      };
    } finally {
      meter.finish(signal?.aborted ? "cancelled" : "done");
    }
  });
}

/** A pack's header: its last 4 bytes give the header's length, the header follows (restic's eager read). */
async function readHeader(
  repository: Repository,
  pack: FileInfo,
  signal: AbortSignal | undefined,
): Promise<{ blobs: PackedBlob[] } | { error: string }> {
  try {
    const eager = Math.min(pack.size, 4 + 32 + 15 * 41);
    let tail = await repository.storage.load(
      { type: "data", name: pack.name },
      { offset: pack.size - eager, length: eager, signal },
    );
    const headerLength = tail.length >= 4 ? tail.readUInt32LE(tail.length - 4) : 0;
    if (headerLength + 4 > tail.length && headerLength + 4 <= pack.size) {
      tail = await repository.storage.load(
        { type: "data", name: pack.name },
        { offset: pack.size - headerLength - 4, length: headerLength + 4, signal },
      );
    }
    return { blobs: decodePackHeader(repository.key, tail, pack.size) };
  } catch (error) {
    if (signal?.aborted) throw error;
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

export type MergeIndexResult = { merged: number; written: number };

/**
 * Folds the small index files into as few files as possible (quick maintenance). The caller holds the exclusive
 * lock: a backup reading the index while files are removed would miss them.
 */
export async function mergeIndexFilesLocked(
  repository: Repository,
  options: { signal?: AbortSignal } = {},
): Promise<MergeIndexResult> {
  const { signal } = options;
  const small: FileInfo[] = [];
  for await (const file of repository.storage.list("index", { signal })) {
    if (file.size < smallIndexBytes) small.push(file);
  }
  if (small.length < 2) return { merged: 0, written: 0 };
  const writer = new IndexFileWriter(repository, signal);
  const seen = new Set<string>();
  for (const file of small) {
    signal?.throwIfAborted();
    for (const pack of await loadIndexFile(repository, file.name, signal)) {
      if (seen.has(pack.id)) continue;
      seen.add(pack.id);
      await writer.add(pack);
    }
  }
  await writer.flush();
  for (const file of small) {
    signal?.throwIfAborted();
    await repository.storage.remove({ type: "index", name: file.name }, { signal });
  }
  return { merged: small.length, written: writer.written };
}
