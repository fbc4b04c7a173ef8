import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { configHandle, listAll, pathOf } from "../src/storage/backend.ts";
import { createLocalLayout, LocalBackend } from "../src/storage/local.ts";
import { storageContract, streamOf } from "./storage-contract.ts";

// The folder backend: the shared contract, plus what only a folder has — restic's permissions, temporary files
// that never show, folders made on demand.

const root = await mkdtemp(join(tmpdir(), "e3-storage-local-"));
afterAll(() => rm(root, { recursive: true, force: true }));
let counter = 0;
const freshFolder = () => join(root, `repo-${++counter}`);

storageContract("LocalBackend", async () => {
  const folder = freshFolder();
  return { backend: new LocalBackend(folder) };
});

const name = (char: string) => char.repeat(64);
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe("LocalBackend on disk", () => {
  it("creates restic's layout up front (0700 folders, 256 data folders)", async () => {
    const folder = freshFolder();
    await createLocalLayout(folder);
    expect((await readdir(folder)).sort()).toEqual(["data", "index", "keys", "locks", "snapshots"]);
    const data = await readdir(join(folder, "data"));
    expect(data).toHaveLength(256);
    expect(data).toContain("00");
    expect(data).toContain("ff");
    expect(await modeOf(join(folder, "data", "7f"))).toBe(0o700);
    expect(await modeOf(join(folder, "keys"))).toBe(0o700);
  });

  it("writes files read-only for their owner (0400) as restic does, and can still remove them", async () => {
    const folder = freshFolder();
    const backend = new LocalBackend(folder);
    await backend.save(configHandle, Buffer.from("config"));
    const pack = { type: "data" as const, name: name("a") };
    await backend.save(pack, Buffer.from("pack"));
    expect(await modeOf(join(folder, "config"))).toBe(0o400);
    expect(await modeOf(join(folder, pathOf(pack)))).toBe(0o400);
    // Made on demand, like restic's data folders when init did not create them.
    expect(await modeOf(join(folder, "data", "aa"))).toBe(0o700);
    await backend.remove(pack);
    expect(await readdir(join(folder, "data", "aa"))).toEqual([]);
  });

  it("keeps a shared repository group-readable: a group-readable config gives 0440 files and 0770 folders", async () => {
    const folder = freshFolder();
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, "config"), "config");
    await chmod(join(folder, "config"), 0o440);
    const backend = new LocalBackend(folder);
    const index = { type: "index" as const, name: name("b") };
    await backend.save(index, Buffer.from("index"));
    expect(await modeOf(join(folder, "index"))).toBe(0o770 & ~currentUmask());
    // chmod is not subject to the umask, so the read-only mode is exact.
    expect(await modeOf(join(folder, pathOf(index)))).toBe(0o440);
  });

  it("never lists or leaves temporary files, also when a save fails midway", async () => {
    const folder = freshFolder();
    await createLocalLayout(folder);
    const backend = new LocalBackend(folder);
    const pack = { type: "data" as const, name: name("c") };
    await backend.save(pack, Buffer.from("whole"));
    // A crashed restic or e3 leaves `<name>-tmp-<random>` beside the file; it is not a repository file.
    await writeFile(join(folder, "data", "cc", `${name("d")}-tmp-123456`), "half");
    await writeFile(join(folder, "index", `${name("e")}-tmp-abcdef`), "half");
    expect(await listAll(backend, "data")).toEqual([{ name: pack.name, size: 5 }]);
    expect(await listAll(backend, "index")).toEqual([]);

    const failing = { type: "data" as const, name: name("f") };
    const broken = {
      size: 1_000_000,
      open: () =>
        Readable.from(
          (async function* () {
            yield randomBytes(300_000);
            throw new Error("source disk failed");
          })(),
        ),
    };
    await expect(backend.save(failing, broken)).rejects.toThrow("source disk failed");
    expect(await readdir(join(folder, "data", "ff"))).toEqual([]);

    const aborted = new AbortController();
    const slow = {
      size: 1_000_000,
      open: () =>
        Readable.from(
          (async function* () {
            yield randomBytes(300_000);
            aborted.abort();
            yield randomBytes(700_000);
          })(),
        ),
    };
    const cancelled = { type: "data" as const, name: `ff${"0".repeat(62)}` };
    await expect(backend.save(cancelled, slow, { signal: aborted.signal })).rejects.toMatchObject({
      name: "AbortError",
    });
    expect(await readdir(join(folder, "data", "ff"))).toEqual([]);
  });

  it("fails permanently where it cannot write: a file in place of a folder, a read-only folder", async () => {
    const blocked = freshFolder();
    await writeFile(blocked, "not a folder");
    await expect(
      new LocalBackend(blocked).save({ type: "key", name: name("1") }, Buffer.from("x")),
    ).rejects.toMatchObject({ code: "STORAGE_ERROR", transient: false });
    // root ignores permission bits, so the read-only folder only means something for other users.
    if (process.getuid?.() === 0) return;
    const folder = freshFolder();
    await mkdir(join(folder, "keys"), { recursive: true });
    await chmod(join(folder, "keys"), 0o500);
    await expect(
      new LocalBackend(folder).save({ type: "key", name: name("1") }, Buffer.from("x")),
    ).rejects.toMatchObject({ code: "ACCESS_DENIED", transient: false });
  });

  it("streams a large body to disk and reads ranges across its 8 MiB read chunks", async () => {
    const backend = new LocalBackend(freshFolder());
    const bytes = randomBytes(20 * 1024 * 1024 + 3);
    const pack = { type: "data" as const, name: name("9") };
    await backend.save(pack, streamOf(bytes, bytes.byteLength, 1024 * 1024));
    expect((await backend.load(pack)).equals(bytes)).toBe(true);
    const range = await backend.load(pack, { offset: 8 * 1024 * 1024 - 10, length: 9 * 1024 * 1024 });
    expect(range.equals(bytes.subarray(8 * 1024 * 1024 - 10, 17 * 1024 * 1024 - 10))).toBe(true);
  });
});

function currentUmask(): number {
  const mask = process.umask(0);
  process.umask(mask);
  return mask;
}
