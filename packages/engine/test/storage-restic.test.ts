import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  configHandle,
  type FileInfo,
  type FileType,
  handleOf,
  listAll,
  type StorageBackend,
} from "../src/storage/backend.ts";
import { LocalBackend } from "../src/storage/local.ts";
import { S3Backend } from "../src/storage/s3.ts";
import { pool } from "./storage-contract.ts";
import { bucketName, removeBucket, s3TestEnv, testBackend } from "./storage-s3-env.ts";

// Interop with the real restic 0.14: what restic writes (in a folder, in a bucket) lists through our backends
// exactly as restic lists it, and what our backends write restic checks byte for byte and prunes.

const run = promisify(execFile);
const env = s3TestEnv();
const dir = await mkdtemp(join(tmpdir(), "e3-storage-restic-"));
const admin = new S3Client({
  endpoint: env.endpoint,
  region: env.region,
  forcePathStyle: true,
  credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
});
const buckets: string[] = [];
afterAll(async () => {
  for (const bucket of buckets) await removeBucket(admin, bucket);
  admin.destroy();
  await rm(dir, { recursive: true, force: true });
});

const password = "storage interop";
const resticEnv = {
  ...process.env,
  RESTIC_PASSWORD: password,
  AWS_ACCESS_KEY_ID: env.accessKeyId,
  AWS_SECRET_ACCESS_KEY: env.secretAccessKey,
  AWS_DEFAULT_REGION: env.region,
};
const restic = async (repository: string, ...args: string[]) =>
  (await run("restic", ["--no-cache", "-r", repository, ...args], { env: resticEnv, maxBuffer: 64 * 1024 * 1024 }))
    .stdout;

const resticListNames: Record<Exclude<FileType, "config">, string> = {
  key: "keys",
  data: "packs",
  index: "index",
  snapshot: "snapshots",
  lock: "locks",
};
const types: FileType[] = ["config", "key", "data", "index", "snapshot", "lock"];
const byName = (a: FileInfo, b: FileInfo) => a.name.localeCompare(b.name);

/** restic's own listing of one file type (`--no-lock`, or the listing would show its own lock). */
async function resticList(repository: string, type: Exclude<FileType, "config">): Promise<string[]> {
  const out = await restic(repository, "--no-lock", "list", resticListNames[type]);
  return out.split("\n").filter(Boolean).sort();
}

/** A source folder with one file unique to it and one shared by every source. */
async function source(label: string): Promise<string> {
  const folder = join(dir, `source-${label}`);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, "unique.bin"), randomBytes(6 * 1024 * 1024));
  await writeFile(join(folder, "shared.txt"), "the same in every snapshot\n");
  return folder;
}

/** Every file of a repository folder with its size, read from the disk directly. */
async function filesOnDisk(repository: string): Promise<Map<string, number>> {
  const files = new Map<string, number>();
  for (const entry of await readdir(repository, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(repository, path), (await stat(path)).size);
  }
  return files;
}

/** Our listing of every type, as `path → size`. */
async function filesListed(backend: StorageBackend): Promise<Map<string, number>> {
  const files = new Map<string, number>();
  for (const type of types) {
    for (const { name, size } of await listAll(backend, type)) {
      const path = type === "config" ? "config" : pathFor(type, name);
      files.set(path, size);
    }
  }
  return files;
}

function pathFor(type: FileType, name: string): string {
  const folder = {
    key: "keys",
    data: `data/${name.slice(0, 2)}`,
    index: "index",
    snapshot: "snapshots",
    lock: "locks",
  };
  return `${folder[type as Exclude<FileType, "config">]}/${name}`;
}

/** Copies every file of one repository into another through the two backends (packs as streams). */
async function copyRepository(from: StorageBackend, to: StorageBackend): Promise<number> {
  let copied = 0;
  for (const type of types) {
    const entries = await listAll(from, type);
    await pool(entries, 4, async ({ name, size }) => {
      const handle = type === "config" ? configHandle : { type, name };
      const bytes = await from.load(handle);
      await to.save(handle, type === "data" ? { size, open: () => streamFrom(bytes) } : bytes);
      copied++;
    });
  }
  return copied;
}

async function* chunks(bytes: Buffer) {
  for (let offset = 0; offset < bytes.byteLength; offset += 100_000) yield bytes.subarray(offset, offset + 100_000);
}
const streamFrom = (bytes: Buffer) => Readable.from(chunks(bytes));

