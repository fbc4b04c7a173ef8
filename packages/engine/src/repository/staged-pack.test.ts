import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CryptoKey } from "../crypto/seal.ts";
import { readSaveData } from "../storage/backend.ts";
import { decodePackHeader } from "./pack.ts";
import { type StagedBlob, StagedPack } from "./staged-pack.ts";

const handle = { type: "data" as const, name: "ab" };
const key: CryptoKey = { encrypt: randomBytes(32), macK: randomBytes(16), macR: randomBytes(16) };
const blob = (): StagedBlob => ({ id: randomBytes(32).toString("hex"), type: "data" });

describe("StagedPack", () => {
  it("keeps blobs in call order behind their header, names the pack by its SHA-256, reads back as often as asked", async () => {
    const folder = await mkdtemp(join(tmpdir(), "e3-staged-"));
    const pack = new StagedPack(folder);
    // Issued without waiting (more than the writes it lets be in flight), of sizes that span several writes and
    // none; each piece is overwritten as soon as add returns, which the pack must not notice.
    const pieces = [randomBytes(5 * 1024 * 1024 + 5), randomBytes(1), randomBytes(0), randomBytes(700_000)];
    const expected = Buffer.concat(pieces);
    const entries = pieces.map(blob);
    const added = pieces.map((piece, i) => {
      const room = pack.add(entries[i]!, piece);
      piece.fill(0);
      return room;
    });
    expect(pack.size).toBe(expected.length);
    await Promise.all(added);
    const { id, blobs, body } = await pack.finish(key);
    const bytes = await readSaveData(body, handle);
    expect(id).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(bytes.subarray(0, expected.length).equals(expected)).toBe(true);
    let offset = 0;
    const placed = entries.map((entry, i) => {
      const at = { ...entry, offset, length: pieces[i]!.length };
      offset += pieces[i]!.length;
      return at;
    });
    expect(blobs).toEqual(placed);
    expect(decodePackHeader(key, bytes, body.size)).toEqual(placed);
    // A retried save opens the body again and must get the same bytes.
    expect((await readSaveData(body, handle)).equals(bytes)).toBe(true);
    await pack.discard();
    expect(await readdir(folder)).toEqual([]);
  });

  it.skipIf(process.platform === "win32")(
    "leaves no file behind while open, so a killed process leaks none",
    async () => {
      const folder = await mkdtemp(join(tmpdir(), "e3-staged-"));
      const pack = new StagedPack(folder);
      const entry = blob();
      await pack.add(entry, randomBytes(1000));
      const { body } = await pack.finish(key);
      expect(await readdir(folder)).toEqual([]);
      const bytes = await readSaveData(body, handle);
      expect(decodePackHeader(key, bytes, bytes.length)).toEqual([{ ...entry, offset: 0, length: 1000 }]);
      await pack.discard();
    },
  );

  it("fails adds and finish with a message naming the folder and how to move it", async () => {
    const missing = join(await mkdtemp(join(tmpdir(), "e3-staged-")), "gone");
    const pack = new StagedPack(missing);
    const failure = {
      code: "STORAGE_ERROR",
      message: expect.stringMatching(new RegExp(`staging a pack at ${missing}: .*ENOENT.*TMPDIR`)),
    };
    // Adds copy and go on while little waits for the disk; past that they wait, and learn of the failure.
    await pack.add(blob(), randomBytes(10));
    await expect(pack.add(blob(), randomBytes(5 * 1024 * 1024))).rejects.toMatchObject(failure);
    await expect(pack.finish(key)).rejects.toMatchObject(failure);
    await pack.discard();
  });
});
