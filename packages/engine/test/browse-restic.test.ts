import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { backup } from "../src/archiver/archiver.ts";
import { isEngineError } from "../src/errors.ts";
import { RepositoryReader } from "../src/repository/reader.ts";
import { initLocalRepository } from "../src/repository/repository.ts";
import {
  findInSnapshots,
  findSnapshot,
  listFolder,
  listSnapshots,
  nodeAt,
  walkSnapshot,
} from "../src/snapshots/browse.ts";
import { BlobCache, fileLayout, readFileRange } from "../src/snapshots/file-content.ts";
import { listFolderPage, pathVersions, searchSnapshots } from "../src/snapshots/portal.ts";
import { TreeCache } from "../src/snapshots/tree-cache.ts";

// Browsing snapshots: our walk of a snapshot lists exactly what `restic ls` lists, for snapshots restic took and
// ones we took; folders list one level for the portal's file browser; find searches across snapshots.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-browse-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("browsing snapshots", () => {
  it("walks, lists and finds like restic ls", async () => {
    const source = join(dir, "source");
    await mkdir(join(source, "docs", "deep"), { recursive: true });
    await writeFile(join(source, "docs", "a.txt"), "a");
    await writeFile(join(source, "docs", "deep", "b.txt"), "bb");
    await writeFile(join(source, "image.png"), "png");
    await symlink("docs/a.txt", join(source, "link"));
    const repo = join(dir, "repo");
    const password = "browse";
    const repository = await initLocalRepository(repo, password);
    const restic = async (...args: string[]) =>
      (await run("restic", ["--no-cache", "-r", repo, ...args], { env: { ...process.env, RESTIC_PASSWORD: password } }))
        .stdout;
    const ours = await backup(repository, { paths: [source], tags: ["ours"] });
    await writeFile(join(source, "docs", "c.txt"), "new in restic's snapshot");
    await restic("backup", "--tag", "restic", source);

    const reader = new RepositoryReader(repository.key, repository.storage);
    const latest = await findSnapshot(reader, "latest");
    expect(latest.tags).toEqual(["restic"]);
    expect((await findSnapshot(reader, ours.snapshotId.slice(0, 8))).id).toBe(ours.snapshotId);
    for (const bad of ["ffff", "not-an-id"]) {
      const error = await findSnapshot(reader, bad).catch((caught: unknown) => caught);
      expect(isEngineError(error, "SNAPSHOT_NOT_FOUND")).toBe(true);
    }

    for (const snapshot of [await findSnapshot(reader, ours.snapshotId), latest]) {
      const walked = [];
      for await (const entry of walkSnapshot(reader, snapshot, source))
        walked.push([entry.path, entry.type, entry.size]);
      const resticLines = (await restic("ls", "--json", "--recursive", snapshot.id, source))
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line))
        .filter((line) => line.struct_type === "node");
      expect(walked).toEqual(resticLines.map((node) => [node.path, node.type, node.size ?? 0]));
    }

    const top = await listFolder(reader, latest, source);
    expect(top.map((entry) => [entry.name, entry.type])).toEqual([
      ["docs", "dir"],
      ["image.png", "file"],
      ["link", "symlink"],
    ]);
    expect(top[2]?.linkTarget).toBe("docs/a.txt");
    expect(await listFolder(reader, latest, join(source, "image.png"))).toMatchObject([{ name: "image.png", size: 3 }]);
    const missing = await listFolder(reader, latest, join(source, "nope")).catch((error: unknown) => error);
    expect(isEngineError(missing, "PATH_NOT_FOUND")).toBe(true);

    const found = [];
    for await (const hit of findInSnapshots(reader, await reader.snapshots(), "*.txt")) {
      found.push(`${hit.snapshot.tags?.[0]} ${hit.entry.path.slice(source.length)}`);
    }
    expect(found.sort()).toEqual(
      [
        "ours /docs/a.txt",
        "ours /docs/deep/b.txt",
        "restic /docs/a.txt",
        "restic /docs/c.txt",
        "restic /docs/deep/b.txt",
      ].sort(),
    );
  });

  it("pages, searches, follows versions and reads ranges of snapshots restic wrote", async () => {
    const source = join(dir, "restic-source");
    const wide = join(source, "wide");
    await mkdir(wide, { recursive: true });
    for (let i = 0; i < 40; i++) await writeFile(join(wide, `file-${i}.dat`), `content ${i}`);
    const large = randomBytes(5 * 1024 * 1024 + 3);
    await writeFile(join(source, "large.bin"), large);
    const repo = join(dir, "restic-repo");
    const password = "restic-browse";
    const env = { ...process.env, RESTIC_PASSWORD: password };
    const restic = async (...args: string[]) =>
      (await run("restic", ["--no-cache", "-r", repo, ...args], { env })).stdout;
    await restic("init");
    await restic("backup", source);
    await writeFile(join(wide, "file-3.dat"), "changed");
    await restic("backup", source);
    await rm(join(wide, "file-3.dat"));
    await restic("backup", source);

    const repository = await (await import("../src/repository/repository.ts")).openRepository(
      new (await import("../src/storage/local.ts")).LocalBackend(repo),
      password,
    );
    const reader = new RepositoryReader(repository.key, repository.storage);
    const trees = new TreeCache(reader);
    const snapshots = await listSnapshots(reader);
    expect(snapshots).toHaveLength(3);
    const first = snapshots[0] as (typeof snapshots)[number];

    // Pages of 6 put together are restic ls's listing of the folder.
    const resticNames = (await restic("ls", "--json", first.id, wide))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line))
      .filter((line) => line.struct_type === "node" && line.path !== wide)
      .map((node) => [node.name, node.size, node.mtime]);
    const paged = [];
    let cursor: string | undefined;
    do {
      const page = await listFolderPage(trees, first, wide, { limit: 6, ...(cursor ? { cursor } : {}) });
      paged.push(...page.entries.map((entry) => [entry.name, entry.size, entry.mtime]));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(paged).toEqual(resticNames);

    const versions = await pathVersions(trees, snapshots, join(wide, "file-3.dat"));
    expect(versions.map((version) => version.status)).toEqual(["added", "changed", "deleted"]);
    expect(versions.map((version) => version.entry?.size)).toEqual([9, 7, undefined]);
    const unchanged = await pathVersions(trees, snapshots, join(wide, "file-4.dat"));
    expect(unchanged.map((version) => version.status)).toEqual(["added", "unchanged", "unchanged"]);

    const search = await searchSnapshots(trees, snapshots, "file-3.*", {});
    expect(search.hits.map((hit) => hit.snapshotId)).toEqual([snapshots[1]?.id, first.id]);

    const { node } = await nodeAt(trees, first, join(source, "large.bin"));
    const layout = await fileLayout(reader, node as NonNullable<typeof node>);
    expect(layout.size).toBe(large.length);
    const blobs = new BlobCache(reader);
    for (const [start, end] of [
      [0, large.length],
      [4_000_000, 4_000_010],
    ] as const) {
      const pieces = [];
      for await (const piece of readFileRange(blobs, layout, start, end)) pieces.push(piece);
      expect(Buffer.concat(pieces).equals(large.subarray(start, end))).toBe(true);
    }
  });
});
