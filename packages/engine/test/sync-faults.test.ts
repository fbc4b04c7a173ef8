import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, unlink, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadObjectCommand, ListMultipartUploadsCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FolderTarget } from "../src/sync/folder-target.ts";
import { syncFolder } from "../src/sync/sync.ts";
import { bucketName, removeBucket, testBackend } from "./storage-s3-env.ts";
import { env, expectRate, MiB, makeTree, rclone, s3Proxy, s3Target } from "./sync-fixtures.ts";

// Failures a sync must survive: a flaky server (retried), a server that refuses one object (that file fails
// alone and nothing is deleted), files that vanish mid-run (a warning), a killed process (its multipart upload
// aborted by the next run), cancellation (nothing left open) and the bandwidth limit (held within 10 %).

const bucket = bucketName("sync-faults");
const admin = testBackend(env, { bucket });
const launcher = join(import.meta.dirname, "..", "..", "..", "apps", "agent", "bin", "e3-backup-agent.mjs");
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "e3-sync-faults-"));
  await admin.createBucketIfMissing();
});

afterAll(async () => {
  await removeBucket(admin.client, bucket);
  await admin.close();
  await rm(work, { recursive: true, force: true });
});

async function openUploads(prefix: string): Promise<string[]> {
  const page = await admin.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` }));
  return (page.Uploads ?? []).map((upload) => upload.Key ?? "");
}

describe("sync under faults", () => {
  it("retries transient errors; a permanent error fails only its file and stops deletions", async () => {
    let flaky = 0;
    const proxy = await s3Proxy((method, url) => {
      if (method === "PUT" && url.includes("broken")) return { status: 403, code: "AccessDenied" };
      if (method === "PUT" && url.includes("flaky") && flaky < 2) {
        flaky++;
        return { status: 503, code: "SlowDown" };
      }
      return undefined;
    });
    try {
      const source = join(work, "faults");
      await makeTree(source, [
        { path: "a-ok.txt", size: 100 },
        { path: "b-flaky.txt", size: 200 },
        { path: "c-broken.txt", size: 300 },
        { path: "d-ok.txt", size: 400 },
      ]);
      await admin.client.send(new PutObjectCommand({ Bucket: bucket, Key: "faults/extra.txt", Body: "x" }));
      const target = s3Target(bucket, "faults", {
        location: `s3:${proxy.endpoint}/${bucket}/faults`,
        retry: { attempts: 4, baseDelayMs: 10 },
      });
      const errors: string[] = [];
      const result = await syncFolder({ source, target, mode: "sync", onError: (error) => errors.push(error.path) });
      await target.close();
      expect(flaky).toBe(2);
      expect(result.status).toBe("failed");
      expect(errors).toEqual(["c-broken.txt"]);
      expect(result.errors[0]).toMatchObject({ kind: "failed", message: /AccessDenied.*HTTP 403.*access key/ });
      expect(result.filesTransferred).toBe(3);
      expect(result.deletionsSkipped).toMatch(/1 file\(s\) not deleted: 1 file\(s\) failed to transfer/);
      const check = rclone(["check", "--one-way", source, `e3:${bucket}/faults`, "--exclude", "c-broken.txt"]);
      expect(check.status, check.stderr).toBe(0);
      await admin.client.send(new HeadObjectCommand({ Bucket: bucket, Key: "faults/extra.txt" }));
    } finally {
      proxy.server.close();
    }
  });

  it("a file that vanishes mid-run is skipped with a warning", async () => {
    const source = join(work, "vanish");
    await makeTree(source, [
      { path: "a-slow.bin", size: 0.9 * MiB },
      { path: "b-vanishes.txt", size: 10 },
      { path: "c-stays.txt", size: 10 },
    ]);
    const target = s3Target(bucket, "vanish", {});
    let removed = false;
    const result = await syncFolder({
      source,
      target,
      // One lane, one at a time: the small files wait behind the slow one (1.8 s at 512 KiB/s).
      transfers: 1,
      smallFileTransfers: 1,
      bwlimit: "512",
      onProgress: (progress) => {
        // The first report comes after a second, while the slow file is still going up.
        if (!removed && progress.currentFiles.includes("a-slow.bin")) {
          removed = true;
          void unlink(join(source, "b-vanishes.txt"));
        }
      },
    });
    await target.close();
    expect(removed).toBe(true);
    expect(result.status).toBe("warning");
    expect(result.errors).toEqual([
      expect.objectContaining({
        path: "b-vanishes.txt",
        kind: "skipped",
        code: "ENOENT",
        message: expect.stringMatching(/vanished/),
      }),
    ]);
    expect(result.filesTransferred).toBe(2);
  });

  it("a killed sync leaves its multipart upload open; the next run aborts it and completes", async () => {
    const source = join(work, "killed");
    await makeTree(source, [{ path: "big.bin", size: 12 * MiB }]);
    const stateDir = join(work, "state-killed");
    const child = spawn(
      process.execPath,
      [
        launcher,
        "sync",
        "--state-dir",
        stateDir,
        "--s3-upload-cutoff",
        "5M",
        "--bwlimit",
        "2M",
        source,
        `s3:${env.endpoint}/${bucket}/killed`,
      ],
      {
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: env.accessKeyId,
          AWS_SECRET_ACCESS_KEY: env.secretAccessKey,
          AWS_DEFAULT_REGION: env.region,
        },
        stdio: "ignore",
      },
    );
    const exited = new Promise((resolve) => child.on("exit", resolve));
    // Kill it once the upload is under way and written down (between the server's answer and the journal write
    // a kill leaves an upload only the 24-hour rule cleans up, as rclone cleanup would).
    const journalled = async () => {
      const names = existsSync(stateDir) ? readdirSync(stateDir) : [];
      const journal = names.find((name) => name.endsWith(".uploads.json"));
      return journal ? (JSON.parse(await readFile(join(stateDir, journal), "utf8")) as unknown[]).length : 0;
    };
    for (let tries = 0; (await openUploads("killed")).length === 0 || (await journalled()) === 0; tries++) {
      expect(tries, "the CLI never started its multipart upload").toBeLessThan(200);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    child.kill("SIGKILL");
    await exited;
    expect(await openUploads("killed")).toEqual(["killed/big.bin"]);
    expect(await journalled()).toBe(1);

    const target = s3Target(bucket, "killed", { stateDir, uploadCutoff: 5 * MiB });
    const result = await syncFolder({ source, target });
    await target.close();
    expect(result.status).toBe("success");
    expect(await openUploads("killed")).toEqual([]);
    const check = rclone(["check", source, `e3:${bucket}/killed`]);
    expect(check.status, check.stderr).toBe(0);
  });

  it("cancelling mid-upload aborts the multipart upload at once", async () => {
    const source = join(work, "cancelled");
    await makeTree(source, [{ path: "big.bin", size: 12 * MiB }]);
    const controller = new AbortController();
    const target = s3Target(bucket, "cancelled", { uploadCutoff: 5 * MiB });
    const running = syncFolder({
      source,
      target,
      bwlimit: "2M",
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.bytesDone > 0) controller.abort(new Error("stop"));
      },
    });
    await expect(running).rejects.toThrow("stop");
    await target.close();
    expect(await openUploads("cancelled")).toEqual([]);
  });

  it("holds the bandwidth limit within 10 % over a 20-second transfer, across files, lanes and parts", async () => {
    // The bytes are timed where they arrive (a proxy in front of the server), not by the client's clock.
    const arrivals: { at: number; bytes: number }[] = [];
    const proxy = await s3Proxy(undefined, (bytes) => arrivals.push({ at: performance.now(), bytes }));
    try {
      const source = join(work, "limited");
      // 10 MiB at 512 KiB/s: 20 s. Two small files (the small-file lane), one single PUT, one multipart upload.
      await makeTree(source, [
        { path: "a-small.bin", size: 0.5 * MiB },
        { path: "b-small.bin", size: 0.5 * MiB },
        { path: "c-single.bin", size: 3 * MiB },
        { path: "d-multipart.bin", size: 6 * MiB },
      ]);
      const target = s3Target(bucket, "limited", {
        location: `s3:${proxy.endpoint}/${bucket}/limited`,
        uploadCutoff: 5 * MiB,
      });
      const rate = 512 * 1024;
      const result = await syncFolder({ source, target, bwlimit: "512" });
      await target.close();
      expect(result).toMatchObject({ status: "success", filesTransferred: 4, bytesTransferred: 10 * MiB });
      const { total, seconds } = expectRate(arrivals, rate, 4);
      expect(total).toBeGreaterThanOrEqual(10 * MiB);
      expect(seconds).toBeGreaterThan(18);
    } finally {
      proxy.server.close();
    }
  });
});

describe("a folder as the destination", () => {
  it("copies with mtimes, then finds nothing to do; fixes mtime-only changes without copying", async () => {
    const source = join(work, "local-source");
    const destination = join(work, "local-destination");
    await makeTree(source, [
      { path: "a.txt", size: 10 },
      { path: "deep/b/c.bin", size: 5000 },
      { path: "gone.txt", size: 1 },
    ]);
    const first = await syncFolder({ source, target: new FolderTarget(destination), mode: "sync" });
    expect(first).toMatchObject({ status: "success", filesTransferred: 3 });
    const [sourceStat, copyStat] = await Promise.all([
      stat(join(source, "deep/b/c.bin"), { bigint: true }),
      stat(join(destination, "deep/b/c.bin"), { bigint: true }),
    ]);
    expect(Number(copyStat.mtimeNs - sourceStat.mtimeNs)).toBeLessThan(1000);
    expect((await syncFolder({ source, target: new FolderTarget(destination), mode: "sync" })).plan).toEqual([]);

    await utimes(join(source, "a.txt"), 1_700_000_000, 1_700_000_000);
    await unlink(join(source, "gone.txt"));
    const second = await syncFolder({ source, target: new FolderTarget(destination), mode: "sync" });
    expect(second).toMatchObject({ mtimesUpdated: 1, filesTransferred: 0, filesDeleted: 1, bytesTransferred: 0 });
    const check = rclone(["check", source, destination]);
    expect(check.status, check.stderr).toBe(0);
    expect((await stat(join(destination, "a.txt"))).mtimeMs).toBe(1_700_000_000_000);
  });
});
