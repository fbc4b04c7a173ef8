import { link, lstat, mkdir, readdir, rename, rm, symlink } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { EngineError, isEngineError } from "../errors.ts";
import { freeNow } from "../memory.ts";
import { type ProgressCallback, ProgressMeter } from "../progress.ts";
import { decodeBlob } from "../repository/blob-decode.ts";
import { type DecodedBlob, type SealedBlobRef, WorkerSealer } from "../repository/blob-sealer.ts";
import { type BlobLocation, RepositoryReader } from "../repository/reader.ts";
import type { Repository } from "../repository/repository.ts";
import { StorageError } from "../storage/errors.ts";
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
// not change their times. Each pack is loaded once (`concurrency` loads at a time) and taken as it streams in: its
// needed bytes are cut into decoding jobs of about a MiB, each decoded by a decoding thread (MAC, decryption, zstd
// and SHA-256 off the main thread) and written while the next bytes arrive. At most `batchesInFlight` jobs are
// loaded and not yet written, over all packs, which bounds the blob data a restore holds whatever the pack size
// (whole packs held until decoded cost three 17 MiB buffers). A job's bytes move to its thread, which frees them
// once decoded: none linger until a garbage collection.

/** Sealed bytes of one decoding job, at most (a larger blob is a job of its own). */
const decodeBatchBytes = 2 ** 20;
/** Decoding jobs loaded and not yet written, over all packs. */
const batchesInFlight = 4;

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
    const packs = loads.map((load) => ({ load, batches: decodeBatches(load.blobs) }));
    // Buffers of the longest job from the start: one grown on the way would leave its predecessor to linger.
    const longest = packs.reduce((most, { batches }) => Math.max(most, ...batches.map((batch) => batch.length)), 0);
    const buffers = new BufferPool(batchesInFlight, longest);
    const writing = new Semaphore(1);
    let next = 0;
    const worker = async () => {
      for (let pack = packs[next++]; pack; pack = packs[next++]) await this.#restorePack(pack, buffers, writing);
    };
    const workers = await Promise.allSettled(Array.from({ length: Math.min(this.#concurrency, loads.length) }, worker));
    const failure = workers.find((result) => result.status === "rejected");
    if (failure) throw failure.reason;
  }

  /**
   * Streams the needed range of one pack, cuts its bytes into decoding jobs as they arrive and writes each job's
   * blobs to every offset needing them. A pack that cannot be loaded fails the files still waiting for its blobs.
   */
  async #restorePack(
    { load, batches }: { load: PackLoad<ContentFile>; batches: DecodeBatch<ContentFile>[] },
    buffers: BufferPool,
    writing: Semaphore,
  ): Promise<void> {
    if (!load.blobs.some(isWanted)) return;
    /** The job the arriving bytes belong to, and what of it has arrived (no buffer: nothing wants its blobs). */
    let batch = 0;
    let filling: { buffer: SharedArrayBuffer | null; filled: number; release: () => void } | undefined;
    let position = load.offset; // in the pack, of the next byte to arrive
    const decoding: Promise<void>[] = [];
    const consume = async (chunk: Uint8Array) => {
      for (let used = 0; used < chunk.byteLength && batch < batches.length; ) {
        const { blobs, offset, length } = batches[batch]!;
        const skipped = Math.min(chunk.byteLength - used, Math.max(0, offset - (position + used)));
        used += skipped; // bytes between jobs: blobs no file here needs
        if (used === chunk.byteLength) break;
        // Blobs no file wants any more (their files failed meanwhile) are not decoded.
        filling ??= blobs.some(isWanted)
          ? { ...(await buffers.take(this.#signal)), filled: 0 }
          : { buffer: null, filled: 0, release: () => {} };
        const taken = Math.min(chunk.byteLength - used, length - filling.filled);
        if (filling.buffer) new Uint8Array(filling.buffer).set(chunk.subarray(used, used + taken), filling.filled);
        filling.filled += taken;
        used += taken;
        if (filling.filled === length) {
          const job = this.#decodeAndWrite(load, batches[batch]!, filling.buffer, writing);
          decoding.push(job.finally(filling.release));
          filling = undefined;
          batch++;
        }
      }
      position += chunk.byteLength;
    };
    let failed: { error: unknown } | undefined;
    try {
      await this.#repository.storage.loadChunks({ type: "data", name: load.pack }, consume, {
        offset: load.offset,
        length: load.length,
        signal: this.#signal,
      });
      if (position !== load.offset + load.length) {
        throw new StorageError(
          "TRUNCATED_READ",
          `pack ${load.pack}: ${position - load.offset} of ${load.length} bytes arrived`,
        );
      }
    } catch (error) {
      failed = { error };
      filling?.release();
    }
    // Jobs under way finish (or see the abort) before the pack is done with: no write runs after the restore.
    const decoded = await Promise.allSettled(decoding);
    if (failed) {
      if (this.#signal?.aborted) throw failed.error;
      for (const { blobs } of batches.slice(batch)) {
        for (const blob of blobs) for (const { file } of blob.targets) await this.#failFile(file, failed.error);
      }
    } else {
      this.#summary.packsLoaded++;
    }
    const failure = decoded.find((result) => result.status === "rejected");
    if (failure) throw failure.reason;
  }

  /** Decodes one job's sealed bytes (by a decoding thread, when there are) and writes its blobs. */
  async #decodeAndWrite(
    load: PackLoad<ContentFile>,
    batch: DecodeBatch<ContentFile>,
    sealed: SharedArrayBuffer | null,
    writing: Semaphore,
  ): Promise<void> {
    if (!sealed) return;
    this.#signal?.throwIfAborted();
    const blobs = batch.blobs.filter(isWanted); // files may have failed while the bytes arrived
    const refs = blobs.map(({ id, location }) => ({
      id,
      offset: location.offset - batch.offset,
      length: location.length,
      pack: load.pack,
      ...(location.uncompressedLength !== undefined ? { uncompressedLength: location.uncompressedLength } : {}),
    }));
    const results = this.#decoder
      ? await this.#decoder.decode(sealed, refs)
      : decodeHere(this.#repository, refs, sealed);
    await writing.run(() => this.#writeBlobs(blobs, results), this.#signal);
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

/** Whether a file not failed yet still waits for the blob. */
function isWanted(blob: PlannedBlob<ContentFile>): boolean {
  return blob.targets.some((target) => !target.file.failed);
}

/** Blobs of one pack decoded as one job: `length` bytes of the pack from `offset`, the blobs' and any between. */
type DecodeBatch<File> = { blobs: PlannedBlob<File>[]; offset: number; length: number };

/** A pack's blobs (in pack order) cut into decoding jobs spanning about decodeBatchBytes of the pack each. */
function decodeBatches<File>(blobs: PlannedBlob<File>[]): DecodeBatch<File>[] {
  const batches: DecodeBatch<File>[] = [];
  for (const blob of blobs) {
    const { offset, length } = blob.location;
    const last = batches.at(-1);
    if (last && offset + length - last.offset <= decodeBatchBytes) {
      last.blobs.push(blob);
      last.length = offset + length - last.offset;
    } else {
      batches.push({ blobs: [blob], offset, length });
    }
  }
  return batches;
}

/** Decodes blobs on the calling thread, for a restore without decoding threads. */
function decodeHere(repository: Repository, refs: SealedBlobRef[], sealed: SharedArrayBuffer): DecodedBlob[] {
  const bytes = new Uint8Array(sealed);
  return refs.map((ref) => {
    const location = { ...ref, type: "data" as const };
    try {
      return {
        plaintext: decodeBlob(repository.key, ref.id, location, bytes.subarray(ref.offset, ref.offset + ref.length)),
      };
    } catch (error) {
      return {
        error: isEngineError(error)
          ? error
          : new EngineError("REPOSITORY_DAMAGED", `data blob ${ref.id}: ${String(error)}`),
      };
    }
  });
}

/** At most `count` shared buffers of `size` bytes, made as they are first needed and then reused. */
class BufferPool {
  readonly #size: number;
  readonly #slots: Semaphore;
  readonly #free: SharedArrayBuffer[] = [];

  constructor(count: number, size: number) {
    this.#size = size;
    this.#slots = new Semaphore(count);
  }

  /** Waits for a buffer; `release` gives it back. */
  async take(signal?: AbortSignal): Promise<{ buffer: SharedArrayBuffer; release: () => void }> {
    const release = await this.#slots.acquire(signal);
    const buffer = this.#free.pop() ?? new SharedArrayBuffer(this.#size);
    let released = false;
    return {
      buffer,
      release: () => {
        if (released) return;
        released = true;
        this.#free.push(buffer);
        release();
      },
    };
  }
}
