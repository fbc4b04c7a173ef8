import { link, lstat, mkdir, readdir, rename, rm, symlink } from "node:fs/promises";
import { resolve } from "node:path";
import { EngineError, isEngineError } from "../errors.ts";
import { type ProgressCallback, ProgressMeter } from "../progress.ts";
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
import { type PackLoad, planPackLoads, planRestore, type RestoreItem } from "./plan.ts";

export type { OverwritePolicy };

// Restores a snapshot's tree into a folder as `restic restore --target` lays it out. Everything is planned first
// (names checked, hard links grouped, blobs grouped by pack), then: folders and small entries in tree order, file
// contents pack by pack (each pack loaded once, `concurrency` loads at a time, written one pack at a time so at
// most `concurrency` packs are in memory), hard links, and last the folders' metadata, deepest first, so writing
// their contents does not change their times.

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
          await applyDirectoryMetadata(folder.path, folder.node, folder.display);
          this.#summary.dirsRestored++;
        } catch (error) {
          this.#fail(folder, error);
        }
      }
      finished = true;
      return this.#summary;
    } finally {
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
    let next = 0;
    const worker = async () => {
      for (let load = loads[next++]; load; load = loads[next++]) await this.#restorePack(load, writing);
    };
    const workers = await Promise.allSettled(Array.from({ length: Math.min(this.#concurrency, loads.length) }, worker));
    const failure = workers.find((result) => result.status === "rejected");
    if (failure) throw failure.reason;
  }

  /** Loads the needed range of one pack, then writes each blob to every offset that needs it. */
  async #restorePack(load: PackLoad<ContentFile>, writing: Semaphore): Promise<void> {
    if (load.blobs.every((blob) => blob.targets.every((target) => target.file.failed))) return;
    let bytes: Buffer;
    try {
      bytes = await this.#repository.storage.load(
        { type: "data", name: load.pack },
        { offset: load.offset, length: load.length, signal: this.#signal },
      );
    } catch (error) {
      if (this.#signal?.aborted) throw error;
      for (const blob of load.blobs) for (const { file } of blob.targets) await this.#failFile(file, error);
      return;
    }
    this.#summary.packsLoaded++;
    await writing.run(async () => {
      for (const blob of load.blobs) {
        this.#signal?.throwIfAborted();
        const targets = blob.targets.filter((target) => !target.file.failed);
        if (targets.length === 0) continue;
        const start = blob.location.offset - load.offset;
        let plaintext: Buffer;
        try {
          plaintext = decodeBlob(
            this.#repository.key,
            blob.id,
            blob.location,
            bytes.subarray(start, start + blob.location.length),
          );
        } catch (error) {
          for (const { file } of targets) await this.#failFile(file, error);
          continue;
        }
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
    }, this.#signal);
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
