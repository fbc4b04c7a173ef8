import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStorageError, type StorageError } from "../src/storage/errors.ts";
import { retrying } from "../src/storage/retry.ts";
import { S3Http, type S3HttpOptions } from "../src/storage/s3-http.ts";
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  listMultipartUploads,
  uploadPart,
} from "../src/storage/s3-multipart.ts";
import { S3Target } from "../src/sync/s3-target.ts";
import { syncFolder } from "../src/sync/sync.ts";
import { bucketName, removeBucket, s3TestEnv, testBackend } from "./storage-s3-env.ts";
import { s3Proxy } from "./sync-fixtures.ts";

// The sync engine's lean S3 client against the real S3 server: what it signs the server accepts (odd keys,
// queries, metadata, multipart), what it reads matches what the AWS SDK reads, refusals arrive as StorageErrors
// with the codes the retry layer and the sync act on, and cancellation and silent servers end requests.

const env = s3TestEnv();
const bucket = bucketName("s3-http");
const admin = testBackend(env, { bucket });
const sdk: S3Client = admin.client;
const md5 = (bytes: Buffer) => createHash("md5").update(bytes).digest("base64");

function client(options: Partial<S3HttpOptions> = {}): S3Http {
  return new S3Http({
    endpoint: env.endpoint,
    bucket,
    region: env.region,
    forcePathStyle: true,
    credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
    ...options,
  });
}

const s3 = client();

beforeAll(async () => {
  await admin.createBucketIfMissing();
});

afterAll(async () => {
  await s3.close();
  await removeBucket(sdk, bucket);
  await admin.close();
});

async function failure(promise: Promise<unknown>): Promise<StorageError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isStorageError(error), `expected a StorageError, got ${String(error)}`).toBe(true);
  return error as StorageError;
}

// Names that need every rule of S3's encoding: spaces, plus, percent, unreserved and reserved marks, non-ASCII.
const oddKeys = ["plain.txt", "a b/c+d/e%41f.txt", "x/!'()*~_-.dat", "ü/日本/😀.bin", "deep/a=b&c;d/@#$.txt"];

