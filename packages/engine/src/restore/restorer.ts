import { link, lstat, mkdir, readdir, rename, rm, symlink } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { EngineError, isEngineError } from "../errors.ts";
import { freeNow } from "../memory.ts";
import { type ProgressCallback, ProgressMeter } from "../progress.ts";
import { type DecodedBlob, WorkerSealer } from "../repository/blob-sealer.ts";
import { type BlobLocation, decodeBlob, RepositoryReader } from "../repository/reader.ts";
import type { Repository } from "../repository/repository.ts";
import { Semaphore } from "../storage/semaphore.ts";
import { type ContentFile, FileWriter } from "./file-writer.ts";
import {
  applyDirectoryMetadata,
  applyEntryMetadata,
  ensureDirectory,
  makeSpecialFile,
  temporaryPath,
} from "./metadata.ts";
import { keepsExisting, type OverwritePolicy } from "./overwrite.ts";
import { type PackLoad, type PlannedBlob, planPackLoads, planRestore, type RestoreItem } from "./plan.ts";

export type { OverwritePolicy };

// Restores a snapshot's tree into a folder as `restic restore --target` lays it out. Everything is planned first
// (names checked, hard links grouped, blobs grouped by pack), then: folders and small entries in tree order, file
// contents pack by pack, hard links, and last the folders' metadata, deepest first, so writing their contents does
// not change their times. Each pack is loaded once (`concurrency` loads at a time, at most `packSlots` packs held)
// into one of a few reused shared buffers, decoded from there by the decoding threads (MAC, decryption, zstd and
// SHA-256 off the main thread) a few MiB at a time a little ahead of the writer, and its buffer reused as soon as it
// is decoded. Reused memory, not a fresh buffer per pack: freed buffers linger until a garbage collection and
// fragment the allocator, which had a restore peak at 4.5x restic's memory.

/** Packs loaded and not yet decoded, at most (each holds a shared buffer of a pack's size, 16 MiB by default). */
const packSlots = 3;
/** Sealed bytes of one decoding job. */
const decodeBatchBytes = 2 ** 20;
/** Decoding jobs of one pack ahead of its writes. */
const decodeAhead = 2;

/** A file that could not be restored; `path` is its path in the snapshot, `code` the EngineError code if any. */
export type RestoreError = { path: string; message: string; code?: string };

export type RestoreOptions = {
  /** Folder to restore into (created if missing). */
  target: string;
  /** Snapshot paths to restore ("/home/ann/docs", as the snapshot's tree has them from its root); all when absent. */
  include?: string[];
  overwrite?: OverwritePolicy;
  signal?: AbortSignal;
  /** Phase "restoring": files and bytes done and total, the current file; every second and at the end. */
  onProgress?: ProgressCallback;
  /** A file that cannot be restored is reported here and the restore goes on; it is also counted in `errors`. */
  onError?: (error: RestoreError) => void;
  /**
   * Deletes the temporary files an interrupted restore (a killed process) left in the folders this one restores
   * into: names `.e3-restore-` and 16 hex digits, which only the restorer makes. For a restore that resumes one.
   */
  removeLeftovers?: boolean;
  /** Pack downloads at once (default 8). */
  concurrency?: number;
  /** Threads that decode blobs (default: one per core but one); 0 decodes on the calling thread. */
  threads?: number;
};

export type RestoreSummary = {
  /** Files, symlinks, hard links and special files written. */
  filesRestored: number;
  /** Entries left as they were by the overwrite policy (and sockets, which cannot be restored). */
  filesSkipped: number;
  dirsRestored: number;
  bytesRestored: number;
  errors: number;
  packsLoaded: number;
};

/**
 * Restores `snapshot` (or the `include` paths of it) under `options.target`. A file that cannot be restored
 * (damaged data, MAC_MISMATCH; a missing blob; a file-system error) is reported through onError and the restore
 * goes on; it never appears under its final name with wrong or partial contents. Throws INVALID_TREE before
 * writing anything when the snapshot holds a name that could escape the target, INVALID_ARGUMENT for include paths
 * with "..", PATH_NOT_FOUND for include paths not in the snapshot, and the signal's reason when aborted.
 */
