import { createHash, type Hash, randomBytes } from "node:crypto";
import { type FileHandle as FsFile, open, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { CryptoKey } from "../crypto/seal.ts";
import { freeNow } from "../memory.ts";
import type { SaveOptions, StorageBackend, StreamSource } from "../storage/backend.ts";
import { StorageError } from "../storage/errors.ts";
import { type BlobType, encodePackTail, type PackedBlob } from "./pack.ts";

// A pack being assembled in a temporary file, as restic assembles its packs: the packs a backup has in flight (one
// filling per blob type, a few uploading) then cost page cache instead of process memory. In memory each was a
// 24 MiB staging buffer, and four of them were most of the gap between a backup's peak RSS and restic's.
//
// The file lives in the system's temporary folder (TMPDIR; TEMP on Windows) and is unlinked as soon as it is open,
// so a killed process leaves nothing behind: the open descriptor keeps its bytes until it is closed. Where unlinking
// an open file fails, discard() removes it.

/** Appends are gathered into writes of this size: a write per small blob cost ~40 µs of the main thread each. */
const writeBytes = 1024 * 1024;
/** Bytes written but not yet in the file beyond which append() asks its caller to wait (a slow disk). */
const maxInFlightBytes = 4 * writeBytes;
/** Bytes per read when the backend reads the pack back. */
const readBackBytes = 1024 * 1024;

/** A blob as its pack's header lists it; its sealed length comes from the bytes added. */
export type StagedBlob = { id: string; type: BlobType; uncompressedLength?: number };

export class StagedPack {
  readonly #path: string;
  /** The blobs added, in file order, with their sealed lengths: what the header lists. */
  readonly #blobs: (StagedBlob & { length: number })[] = [];
  readonly #hash: Hash = createHash("sha256");
  readonly #opened: Promise<FsFile>;
  /** The open file, then each write in turn: writes land in order, and a failed one fails all that follow. */
  #written: Promise<FsFile>;
  /** Appended bytes not yet handed to a write. */
  #gathering: Buffer | null = null;
  #gathered = 0;
  /** Bytes handed to writes so far (the next write's position). */
  #handedOver = 0;
  #inFlight = 0;
  #unlinked = false;

  constructor(folder: string = tmpdir()) {
    this.#path = join(folder, `e3-pack-${randomBytes(8).toString("hex")}`);
    this.#opened = open(this.#path, "wx+", 0o600).then(
      async (file) => {
        this.#unlinked = await unlink(this.#path).then(
          () => true,
          () => false,
        );
        return file;
      },
      (error: unknown) => {
        throw stagingError(error, folder);
      },
    );
    this.#opened.catch(() => {}); // the failure reaches whoever waits for room or finishes
    this.#written = this.#opened;
  }

  /** Bytes appended so far. */
  get size(): number {
    return this.#handedOver + this.#gathered;
  }

  /**
   * Adds a sealed blob after those added before. Its bytes are copied before this returns, so the caller may free
   * them at once. The promise settles when there is room for more: it waits while the disk is behind, and rejects
   * when a write failed.
   */
  add(blob: StagedBlob, sealed: Uint8Array): Promise<void> {
    this.#blobs.push({ ...blob, length: sealed.byteLength });
    return this.#append(sealed);
  }

  /** Appends `bytes` after everything appended before; the pack's id covers them. */
  #append(bytes: Uint8Array): Promise<void> {
    this.#hash.update(bytes);
    for (let offset = 0; offset < bytes.byteLength; ) {
      this.#gathering ??= Buffer.allocUnsafeSlow(writeBytes);
      const copied = Math.min(bytes.byteLength - offset, writeBytes - this.#gathered);
      this.#gathering.set(bytes.subarray(offset, offset + copied), this.#gathered);
      this.#gathered += copied;
      offset += copied;
      if (this.#gathered === writeBytes) this.#writeGathered();
    }
    const room = this.#inFlight > maxInFlightBytes ? this.#written.then(() => {}) : Promise.resolve();
    room.catch(() => {}); // a caller that does not wait learns of the failure from finish()
    return room;
  }

  #writeGathered(): void {
    const gathering = this.#gathering;
    if (!gathering || this.#gathered === 0) return;
    const bytes = gathering.subarray(0, this.#gathered);
    const position = this.#handedOver;
    this.#handedOver += bytes.byteLength;
    this.#inFlight += bytes.byteLength;
    this.#gathering = null;
    this.#gathered = 0;
    this.#written = this.#written.then(async (file) => {
      try {
        for (let done = 0; done < bytes.byteLength; ) {
          const { bytesWritten } = await file.write(bytes, done, bytes.byteLength - done, position + done);
          done += bytesWritten;
        }
      } catch (error) {
        throw stagingError(error, this.#path);
      } finally {
        this.#inFlight -= bytes.byteLength;
        freeNow(gathering);
      }
      return file;
    });
    this.#written.catch(() => {});
  }

  /**
   * Appends the header listing the blobs, waits for every write, and returns the pack's id (SHA-256 of its bytes),
   * where each blob sits, and its bytes as a body a backend reads, as often as its retries need. Nothing can be added
   * afterwards.
   */
  async finish(key: CryptoKey): Promise<{ id: string; blobs: PackedBlob[]; body: StreamSource }> {
    const { tail, blobs } = encodePackTail(key, this.#blobs);
    void this.#append(tail);
    this.#writeGathered();
    const file = await this.#written;
    const size = this.#handedOver;
    const body: StreamSource = {
      size,
      // In bytes, so the stream reads one step ahead, not sixteen (an object stream's default).
      open: () => Readable.from(readBack(file, size), { objectMode: false, highWaterMark: readBackBytes }),
    };
    return { id: this.#hash.digest("hex"), blobs, body };
  }

  /** Finishes the pack, stores it under its id, and discards the file, also when that fails. */
  async saveTo(
    key: CryptoKey,
    storage: StorageBackend,
    options: SaveOptions,
  ): Promise<{ id: string; size: number; blobs: PackedBlob[] }> {
    try {
      const { id, blobs, body } = await this.finish(key);
      await storage.save({ type: "data", name: id }, body, options);
      return { id, size: body.size, blobs };
    } finally {
      await this.discard();
    }
  }

  /** Closes the file and frees its disk space. Never throws. */
  async discard(): Promise<void> {
    if (this.#gathering) freeNow(this.#gathering);
    this.#gathering = null;
    this.#gathered = 0;
    await this.#written.catch(() => {}); // no write may still be under way when the file closes
    const file = await this.#opened.catch(() => null);
    await file?.close().catch(() => {});
    if (file && !this.#unlinked) await unlink(this.#path).catch(() => {});
  }
}

/** The file's first `size` bytes in steps of readBackBytes (positional reads: the handle stays open for the next). */
async function* readBack(file: FsFile, size: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < size; ) {
    const chunk = Buffer.allocUnsafe(Math.min(readBackBytes, size - offset));
    const { bytesRead } = await file.read(chunk, 0, chunk.length, offset);
    if (bytesRead === 0)
      throw new StorageError("STORAGE_ERROR", `a staged pack ended after ${offset} of ${size} bytes`);
    offset += bytesRead;
    yield chunk.subarray(0, bytesRead);
  }
}

function stagingError(error: unknown, where: string): StorageError {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  const advice =
    "; packs are staged in the temporary folder: give it room, or point TMPDIR (TEMP on Windows) elsewhere";
  return new StorageError(
    code === "ENOSPC" || code === "EDQUOT" ? "NO_SPACE" : "STORAGE_ERROR",
    `staging a pack at ${where}: ${detail}${advice}`,
    { cause: error },
  );
}
