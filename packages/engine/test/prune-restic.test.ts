import { execFile, spawnSync } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { backup } from "../src/archiver/archiver.ts";
import { seal } from "../src/crypto/seal.ts";
import { isEngineError } from "../src/errors.ts";
import { check } from "../src/lifecycle/check.ts";
import { maintain } from "../src/lifecycle/maintenance.ts";
import { prune } from "../src/lifecycle/prune.ts";
import { repairIndex } from "../src/lifecycle/repair-index.ts";
import { loadRepositoryState } from "../src/lifecycle/repository-state.ts";
import { lockRepository } from "../src/repository/lock.ts";
import { RepositoryReader } from "../src/repository/reader.ts";
import { initLocalRepository, openRepository, type Repository } from "../src/repository/repository.ts";
import { encodeUnpacked } from "../src/repository/unpacked.ts";
import { nodeAt } from "../src/snapshots/browse.ts";
import { listAll, pathOf } from "../src/storage/backend.ts";
import { LocalBackend } from "../src/storage/local.ts";
import { formatGoTime, nowNanoseconds } from "../src/tree/go-time.ts";
import { listFolder } from "./fs-listing.ts";

// Prune, check and maintenance against the real restic 0.14: after our forget + prune restic's check --read-data
// passes and restic lists exactly the kept snapshots, each of which restores as it was backed up; after restic's
// forget --prune on a repository we wrote, our check passes; a deleted pack or a flipped byte is named by our check
// as exactly the snapshots and files that lost data.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-prune-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

const password = "prune interop";
const fastScrypt = { N: 1024, r: 8, p: 1 };

function restic(repo: string, ...args: string[]) {
  return run("restic", ["--no-cache", "-r", repo, ...args], {
    env: { ...process.env, RESTIC_PASSWORD: password },
    maxBuffer: 1 << 26,
  });
}