export async function restoreSnapshot(
  repository: Repository,
  snapshot: { tree: string },
  options: RestoreOptions,
): Promise<RestoreSummary> {
  const concurrency = options.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new EngineError("INVALID_ARGUMENT", `concurrency must be a whole number of 1 or more, not ${concurrency}`);
  }
  options.signal?.throwIfAborted();
  return new Restore(repository, options, concurrency).run(snapshot.tree);
}

class Restore {
  readonly #repository: Repository;
  readonly #reader: RepositoryReader;
  readonly #options: RestoreOptions;
  readonly #overwrite: OverwritePolicy;
  readonly #concurrency: number;
  readonly #signal: AbortSignal | undefined;
  readonly #meter: ProgressMeter;
  readonly #writer = new FileWriter();
  readonly #decoder: WorkerSealer | null;
  readonly #packSlots: Semaphore;
  /** Shared buffers not in use, each of the largest pack range the restore loads. */
  readonly #freeSlots: SharedArrayBuffer[] = [];
  /** Entries not restored; nothing is restored beneath a folder in here. */
  readonly #failed = new Set<RestoreItem>();
  readonly #failedFolders = new Set<string>();
  readonly #summary: RestoreSummary = {
    filesRestored: 0,
    filesSkipped: 0,
    dirsRestored: 0,
    bytesRestored: 0,
    errors: 0,
    packsLoaded: 0,
  };

  constructor(repository: Repository, options: RestoreOptions, concurrency: number) {
    this.#repository = repository;
    this.#reader = new RepositoryReader(repository.key, repository.storage);
    this.#options = options;
    this.#overwrite = options.overwrite ?? "always";
    this.#concurrency = concurrency;
    this.#signal = options.signal;
    this.#meter = new ProgressMeter("restoring", options.onProgress);
    // One per core but one, as for a backup: the calling thread is busy creating and writing files. Each thread
    // costs memory (~40-80 MiB at its peak, measured on the benchmark set) and decoding is the smaller part of a
    // restore's CPU: a second thread on 2 cores made it no faster by CPU seconds.
    const threads = options.threads ?? Math.max(1, availableParallelism() - 1);
    this.#decoder = threads > 0 ? new WorkerSealer(repository.key, threads) : null;
    this.#packSlots = new Semaphore(Math.min(concurrency, packSlots));
  }

  async run(tree: string): Promise<RestoreSummary> {
    let finished = false;
    try {
      const target = resolve(this.#options.target);
      const items = await planRestore(this.#reader, tree, Buffer.from(target), this.#options.include, this.#signal);
      await mkdir(target, { recursive: true }); // only now: a refused snapshot or include leaves no trace
      if (this.#options.removeLeftovers) await removeLeftovers(Buffer.from(target));
      const index = await this.#reader.index();
      this.#meter.state.filesTotal = items.filter((item) => item.selected && item.node.type !== "dir").length;
      const contents: ContentFile[] = [];
      for (const item of items) {
        this.#signal?.throwIfAborted();
        if (this.#underFailedFolder(item)) continue;
        this.#meter.state.currentFile = item.display;
        try {
          const file = await this.#prepare(item, index);
          if (file) contents.push(file);
        } catch (error) {
          this.#fail(item, error);
        }
      }
      await this.#restoreContents(contents, index);
      for (const item of items) {
        this.#signal?.throwIfAborted();
        if (item.linkTo && !this.#underFailedFolder(item)) await this.#restoreHardLink(item, item.linkTo);
      }
      const folders = items.filter((item) => item.selected && item.node.type === "dir" && !this.#failed.has(item));
      for (const folder of folders.sort((a, b) => b.depth - a.depth)) {
        this.#signal?.throwIfAborted();
        try {
          applyDirectoryMetadata(folder.path, folder.node, folder.display);
          this.#summary.dirsRestored++;
        } catch (error) {
          this.#fail(folder, error);
        }
      }
      finished = true;
      return this.#summary;
    } finally {
      await this.#decoder?.close();
      await this.#writer.discardAll();
      this.#meter.finish(finished ? "done" : "failed");
    }
  }

  /** Folders, symlinks and special files are made now; a file to fill from blobs is returned. */
  async #prepare(item: RestoreItem, index: ReadonlyMap<string, BlobLocation>): Promise<ContentFile | null> {
    const { node, path, display } = item;
    if (node.type === "dir") {
      await ensureDirectory(path, this.#overwrite !== "never", display);
      if (this.#options.removeLeftovers) await removeLeftovers(path);
      return null;
    }
    if (item.linkTo) return null; // linked once the file it shares an inode with is complete
    if (await keepsExisting(item, this.#overwrite, index, this.#signal)) {
      this.#summary.filesSkipped++;
      this.#meter.state.filesDone++;
      return null;
    }
    switch (node.type) {
      case "file":
        return { item, blobsLeft: node.content?.length ?? 0, failed: false, temporary: null };
      case "symlink":
        await this.#place(item, (temporary) => symlink(Buffer.from(node.linktarget ?? ""), temporary));
        return null;
      case "fifo":
      case "dev":
      case "chardev":
        await this.#place(item, (temporary) => makeSpecialFile(temporary, node));
        return null;
      case "socket": // a socket belongs to the process that listened on it; restic does not restore them either
        this.#summary.filesSkipped++;
        this.#meter.state.filesDone++;
        return null;
      default:
        throw new EngineError("INVALID_TREE", `${display} has the type ${node.type}, which cannot be restored`);
    }
  }

  /** Makes an entry under a temporary name, sets its metadata and renames it into place. */
  async #place(item: RestoreItem, make: (temporary: Buffer) => Promise<void>): Promise<void> {
    const temporary = temporaryPath(item.path);
    try {
      await make(temporary);
      await applyEntryMetadata(temporary, item.node, item.display);
      await rename(temporary, item.path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    this.#summary.filesRestored++;
    this.#meter.state.filesDone++;
  }

  async #restoreContents(files: ContentFile[], index: ReadonlyMap<string, BlobLocation>): Promise<void> {
    const { loads, unavailable } = planPackLoads(
      files.map((file) => ({ file, content: file.item.node.content ?? [] })),
      index,
    );
    for (const { file, blob } of unavailable) {
      await this.#failFile(file, new EngineError("BLOB_NOT_FOUND", `data blob ${blob} is not in the index`));
    }
    for (const file of files) {
      if (!file.failed) this.#meter.state.bytesTotal += Number(file.item.node.size ?? 0n);
      if (!file.failed && file.blobsLeft === 0) await this.#finishFile(file);
    }
    const writing = new Semaphore(1);
    // Every buffer at the largest size from the start: one grown on the way left its smaller predecessor to linger
    // until a garbage collection (36 + 47 MiB of them at a 381 MiB peak).
    const slotBytes = loads.reduce((largest, load) => Math.max(largest, load.length), 0);
    let next = 0;
    const worker = async () => {
      for (let load = loads[next++]; load; load = loads[next++]) await this.#restorePack(load, writing, slotBytes);
    };
    const workers = await Promise.allSettled(Array.from({ length: Math.min(this.#concurrency, loads.length) }, worker));
    const failure = workers.find((result) => result.status === "rejected");
    if (failure) throw failure.reason;
  }

  /** Loads the needed range of one pack, decodes its blobs batch by batch and writes each to every offset needing it. */
  async #restorePack(load: PackLoad<ContentFile>, writing: Semaphore, slotBytes: number): Promise<void> {
    if (load.blobs.every((blob) => blob.targets.every((target) => target.file.failed))) return;
    const release = await this.#packSlots.acquire(this.#signal);
    let slot: SharedArrayBuffer | undefined;
    const ahead: { blobs: PlannedBlob<ContentFile>[]; decoded: Promise<DecodedBlob[]> }[] = [];
    const releaseSlot = () => {
      if (slot) this.#freeSlots.push(slot);
      slot = undefined;
      release();
    };
    try {
      let pack: SharedArrayBuffer | Buffer;
      try {
        if (this.#decoder) slot = this.#freeSlots.pop() ?? new SharedArrayBuffer(slotBytes);
        const bytes = await this.#repository.storage.load(
          { type: "data", name: load.pack },
          {
            offset: load.offset,
            length: load.length,
            signal: this.#signal,
            ...(slot ? { into: new Uint8Array(slot) } : {}),
          },
        );
        if (slot && bytes.buffer !== slot) new Uint8Array(slot).set(bytes); // a backend that ignored `into`
        pack = slot ?? bytes;
      } catch (error) {
        if (this.#signal?.aborted) throw error;
        for (const blob of load.blobs) for (const { file } of blob.targets) await this.#failFile(file, error);
        return;
      }
      this.#summary.packsLoaded++;
      const batches = decodeBatches(load.blobs);
      let next = 0;
      const fill = () => {
        for (; ahead.length < decodeAhead && next < batches.length; next++) {
          // Blobs no file wants any more (their files failed meanwhile) are not decoded.
          const blobs = batches[next]!.filter((blob) => blob.targets.some((target) => !target.file.failed));
          const decoded = this.#decode(pack, load, blobs);
          decoded.catch(() => {}); // awaited below, in order; a failure meanwhile is not unhandled
          ahead.push({ blobs, decoded });
        }
      };
      fill();
      while (ahead.length > 0) {
        const { blobs, decoded } = ahead.shift()!;
        const results = await decoded;
        fill();
        if (ahead.length === 0) releaseSlot(); // decoded to the end: the buffer can take the next pack
        await writing.run(() => this.#writeBlobs(blobs, results), this.#signal);
      }
    } finally {
      if (ahead.length > 0) slot = undefined; // ended early (abort, failure): a thread may still be reading it
      releaseSlot();
    }
  }

  async #decode(
    pack: SharedArrayBuffer | Buffer,
    load: PackLoad<ContentFile>,
    blobs: PlannedBlob<ContentFile>[],
  ): Promise<DecodedBlob[]> {
    this.#signal?.throwIfAborted();
    if (blobs.length === 0) return [];
    if (pack instanceof SharedArrayBuffer) {
      const refs = blobs.map(({ id, location }) => ({
        id,
        offset: location.offset - load.offset,
        length: location.length,
        pack: load.pack,
        ...(location.uncompressedLength !== undefined ? { uncompressedLength: location.uncompressedLength } : {}),
      }));
      return this.#decoder!.decode(pack, refs);
    }
    return blobs.map(({ id, location }) => {
      const start = location.offset - load.offset;
      try {
        return {
          plaintext: decodeBlob(this.#repository.key, id, location, pack.subarray(start, start + location.length)),
        };
      } catch (error) {
        return {
          error: isEngineError(error)
            ? error
            : new EngineError("REPOSITORY_DAMAGED", `data blob ${id}: ${String(error)}`),
        };
      }
    });
  }

  async #writeBlobs(blobs: PlannedBlob<ContentFile>[], results: DecodedBlob[]): Promise<void> {
    try {
      for (const [i, blob] of blobs.entries()) {
        this.#signal?.throwIfAborted();
        const result = results[i]!;
        const targets = blob.targets.filter((target) => !target.file.failed);
        if (targets.length === 0) continue;
        if ("error" in result) {
          for (const { file } of targets) await this.#failFile(file, result.error);
          continue;
        }
        const { plaintext } = result;
        for (const { file, offset } of targets) {
          if (file.failed) continue;
          this.#meter.state.currentFile = file.item.display;
          try {
            await this.#writer.write(file, offset, plaintext);
          } catch (error) {
            await this.#failFile(file, error);
            continue;
          }
          this.#meter.state.bytesDone += plaintext.length;
          file.blobsLeft--;
          if (file.blobsLeft === 0) await this.#finishFile(file);
        }
      }
    } finally {
      // Written (files keep no reference): the plaintexts, one buffer from a sealing thread, are garbage.
      for (const result of results) if ("plaintext" in result) freeNow(result.plaintext);
    }
  }

  async #finishFile(file: ContentFile): Promise<void> {
    try {
      await this.#writer.finish(file);
    } catch (error) {
      await this.#failFile(file, error);
      return;
    }
    this.#summary.filesRestored++;
    this.#summary.bytesRestored += Number(file.item.node.size ?? 0n);
    this.#meter.state.filesDone++;
  }

  async #failFile(file: ContentFile, error: unknown): Promise<void> {
    if (file.failed) return;
    file.failed = true;
    await this.#writer.discard(file);
    this.#fail(file.item, error);
  }

  /** A second name of a hard-linked file, linked (not copied) to the first as restic does. */
  async #restoreHardLink(item: RestoreItem, first: RestoreItem): Promise<void> {
    this.#meter.state.currentFile = item.display;
    if (this.#failed.has(first)) {
      this.#fail(item, new Error(`not restored: it is a hard link of ${first.display}, which could not be restored`));
      return;
    }
    try {
      const existing = this.#overwrite === "always" ? null : await lstat(item.path).catch(() => null);
      const same = existing && (this.#overwrite === "never" || existing.ino === (await lstat(first.path)).ino);
      if (same) {
        this.#summary.filesSkipped++;
      } else {
        const temporary = temporaryPath(item.path);
        await link(first.path, temporary);
        await rename(temporary, item.path).catch(async (error: unknown) => {
          await rm(temporary, { force: true });
          throw error;
        });
        this.#summary.filesRestored++;
      }
      this.#meter.state.filesDone++;
    } catch (error) {
      this.#fail(item, error);
    }
  }

  #underFailedFolder(item: RestoreItem): boolean {
    const parent = item.path.subarray(0, item.path.lastIndexOf(0x2f)).toString("latin1");
    if (!this.#failedFolders.has(parent)) return false;
    // Reported once, for the folder; everything beneath it is left out with it.
    this.#failed.add(item);
    if (item.node.type === "dir") this.#failedFolders.add(item.path.toString("latin1"));
    return true;
  }

  #fail(item: RestoreItem, error: unknown): void {
    // An error caused by the abort is not the file's: the abort ends the restore.
    this.#signal?.throwIfAborted();
    this.#failed.add(item);
    if (item.node.type === "dir") this.#failedFolders.add(item.path.toString("latin1"));
    this.#summary.errors++;
    this.#meter.state.errors++;
    const message = error instanceof Error ? error.message : String(error);
    this.#options.onError?.({
      path: item.display,
      message,
      ...(isEngineError(error) ? { code: error.code } : {}),
    });
  }
}

const leftoverName = /^\.e3-restore-[0-9a-f]{16}$/;

/** Deletes the restorer's own temporary files (see temporaryPath) directly in `folder`. */
async function removeLeftovers(folder: Buffer): Promise<void> {
  const slash = Buffer.from("/");
  for (const name of await readdir(folder, { encoding: "buffer" })) {
    if (leftoverName.test(name.toString("latin1"))) {
      await rm(Buffer.concat([folder, folder.at(-1) === 0x2f ? Buffer.alloc(0) : slash, name]), { force: true });
    }
  }
}

/** A pack's blobs (in pack order) cut into decoding jobs of about decodeBatchBytes of sealed bytes each. */
function decodeBatches<File>(blobs: PlannedBlob<File>[]): PlannedBlob<File>[][] {
  const batches: PlannedBlob<File>[][] = [];
  let batch: PlannedBlob<File>[] = [];
  let bytes = 0;
  for (const blob of blobs) {
    if (batch.length > 0 && bytes + blob.location.length > decodeBatchBytes) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(blob);
    bytes += blob.location.length;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