describe("restic 0.14 and our backends", () => {
  const local = join(dir, "restic-local");

  // One repository written by restic itself, the input of the tests below.
  beforeAll(async () => {
    await restic(local, "init");
    await restic(local, "backup", await source("local"));
  });

  it("lists a folder restic made exactly as restic and the disk do, and loads its files byte for byte", async () => {
    const backend = new LocalBackend(local);

    expect(await filesListed(backend)).toEqual(await filesOnDisk(local));
    for (const type of types) {
      if (type === "config") continue;
      const names = (await listAll(backend, type)).map((entry) => entry.name).sort();
      expect(names, type).toEqual(await resticList(local, type));
    }
    expect((await listAll(backend, "data")).length).toBeGreaterThan(0);
    expect(await backend.load(configHandle)).toEqual(await readFile(join(local, "config")));
    const [key] = await listAll(backend, "key");
    expect(await backend.load({ type: "key", name: key!.name })).toEqual(
      await readFile(join(local, "keys", key!.name)),
    );
    const [pack] = (await listAll(backend, "data")).sort(byName);
    const packPath = join(local, "data", pack!.name.slice(0, 2), pack!.name);
    expect(await backend.load({ type: "data", name: pack!.name }, { offset: pack!.size - 4, length: 4 })).toEqual(
      (await readFile(packPath)).subarray(pack!.size - 4),
    );
  });

  it("writes a folder restic checks with --read-data, backs up into and prunes (our read-only files included)", async () => {
    const copy = join(dir, "copied-local");
    const copied = await copyRepository(new LocalBackend(local), new LocalBackend(copy));
    expect(copied).toBe((await filesOnDisk(local)).size);
    expect(await filesOnDisk(copy)).toEqual(await filesOnDisk(local));
    expect(await restic(copy, "check", "--read-data")).toContain("no errors were found");

    // The first snapshot's unique file lives only in packs we wrote; forgetting it makes prune delete them.
    const ourPacks = (await listAll(new LocalBackend(copy), "data")).map((entry) => entry.name);
    await restic(copy, "backup", await source("second"));
    await restic(copy, "forget", "--group-by", "host", "--keep-last", "1", "--prune");
    const remaining = new Set((await listAll(new LocalBackend(copy), "data")).map((entry) => entry.name));
    expect(ourPacks.some((name) => !remaining.has(name))).toBe(true);
    expect(await restic(copy, "check")).toContain("no errors were found");
  });

  it("lists a bucket restic made (s3:http://…) exactly as restic and the bucket listing do", async () => {
    const bucket = bucketName("restic-s3");
    buckets.push(bucket);
    const backend = testBackend(env, { bucket });
    expect(await backend.createBucketIfMissing()).toBe(true);
    const repository = `s3:${env.endpoint}/${bucket}`;
    await restic(repository, "init");
    await restic(repository, "backup", await source("s3"));

    const objects = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
    const inBucket = new Map((objects.Contents ?? []).map((object) => [object.Key!, object.Size!]));
    expect(await filesListed(backend)).toEqual(inBucket);
    for (const type of types) {
      if (type === "config") continue;
      const names = (await listAll(backend, type)).map((entry) => entry.name).sort();
      expect(names, type).toEqual(await resticList(repository, type));
    }
    for (const key of inBucket.keys()) handleOf(key);
    await backend.close();
  });

  it("writes a bucket (under a prefix) restic checks with --read-data and prunes", async () => {
    const bucket = bucketName("e3-to-s3");
    buckets.push(bucket);
    const backend = S3Backend.fromLocation(`s3:${env.endpoint}/${bucket}/backups/host-1`, {
      region: env.region,
      credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
      // A low threshold, so restic's packs also travel as multipart uploads here.
      multipartThreshold: 1024 * 1024,
      partSize: 5 * 1024 * 1024,
    });
    await backend.createBucketIfMissing();
    await copyRepository(new LocalBackend(local), backend);
    const repository = backend.location();
    expect(repository).toBe(`s3:${env.endpoint}/${bucket}/backups/host-1`);
    expect(await restic(repository, "check", "--read-data")).toContain("no errors were found");
    const ourPacks = (await listAll(backend, "data")).map((entry) => entry.name);
    const uploaded = await admin.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "backups/host-1/data/" }));
    expect((uploaded.Contents ?? []).some((object) => /-\d+"$/.test(object.ETag ?? ""))).toBe(true);
    await restic(repository, "backup", await source("s3-second"));
    await restic(repository, "forget", "--group-by", "host", "--keep-last", "1", "--prune");
    const remaining = new Set((await listAll(backend, "data")).map((entry) => entry.name));
    expect(ourPacks.some((name) => !remaining.has(name))).toBe(true);
    expect(await restic(repository, "check")).toContain("no errors were found");
    await backend.close();
  });
});
