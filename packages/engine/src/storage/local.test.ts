import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { handleOf, pathOf, StorageError } from "./backend.ts";
import { LocalBackend } from "./local.ts";

const root = await mkdtemp(join(tmpdir(), "e3-local-"));
afterAll(() => rm(root, { recursive: true, force: true }));

describe("restic's layout", () => {
  it("maps handles to paths and back", () => {
    const id = "ab".repeat(32);
    expect(pathOf({ type: "data", name: id })).toBe(`data/ab/${id}`);
    expect(pathOf({ type: "snapshot", name: id })).toBe(`snapshots/${id}`);
    expect(pathOf({ type: "config", name: "config" })).toBe("config");
    for (const path of [`data/ab/${id}`, `keys/${id}`, `locks/${id}`, "config"])
      expect(pathOf(handleOf(path))).toBe(path);
  });
});

describe("LocalBackend", () => {
  const backend = new LocalBackend(root);
  const data = Buffer.from("0123456789abcdef");
  const handle = { type: "data" as const, name: "cd".repeat(32) };

  it("saves once, read-only, and loads whole files and ranges", async () => {
    await backend.save(handle, data);
    expect(await backend.load(handle)).toEqual(data);
    expect(await backend.load(handle, { offset: 10, length: 6 })).toEqual(Buffer.from("abcdef"));
    expect(await backend.stat(handle)).toEqual({ size: 16 });
    expect((await stat(join(root, pathOf(handle)))).mode & 0o777).toBe(0o400);
    await expect(backend.save(handle, Buffer.from("other"))).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
    expect(await backend.load(handle)).toEqual(data);
    // No temporary file is left behind.
    expect(await readdir(join(root, "data", "cd"))).toEqual([handle.name]);
  });

  it("lists by type and reports missing files as NOT_FOUND", async () => {
    await backend.save({ type: "index", name: "11".repeat(32) }, Buffer.from("x"));
    const listed = [];
    for await (const entry of backend.list("data")) listed.push(entry);
    expect(listed).toEqual([{ name: handle.name, size: 16 }]);
    const indexes = [];
    for await (const entry of backend.list("index")) indexes.push(entry.name);
    expect(indexes).toEqual(["11".repeat(32)]);
    const missing = { type: "snapshot" as const, name: "22".repeat(32) };
    await expect(backend.load(missing)).rejects.toBeInstanceOf(StorageError);
    await expect(backend.stat(missing)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(backend.load(handle, { offset: 10, length: 100 })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await backend.remove(handle);
    await expect(backend.remove(handle)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
