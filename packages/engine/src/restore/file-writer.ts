import { closeSync, constants, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { writeBytes } from "../storage/local.ts";
import { applyMetadataSync, temporaryPath } from "./metadata.ts";
import type { RestoreItem } from "./plan.ts";

// Files being filled from blobs that arrive in pack order, not file order: each is written under a temporary name
// beside its final one and renamed only once its last blob is in and its metadata is set, so an error or an abort
// never leaves a partial or wrong file under a final name. A few descriptors stay open (a file's blobs often sit in
// the same or neighbouring packs); the rest are reopened when their next blob comes. The calls are synchronous: a
// restore of many small files is mostly these calls (open, write, owner, mode, times, close, rename per file), and
// each asynchronous one costs a thread pool round trip (futexes, a wake-up of the event loop) that was more CPU than
// the call itself. Promises are kept so the interface stays that of asynchronous writing.

export type ContentFile = {
  item: RestoreItem;
  /** Blob writes still to come; the file is complete at 0. */
  blobsLeft: number;
  failed: boolean;
  /** Its temporary name once created. */
  temporary: Buffer | null;
};

const maxOpenFiles = 32;

export class FileWriter {
  /** Open descriptors, least recently used first. */
  readonly #open = new Map<ContentFile, number>();
  /** Files whose temporary name exists on disk. */
  readonly #unfinished = new Set<ContentFile>();

  /** Writes `bytes` at `offset` of the file's temporary copy, creating it on first use. */
  async write(file: ContentFile, offset: number, bytes: Uint8Array): Promise<void> {
    const fd = this.#handle(file);
    let written = 0;
    while (written < bytes.length) {
      written += writeSync(fd, bytes, written, Math.min(writeBytes, bytes.length - written), offset + written);
    }
  }

  /** Sets owner, mode and times, then gives the file its final name (replacing what had it). */
  async finish(file: ContentFile): Promise<void> {
    const fd = this.#handle(file);
    this.#open.delete(file);
    try {
      applyMetadataSync(fd, file.item.node, file.item.display);
    } finally {
      closeSync(fd);
    }
    renameSync(file.temporary!, file.item.path);
    this.#unfinished.delete(file);
  }

  /** Closes and deletes the file's temporary copy; its final name is left as it was. */
  async discard(file: ContentFile): Promise<void> {
    const fd = this.#open.get(file);
    this.#open.delete(file);
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {}
    }
    if (file.temporary && this.#unfinished.delete(file)) rmSync(file.temporary, { force: true });
  }

  /** Discards every file not finished (after an abort or a failure). */
  async discardAll(): Promise<void> {
    for (const file of [...this.#unfinished, ...this.#open.keys()]) await this.discard(file);
  }

  #handle(file: ContentFile): number {
    const cached = this.#open.get(file);
    if (cached !== undefined) {
      this.#open.delete(file);
      this.#open.set(file, cached);
      return cached;
    }
    const [oldest] = this.#open;
    if (oldest && this.#open.size >= maxOpenFiles) {
      this.#open.delete(oldest[0]);
      closeSync(oldest[1]);
    }
    let fd: number;
    if (file.temporary) {
      fd = openSync(file.temporary, constants.O_WRONLY | constants.O_NOFOLLOW);
    } else {
      // O_EXCL: a fresh name of our own, never an entry someone placed there (it does not follow symlinks either).
      const temporary = temporaryPath(file.item.path);
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
      fd = openSync(temporary, flags, 0o600);
      file.temporary = temporary;
      this.#unfinished.add(file);
    }
    this.#open.set(file, fd);
    return fd;
  }
}
