import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { StateCache } from "./state-cache.ts";

// The sync's state cache on disk: what one run remembers the next run reads back, in the documented JSON shape,
// and a damaged file costs HEADs, never wrong answers.

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

const location = 's3:http://127.0.0.1:1/bucket/"odd" prefix';
const single = { size: 3, etag: '"0cc175b9c0f1b6a831c399e269772661"', lastModifiedMs: 1_700_000_000_000 };

describe("StateCache", () => {
  it("reads back what it saved, thousands of entries in the same JSON as a plain stringify", async () => {
    const folder = await mkdtemp(join(tmpdir(), "e3-state-"));
    folders.push(folder);
    const cache = await StateCache.open(folder, location);
    const expected: Record<string, [number, string, number, string, string | null]> = {};
    for (let i = 0; i < 2500; i++) {
      const path = `d${i % 7}/f "${i}" ü.txt`;
      const md5 = i % 3 === 0 ? `${i.toString(16).padStart(32, "0")}` : undefined;
      const etag = md5 ? `"${"f".repeat(32)}-2"` : single.etag;
      const mtime = `2026-12-01T10:00:${String(i % 60).padStart(2, "0")}.123456789Z`;
      cache.remember(path, { ...single, size: i, etag, mtime, ...(md5 ? { md5 } : {}) });
      expected[path] = [i, etag, single.lastModifiedMs, mtime, md5 ?? null];
    }
    await cache.save();
    const [file] = (await readdir(folder)).filter((name) => name.endsWith(".objects.json"));
    const text = await readFile(join(folder, file!), "utf8");
    expect(text).toBe(JSON.stringify({ version: 1, location, objects: expected }));

    const again = await StateCache.open(folder, location);
    const path = 'd3/f "10" ü.txt';
    const [size, etag, lastModifiedMs, mtime] = expected[path]!;
    expect(again.lookup(path, { size, etag, lastModifiedMs })).toEqual({ size, etag, lastModifiedMs, mtime });
    const hashed = 'd0/f "0" ü.txt';
    expect(again.lookup(hashed, { size: 0, etag: expected[hashed]![1], lastModifiedMs })?.md5).toBe("0".repeat(32));
    // A listing that disagrees (another ETag) is not vouched for.
    expect(again.lookup(path, { size, etag: '"other"', lastModifiedMs })).toBeUndefined();
  });

  it("starts afresh from a cache with one damaged entry", async () => {
    const folder = await mkdtemp(join(tmpdir(), "e3-state-"));
    folders.push(folder);
    const cache = await StateCache.open(folder, location);
    cache.remember("a", { ...single, mtime: "m" });
    cache.remember("b", { ...single, mtime: "m" });
    await cache.save();
    const [file] = (await readdir(folder)).filter((name) => name.endsWith(".objects.json"));
    const document = JSON.parse(await readFile(join(folder, file!), "utf8"));
    document.objects.b = [3, "x"];
    await writeFile(join(folder, file!), JSON.stringify(document));
    const again = await StateCache.open(folder, location);
    expect(again.lookup("a", single)).toBeUndefined();
    expect(again.lookup("b", single)).toBeUndefined();
  });
});
