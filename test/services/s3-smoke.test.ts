import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { afterAll, describe, expect, it } from "vitest";

// Proves the S3 server that scripts/services.sh starts handles what real clients send: the AWS SDK (multipart,
// ranges, ListObjectsV2 pagination), restic (SigV4 streaming / aws-chunked uploads) and rclone (multipart with its
// metadata). Every S3 test in the repository relies on this.

const run = promisify(execFile);

function s3Env() {
  const names = ["E3_TEST_S3_ENDPOINT", "E3_TEST_S3_ACCESS_KEY", "E3_TEST_S3_SECRET_KEY", "E3_TEST_S3_REGION"] as const;
  const missing = names.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(", ")} not set: start the test services with \`bash scripts/services.sh up && eval "$(bash scripts/services.sh env)"\``,
    );
  }
  return {
    endpoint: process.env.E3_TEST_S3_ENDPOINT!,
    accessKeyId: process.env.E3_TEST_S3_ACCESS_KEY!,
    secretAccessKey: process.env.E3_TEST_S3_SECRET_KEY!,
    region: process.env.E3_TEST_S3_REGION!,
  };
}

const env = s3Env();
const client = new S3Client({
  endpoint: env.endpoint,
  region: env.region,
  forcePathStyle: true,
  credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
});
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  const results = await Promise.allSettled(cleanups.map((cleanup) => cleanup()));
  client.destroy();
  const failures = results.flatMap((result) => (result.status === "rejected" ? [String(result.reason)] : []));
  if (failures.length > 0) throw new Error(`cleanup failed: ${failures.join("; ")}`);
});

