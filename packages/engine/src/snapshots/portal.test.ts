import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backup } from "../archiver/archiver.ts";
import { isEngineError } from "../errors.ts";
import { RepositoryReader } from "../repository/reader.ts";
import { initRepository } from "../repository/repository.ts";
import { MemoryBackend } from "../storage/memory.ts";
import { listSnapshots, type SnapshotWithId } from "./browse.ts";
import { BlobCache, fileLayout, readFileRange } from "./file-content.ts";
import { listFolderPage, pathVersions, type SearchOptions, searchSnapshots } from "./portal.ts";
import { TreeCache } from "./tree-cache.ts";

// The portal's browsing over four snapshots of one folder that changes between them: pages of a big folder, a
// search across snapshots a page at a time, the versions of a path, and ranged reads of a file's content.

const dir = await mkdtemp(join(tmpdir(), "e3-portal-browse-"));
afterAll(() => rm(dir, { recursive: true, force: true }));
const source = join(dir, "src");
const names = Array.from({ length: 25 }, (_, i) => `f${String(i).padStart(2, "0")}`);
let reader: RepositoryReader;
let trees: TreeCache;
let snapshots: SnapshotWithId[];

beforeAll(async () => {
  const repository = await initRepository(new MemoryBackend(), "pw", { scrypt: { N: 1024, r: 8, p: 1 } });
  const run = () => backup(repository, { paths: [source], threads: 0 });
  await mkdir(join(source, "big"), { recursive: true });
  await mkdir(join(source, "docs"));
  for (const name of names) await writeFile(join(source, "big", name), name);
  await writeFile(join(source, "docs", "report.txt"), "report v1");
  await writeFile(join(source, "docs", "Notes.TXT"), "notes v1");
  await run();
  // Same content, another mtime: unchanged. Other content: changed.
  await utimes(join(source, "docs", "report.txt"), new Date(), new Date(Date.now() + 5000));
  await writeFile(join(source, "docs", "Notes.TXT"), "notes v2");
  await run();
  await rm(join(source, "docs", "report.txt"));
  await run();
  await writeFile(join(source, "docs", "report.txt"), "report v2");
  await run();
  reader = new RepositoryReader(repository.key, repository.storage);
  trees = new TreeCache(reader);
  snapshots = await listSnapshots(reader);
});

