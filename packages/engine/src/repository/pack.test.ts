import { createHash, randomBytes } from "node:crypto";
import { zstdCompressSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type CryptoKey, seal } from "../crypto/seal.ts";
import { indexDocument, parseIndex } from "./index-file.ts";
import { decodePackHeader, encodePack } from "./pack.ts";
import { decodeUnpacked, encodeUnpacked } from "./unpacked.ts";

const key: CryptoKey = { encrypt: randomBytes(32), macK: randomBytes(16), macR: randomBytes(16) };
const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

describe("packs", () => {
  it("round-trips a header of plain and compressed blobs with contiguous offsets", () => {
    const plain = randomBytes(1000);
    const text = Buffer.from("compressible ".repeat(500));
    const { bytes, blobs } = encodePack(key, [
      { id: sha(plain), type: "data", sealed: seal(key, plain) },
      { id: sha(text), type: "data", sealed: seal(key, zstdCompressSync(text)), uncompressedLength: text.length },
      { id: sha(Buffer.alloc(0)), type: "data", sealed: seal(key, Buffer.alloc(0)), uncompressedLength: 0 },
    ]);
    expect(decodePackHeader(key, bytes, bytes.length)).toEqual(blobs);
    expect(blobs.map((blob) => blob.offset)).toEqual([0, blobs[0]!.length, blobs[0]!.length + blobs[1]!.length]);
    expect(blobs[1]!.uncompressedLength).toBe(text.length);
    // A zero-length blob is never marked compressed.
    expect(blobs[2]!.uncompressedLength).toBeUndefined();
    expect(() => decodePackHeader(key, bytes, bytes.length + 1)).toThrow(/does not match its header/);
  });

  it("decodes any pack to the blobs it was built from, each blob opening to its plaintext", () => {
    const blob = fc.record({
      plaintext: fc.uint8Array({ maxLength: 3000 }),
      type: fc.constantFrom("data" as const, "tree" as const),
      compress: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(blob, { minLength: 1, maxLength: 12 }), (inputs) => {
        const blobs = inputs.map(({ plaintext, type, compress }) => {
          const bytes = Buffer.from(plaintext);
          const payload = compress && bytes.length > 0 ? zstdCompressSync(bytes) : bytes;
          return {
            id: sha(bytes),
            type,
            sealed: seal(key, payload),
            ...(payload !== bytes ? { uncompressedLength: bytes.length } : {}),
          };
        });
        const { bytes, blobs: packed } = encodePack(key, blobs);
        // Only the tail is needed: the header and its length sit at the end.
        const headerLength = bytes.readUInt32LE(bytes.length - 4);
        expect(decodePackHeader(key, bytes.subarray(bytes.length - 4 - headerLength), bytes.length)).toEqual(packed);
        packed.forEach((entry, i) => {
          expect(entry.id).toBe(blobs[i]?.id);
          expect(bytes.subarray(entry.offset, entry.offset + entry.length)).toEqual(blobs[i]?.sealed);
        });
      }),
      { numRuns: 150 },
    );
  });
});

describe("unpacked files and index documents", () => {
  it("round-trip through 0x02 || zstd(JSON), and read plain JSON too", () => {
    const document = {
      packs: [{ id: "a".repeat(64), blobs: [{ id: "b".repeat(64), type: "tree", offset: 0, length: 40 }] }],
    };
    expect(decodeUnpacked(key, encodeUnpacked(key, document), "index")).toEqual(document);
    expect(decodeUnpacked(key, seal(key, Buffer.from(JSON.stringify(document))), "index")).toEqual(document);
    expect(indexDocument(parseIndex(document))).toEqual(document);
  });
});
