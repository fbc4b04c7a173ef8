import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readSaveData } from "../storage/backend.ts";
import { StagedPack } from "./staged-pack.ts";

const handle = { type: "data" as const, name: "ab" };

describe("StagedPack", () => {
  it("keeps appends in call order, names the pack by their SHA-256, and reads back as often as asked", async () => {
    const folder = await mkdtemp(join(tmpdir(), "e3-staged-"));
    const pack = new StagedPack(folder);
    // Issued without waiting (more than the writes it lets be in flight), of sizes that span several writes and
    // none; each piece is overwritten as soon as append returns, which the pack must not notice.
    const pieces = [randomBytes(5 * 1024 * 1024 + 5), randomBytes(1), randomBytes(0), randomBytes(700_000)];
    const expected = Buffer.concat(pieces);
    const appended = pieces.map((piece) => {
      const room = pack.append(piece);
      piece.fill(0);
      return room;
    });
    expect(pack.size).toBe(pieces.reduce((sum, piece) => sum + piece.length, 0));
    await Promise.all(appended);
    const { id, body } = await pack.finish();
    expect(id).toBe(createHash("sha256").update(expected).digest("hex"));
    expect(body.size).toBe(expected.length);
    // A retried save opens the body again and must get the same bytes.
    expect((await readSaveData(body, handle)).equals(expected)).toBe(true);
    expect((await readSaveData(body, handle)).equals(expected)).toBe(true);
    await pack.discard();
    expect(await readdir(folder)).toEqual([]);
  });

  it.skipIf(process.platform === "win32")(
    "leaves no file behind while open, so a killed process leaks none",
    async () => {
      const folder = await mkdtemp(join(tmpdir(), "e3-staged-"));
      const pack = new StagedPack(folder);
      await pack.append(randomBytes(1000));
      const { body } = await pack.finish();
      expect(await readdir(folder)).toEqual([]);
      expect((await readSaveData(body, handle)).length).toBe(1000);
      await pack.discard();
    },
  );

  it("fails appends and finish with a message naming the folder and how to move it", async () => {
    const missing = join(await mkdtemp(join(tmpdir(), "e3-staged-")), "gone");
    const pack = new StagedPack(missing);
    const failure = {
      code: "STORAGE_ERROR",
      message: expect.stringMatching(new RegExp(`staging a pack at ${missing}: .*ENOENT.*TMPDIR`)),
    };
    // Appends copy and go on while little waits for the disk; past that they wait, and learn of the failure.
    await pack.append(randomBytes(10));
    await expect(pack.append(randomBytes(5 * 1024 * 1024))).rejects.toMatchObject(failure);
    await expect(pack.finish()).rejects.toMatchObject(failure);
    await pack.discard();
  });
});