async function newBucket(label: string): Promise<string> {
  const bucket = `smoke-${label}-${randomBytes(4).toString("hex")}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  cleanups.push(() => removeBucket(bucket));
  return bucket;
}

// Empties and deletes a test bucket, so repeated runs do not fill the server's data folder.
async function removeBucket(bucket: string): Promise<void> {
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    const objects = (page.Contents ?? []).map((object) => ({ Key: object.Key! }));
    if (objects.length > 0) {
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

async function tempDir(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `e3-smoke-${label}-`));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function bodyOf(bucket: string, key: string, range?: string): Promise<Buffer> {
  const response = await client.send(
    new GetObjectCommand({ Bucket: bucket, Key: key, ...(range ? { Range: range } : {}) }),
  );
  return Buffer.from(await response.Body!.transformToByteArray());
}

function withoutCaBundle(environment: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { AWS_CA_BUNDLE: _unused, ...rest } = environment;
  return rest;
}

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

describe("S3 server with the AWS SDK", () => {
  it("stores and returns objects byte-identically, whole and by range", async () => {
    const bucket = await newBucket("sdk");
    const data = randomBytes(3 * 1024 * 1024 + 17);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: "dir/object.bin", Body: data }));
    expect(sha256(await bodyOf(bucket, "dir/object.bin"))).toBe(sha256(data));
    expect(await bodyOf(bucket, "dir/object.bin", "bytes=1000-1999")).toEqual(data.subarray(1000, 2000));
    const tail = await bodyOf(bucket, "dir/object.bin", `bytes=${data.length - 40}-`);
    expect(tail).toEqual(data.subarray(data.length - 40));
  });

  it("completes a multipart upload of three parts of 5 MiB and more", async () => {
    const bucket = await newBucket("multipart");
    const mib = 1024 * 1024;
    const parts = [randomBytes(5 * mib), randomBytes(5 * mib + 1), randomBytes(5 * mib + 3)];
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "big.bin" }));
    const etags = await Promise.all(
      parts.map(async (body, index) => {
        const part = await client.send(
          new UploadPartCommand({ Bucket: bucket, Key: "big.bin", UploadId, PartNumber: index + 1, Body: body }),
        );
        return { ETag: part.ETag!, PartNumber: index + 1 };
      }),
    );
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: "big.bin",
        UploadId,
        MultipartUpload: { Parts: etags },
      }),
    );
    expect(sha256(await bodyOf(bucket, "big.bin"))).toBe(sha256(Buffer.concat(parts)));
  });

  it("lists a prefix of more than 1000 keys across pages, each key exactly once", async () => {
    const bucket = await newBucket("list");
    const keys = Array.from({ length: 1100 }, (_, i) => `many/${String(i).padStart(5, "0")}`);
    const pending = [...keys];
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let key = pending.pop(); key !== undefined; key = pending.pop()) {
          await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
        }
      }),
    );
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: "other/x", Body: "x" }));
    const listed: string[] = [];
    let pages = 0;
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: "many/", ContinuationToken: token }),
      );
      pages += 1;
      listed.push(...(page.Contents ?? []).map((object) => object.Key!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    expect(pages).toBeGreaterThan(1);
    expect(listed.sort()).toEqual(keys.sort());
  });
});

describe("S3 server with the real restic", () => {
  it("takes a restic backup that checks with --read-data and restores byte-identically", async () => {
    const bucket = await newBucket("restic");
    const source = await tempDir("restic-src");
    const files = {
      "small.txt": Buffer.from("hello from e3\n"),
      "nested/medium.bin": randomBytes(300 * 1024),
      "nested/deeper/large.bin": randomBytes(9 * 1024 * 1024),
    };
    for (const [name, data] of Object.entries(files)) {
      await mkdir(join(source, name, ".."), { recursive: true });
      await writeFile(join(source, name), data);
    }
    const restic = (...args: string[]) =>
      run("restic", ["--no-cache", "-r", `s3:${env.endpoint}/${bucket}`, ...args], {
        env: {
          ...process.env,
          RESTIC_PASSWORD: "smoke-test-password",
          AWS_ACCESS_KEY_ID: env.accessKeyId,
          AWS_SECRET_ACCESS_KEY: env.secretAccessKey,
          AWS_DEFAULT_REGION: env.region,
        },
        maxBuffer: 16 * 1024 * 1024,
      });
    await restic("init");
    await restic("backup", "--host", "smoke", source);
    const check = await restic("check", "--read-data");
    expect(check.stdout).toContain("no errors were found");

    const target = await tempDir("restic-restore");
    await restic("restore", "latest", "--target", target);
    for (const [name, data] of Object.entries(files)) {
      expect(sha256(await readFile(join(target, source, name))), name).toBe(sha256(data));
    }
  });
});

describe("S3 server with the real rclone", () => {
  it("copies a tree including a multipart file, and rclone check finds no differences", async () => {
    const bucket = await newBucket("rclone");
    const source = await tempDir("rclone-src");
    await mkdir(join(source, "sub"), { recursive: true });
    await writeFile(join(source, "a.txt"), "alpha\n");
    await writeFile(join(source, "sub", "b.bin"), randomBytes(64 * 1024));
    await writeFile(join(source, "sub", "big.bin"), randomBytes(12 * 1024 * 1024));
    const rclone = (...args: string[]) =>
      run("rclone", ["--config", "/dev/null", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", ...args], {
        env: {
          // rclone's AWS SDK refuses a custom CA bundle on its HTTP transport; loopback HTTP needs none.
          ...withoutCaBundle(process.env),
          RCLONE_CONFIG_E3_TYPE: "s3",
          RCLONE_CONFIG_E3_PROVIDER: "Other",
          RCLONE_CONFIG_E3_ENDPOINT: env.endpoint,
          RCLONE_CONFIG_E3_ACCESS_KEY_ID: env.accessKeyId,
          RCLONE_CONFIG_E3_SECRET_ACCESS_KEY: env.secretAccessKey,
          RCLONE_CONFIG_E3_REGION: env.region,
        },
      });
    await rclone("copy", source, `e3:${bucket}/prefix`);
    await rclone("check", source, `e3:${bucket}/prefix`);
    const listing = await rclone("lsf", "-R", "--files-only", `e3:${bucket}/prefix`);
    expect(listing.stdout.trim().split("\n").sort()).toEqual(["a.txt", "sub/b.bin", "sub/big.bin"]);

    // rclone keeps the modification time in X-Amz-Meta-Mtime (our sync engine relies on the same), also on multipart.
    for (const key of ["prefix/a.txt", "prefix/sub/big.bin"]) {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect(Number(head.Metadata?.mtime), key).toBeGreaterThan(0);
    }

    const back = await tempDir("rclone-back");
    await rclone("copy", `e3:${bucket}/prefix`, back);
    expect(sha256(await readFile(join(back, "sub", "big.bin")))).toBe(
      sha256(await readFile(join(source, "sub", "big.bin"))),
    );
  });
});
