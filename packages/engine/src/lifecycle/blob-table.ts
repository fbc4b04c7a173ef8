import type { BlobType, PackedBlob } from "../repository/pack.ts";

// The whole index of a repository in flat typed arrays, for prune and check, which must hold every blob of
// repositories with millions of them (engine-reference §3.2: restic needs ~56-64 bytes per blob plus its hash
// table). A JavaScript Map of objects costs ~250 bytes per blob; this costs 32 bytes of id, 16 of location, 1 of
// flags and 8-16 of hash slots, ~60 bytes per blob (measured in blob-table.test.ts).
//
// Records are appended pack by pack, so the blobs of one pack are one contiguous range of records. Blob ids are
// SHA-256 digests, uniformly random, so their first four bytes are the hash. Open addressing with linear probing:
// a blob stored in two packs has two records and lookups can walk all of them.

const idBytes = 32;
const metaWords = 4; // pack, offset, length, uncompressed length (0 = stored uncompressed)

export const blobFlags = {
  tree: 1,
  /** This copy is the one a snapshot needs (only one copy of a duplicated blob is marked). */
  used: 2,
  /** Marked by check: the copy could not be read back or its pack is gone. */
  damaged: 4,
  /** Set by check on a tree once everything below it was looked at. */
  walked: 8,
  /** Set by check with `walked` when something below the tree is lost. */
  subtreeDamaged: 16,
} as const;

export class BlobTable {
  #ids = Buffer.alloc(idBytes * 1024);
  #meta = new Uint32Array(metaWords * 1024);
  #flags = new Uint8Array(1024);
  #slots = new Uint32Array(4096);
  #count = 0;
  readonly #probe = Buffer.alloc(idBytes);

  get count(): number {
    return this.#count;
  }

  /** Bytes held by the table's arrays (what a blob costs in memory, growth slack included). */
  byteSize(): number {
    return this.#ids.byteLength + this.#meta.byteLength + this.#flags.byteLength + this.#slots.byteLength;
  }

  /** Appends a record; returns its number. Duplicates (the same blob in another pack) get a record of their own. */
  add(id: string | Uint8Array, type: BlobType, pack: number, blob: Omit<PackedBlob, "id" | "type">): number {
    const record = this.#count;
    if (record === this.#flags.length) this.#grow();
    if (typeof id === "string") this.#ids.write(id, record * idBytes, idBytes, "hex");
    else this.#ids.set(id.subarray(0, idBytes), record * idBytes);
    const meta = record * metaWords;
    this.#meta[meta] = pack;
    this.#meta[meta + 1] = blob.offset;
    this.#meta[meta + 2] = blob.length;
    this.#meta[meta + 3] = blob.uncompressedLength ?? 0;
    this.#flags[record] = type === "tree" ? blobFlags.tree : 0;
    this.#count++;
    if (this.#count * 2 > this.#slots.length) this.#rehash(this.#slots.length * 2);
    else this.#insert(record);
    return record;
  }

  #grow(): void {
    const capacity = this.#flags.length * 2;
    const ids = Buffer.alloc(capacity * idBytes);
    this.#ids.copy(ids);
    this.#ids = ids;
    const meta = new Uint32Array(capacity * metaWords);
    meta.set(this.#meta);
    this.#meta = meta;
    const flags = new Uint8Array(capacity);
    flags.set(this.#flags);
    this.#flags = flags;
  }

  #rehash(size: number): void {
    this.#slots = new Uint32Array(size);
    for (let record = 0; record < this.#count; record++) this.#insert(record);
  }

  #insert(record: number): void {
    const mask = this.#slots.length - 1;
    let slot = this.#ids.readUInt32LE(record * idBytes) & mask;
    while (this.#slots[slot] !== 0) slot = (slot + 1) & mask;
    this.#slots[slot] = record + 1;
  }

  /**
   * Every record of a blob (normally one; more when packs hold duplicates), in the order they were added: linear
   * probing keeps records of one id in insertion order along the probe sequence, and a rehash re-inserts in order.
   */
  find(id: string | Uint8Array): number[] {
    const found: number[] = [];
    this.#scan(id, (record) => {
      found.push(record);
      return true;
    });
    return found;
  }

  /** The first record of a blob, or -1. */
  first(id: string | Uint8Array): number {
    let first = -1;
    this.#scan(id, (record) => {
      first = record;
      return false;
    });
    return first;
  }

  #scan(id: string | Uint8Array, visit: (record: number) => boolean): void {
    const probe = typeof id === "string" ? this.#hexProbe(id) : Buffer.from(id.buffer, id.byteOffset, idBytes);
    const mask = this.#slots.length - 1;
    for (let slot = probe.readUInt32LE(0) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.#slots[slot]!;
      if (entry === 0) return;
      const record = entry - 1;
      const start = record * idBytes;
      if (this.#ids.compare(probe, 0, idBytes, start, start + idBytes) === 0 && !visit(record)) return;
    }
  }

  #hexProbe(id: string): Buffer {
    if (!/^[0-9a-f]{64}$/.test(id)) return Buffer.alloc(idBytes, 0xff); // matches no SHA-256 in practice
    this.#probe.write(id, 0, idBytes, "hex");
    return this.#probe;
  }

  id(record: number): string {
    return this.#ids.toString("hex", record * idBytes, record * idBytes + idBytes);
  }

  type(record: number): BlobType {
    return this.#flags[record]! & blobFlags.tree ? "tree" : "data";
  }

  pack(record: number): number {
    return this.#meta[record * metaWords]!;
  }

  offset(record: number): number {
    return this.#meta[record * metaWords + 1]!;
  }

  length(record: number): number {
    return this.#meta[record * metaWords + 2]!;
  }

  /** The plaintext length of a compressed blob; 0 for a blob stored uncompressed. */
  uncompressedLength(record: number): number {
    return this.#meta[record * metaWords + 3]!;
  }

  /** Where the blob sits in its pack, as the index describes it. */
  location(record: number): PackedBlob {
    const meta = record * metaWords;
    const uncompressedLength = this.#meta[meta + 3]!;
    return {
      id: this.id(record),
      type: this.type(record),
      offset: this.#meta[meta + 1]!,
      length: this.#meta[meta + 2]!,
      ...(uncompressedLength ? { uncompressedLength } : {}),
    };
  }

  has(record: number, flag: number): boolean {
    return (this.#flags[record]! & flag) !== 0;
  }

  set(record: number, flag: number): void {
    this.#flags[record]! |= flag;
  }
}
