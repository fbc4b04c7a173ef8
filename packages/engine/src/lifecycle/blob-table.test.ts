import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BlobTable, blobFlags } from "./blob-table.ts";

const idOf = (n: number) => createHash("sha256").update(`blob ${n}`).digest();

describe("BlobTable", () => {
  it("finds every blob, every copy of a duplicate in order, and nothing else", () => {
    const table = new BlobTable();
    for (let n = 0; n < 5_000; n++) {
      table.add(idOf(n), n % 7 === 0 ? "tree" : "data", n % 13, {
        offset: n * 3,
        length: n + 33,
        uncompressedLength: n % 2 ? n + 1 : undefined,
      });
    }
    // Duplicates of 100 blobs in another pack, added after the originals.
    for (let n = 0; n < 100; n++)
      table.add(idOf(n).toString("hex"), n % 7 === 0 ? "tree" : "data", 99, { offset: 0, length: 40 });
    for (let n = 0; n < 5_000; n++) {
      const records = table.find(idOf(n));
      expect(records.length).toBe(n < 100 ? 2 : 1);
      const record = records[0]!;
      expect(record).toBe(n);
      expect(table.first(idOf(n).toString("hex"))).toBe(n);
      expect(table.location(record)).toEqual({
        id: idOf(n).toString("hex"),
        type: n % 7 === 0 ? "tree" : "data",
        offset: n * 3,
        length: n + 33,
        ...(n % 2 ? { uncompressedLength: n + 1 } : {}),
      });
      expect(table.pack(record)).toBe(n % 13);
      if (n < 100) expect(table.pack(records[1]!)).toBe(99);
    }
    expect(table.first(randomBytes(32))).toBe(-1);
    expect(table.first("not hex")).toBe(-1);
    table.set(5, blobFlags.used);
    expect(table.has(5, blobFlags.used)).toBe(true);
    expect(table.has(6, blobFlags.used)).toBe(false);
    expect(table.type(7)).toBe("tree");
  });

  it("costs about 60 bytes per blob for a million blobs", () => {
    const before = process.memoryUsage().arrayBuffers;
    const table = new BlobTable();
    const count = 1_000_000;
    const id = Buffer.alloc(32);
    for (let n = 0; n < count; n++) {
      id.writeUInt32LE(Math.imul(n, 2654435761) >>> 0, 0);
      id.writeUInt32LE(n, 4);
      table.add(id, "data", n >>> 12, { offset: n, length: 100 });
    }
    const measured = (process.memoryUsage().arrayBuffers - before) / count;
    const perBlob = table.byteSize() / count;
    // 32 id + 16 location + 1 flags + 4 per hash slot at a load factor between 1/4 and 1/2, with growth slack.
    expect(perBlob).toBeLessThan(100);
    expect(measured).toBeLessThan(110);
    console.log(`blob table: ${perBlob.toFixed(1)} bytes per blob allocated, ${measured.toFixed(1)} measured`);
    id.writeUInt32LE(Math.imul(777_777, 2654435761) >>> 0, 0);
    id.writeUInt32LE(777_777, 4);
    expect(table.first(id)).toBe(777_777);
  });
});
