import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, link, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { backup } from "../src/archiver/archiver.ts";
import type { Progress } from "../src/progress.ts";
import { RepositoryReader } from "../src/repository/reader.ts";
import { initLocalRepository } from "../src/repository/repository.ts";
import type { FileHandle, SaveData } from "../src/storage/backend.ts";
import { LocalBackend } from "../src/storage/local.ts";
import { listFolder } from "./fs-listing.ts";

// What the archiver writes, restic accepts: check --read-data passes, restic restores the source byte for byte with
// modes, mtimes, symlinks and hard links; an unchanged re-backup reads nothing; restic and e3 cut the same file into
// the same blobs, so neither stores the other's data again.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-backup-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function makeSource(source: string): Promise<void> {
  await mkdir(join(source, "docs", "empty-dir"), { recursive: true });
  await mkdir(join(source, "deep", "a", "b", "c"), { recursive: true });
  const block = randomBytes(1024 * 1024);
  await writeFile(join(source, "docs", "big.bin"), Buffer.concat([randomBytes(3 * 1024 * 1024), block, block, block]));
  await writeFile(join(source, "docs", "notes.txt"), "compressible text line\n".repeat(50_000));
  await writeFile(join(source, "empty-file"), "");
  await writeFile(join(source, "deep", "a", "b", "c", "leaf.txt"), "leaf\n");
  await writeFile(join(source, "setuid-tool"), "#!/bin/sh\n");
  await chmod(join(source, "setuid-tool"), 0o4755);
  await writeFile(join(source, "scratch.tmp"), "excluded");
  await writeFile(Buffer.from(`${source}/odd \xff name`, "latin1"), "not utf-8\n");
  await writeFile(join(source, 'quote"and\nnewline'), "odd\n");
  await symlink("docs/notes.txt", join(source, "link"));
  await link(join(source, "docs", "notes.txt"), join(source, "hardlink.txt"));
  await utimes(join(source, "empty-file"), new Date("2001-02-03T04:05:06.789Z"), new Date("2001-02-03T04:05:06.789Z"));
}

