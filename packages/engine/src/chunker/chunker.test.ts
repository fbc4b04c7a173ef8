import { createHash, randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { degree, isIrreducible, mulMod, randomPolynomial } from "./polynomial.ts";
import { chunkLengths, maxChunkSize, minChunkSize, RabinChunker } from "./rabin.ts";

const testPolynomial = 0x3da3358b4dc173n;

describe("polynomials", () => {
  it("tells irreducible polynomials from reducible ones (restic's polynomials_test.go)", () => {
    expect(isIrreducible(0x2482734cacca49n)).toBe(true);
    expect(isIrreducible(testPolynomial)).toBe(true);
    for (const reducible of [0x38f1e565e288dfn, 0x30a8295b9d5c91n, 0x312daf4b284899n]) {
      expect(isIrreducible(reducible)).toBe(false);
    }
  });

  it("draws random irreducible polynomials of degree 53", () => {
    const pol = randomPolynomial();
    expect(degree(pol)).toBe(53);
    expect(isIrreducible(pol)).toBe(true);
  });

  it("multiplies modulo a polynomial (x·x = x² when the degree allows it)", () => {
    expect(mulMod(2n, 2n, testPolynomial)).toBe(4n);
  });
});

describe("RabinChunker", () => {
  it("cuts all-zero data into 512 KiB chunks (restic's chunks2 vector)", () => {
    const zeros = Buffer.alloc(4 * minChunkSize);
    const lengths = chunkLengths(testPolynomial, zeros);
    expect(lengths).toEqual([minChunkSize, minChunkSize, minChunkSize, minChunkSize]);
    expect(createHash("sha256").update(zeros.subarray(0, minChunkSize)).digest("hex")).toMatch(/^07854d2f.*1541$/);
  });

  it("cuts the same places however the stream is split, within the size limits", () => {
    const data = randomBytes(12 * 1024 * 1024);
    const whole = chunkLengths(testPolynomial, data);
    expect(whole.reduce((sum, length) => sum + length, 0)).toBe(data.length);
    for (const length of whole.slice(0, -1)) {
      expect(length).toBeGreaterThanOrEqual(minChunkSize);
      expect(length).toBeLessThanOrEqual(maxChunkSize);
    }
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3_000_000 }), { minLength: 1, maxLength: 8 }), (pieces) => {
        const chunker = new RabinChunker(testPolynomial);
        const lengths: number[] = [];
        let offset = 0;
        for (const piece of [...pieces, data.length]) {
          lengths.push(...chunker.push(data.subarray(offset, Math.min(data.length, offset + piece))));
          offset = Math.min(data.length, offset + piece);
        }
        const last = chunker.finish();
        expect(last > 0 ? [...lengths, last] : lengths).toEqual(whole);
      }),
      { numRuns: 10 },
    );
  });

  it("gives an empty file no chunks and a short file one", () => {
    expect(chunkLengths(testPolynomial, Buffer.alloc(0))).toEqual([]);
    expect(chunkLengths(testPolynomial, Buffer.alloc(1000, 7))).toEqual([1000]);
  });
});
