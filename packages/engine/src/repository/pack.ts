import { type CryptoKey, open, seal, sealOverhead } from "../crypto/seal.ts";
import { EngineError } from "../errors.ts";

// Pack files (data/xx/<id>): sealed blobs back to back, then the sealed header listing them in file order, then the
// header's sealed length as uint32 LE (engine-reference §1.7). Offsets are implicit: blobs are contiguous from 0.

export type BlobType = "data" | "tree";
export type PackedBlob = {
  id: string;
  type: BlobType;
  offset: number;
  /** Length of the sealed blob in the pack. */
  length: number;
  /** Plaintext length when the blob is zstd-compressed; absent for uncompressed blobs. */
  uncompressedLength?: number;
};

const plainEntrySize = 1 + 4 + 32;
const compressedEntrySize = 1 + 4 + 4 + 32;
const typeCodes = { data: 0, tree: 1 } as const;

/** Assembles a pack from already sealed blobs; returns the file's bytes and where each blob sits. */
export function encodePack(
  key: CryptoKey,
  blobs: { id: string; type: BlobType; sealed: Uint8Array; uncompressedLength?: number }[],
): { bytes: Buffer; blobs: PackedBlob[] } {
  const { tail, blobs: packed } = encodePackTail(
    key,
    blobs.map((blob) => ({ ...blob, length: blob.sealed.length })),
  );
  return { bytes: Buffer.concat([...blobs.map((blob) => blob.sealed), tail]), blobs: packed };
}

/**
 * What follows the sealed blobs of a pack (given in file order with their lengths): the sealed header and its
 * length. For writers that hold the blobs back to back in a buffer of their own.
 */
export function encodePackTail(
  key: CryptoKey,
  blobs: { id: string; type: BlobType; length: number; uncompressedLength?: number }[],
): { tail: Buffer; blobs: PackedBlob[] } {
  const packed: PackedBlob[] = [];
  const entries: Buffer[] = [];
  let offset = 0;
  for (const blob of blobs) {
    const compressed = blob.uncompressedLength !== undefined && blob.uncompressedLength > 0;
    const entry = Buffer.alloc(compressed ? compressedEntrySize : plainEntrySize);
    entry[0] = typeCodes[blob.type] + (compressed ? 2 : 0);
    entry.writeUInt32LE(blob.length, 1);
    if (compressed) entry.writeUInt32LE(blob.uncompressedLength!, 5);
    Buffer.from(blob.id, "hex").copy(entry, compressed ? 9 : 5);
    entries.push(entry);
    packed.push({
      id: blob.id,
      type: blob.type,
      offset,
      length: blob.length,
      ...(compressed ? { uncompressedLength: blob.uncompressedLength! } : {}),
    });
    offset += blob.length;
  }
  const header = seal(key, Buffer.concat(entries));
  const headerLength = Buffer.alloc(4);
  headerLength.writeUInt32LE(header.length);
  return { tail: Buffer.concat([header, headerLength]), blobs: packed };
}

/** Reads a pack's header from the whole file (or its tail, given the file size); checks the layout adds up. */
export function decodePackHeader(key: CryptoKey, tail: Uint8Array, packSize: number): PackedBlob[] {
  if (tail.length < 4) throw new EngineError("INVALID_CIPHERTEXT", "pack is too short to hold a header");
  const headerLength = Buffer.from(tail.subarray(tail.length - 4)).readUInt32LE(0);
  if (headerLength + 4 > tail.length || headerLength < sealOverhead) {
    throw new EngineError("INVALID_CIPHERTEXT", `pack header length ${headerLength} does not fit the pack`);
  }
  const header = open(key, tail.subarray(tail.length - 4 - headerLength, tail.length - 4), "pack header");
  const blobs: PackedBlob[] = [];
  let offset = 0;
  for (let at = 0; at < header.length; ) {
    const code = header[at]!;
    if (code > 3) throw new EngineError("INVALID_CIPHERTEXT", `pack header has an unknown blob type ${code}`);
    const compressed = code >= 2;
    const length = header.readUInt32LE(at + 1);
    const uncompressedLength = compressed ? header.readUInt32LE(at + 5) : undefined;
    const idStart = at + (compressed ? 9 : 5);
    blobs.push({
      id: header.subarray(idStart, idStart + 32).toString("hex"),
      type: code % 2 === 0 ? "data" : "tree",
      offset,
      length,
      ...(uncompressedLength !== undefined ? { uncompressedLength } : {}),
    });
    offset += length;
    at = idStart + 32;
  }
  if (offset + headerLength + 4 !== packSize) {
    throw new EngineError(
      "INVALID_CIPHERTEXT",
      `pack size ${packSize} does not match its header (${offset + headerLength + 4})`,
    );
  }
  return blobs;
}