describe("backup", () => {
  it("writes snapshots restic checks and restores exactly, and reads nothing unchanged the second time", async () => {
    const source = join(dir, "source");
    await makeSource(source);
    const repo = join(dir, "repo");
    const password = "archiver interop";
    const repository = await initLocalRepository(repo, password);
    const restic = async (...args: string[]) =>
      (
        await run("restic", ["--no-cache", "-r", repo, ...args], {
          env: { ...process.env, RESTIC_PASSWORD: password },
          maxBuffer: 1 << 26,
        })
      ).stdout;

    const progress: Progress[] = [];
    const first = await backup(repository, {
      paths: [source],
      excludes: ["*.tmp"],
      tags: ["first"],
      packSize: 2 * 1024 * 1024,
      onProgress: (update) => progress.push(update),
    });
    expect(first.errors).toEqual([]);
    expect(first.summary).toMatchObject({ filesNew: 8, filesChanged: 0, filesUnmodified: 0, totalFilesProcessed: 8 });
    // The three repeated 1 MiB blocks are stored once: fewer bytes added than read.
    expect(first.summary.dataAdded).toBeLessThan(first.summary.totalBytesProcessed);
    expect(progress.at(-1)).toMatchObject({ phase: "done", filesDone: 8, filesTotal: 8 });

    expect(await restic("check", "--read-data")).toContain("no errors were found");
    const resticSnapshots = JSON.parse(await restic("snapshots", "--json"));
    expect(resticSnapshots).toHaveLength(1);
    expect(resticSnapshots[0]).toMatchObject({ paths: [source], tags: ["first"] });
    const target = join(dir, "restic-restored");
    await restic("restore", first.snapshotId, "--target", target);
    const expected = (await listFolder(source)).filter((entry) => !entry.path.endsWith(".tmp"));
    expect(await listFolder(join(target, source))).toEqual(expected);

    // Unchanged: every file comes from the parent, no data blob is added.
    const second = await backup(repository, { paths: [source], excludes: ["*.tmp"] });
    expect(second.snapshot.parent).toBe(first.snapshotId);
    expect(second.summary).toMatchObject({ filesNew: 0, filesChanged: 0, filesUnmodified: 8, dataBlobs: 0 });
    // Every folder from the source down is the same tree as before (the folders above it have new mtimes).
    expect(second.summary).toMatchObject({ dirsNew: 0, dirsChanged: 0, dirsUnmodified: 7 });

    // One file changed: only it is read again.
    await writeFile(join(source, "deep", "a", "b", "c", "leaf.txt"), "leaf, changed\n");
    const third = await backup(repository, { paths: [source], excludes: ["*.tmp"] });
    expect(third.summary).toMatchObject({ filesNew: 0, filesChanged: 1, filesUnmodified: 7, dataBlobs: 1 });
    // leaf.txt's folder and the four above it up to the source.
    expect(third.summary).toMatchObject({ dirsChanged: 5, dirsUnmodified: 2 });
    expect(await restic("check", "--read-data")).toContain("no errors were found");

    // Our snapshots read back with their summaries.
    const reader = new RepositoryReader(repository.key, repository.storage);
    const listed = await reader.snapshots();
    expect(listed.map((snapshot) => snapshot.summary?.filesChanged)).toEqual([0, 0, 1]);
  });

  it("reads through readFrom and records the walk's own paths: C:\\Users\\ann from a shadow copy, as restic stores it", async () => {
    // A stand-in for a Windows volume shadow copy: the walk's /C/Users/ann (restic's name for C:\Users\ann) is read
    // from another folder, and the snapshot records the original path, never the shadow's.
    const shadow = join(dir, "shadow-volume");
    await mkdir(join(shadow, "Users", "ann", "Documents"), { recursive: true });
    await mkdir(join(shadow, "Users", "ann", "AppData"), { recursive: true });
    await writeFile(join(shadow, "Users", "ann", "Documents", "letter.txt"), "dear bank\n");
    await writeFile(join(shadow, "Users", "ann", "AppData", "cache.bin"), randomBytes(1000));
    await writeFile(join(shadow, "Users", "ann", "photo.jpg"), randomBytes(300_000));
    const repo = join(dir, "repo-read-from");
    const password = "read from";
    const repository = await initLocalRepository(repo, password);
    const restic = async (...args: string[]) =>
      (await run("restic", ["--no-cache", "-r", repo, ...args], { env: { ...process.env, RESTIC_PASSWORD: password } }))
        .stdout;
    const read: string[] = [];
    const options = {
      paths: ["/C/Users/ann"],
      excludes: ["/C/Users/*/AppData"],
      readFrom: (path: string) => {
        read.push(path);
        return join(shadow, path.slice("/C".length));
      },
      recordPath: (path: string) => `C:${path.slice("/C".length).replaceAll("/", "\\")}`,
    };
    const first = await backup(repository, options);
    expect(first.errors).toEqual([]);
    expect(first.snapshot.paths).toEqual(["C:\\Users\\ann"]);
    expect(read).toContain("/C/Users/ann/Documents/letter.txt");
    expect(await restic("check", "--read-data")).toContain("no errors were found");
    expect(JSON.parse(await restic("snapshots", "--json"))[0]).toMatchObject({ paths: ["C:\\Users\\ann"] });
    const listed = (await restic("ls", first.snapshotId)).split("\n").filter((line) => line.startsWith("/"));
    expect(listed).toEqual([
      "/C",
      "/C/Users",
      "/C/Users/ann",
      "/C/Users/ann/Documents",
      "/C/Users/ann/Documents/letter.txt",
      "/C/Users/ann/photo.jpg",
    ]);
    const target = join(dir, "read-from-restored");
    await restic("restore", first.snapshotId, "--target", target);
    const expected = (await listFolder(join(shadow, "Users", "ann"))).filter(
      (entry) => !entry.path.startsWith("AppData"),
    );
    expect(await listFolder(join(target, "C", "Users", "ann"))).toEqual(expected);

    // The next backup finds its parent by the recorded paths: nothing is read again.
    const second = await backup(repository, options);
    expect(second.snapshot.parent).toBe(first.snapshotId);
    expect(second.summary).toMatchObject({ filesNew: 0, filesUnmodified: 2, dataAdded: 0 });
  });

  it("cuts files exactly as restic does, so each tool finds the other's blobs", async () => {
    const source = join(dir, "shared");
    await mkdir(source, { recursive: true });
    await writeFile(join(source, "ours-first.bin"), randomBytes(6 * 1024 * 1024));
    await writeFile(join(source, "restic-first.bin"), randomBytes(6 * 1024 * 1024));
    const repo = join(dir, "shared-repo");
    const password = "dedup";
    const repository = await initLocalRepository(repo, password);
    const restic = async (...args: string[]) =>
      (await run("restic", ["--no-cache", "-r", repo, ...args], { env: { ...process.env, RESTIC_PASSWORD: password } }))
        .stdout;

    await backup(repository, { paths: [join(source, "ours-first.bin")] });
    const resticSummary = JSON.parse(
      (await restic("backup", "--json", join(source, "ours-first.bin"), join(source, "restic-first.bin")))
        .trim()
        .split("\n")
        .at(-1)!,
    );
    // restic stores only restic-first.bin's chunks: ours-first.bin's were all there already.
    const restic_only = await backup(repository, { paths: [join(source, "restic-first.bin")], parent: null });
    expect(restic_only.summary.dataBlobs).toBe(0);
    expect(resticSummary.data_added).toBeLessThan(6.5 * 1024 * 1024);
    expect(resticSummary.data_added).toBeGreaterThan(5.5 * 1024 * 1024);
    expect(await restic("check", "--read-data")).toContain("no errors were found");
  });

  it("stops on cancel with the repository valid, and the next backup re-uploads none of the finished packs", async () => {
    const source = join(dir, "large");
    await mkdir(source, { recursive: true });
    for (let i = 0; i < 8; i++) await writeFile(join(source, `part-${i}.bin`), randomBytes(4 * 1024 * 1024));
    const repo = join(dir, "cancel-repo");
    const password = "cancel";
    const initialised = await initLocalRepository(repo, password);
    // Cancel once five packs are stored, as a user pressing stop would.
    const controller = new AbortController();
    let packsSaved = 0;
    class CancellingBackend extends LocalBackend {
      override async save(handle: FileHandle, data: SaveData): Promise<void> {
        await super.save(handle, data);
        if (handle.type === "data" && ++packsSaved === 5) controller.abort(new Error("stopped by the user"));
      }
    }
    const repository = { ...initialised, storage: new CancellingBackend(repo) };
    const cancelled = await backup(repository, {
      paths: [source],
      packSize: 2 * 1024 * 1024,
      signal: controller.signal,
    }).catch((error: unknown) => error);
    expect((cancelled as Error).message).toBe("stopped by the user");
    const reader = new RepositoryReader(repository.key, repository.storage);
    expect(await reader.snapshots()).toEqual([]);
    const indexedBefore = (await reader.index()).size;
    expect(indexedBefore).toBeGreaterThan(0);
    const restic = (...args: string[]) =>
      run("restic", ["--no-cache", "-r", repo, ...args], { env: { ...process.env, RESTIC_PASSWORD: password } });
    expect((await restic("check")).stdout).toContain("no errors were found");
    expect((await restic("list", "locks")).stdout).toBe("");

    const resumed = await backup(initialised, { paths: [source], packSize: 2 * 1024 * 1024 });
    // Every blob of the cancelled run is reused: only the rest is added.
    expect(resumed.summary.dataBlobs + indexedBefore).toBe(
      (await new RepositoryReader(repository.key, repository.storage).index()).size - resumed.summary.treeBlobs,
    );
    expect(resumed.summary.dataAdded).toBeLessThan(32 * 1024 * 1024);
    expect((await restic("check", "--read-data")).stdout).toContain("no errors were found");
  });
});