describe("listFolderPage", () => {
  const cases: { name: string; limit?: number; cursor?: string; entries: string[]; next: string | null }[] = [
    { name: "first page", limit: 10, entries: names.slice(0, 10), next: "f09" },
    { name: "middle page", limit: 10, cursor: "f09", entries: names.slice(10, 20), next: "f19" },
    { name: "last page", limit: 10, cursor: "f19", entries: names.slice(20), next: null },
    { name: "a cursor between two names", limit: 3, cursor: "f105", entries: ["f11", "f12", "f13"], next: "f13" },
    { name: "a cursor after the last name", cursor: "zzz", entries: [], next: null },
    { name: "everything in one page by default", entries: names, next: null },
  ];
  it.each(cases)("$name", async ({ limit, cursor, entries, next }) => {
    const page = await listFolderPage(trees, snapshots[0] as SnapshotWithId, `${source}/big`, {
      ...(limit ? { limit } : {}),
      ...(cursor ? { cursor } : {}),
    });
    expect(page.entries.map((entry) => entry.name)).toEqual(entries);
    expect(page.nextCursor).toBe(next);
    expect(page.total).toBe(25);
    expect(page.path).toBe(`${source}/big`);
  });

  it("pages through a folder to exactly its entries, with sizes and mtimes", async () => {
    const seen = [];
    let cursor: string | undefined;
    do {
      const page = await listFolderPage(trees, snapshots[0] as SnapshotWithId, `${source}/big/`, {
        limit: 7,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.entries);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen.map((entry) => [entry.name, entry.size, entry.type])).toEqual(names.map((n) => [n, 3, "file"]));
    expect(seen.every((entry) => !Number.isNaN(Date.parse(entry.mtime)))).toBe(true);
  });

  it("gives a file as a page of one and refuses bad limits and paths", async () => {
    const file = await listFolderPage(trees, snapshots[0] as SnapshotWithId, `${source}/docs/report.txt`);
    expect(file).toMatchObject({ total: 1, nextCursor: null, entries: [{ name: "report.txt", size: 9 }] });
    for (const limit of [0, -1, 1.5, 10_001]) {
      const error = await listFolderPage(trees, snapshots[0] as SnapshotWithId, "/", { limit }).catch((e) => e);
      expect(isEngineError(error, "INVALID_ARGUMENT")).toBe(true);
    }
    const missing = await listFolderPage(trees, snapshots[0] as SnapshotWithId, `${source}/nope`).catch((e) => e);
    expect(isEngineError(missing, "PATH_NOT_FOUND")).toBe(true);
  });
});

describe("searchSnapshots", () => {
  const cases: { name: string; pattern: string; options: SearchOptions; hits: string[] }[] = [
    {
      name: "a glob, once per snapshot, newest first",
      pattern: "*.txt",
      options: {},
      hits: ["3 docs/report.txt", "1 docs/report.txt", "0 docs/report.txt"],
    },
    {
      name: "case-insensitive",
      pattern: "*.txt",
      options: { caseInsensitive: true },
      hits: [
        "3 docs/Notes.TXT",
        "3 docs/report.txt",
        "2 docs/Notes.TXT",
        "1 docs/Notes.TXT",
        "1 docs/report.txt",
        "0 docs/Notes.TXT",
        "0 docs/report.txt",
      ],
    },
    {
      name: "each path once, from the newest snapshot holding it",
      pattern: "*.txt",
      options: { caseInsensitive: true, distinctPaths: true },
      hits: ["3 docs/Notes.TXT", "3 docs/report.txt"],
    },
    {
      name: "a pattern with a folder",
      pattern: "big/f2?",
      options: { distinctPaths: true },
      hits: names.slice(20).map((n) => `3 big/${n}`),
    },
    { name: "nothing found", pattern: "*.pdf", options: {}, hits: [] },
  ];
  const label = (hit: { snapshotId: string; entry: { path: string } }) =>
    `${snapshots.findIndex((s) => s.id === hit.snapshotId)} ${hit.entry.path.slice(source.length + 1)}`;

  it.each(cases)("$name", async ({ pattern, options, hits }) => {
    const page = await searchSnapshots(trees, snapshots, pattern, options);
    expect(page.hits.map(label)).toEqual(hits);
    expect(page.nextCursor).toBeNull();
    // A page at a time gives the same hits in the same order.
    for (const limit of [1, 2, 3]) {
      const paged = [];
      let cursor: string | undefined;
      do {
        const next = await searchSnapshots(trees, snapshots, pattern, {
          ...options,
          limit,
          ...(cursor ? { cursor } : {}),
        });
        expect(next.hits.length).toBeLessThanOrEqual(limit);
        paged.push(...next.hits.map(label));
        cursor = next.nextCursor ?? undefined;
      } while (cursor);
      expect(paged).toEqual(hits);
    }
  });

  it("refuses a cursor it did not make", async () => {
    for (const cursor of ["garbage", Buffer.from('{"s":"feed","p":"/x"}').toString("base64url")]) {
      const error = await searchSnapshots(trees, snapshots, "*", { cursor }).catch((e) => e);
      expect(isEngineError(error, "INVALID_ARGUMENT")).toBe(true);
    }
  });
});

describe("pathVersions", () => {
  const cases = [
    { path: "docs/report.txt", statuses: ["added", "unchanged", "deleted", "added"] },
    { path: "docs/Notes.TXT", statuses: ["added", "changed", "unchanged", "unchanged"] },
    { path: "docs", statuses: ["added", "changed", "changed", "changed"] },
    { path: "big", statuses: ["added", "unchanged", "unchanged", "unchanged"] },
    { path: "never/there", statuses: [] },
  ];
  it.each(cases)("$path", async ({ path, statuses }) => {
    const versions = await pathVersions(trees, snapshots, `${source}/${path}`);
    expect(versions.map((version) => version.status)).toEqual(statuses);
    expect(versions.map((version) => version.changed)).toEqual(statuses.map((status) => status !== "unchanged"));
    expect(versions.map((version) => version.snapshotId)).toEqual(
      statuses.map((_, i) => (snapshots[i] as SnapshotWithId).id),
    );
  });

  it("carries size, mtime and content of each version", async () => {
    const [first, second, deleted, back] = await pathVersions(trees, snapshots, `${source}/docs/report.txt`);
    expect(first?.entry).toMatchObject({ name: "report.txt", size: 9, type: "file" });
    expect(second?.content).toEqual(first?.content);
    expect(second?.entry?.mtime).not.toBe(first?.entry?.mtime);
    expect(deleted?.entry).toBeUndefined();
    expect(back?.content).not.toEqual(first?.content);
  });
});

describe("readFileRange", () => {
  it("reads any range of a file from only the blobs that cover it", async () => {
    const big = randomBytes(6 * 1024 * 1024 + 17);
    const folder = join(dir, "large");
    await mkdir(folder);
    await writeFile(join(folder, "blob.bin"), big);
    const repository = await initRepository(new MemoryBackend(), "pw", { scrypt: { N: 1024, r: 8, p: 1 } });
    const { snapshot } = await backup(repository, { paths: [folder], threads: 0 });
    const ownReader = new RepositoryReader(repository.key, repository.storage);
    const { node } = await (await import("./browse.ts")).nodeAt(ownReader, snapshot, `${folder}/blob.bin`);
    const layout = await fileLayout(ownReader, node as NonNullable<typeof node>);
    expect(layout.size).toBe(big.length);
    const ranges: [number, number][] = [
      [0, big.length],
      [0, 1],
      [big.length - 1, big.length],
      [1_000_000, 1_000_100],
      [5, 5],
    ];
    for (const [start, end] of ranges) {
      const cache = new BlobCache(ownReader);
      const pieces = [];
      for await (const piece of readFileRange(cache, layout, start, end)) pieces.push(piece);
      expect(Buffer.concat(pieces).equals(big.subarray(start, end))).toBe(true);
      const covering = layout.blobs.filter(
        // An empty range needs no blob.
        (blob) => start < end && blob.start < end && blob.start + blob.length > start,
      ).length;
      expect(cache.loads).toBe(covering);
    }
    expect(layout.blobs.length).toBeGreaterThan(1);
    const outside = readFileRange(new BlobCache(ownReader), layout, 0, big.length + 1).next();
    expect(isEngineError(await outside.catch((e) => e), "INVALID_ARGUMENT")).toBe(true);
  });
});
