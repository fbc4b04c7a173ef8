import { createHash, randomBytes } from "node:crypto";
import { zstdCompressSync } from "node:zlib";
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
