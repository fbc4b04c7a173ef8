import { randomBytes } from "node:crypto";
import { constants as zlibConstants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { compressFrame, decompressFrame, wasmBelow } from "./zstd.ts";

const text = (size: number) =>
  Buffer.from("index pack tree blob snapshot ".repeat(Math.ceil(size / 30))).subarray(0, size);
// Each side of the switch between the WebAssembly build and node:zlib, and the sizes of real blobs.
const sizes = [1, 100, 3_300, wasmBelow - 1, wasmBelow, 600_000];

describe("zstd frames", () => {
  it.each(sizes)("round-trips %i bytes of text and of random data, and node:zlib reads the frames", (size) => {
    for (const plaintext of [text(size), randomBytes(size)]) {
      const frame = compressFrame(plaintext, 3);
      expect(zstdDecompressSync(frame).equals(plaintext)).toBe(true);
      expect(decompressFrame(frame, size).equals(plaintext)).toBe(true);
    }
    expect(compressFrame(text(size), 3).length).toBeLessThan(Math.max(size, 30));
  });

  it("reads frames node:zlib wrote, at every level restic uses", () => {
    for (const size of sizes) {
      for (const level of [3, 11]) {
        const plaintext = text(size);
        const frame = zstdCompressSync(plaintext, { params: { [zlibConstants.ZSTD_c_compressionLevel]: level } });
        expect(decompressFrame(frame, size).equals(plaintext)).toBe(true);
        expect(decompressFrame(compressFrame(plaintext, level), size).equals(plaintext)).toBe(true);
      }
    }
  });

  it("refuses a frame that holds another length than expected, and bytes that are no frame", () => {
    for (const size of [3_300, 600_000]) {
      const frame = compressFrame(text(size), 3);
      expect(() => decompressFrame(frame, size - 1)).toThrow();
      expect(() => decompressFrame(frame, size + 1)).toThrow(/holds|valid/);
      expect(() => decompressFrame(randomBytes(200), size)).toThrow();
    }
  });
});
