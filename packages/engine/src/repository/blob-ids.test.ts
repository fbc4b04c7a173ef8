import { createHash, randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateKey } from "../crypto/key.ts";
import { decodeBlob } from "./blob-decode.ts";
import { BlobIdTable, sharedTableHas } from "./blob-ids.ts";
import { blobId, sealBatch, WorkerSealer } from "./blob-sealer.ts";

const hexId = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString("hex"));
const zeroId = "0".repeat(64);

describe("BlobIdTable", () => {
  it("holds exactly the ids added, through growth, and its shared memory answers the same", () => {
    fc.assert(
      fc.property(fc.array(hexId, { maxLength: 3000 }), fc.array(hexId, { maxLength: 50 }), (added, others) => {
        const table = new BlobIdTable();
        const expected = new Set<string>();
        for (const id of added) {
          expect(table.add(id)).toBe(!expected.has(id));
          expected.add(id);
        }
        expect(table.size).toBe(expected.size);
        for (const id of [...added, ...others]) {
          expect(table.has(id)).toBe(expected.has(id));
          expect(sharedTableHas(table.shared, Buffer.from(id, "hex"))).toBe(expected.has(id));
        }
      }),
      { numRuns: 30 },
    );
  });

  it("grows into new memory; the old memory only misses ids added after the move", () => {
    const table = new BlobIdTable();
    const old = table.shared;
    const before: string[] = [];
    const after: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const id = randomBytes(32).toString("hex");
      table.add(id);
      (table.shared === old ? before : after).push(id);
    }
    expect(before.length).toBeGreaterThan(100);
    expect(after.length).toBeGreaterThan(100);
    for (const id of before) expect(sharedTableHas(old, Buffer.from(id, "hex"))).toBe(true);
    for (const id of after) expect(sharedTableHas(old, Buffer.from(id, "hex"))).toBe(false);
    for (const id of [...before, ...after]) expect(sharedTableHas(table.shared, Buffer.from(id, "hex"))).toBe(true);
  });

  it("keeps the all-zero id apart from empty slots, and refuses what is not an id", () => {
    const table = new BlobIdTable();
    expect(table.has(zeroId)).toBe(false);
    expect(table.add(zeroId)).toBe(true);
    expect(table.add(zeroId)).toBe(false);
    expect(table.has(zeroId)).toBe(true);
    expect(table.size).toBe(1);
    // The sealing threads cannot see it; they seal it, and the writer drops it.
    expect(sharedTableHas(table.shared, Buffer.alloc(32))).toBe(false);
    expect(() => table.has("abc")).toThrow(/not a blob id/);
    expect(() => table.add(`${"0".repeat(63)}g`)).toThrow(/not a blob id/);
  });
});

describe("sealing with known ids", () => {
  const key = generateKey();
  const plaintexts = [Buffer.from("known one"), Buffer.from("new one"), randomBytes(100_000), Buffer.from("known two")];
  const known = new BlobIdTable([blobId(plaintexts[0]!), blobId(plaintexts[3]!)]);

  it("leaves the known blobs out of the batch and seals the others", () => {
    const { sealed, blobs } = sealBatch(key, plaintexts, 3, (digest) => known.has(digest.toString("hex")));
    expect(blobs.map((blob) => "known" in blob)).toEqual([true, false, false, true]);
    let offset = 0;
    for (const [i, blob] of blobs.entries()) {
      expect(blob.id).toBe(createHash("sha256").update(plaintexts[i]!).digest("hex"));
      if ("known" in blob) continue;
      const bytes = sealed.subarray(offset, offset + blob.length);
      offset += blob.length;
      const location = { type: "data" as const, id: blob.id, pack: "p", offset: 0, length: blob.length };
      const stored = blob.uncompressedLength === undefined ? location : { ...location, ...blob };
      expect(decodeBlob(key, blob.id, stored, bytes).equals(plaintexts[i]!)).toBe(true);
    }
    expect(offset).toBe(sealed.length);
  });

  it("does the same on a sealing thread, reading the table's shared memory", async () => {
    const sealer = new WorkerSealer(key, 1);
    try {
      const results = await sealer.seal(
        plaintexts.map((plaintext) => Buffer.from(plaintext)),
        3,
        known,
      );
      expect(results.map((result) => ("known" in result ? "known" : result.sealed.length > 0))).toEqual([
        "known",
        true,
        true,
        "known",
      ]);
      expect(results.map((result) => result.id)).toEqual(plaintexts.map(blobId));
    } finally {
      await sealer.close();
    }
  });
});