function noise(seed: number, size: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32LE(seed);
  return createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** Generation `n` of a changing folder: some files stay, some change, some appear and go. */
async function generation(source: string, n: number): Promise<void> {
  await rm(source, { recursive: true, force: true });
  await mkdir(join(source, "stable"), { recursive: true });
  await mkdir(join(source, "changing", "deep"), { recursive: true });
  await writeFile(join(source, "stable", "base.bin"), noise(1, 1_500_000));
  await writeFile(join(source, "stable", "notes.txt"), "a line that compresses well\n".repeat(20_000));
  for (let i = 0; i < 3; i++)
    await writeFile(join(source, "changing", `gen-${n}-${i}.bin`), noise(100 + n * 10 + i, 400_000));
  await writeFile(join(source, "changing", "deep", "rolling.bin"), noise(1000 + n, 700_000));
  for (let i = 0; i < 30; i++)
    await writeFile(join(source, "changing", `small-${n % 3}-${i}.txt`), `small file ${n % 3} ${i}\n`);
}

async function buildRepository(name: string, generations: number) {
  const repo = join(dir, name);
  const source = join(dir, `${name}-source`);
  const repository = await initLocalRepository(repo, password, { scrypt: fastScrypt });
  const listings = new Map<string, Awaited<ReturnType<typeof listFolder>>>();
  const ids: string[] = [];
  for (let n = 0; n < generations; n++) {
    await generation(source, n);
    const result = await backup(repository, { paths: [source], packSize: 256 * 1024, threads: 0 });
    ids.push(result.snapshotId);
    listings.set(result.snapshotId, await listFolder(source));
  }
  return { repo, source, repository, ids, listings };
}

async function resticSnapshotIds(repo: string): Promise<string[]> {
  const listed = JSON.parse((await restic(repo, "snapshots", "--json")).stdout) as { id: string }[];
  return listed.map((snapshot) => snapshot.id).sort();
}

async function packFiles(repository: Repository): Promise<string[]> {
  return (await listAll(repository.storage, "data")).map((file) => file.name);
}

describe("prune", () => {
  it("after forgetting half the snapshots leaves what restic checks, lists and restores", {
    timeout: 240_000,
  }, async () => {
    const { repo, source, repository, ids, listings } = await buildRepository("forget-prune", 6);
    const packsBefore = await packFiles(repository);
    const progress: string[] = [];
    const summary = await maintain(repository, {
      kind: "full",
      retention: { keepLast: 3 },
      onProgress: (update) => progress.push(update.phase),
    });
    const kept = ids.slice(3).sort();
    expect(summary.snapshotsRemoved).toBe(3);
    expect(summary.removedSnapshots.sort()).toEqual(ids.slice(0, 3).sort());
    expect(summary.packsDeleted + summary.packsRepacked).toBeGreaterThan(0);
    expect(summary.bytesFreed).toBeGreaterThan(0);
    expect(summary.prune?.bytes.unusedAfter).toBeLessThanOrEqual((summary.prune?.bytes.used ?? 0) * (5 / 95));
    expect(summary.check?.ok, JSON.stringify(summary.check?.errors)).toBe(true);
    expect(summary.check?.packsRead).toBeGreaterThan(0);
    expect(progress).toContain("prune: repacking");
    expect(progress.some((phase) => phase.startsWith("check: "))).toBe(true);
    expect(summary.locksRemoved).toBe(0);
    // Some old packs went, and nothing the removed snapshots alone used stays indexed.
    const packsAfter = await packFiles(repository);
    expect(packsBefore.filter((pack) => !packsAfter.includes(pack)).length).toBeGreaterThan(0);

    expect((await restic(repo, "check", "--read-data")).stdout).toContain("no errors were found");
    expect(await resticSnapshotIds(repo)).toEqual(kept);
    for (const id of kept) {
      const target = join(dir, `restore-${id.slice(0, 8)}`);
      await restic(repo, "restore", id, "--target", target);
      expect(await listFolder(join(target, source))).toEqual(listings.get(id));
    }

    // A second prune finds nothing to do; with max-unused 0 it repacks until no unused byte is left.
    const again = await prune(repository);
    expect(again.packs.deleted).toBe(0);
    expect(again.packs.unreferenced).toBe(0);
    const strict = await prune(repository, { maxUnused: 0 });
    expect(strict.bytes.unusedAfter).toBe(0);
    const dry = await prune(repository, { dryRun: true, maxUnused: 0 });
    expect(dry.bytes.unused).toBe(0);
    expect(dry.packs.repacked).toBe(0);
    expect((await check(repository, { readData: true })).ok).toBe(true);
    expect((await restic(repo, "check", "--read-data")).stdout).toContain("no errors were found");
  });

  it("dry run changes nothing, and a running backup's lock makes prune wait or decline", async () => {
    const { repository, repo } = await buildRepository("dry-run", 3);
    // Quick maintenance: a dead process's lock removed, retention applied, the many small index files folded.
    const deadPid = spawnSync("true").pid!;
    const stale = encodeUnpacked(repository.key, {
      time: formatGoTime(nowNanoseconds()),
      exclusive: false,
      hostname: hostname(),
      username: "test",
      pid: deadPid,
    });
    await repository.storage.save({ type: "lock", name: createHash("sha256").update(stale).digest("hex") }, stale);
    const indexFiles = (await listAll(repository.storage, "index")).length;
    expect(indexFiles).toBeGreaterThan(2);
    const quick = await maintain(repository, { kind: "quick", retention: { keepLast: 1 } });
    expect(quick.locksRemoved).toBe(1);
    expect(quick.snapshotsRemoved).toBe(2);
    expect(quick.indexFilesMerged).toBe(indexFiles);
    expect(quick.prune).toBeUndefined();
    expect((await listAll(repository.storage, "index")).length).toBe(1);
    expect(await listAll(repository.storage, "lock")).toEqual([]);
    expect((await restic(repo, "check")).stdout).toContain("no errors were found");
    const files = async () =>
      [...(await packFiles(repository)), ...(await listAll(repository.storage, "index")).map((f) => f.name)].sort();
    const before = await files();
    const plan = await prune(repository, { dryRun: true });
    expect(plan.dryRun).toBe(true);
    expect(plan.packs.deleted + plan.packs.repacked).toBeGreaterThan(0);
    expect(await files()).toEqual(before);

    const shared = await lockRepository(repository, { exclusive: false });
    const refused = await prune(repository).catch((error: unknown) => error);
    expect(isEngineError(refused, "REPO_LOCKED")).toBe(true);
    const waiting = prune(repository, { lockWaitMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await files()).toEqual(before);
    await shared.release();
    const done = await waiting;
    expect(done.packs.deleted + done.packs.repacked).toBe(plan.packs.deleted + plan.packs.repacked);
  });

  it("leaves alone a repository whose index names a missing pack", async () => {
    const { repository, repo } = await buildRepository("refuse", 2);
    const [victim] = await packFiles(repository);
    await rm(join(repo, pathOf({ type: "data", name: victim! })));
    const before = (await listAll(repository.storage, "index")).length;
    const refused = await prune(repository).catch((error: unknown) => error);
    expect(isEngineError(refused, "REPOSITORY_DAMAGED")).toBe(true);
    expect((refused as Error).message).toContain("repair index");
    expect((await listAll(repository.storage, "index")).length).toBe(before);
  });
});

describe("prune's repack options", () => {
  it("max-repack-size 0 only deletes; a limit repacks less than that much; restic checks each result", {
    timeout: 240_000,
  }, async () => {
    const { repo, repository } = await buildRepository("max-repack", 6);
    await restic(repo, "forget", "--keep-last", "3");
    const everything = await prune(repository, { dryRun: true, maxUnused: 0 });
    expect(everything.packs.repacked).toBeGreaterThan(2);

    // restic's no-space recovery: deletes what nothing uses, rewrites nothing.
    const packsBefore = await packFiles(repository);
    const deleteOnly = await prune(repository, { maxUnused: 0, maxRepackSize: 0 });
    expect(deleteOnly.packs.deleted).toBeGreaterThan(0);
    expect(deleteOnly.packs.repacked).toBe(0);
    expect(deleteOnly.packs.written).toBe(0);
    const packsAfter = await packFiles(repository);
    expect(packsAfter.every((pack) => packsBefore.includes(pack))).toBe(true);
    expect(packsBefore.length - packsAfter.length).toBe(deleteOnly.packs.deleted);
    expect((await restic(repo, "check")).stdout).toContain("no errors were found");

    // Now every pack still there is used, so every pack a prune removes was repacked. Their blob bytes (what
    // restic's limit counts) stay below the limit, and the limit held some back.
    const state = await loadRepositoryState(repository);
    const blobBytes = new Map<string, number>();
    for (const pack of state.packs) {
      let bytes = 0;
      for (let record = pack.first; record < pack.first + pack.count; record++) bytes += state.table.length(record);
      blobBytes.set(pack.id, bytes);
    }
    const sizes = [...blobBytes.values()].sort((a, b) => a - b);
    const limit = sizes[0]! + sizes[1]! + sizes[2]! + 1;
    const limited = await prune(repository, { maxUnused: 0, maxRepackSize: limit });
    const remaining = await packFiles(repository);
    const repacked = packsAfter.filter((pack) => !remaining.includes(pack));
    expect(limited.packs.deleted).toBe(0);
    expect(repacked.length).toBe(limited.packs.repacked);
    expect(repacked.length).toBeGreaterThan(0);
    expect(repacked.reduce((sum, pack) => sum + blobBytes.get(pack)!, 0)).toBeLessThan(limit);
    expect((await restic(repo, "check", "--read-data")).stdout).toContain("no errors were found");
    const rest = await prune(repository, { maxUnused: 0 });
    expect(rest.packs.repacked).toBeGreaterThan(0);
    expect(rest.bytes.unusedAfter).toBe(0);
    expect((await restic(repo, "check", "--read-data")).stdout).toContain("no errors were found");
    await expect(prune(repository, { maxRepackSize: -1 })).rejects.toThrow(/max-repack-size must be 0 bytes or more/);
  });

  it("repack-uncompressed compresses every blob of a repository restic wrote with compression off", {
    timeout: 240_000,
  }, async () => {
    const repo = join(dir, "uncompressed");
    const source = join(dir, "uncompressed-source");
    await restic(repo, "init");
    const listings: Awaited<ReturnType<typeof listFolder>>[] = [];
    for (let n = 0; n < 3; n++) {
      await generation(source, n);
      await restic(repo, "backup", "--compression", "off", source);
      listings.push(await listFolder(source));
    }
    const repository = await openRepository(new LocalBackend(repo), password);
    const uncompressedData = async () => {
      const { table } = await loadRepositoryState(repository);
      let count = 0;
      for (let record = 0; record < table.count; record++) if (!table.uncompressedLength(record)) count++;
      return count;
    };
    const stored = await uncompressedData();
    expect(stored).toBeGreaterThan(10);

    const plan = await prune(repository, { dryRun: true, repackUncompressed: true });
    expect(plan.blobs.compressed).toBe(stored);
    const sizeBefore = plan.bytes.used + plan.bytes.unused;
    const summary = await prune(repository, { repackUncompressed: true });
    expect(summary.packs.repacked).toBeGreaterThan(0);
    expect(summary.blobs.compressed).toBe(stored);
    expect(await uncompressedData()).toBe(0);
    expect((await restic(repo, "check", "--read-data")).stdout).toContain("no errors were found");
    // The text compresses: the repository shrank although nothing was unused.
    const after = await prune(repository, { dryRun: true, repackUncompressed: true });
    expect(after.bytes.used + after.bytes.unused).toBeLessThan(sizeBefore);
    expect(after.packs.repacked).toBe(0);
    expect(after.blobs.compressed).toBe(0);
    const target = join(dir, "uncompressed-restore");
    await restic(repo, "restore", "latest", "--target", target);
    expect(await listFolder(join(target, source))).toEqual(listings.at(-1));

    const v1 = join(dir, "version-1");
    await restic(v1, "init", "--repository-version", "1");
    const old = await openRepository(new LocalBackend(v1), password);
    const refused = await prune(old, { repackUncompressed: true }).catch((error: unknown) => error);
    expect(isEngineError(refused, "INVALID_ARGUMENT")).toBe(true);
    expect((refused as Error).message).toMatch(/version 2/);
  });

  it("refuses to copy a blob whose plaintext does not match its id, though its MAC is valid", {
    timeout: 120_000,
  }, async () => {
    const { repo, source, repository } = await buildRepository("wrong-blob", 2);
    const reader = new RepositoryReader(repository.key, repository.storage);
    const [snapshot] = await reader.snapshots();
    // base.bin is noise: its blobs are stored uncompressed, so a re-sealed copy has exactly their length.
    const { node } = await nodeAt(reader, snapshot!, join(source, "stable", "base.bin"));
    const blob = node!.content![0]!;
    const location = (await reader.index()).get(blob)!;
    expect(location.uncompressedLength).toBeUndefined();
    const plaintext = await reader.blob("data", blob);
    plaintext[0] = plaintext[0]! ^ 1;
    const forged = seal(repository.key, plaintext);
    expect(forged.length).toBe(location.length);
    const path = join(repo, pathOf({ type: "data", name: location.pack }));
    await chmod(path, 0o600);
    const pack = await readFile(path);
    forged.copy(pack, location.offset);
    await writeFile(path, pack);

    const files = async () =>
      [...(await packFiles(repository)), ...(await listAll(repository.storage, "index")).map((f) => f.name)].sort();
    const before = await files();
    // Every pack holding an uncompressed blob is repacked, so the forged blob's is too.
    const refused = await prune(repository, { repackUncompressed: true }).catch((error: unknown) => error);
    expect(isEngineError(refused, "REPOSITORY_DAMAGED")).toBe(true);
    expect((refused as Error).message).toContain(blob);
    expect((refused as Error).message).toMatch(/does not match its id.*prune deleted nothing/);
    // Nothing was deleted: every old pack and index file is still there (new packs, unindexed, may be).
    const after = await files();
    expect(before.every((name) => after.includes(name))).toBe(true);
  });
});

describe("check", () => {
  it("passes after restic's forget --prune on a repository we wrote", { timeout: 120_000 }, async () => {
    const { repo, repository } = await buildRepository("restic-prune", 4);
    await restic(repo, "forget", "--keep-last", "2", "--prune");
    const report = await check(repository, { readData: true });
    expect(report.errors).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.snapshots).toBe(2);
    expect(report.packsRead).toBe(report.packs);
  });

  it("names exactly the snapshots and files a deleted pack or a flipped byte damaged", {
    timeout: 120_000,
  }, async () => {
    const { repo, repository, ids } = await buildRepository("damage", 4);
    const reader = new RepositoryReader(repository.key, repository.storage);
    const index = await reader.index();
    const snapshots = await reader.snapshots();
    /** The files of every snapshot whose content has a blob `lost` says is gone, by snapshot id. */
    const affected = async (lost: (blob: string) => boolean) => {
      const result = new Map<string, string[]>();
      const visit = async (tree: string, path: string, files: string[]): Promise<void> => {
        for (const node of await reader.tree(tree)) {
          const child = `${path}/${node.name.toString("utf8")}`;
          if (node.type === "file" && node.content?.some(lost)) files.push(child);
          if (node.type === "dir" && node.subtree) await visit(node.subtree, child, files);
        }
      };
      for (const snapshot of snapshots) {
        const files: string[] = [];
        await visit(snapshot.tree, "", files);
        if (files.length) result.set(snapshot.id, files.sort());
      }
      return result;
    };
    const reported = (report: Awaited<ReturnType<typeof check>>) =>
      new Map(report.damaged.map((entry) => [entry.id, [...entry.files].sort()]));

    // A data pack that holds blobs of some snapshots but not all.
    const dataPacks = [...new Set([...index.values()].filter((blob) => blob.type === "data").map((blob) => blob.pack))];
    let victim = "";
    let expected = new Map<string, string[]>();
    for (const pack of dataPacks) {
      expected = await affected((blob) => index.get(blob)?.pack === pack);
      if (expected.size > 0 && expected.size < ids.length) {
        victim = pack;
        break;
      }
    }
    expect(victim).not.toBe("");
    const victimPath = join(repo, pathOf({ type: "data", name: victim }));
    const saved = await readFile(victimPath);
    await rm(victimPath);
    const report = await check(repository);
    expect(report.ok).toBe(false);
    expect(report.errors.some((error) => error.kind === "missing-pack" && error.pack === victim)).toBe(true);
    expect(reported(report)).toEqual(expected);
    expect(report.damaged.every((entry) => entry.folders.length === 0)).toBe(true);
    // restic agrees something is wrong.
    expect(await restic(repo, "check").catch((error: { code: number }) => error.code)).toBe(1);
    await new LocalBackend(repo).save({ type: "data", name: victim }, saved);
    expect((await check(repository)).ok).toBe(true);

    // A flipped byte inside one data blob: only read-data sees it, and names the files using that blob.
    const blob = [...index.values()].find(
      (entry) => entry.type === "data" && entry.length > 1000 && entry.pack !== victim,
    )!;
    const packPath = join(repo, pathOf({ type: "data", name: blob.pack }));
    const bytes = await readFile(packPath);
    bytes[blob.offset + Math.floor(blob.length / 2)]! ^= 0x40;
    await rm(packPath);
    await writeFile(packPath, bytes);
    expect((await check(repository)).ok).toBe(true);
    const read = await check(repository, { readData: true });
    expect(read.ok).toBe(false);
    expect(read.errors.some((error) => error.kind === "damaged-blob" && error.blob === blob.id)).toBe(true);
    expect(read.errors.some((error) => error.kind === "pack-id" && error.pack === blob.pack)).toBe(true);
    const blobId = [...index.entries()].find(([, location]) => location === blob)![0];
    expect(reported(read)).toEqual(await affected((id) => id === blobId));
  });

  it("repair index rebuilds a lost index from the pack headers", { timeout: 120_000 }, async () => {
    const { repo, repository, ids } = await buildRepository("repair", 3);
    for (const file of await listAll(repository.storage, "index"))
      await repository.storage.remove({ type: "index", name: file.name });
    const broken = await check(repository);
    expect(broken.ok).toBe(false);
    expect(broken.damaged.map((entry) => entry.id).sort()).toEqual([...ids].sort());
    const result = await repairIndex(repository);
    expect(result.unreadablePacks).toEqual([]);
    expect(result.packs).toBe((await packFiles(repository)).length);
    expect((await check(repository, { readData: true })).ok).toBe(true);
    expect((await restic(repo, "check", "--read-data")).stdout).toContain("no errors were found");
    // A fresh open sees the same.
    const reopened = await openRepository(new LocalBackend(repo), password);
    expect((await new RepositoryReader(reopened.key, reopened.storage).snapshots()).length).toBe(3);
  });

  it("reads n/t and x% subsets the way restic picks them", async () => {
    const { selectPacks } = await import("../src/lifecycle/check.ts");
    const ids = Array.from({ length: 512 }, (_, i) => (i % 256).toString(16).padStart(2, "0") + "0".repeat(62) + i);
    expect(selectPacks(ids, "1/2", false).size).toBe(256);
    expect([...selectPacks(ids, "2/4", false)].every((id) => Number.parseInt(id.slice(0, 2), 16) % 4 === 1)).toBe(true);
    expect(selectPacks(ids, "5%", false).size).toBe(25);
    expect(selectPacks(ids.slice(0, 3), "5%", false).size).toBe(1);
    expect(selectPacks(ids, undefined, true).size).toBe(512);
    for (const bad of ["0/3", "4/3", "0%", "101%", "half"]) {
      expect(() => selectPacks(ids, bad, false)).toThrow(/read-data-subset/);
    }
  });
});
