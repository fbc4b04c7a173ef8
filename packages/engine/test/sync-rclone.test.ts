import { mkdtemp, rm, stat, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RcloneFilter } from "../src/sync/rclone-filter.ts";
import { walkFolder } from "../src/sync/source.ts";
import { syncFolder } from "../src/sync/sync.ts";
import { bucketName, removeBucket, testBackend } from "./storage-s3-env.ts";
import { env, MiB, makeTree, rclone, rclonePlannedChanges, s3Proxy, s3Target } from "./sync-fixtures.ts";

// rclone 1.60 is the oracle: what we upload, rclone must find identical (check) and up to date (sync --dry-run
// plans nothing, lsl shows the same mtimes); what rclone uploads, we must find up to date; mtime-only changes are
// fixed on both sides without sending data; and our filters select exactly what rclone's do.

const bucket = bucketName("sync-rclone");
const admin = testBackend(env, { bucket });
let work: string;

const tree = [
  { path: "top.txt", size: 1000 },
  { path: "empty.bin", size: 0 },
  { path: "a/b/c/deep.dat", size: 70_000 },
  { path: "a/space name.txt", size: 12 },
  { path: "a/ünïcödé-名前.txt", size: 33 },
  { path: "a/odd+chars(1)&=.txt", size: 44 },
  { path: "multi/large.bin", size: 11 * MiB + 123 },
  ...Array.from({ length: 40 }, (_, i) => ({ path: `many/d${i % 4}/f${i}.bin`, size: 100 + i * 37 })),
];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "e3-sync-rclone-"));
  await admin.createBucketIfMissing();
});

afterAll(async () => {
  await removeBucket(admin.client, bucket);
  await admin.close();
  await rm(work, { recursive: true, force: true });
});

/** rclone lsl's lines (size, mtime to the nanosecond, path), sorted. */
function lsl(remote: string): string[] {
  const run = rclone(["lsl", remote]);
  expect(run.status, run.stderr).toBe(0);
  return run.stdout
    .trim()
    .split("\n")
    .map((line) => line.trim())
    .sort();
}

