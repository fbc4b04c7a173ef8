import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backup } from "../src/archiver/archiver.ts";
import { RepositoryReader } from "../src/repository/reader.ts";
import { initLocalRepository, initRepository } from "../src/repository/repository.ts";
import { bucketName, removeBucket, testBackend } from "./storage-s3-env.ts";
import { type Arrival, env, expectRate, MiB, s3Proxy } from "./sync-fixtures.ts";

// A backup's upload limit (restic's --limit-upload, the job's bandwidth limit): all concurrent pack uploads
// together, timed where the bytes arrive (a proxy in front of the real S3 server), and to a local repository.

const bucket = bucketName("backup-limit");
const admin = testBackend(env, { bucket });
const fastScrypt = { N: 1024, r: 8, p: 1 };
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "e3-backup-limit-"));
  await admin.createBucketIfMissing();
});

afterAll(async () => {
  await removeBucket(admin.client, bucket);
  await admin.close();
  await rm(work, { recursive: true, force: true });
});

async function randomTree(root: string, sizes: number[]): Promise<number> {
  await mkdir(root, { recursive: true });
  for (const [index, size] of sizes.entries()) await writeFile(join(root, `file-${index}.bin`), randomBytes(size));
  return sizes.reduce((sum, size) => sum + size, 0);
}

describe("backup with an upload limit", () => {
  it("uploads at the limit within 10 % over an 8-second transfer to S3, across concurrent packs", async () => {
    // Only the packs' bytes are timed: the lock goes up (unlimited) before the first pack is cut, and the index and
    // the snapshot (limited too) after the last one has finished, so either would add idle time to the window.
    const arrivals: Arrival[] = [];
    const proxy = await s3Proxy(undefined, (bytes, url) => {
      if (url.includes("/data/")) arrivals.push({ at: performance.now(), bytes });
    });
    try {
      const source = join(work, "s3-source");
      // 4 MiB of random (incompressible) data at 512 KiB/s: 8 s. 1 MiB packs, so three upload at once; full packs
      // go up in parts, the tree pack (and a short last data pack) in one PUT.
      await randomTree(source, [1.5 * MiB, 1.5 * MiB, 0.75 * MiB, 0.25 * MiB]);
      const storage = testBackend(
        { ...env, endpoint: proxy.endpoint },
        { bucket, prefix: "limited", multipartThreshold: MiB },
      );
      const repository = await initRepository(storage, "limited", { scrypt: fastScrypt });
      const rate = 512 * 1024;
      const result = await backup(repository, { paths: [source], packSize: MiB, uploadLimit: "512" });
      const reader = new RepositoryReader(repository.key, storage);
      expect((await reader.snapshots()).map((snapshot) => snapshot.id)).toEqual([result.snapshotId]);
      await storage.close();
      expect(result.summary.dataAddedPacked).toBeGreaterThan(4 * MiB);
      const packPuts = proxy.requests.filter((request) => request.method === "PUT" && request.url.includes("/data/"));
      expect(packPuts.some((request) => request.url.includes("partNumber="))).toBe(true);
      expect(packPuts.some((request) => !request.url.includes("partNumber="))).toBe(true);

      // Within 10 % over the whole transfer and in every 2-second window.
      const { total, seconds } = expectRate(arrivals, rate, 2);
      expect(total).toBeGreaterThanOrEqual(result.summary.dataAddedPacked);
      expect(seconds).toBeGreaterThan(7);
    } finally {
      proxy.server.close();
    }
  });

  it("paces the writes to a local repository too (a folder on a network share)", async () => {
    const source = join(work, "local-source");
    await randomTree(source, [1 * MiB, 1 * MiB]);
    const repository = await initLocalRepository(join(work, "local-repo"), "limited", { scrypt: fastScrypt });
    const started = performance.now();
    const result = await backup(repository, { paths: [source], packSize: MiB, uploadLimit: "1M", threads: 0 });
    const seconds = (performance.now() - started) / 1000;
    // 2 MiB at 1 MiB/s: at least 2 s less the 100 ms burst, however fast the disk.
    expect(result.summary.dataAddedPacked).toBeGreaterThan(2 * MiB);
    expect(seconds).toBeGreaterThan(result.summary.dataAddedPacked / MiB - 0.15);
  });

  it("refuses a limit it cannot read before it touches the repository", async () => {
    const repository = await initLocalRepository(join(work, "bad-limit"), "limited", { scrypt: fastScrypt });
    await expect(backup(repository, { paths: [work], uploadLimit: "fast" })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringMatching(/bandwidth limit "fast"/),
    });
  });
});