describe("S3Http against a real server", () => {
  it("PUT, HEAD, listing, copy and DELETE round-trip odd keys and metadata as the SDK reads them", async () => {
    const written = new Map<string, Buffer>();
    for (const [index, name] of oddKeys.entries()) {
      const body = randomBytes(100 + index);
      const key = `odd/${name}`;
      const { etag } = await s3.putObject(
        key,
        body,
        { contentLength: body.byteLength, contentMd5: md5(body), metadata: { mtime: `17000000${index}.5` }, what: key },
        undefined,
      );
      expect(etag).toBe(`"${createHash("md5").update(body).digest("hex")}"`);
      written.set(key, body);
    }
    for (const [key, body] of written) {
      const head = await s3.headObject(key, key, undefined);
      const viaSdk = await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect(head).toMatchObject({ size: body.byteLength, etag: viaSdk.ETag, metadata: viaSdk.Metadata });
      expect(head.lastModifiedMs).toBe(viaSdk.LastModified?.getTime());
      const got = await sdk.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    }
    const page = await s3.listObjects("odd/", undefined, "listing", undefined);
    expect(page.objects.map((object) => object.key).sort()).toEqual([...written.keys()].sort());
    expect(page.nextToken).toBeUndefined();

    const key = `odd/${oddKeys[1]}`;
    const before = await s3.headObject(key, key, undefined);
    const copied = await s3.replaceMetadata(key, { mtime: "1.25", md5chksum: "abc" }, key, undefined);
    expect(copied.etag).toBe(before.etag);
    expect(copied.lastModifiedMs).toBeGreaterThan(0);
    expect((await s3.headObject(key, key, undefined)).metadata).toEqual({ mtime: "1.25", md5chksum: "abc" });

    await s3.deleteObject(key, key, undefined);
    expect((await failure(s3.headObject(key, key, undefined))).code).toBe("NOT_FOUND");
  });

  it("pages listings with continuation tokens", async () => {
    const paged = client({ listPageSize: 2 });
    try {
      for (let index = 0; index < 5; index++) {
        const body = Buffer.from(`page ${index}`);
        await paged.putObject(
          `paged/${index} x`,
          body,
          { contentLength: body.byteLength, contentMd5: md5(body), what: "page" },
          undefined,
        );
      }
      const keys: string[] = [];
      let pages = 0;
      let token: string | undefined;
      do {
        const page = await paged.listObjects("paged/", token, "listing", undefined);
        keys.push(...page.objects.map((object) => object.key));
        token = page.nextToken;
        pages++;
      } while (token);
      expect(pages).toBe(3);
      expect(keys).toEqual([0, 1, 2, 3, 4].map((index) => `paged/${index} x`));
    } finally {
      await paged.close();
    }
  });

  it("uploads in parts (a stream body included), lists and aborts open uploads", async () => {
    const part1 = randomBytes(5 * 1024 * 1024);
    const part2 = randomBytes(1000);
    const key = "multi/big file.bin";
    const uploadId = await createMultipartUpload(s3, key, { mtime: "42", md5chksum: "xyz" }, key, undefined);
    const etags = [
      await uploadPart(
        s3,
        key,
        uploadId,
        1,
        Readable.from([part1.subarray(0, 1000), part1.subarray(1000)]),
        { contentLength: part1.byteLength, contentMd5: md5(part1), what: "part 1" },
        undefined,
      ),
      await uploadPart(
        s3,
        key,
        uploadId,
        2,
        part2,
        { contentLength: part2.byteLength, contentMd5: md5(part2), what: "part 2" },
        undefined,
      ),
    ];
    const open = await listMultipartUploads(s3, "multi/", undefined, "uploads", undefined);
    expect(open.uploads).toEqual([{ key, uploadId, initiatedMs: expect.any(Number) }]);
    const etag = await completeMultipartUpload(s3, key, uploadId, etags, key, undefined);
    expect(etag).toMatch(/-2"$/);
    const head = await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head).toMatchObject({ ContentLength: part1.byteLength + part2.byteLength, Metadata: { mtime: "42" } });

    const abandoned = await createMultipartUpload(s3, "multi/abandoned", {}, "abandoned", undefined);
    const second = await createMultipartUpload(s3, "multi/abandoned", {}, "abandoned", undefined);
    // (Paging this listing is not tried: versitygw 1.8 refuses its own NextUploadIdMarker, the SDK's request too.)
    const listed = await listMultipartUploads(s3, "multi/", undefined, "uploads", undefined);
    expect(listed.uploads.map((upload) => upload.uploadId).sort()).toEqual([abandoned, second].sort());
    for (const id of [abandoned, second])
      await abortMultipartUpload(s3, "multi/abandoned", id, "abort", AbortSignal.timeout(10_000));
    const left = await sdk.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: "multi/" }));
    expect(left.Uploads ?? []).toEqual([]);
    const again = await failure(
      abortMultipartUpload(s3, "multi/abandoned", abandoned, "abort", AbortSignal.timeout(10_000)),
    );
    expect(again.code).toBe("NOT_FOUND");
  });

  it("maps refusals to storage error codes, permanent unless worth a retry", async () => {
    const body = Buffer.from("hello");
    const put = (target: S3Http, contentMd5 = md5(body)) =>
      target.putObject("errors/x", body, { contentLength: body.byteLength, contentMd5, what: "errors/x" }, undefined);

    const wrongSecret = client({ credentials: { accessKeyId: env.accessKeyId, secretAccessKey: "wrong" } });
    const denied = await failure(put(wrongSecret));
    expect(denied).toMatchObject({ code: "ACCESS_DENIED", status: 403, transient: false });
    expect(denied.message).toMatch(/SignatureDoesNotMatch.*check the access key/);
    await wrongSecret.close();

    const noBucket = client({ bucket: bucketName("missing") });
    expect(await failure(put(noBucket))).toMatchObject({ code: "BUCKET_NOT_FOUND", status: 404 });
    await noBucket.close();

    // The server refuses a body that does not match its Content-MD5: nothing is stored.
    const bad = await failure(put(s3, md5(Buffer.from("other"))));
    expect(bad).toMatchObject({ code: "STORAGE_ERROR", transient: false });
    expect(bad.message).toMatch(/BadDigest|InvalidDigest/);
    expect((await failure(s3.headObject("errors/x", "errors/x", undefined))).code).toBe("NOT_FOUND");

    const refused = client({ endpoint: "http://127.0.0.1:1" });
    expect(await failure(refused.headObject("x", "x", undefined))).toMatchObject({
      code: "STORAGE_UNAVAILABLE",
      transient: true,
    });
    await refused.close();
  });

  it("retries what the server calls transient, and finds a 200 answer that holds an error", async () => {
    let slowDowns = 0;
    const proxy = await s3Proxy((method, url) => {
      if (method === "PUT" && url.includes("flaky") && slowDowns < 2) {
        slowDowns++;
        return { status: 503, code: "SlowDown" };
      }
      return undefined;
    });
    const viaProxy = client({ endpoint: proxy.endpoint });
    try {
      const body = Buffer.from("flaky body");
      const retries: unknown[] = [];
      await retrying(
        () =>
          viaProxy.putObject(
            "retry/flaky",
            body,
            { contentLength: body.byteLength, contentMd5: md5(body), what: "retry/flaky" },
            undefined,
          ),
        {
          operation: "save",
          target: "retry/flaky",
          policy: { attempts: 4, baseDelayMs: 5, onRetry: (event) => retries.push(event.error) },
        },
      );
      expect(slowDowns).toBe(2);
      expect(retries).toEqual([
        expect.objectContaining({ code: "STORAGE_UNAVAILABLE", status: 503, transient: true }),
        expect.objectContaining({ code: "STORAGE_UNAVAILABLE", status: 503, transient: true }),
      ]);
      expect((await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: "retry/flaky" }))).ContentLength).toBe(
        body.byteLength,
      );
    } finally {
      await viaProxy.close();
      proxy.server.close();
    }

    // S3 may answer a copy with 200 and an error inside.
    const inBody = createServer((incoming, outgoing) => {
      incoming.resume();
      outgoing.writeHead(200, { "content-type": "application/xml" });
      outgoing.end('<?xml version="1.0"?>\n<Error><Code>InternalError</Code><Message>try later</Message></Error>');
    });
    await new Promise<void>((resolve) => inBody.listen(0, "127.0.0.1", resolve));
    const lying = client({ endpoint: `http://127.0.0.1:${(inBody.address() as AddressInfo).port}` });
    try {
      expect(await failure(lying.replaceMetadata("k", { mtime: "1" }, "k", undefined))).toMatchObject({
        code: "STORAGE_UNAVAILABLE",
        transient: true,
      });
    } finally {
      await lying.close();
      inBody.close();
    }
  });

  it("ends a request when the caller aborts or the server falls silent", async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const patient = client({ endpoint });
    const impatient = client({ endpoint, socketTimeoutMs: 300 });
    try {
      const controller = new AbortController();
      const pending = patient.headObject("k", "k", controller.signal);
      setTimeout(() => controller.abort(new Error("stopped by the caller")), 100);
      await expect(pending).rejects.toThrow("stopped by the caller");
      expect(await failure(impatient.headObject("k", "k", undefined))).toMatchObject({
        code: "STORAGE_UNAVAILABLE",
        transient: true,
      });
    } finally {
      await patient.close();
      await impatient.close();
      silent.closeAllConnections();
      silent.close();
    }
  });

  it("asks a credential provider before each request", async () => {
    let asked = 0;
    const provided = client({
      credentials: async () => {
        asked++;
        return { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey };
      },
    });
    try {
      await provided.listObjects("odd/", undefined, "listing", undefined);
      await provided.listObjects("odd/", undefined, "listing", undefined);
      expect(asked).toBe(2);
    } finally {
      await provided.close();
    }
  });
});

describe("S3Target without explicit keys", () => {
  it("signs with the AWS SDK's default chain (here a shared credentials file)", async () => {
    const folder = await mkdtemp(join(tmpdir(), "e3-s3-http-"));
    const names = ["AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
    const saved = new Map(names.map((name) => [name, process.env[name]]));
    try {
      const credentials = join(folder, "credentials");
      await writeFile(
        credentials,
        `[default]\naws_access_key_id = ${env.accessKeyId}\naws_secret_access_key = ${env.secretAccessKey}\n`,
      );
      for (const name of names) delete process.env[name];
      process.env.AWS_SHARED_CREDENTIALS_FILE = credentials;
      await writeFile(join(folder, "file.txt"), "from the default chain");
      const target = new S3Target({ location: `s3:${env.endpoint}/${bucket}/chain`, region: env.region });
      const result = await syncFolder({ source: folder, target, filter: { exclude: ["credentials"] } });
      await target.close();
      expect(result).toMatchObject({ status: "success", filesTransferred: 1 });
      const head = await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: "chain/file.txt" }));
      expect(head.ContentLength).toBe("from the default chain".length);
    } finally {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await rm(folder, { recursive: true, force: true });
    }
  });
});
