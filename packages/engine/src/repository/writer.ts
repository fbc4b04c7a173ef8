import { createHash } from "node:crypto";
import { zstdCompressSync } from "node:zlib";
import { type CryptoKey, seal } from "../crypto/seal.ts";
import type { StorageBackend } from "../storage/backend.ts";
import { type IndexedPack, indexDocument } from "./index-file.ts";
import { type BlobType, encodePack } from "./pack.ts";
import { type Snapshot, snapshotDocument } from "./snapshot.ts";
import { encodeUnpacked } from "./unpacked.ts";

// Writes blobs into packs (data and tree blobs never share a pack), then the index naming them, then snapshots —
// the order that keeps a repository valid at every step (engine-reference §1.13).

export type Compression = "auto" | "off" | "max";

const defaultPackSize = 16 * 1024 * 1024;

type PendingBlob = { id: string; type: BlobType; sealed: Buffer; uncompressedLength?: number };

export class RepositoryWriter {
  readonly #key: CryptoKey;
  readonly #storage: StorageBackend;
  readonly #packSize: number;
  readonly #compression: Compression;
  /** Blob ids already in the repository or written by this writer. */
  readonly #known: Set<string>;
  readonly #pending: Record<BlobType, { blobs: PendingBlob[]; bytes: number }> = {
    data: { blobs: [], bytes: 0 },
    tree: { blobs: [], bytes: 0 },
  };
  readonly #written: IndexedPack[] = [];

  constructor(
    key: CryptoKey,
    storage: StorageBackend,
    options: { packSize?: number; compression?: Compression; knownBlobs?: Iterable<string> } = {},
  ) {
    this.#key = key;
    this.#storage = storage;
    this.#packSize = options.packSize ?? defaultPackSize;
    this.#compression = options.compression ?? "auto";
    this.#known = new Set(options.knownBlobs ?? []);
  }

  /** Adds a blob unless the repository has it already; returns its id (SHA-256 of the plaintext). */
  async addBlob(type: BlobType, plaintext: Uint8Array): Promise<{ id: string; added: boolean }> {
    const id = createHash("sha256").update(plaintext).digest("hex");
    if (this.#known.has(id)) return { id, added: false };
    this.#known.add(id);
    // Trees are always compressed in v2; data unless compression is off. A blob zstd does not shrink is stored
    // as it is (header type 0/1), which restic reads the same way.
    const compress = plaintext.length > 0 && (type === "tree" || this.#compression !== "off");
    const compressed = compress ? zstdCompressSync(plaintext) : null;
    const blob: PendingBlob =
      compressed && compressed.length < plaintext.length
        ? { id, type, sealed: seal(this.#key, compressed), uncompressedLength: plaintext.length }
        : { id, type, sealed: seal(this.#key, plaintext) };
    const pending = this.#pending[type];
    pending.blobs.push(blob);
    pending.bytes += blob.sealed.length;
    if (pending.bytes >= this.#packSize) await this.#writePack(type);
    return { id, added: true };
  }

  async #writePack(type: BlobType): Promise<void> {
    const pending = this.#pending[type];
    if (pending.blobs.length === 0) return;
    const { bytes, blobs } = encodePack(this.#key, pending.blobs);
    const id = createHash("sha256").update(bytes).digest("hex");
    await this.#storage.save({ type: "data", name: id }, bytes);
    this.#written.push({ id, blobs });
    this.#pending[type] = { blobs: [], bytes: 0 };
  }

  /** Writes every open pack and one index file for everything this writer stored since the last flush. */
  async flush(): Promise<void> {
    await this.#writePack("data");
    await this.#writePack("tree");
    if (this.#written.length === 0) return;
    const sealed = encodeUnpacked(this.#key, indexDocument(this.#written));
    await this.#storage.save({ type: "index", name: createHash("sha256").update(sealed).digest("hex") }, sealed);
    this.#written.length = 0;
  }

  /** Flushes, then records the snapshot (only after its data is indexed). Returns the snapshot id. */
  async writeSnapshot(snapshot: Snapshot): Promise<string> {
    await this.flush();
    const sealed = encodeUnpacked(this.#key, snapshotDocument(snapshot));
    const id = createHash("sha256").update(sealed).digest("hex");
    await this.#storage.save({ type: "snapshot", name: id }, sealed);
    return id;
  }
}