async function keys(prefix: string): Promise<string[]> {
  const page = await admin.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/` }));
  return (page.Contents ?? []).map((object) => object.Key ?? "").sort();
}

describe("e3 sync and rclone agree", () => {
  it("what we upload, rclone checks clean, plans nothing for and lists with the same mtimes", async () => {
    const source = join(work, "ours");
    await makeTree(source, tree);
    // Two parts at once for three parts: the third reuses the first's buffer.
    const target = s3Target(bucket, "ours", {
      stateDir: join(work, "state-ours"),
      uploadCutoff: 5 * MiB,
      uploadConcurrency: 2,
    });
    const result = await syncFolder({ source, target, mode: "sync" });
    await target.close();
    expect(result.status).toBe("success");
    expect(result.filesTransferred).toBe(tree.length);

    const remote = `e3:${bucket}/ours`;
    const check = rclone(["check", source, remote]);
    expect(check.status, check.stderr).toBe(0);
    expect(check.stderr).toContain("0 differences found");
    // md5chksum is the source's own hash: only the bytes themselves prove every part landed where it belongs.
    const downloaded = rclone(["check", "--download", "--include", "/multi/**", source, remote]);
    expect(downloaded.status, downloaded.stderr).toBe(0);
    expect(downloaded.stderr).toContain("0 differences found");
    expect(rclonePlannedChanges(source, remote)).toEqual([]);
    expect(lsl(remote)).toEqual(lsl(source));

    // One object per file at prefix/path, no folder markers; multipart carries md5chksum, single part Content-MD5'd.
    expect(await keys("ours")).toEqual(tree.map((file) => `ours/${file.path}`).sort());
    const large = await admin.client.send(new HeadObjectCommand({ Bucket: bucket, Key: "ours/multi/large.bin" }));
    expect(large.ETag).toMatch(/-3"$/);
    expect(large.Metadata?.md5chksum).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    const small = await admin.client.send(new HeadObjectCommand({ Bucket: bucket, Key: "ours/top.txt" }));
    expect(small.Metadata?.mtime).toMatch(/^1600000000\.\d*[1-9]$/);
    expect(small.Metadata?.md5chksum).toBeUndefined();
  });

  it("after rclone sync, we plan nothing; after touching mtimes, both sides fix them without sending data", async () => {
    const source = join(work, "theirs");
    await makeTree(source, tree);
    const remote = `e3:${bucket}/theirs`;
    // rclone uploads the large file in parts too, so its md5chksum is what proves contents equal.
    const upload = rclone(["sync", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", source, remote]);
    expect(upload.status, upload.stderr).toBe(0);

    const stateDir = join(work, "state-theirs");
    const plan = async () => {
      const target = s3Target(bucket, "theirs", { stateDir });
      const result = await syncFolder({ source, target, mode: "sync", dryRun: true });
      await target.close();
      return result.plan;
    };
    expect(await plan()).toEqual([]);

    // Only mtimes change: ours must update metadata in place, rclone must then agree.
    const touched = ["top.txt", "multi/large.bin", "a/ünïcödé-名前.txt", "empty.bin"];
    for (const path of touched) await utimes(join(source, path), 1_700_000_000.123456, 1_700_000_000.123456);
    expect(await plan()).toEqual(
      touched
        .map((path) => ({ action: "setMtime", path, size: tree.find((f) => f.path === path)!.size }))
        .sort((a, b) => (a.path < b.path ? -1 : 1)),
    );
    const target = s3Target(bucket, "theirs", { stateDir });
    const result = await syncFolder({ source, target, mode: "sync" });
    await target.close();
    expect(result).toMatchObject({ status: "success", mtimesUpdated: touched.length, bytesTransferred: 0 });
    expect(result.filesTransferred).toBe(0);
    expect(rclonePlannedChanges(source, remote)).toEqual([]);
    expect(lsl(remote)).toEqual(lsl(source));
    const check = rclone(["check", source, remote]);
    expect(check.status, check.stderr).toBe(0);
    expect(await plan()).toEqual([]);
  });

  it("copy never deletes; sync deletes extras last and refuses an empty source", async () => {
    const source = join(work, "modes");
    await makeTree(source, [
      { path: "keep.txt", size: 10 },
      { path: "gone.txt", size: 20 },
    ]);
    const stateDir = join(work, "state-modes");
    const run = async (mode: "copy" | "sync", extra = {}) => {
      const target = s3Target(bucket, "modes", { stateDir });
      try {
        return await syncFolder({ source, target, mode, ...extra });
      } finally {
        await target.close();
      }
    };
    await run("sync");
    await rm(join(source, "gone.txt"));
    expect((await run("copy")).filesDeleted).toBe(0);
    expect(await keys("modes")).toEqual(["modes/gone.txt", "modes/keep.txt"]);
    const dry = await run("sync", { dryRun: true });
    expect(dry.plan).toEqual([{ action: "delete", path: "gone.txt", size: 20 }]);
    expect(await keys("modes")).toEqual(["modes/gone.txt", "modes/keep.txt"]);
    expect((await run("sync")).filesDeleted).toBe(1);
    expect(await keys("modes")).toEqual(["modes/keep.txt"]);

    await rm(join(source, "keep.txt"));
    await expect(run("sync")).rejects.toMatchObject({ code: "DELETE_REFUSED", message: /--allow-empty-source/ });
    expect(await keys("modes")).toEqual(["modes/keep.txt"]);
    expect((await run("sync", { allowEmptySource: true })).filesDeleted).toBe(1);
  });
});

describe("the state cache", () => {
  it("spares HEADs on an unchanged re-sync, and is set aside when a sampled object contradicts it", async () => {
    const source = join(work, "cache");
    await makeTree(source, tree.slice(0, 12));
    const stateDir = join(work, "state-cache");
    // The cache belongs to one location, endpoint included: every run goes through the counting proxy.
    const proxy = await s3Proxy();
    const run = async (dryRun: boolean) => {
      const location = `s3:${proxy.endpoint}/${bucket}/cache`;
      const target = s3Target(bucket, "cache", { location, stateDir, cacheSample: 2 });
      try {
        return await syncFolder({ source, target, mode: "sync", dryRun });
      } finally {
        await target.close();
      }
    };
    const heads = () => proxy.requests.filter((request) => request.method === "HEAD").length;
    try {
      expect((await run(false)).filesTransferred).toBe(12);
      proxy.requests.length = 0;
      expect((await run(true)).plan).toEqual([]);
      // Only the sample: rclone would HEAD all 12.
      expect(heads()).toBe(2);

      // rclone rewrites every object's mtime metadata; versitygw keeps ETag and Last-Modified, so only the
      // sample can tell.
      for (const file of tree.slice(0, 12)) {
        const touch = rclone(["touch", "--no-create", "-t", "2021-02-03T04:05:06", `e3:${bucket}/cache/${file.path}`]);
        expect(touch.status, touch.stderr).toBe(0);
      }
      proxy.requests.length = 0;
      const plan = (await run(true)).plan;
      expect(plan.map((action) => action.action)).toEqual(Array(12).fill("setMtime"));
      expect(heads()).toBe(12);
    } finally {
      proxy.server.close();
    }
  });
});

describe("filters select what rclone's select", () => {
  const names = [
    "a.jpg",
    "A.JPG",
    "b.png",
    "file.jpg",
    "afile.jpg",
    "x1.txt",
    "x22.txt",
    "dir/b.jpg",
    "dir/c.txt",
    "dir/sub/c.txt",
    "dir/sub/d.jpg",
    "dir/sub/deep/e.jpg",
    "tmp/x.jpg",
    "other/tmp/y.txt",
    "keep/z.bin",
    "keep/sub/z.txt",
    "{braces}.txt",
  ];
  const cases: string[][] = [
    ["--include", "*.jpg"],
    ["--exclude", "*.jpg"],
    ["--include", "/dir/**"],
    ["--exclude", "/tmp/"],
    ["--exclude", "tmp/"],
    ["--exclude", "tmp/**"],
    ["--include", "/dir/sub/*.txt"],
    ["--include", "{a,file}.jpg"],
    ["--include", "?.png"],
    ["--include", "[ab].*"],
    ["--include", "x[[:digit:]].txt"],
    ["--include", "x[0-9]*.txt"],
    ["--include", "/dir/"],
    ["--exclude", "*"],
    ["--include", "**/sub/**"],
    ["--exclude", "dir/sub/*"],
    ["--include", "dir/*"],
    ["--include", "sub/*.jpg"],
    ["--include", "*.JPG", "--ignore-case"],
    ["--include", "\\{braces\\}.txt"],
    ["--filter", "- /dir/sub/**", "--filter", "+ *.txt", "--filter", "- **"],
    ["--filter", "+ /keep/", "--filter", "- /keep/sub/**", "--filter", "+ /keep/**", "--filter", "- **"],
    ["--include", "*.txt", "--include", "/keep/**"],
    ["--exclude", "/dir/sub/", "--exclude", "*.png"],
  ];

  let source: string;
  beforeAll(async () => {
    source = join(work, "filters");
    await makeTree(
      source,
      names.map((path) => ({ path, size: 1 })),
    );
    const target = s3Target(bucket, "filters", {});
    await syncFolder({ source, target });
    await target.close();
  });

  function ourFilter(args: string[]): RcloneFilter {
    const include: string[] = [];
    const exclude: string[] = [];
    const filter: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const flag = args[i];
      if (flag === "--include") include.push(args[++i]!);
      else if (flag === "--exclude") exclude.push(args[++i]!);
      else if (flag === "--filter") filter.push(args[++i]!);
    }
    return new RcloneFilter({ include, exclude, filter, ignoreCase: args.includes("--ignore-case") });
  }

  function rcloneSelects(args: string[], remote: string): string[] {
    const run = rclone(["lsf", "-R", "--files-only", ...args, remote]);
    expect(run.status, run.stderr).toBe(0);
    return run.stdout.split("\n").filter(Boolean).sort();
  }

  it.each(cases.map((args) => [args.join(" "), args]))("%s", async (_, args) => {
    const expected = rcloneSelects(args as string[], source);
    const filter = ourFilter(args as string[]);
    expect([...walkFolder(source, filter).files.keys()].sort()).toEqual(expected);
    // The same rules over the bucket listing, against rclone listing the bucket.
    const target = s3Target(bucket, "filters", {});
    await target.prepare(undefined, true);
    const listed = [...(await target.list(filter, undefined)).keys()].sort();
    await target.close();
    expect(listed).toEqual(rcloneSelects(args as string[], `e3:${bucket}/filters`));
  });

  it("a sync with filters leaves excluded destination files alone", async () => {
    const target = s3Target(bucket, "filters", {});
    const result = await syncFolder({
      source: join(work, "filters", "dir"),
      target,
      mode: "sync",
      dryRun: true,
      filter: { exclude: ["*.jpg"] },
    });
    await target.close();
    // Only non-jpg files outside dir/ are extra; jpgs are excluded on both sides.
    const deleted = result.plan.filter((action) => action.action === "delete").map((action) => action.path);
    expect(deleted).not.toContain("a.jpg");
    expect(deleted).toContain("x1.txt");
    expect((await stat(join(work, "filters", "a.jpg"))).isFile()).toBe(true);
  });
});
