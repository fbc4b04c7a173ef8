import { randomBytes } from "node:crypto";
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, describe, expect, it } from "vitest";
import { configHandle, type FileHandle, type FileType, listAll, type StreamSource } from "../src/storage/backend.ts";
import { FaultyBackend } from "../src/storage/faulty.ts";
import { type RetryEvent, withRetry } from "../src/storage/retry.ts";
import { S3Backend } from "../src/storage/s3.ts";
import { pool, storageContract, streamOf } from "./storage-contract.ts";
import { bucketName, removeBucket, s3TestEnv, testBackend } from "./storage-s3-env.ts";

// The S3 backend against a real S3 server (versitygw from scripts/services.sh): the shared contract, then what
// only S3 has — keys under a prefix, pagination, bounded connections, multipart uploads that never stay open,
// the error mapping, and cut connections.

const env = s3TestEnv();
const admin = new S3Client({
  endpoint: env.endpoint,
  region: env.region,
  forcePathStyle: true,
  credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
});
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  const results = await Promise.allSettled(cleanups.map((cleanup) => cleanup()));
  admin.destroy();
  const failures = results.flatMap((result) => (result.status === "rejected" ? [String(result.reason)] : []));
  if (failures.length > 0) throw new Error(`cleanup failed: ${failures.join("; ")}`);
});

/** A backend on a bucket of its own, removed after the file's tests. */
async function freshBackend(label: string, options: Partial<ConstructorParameters<typeof S3Backend>[0]> = {}) {
  const bucket = bucketName(label);
  const backend = testBackend(env, { bucket, ...options });
  expect(await backend.createBucketIfMissing()).toBe(true);
  cleanups.push(async () => {
    await backend.close();
    await removeBucket(admin, bucket);
  });
  return backend;
}

storageContract("S3Backend", async () => {
  const bucket = bucketName("contract");
  const backend = testBackend(env, { bucket, prefix: "team/repo" });
  await backend.createBucketIfMissing();
  return { backend, cleanup: () => removeBucket(admin, bucket) };
});

const MiB = 1024 * 1024;
const name = (seed: number) => seed.toString(16).padStart(4, "0").repeat(16);
const openUploads = async (bucket: string) =>
  (await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];

describe("S3Backend on a real server", () => {
  it("keeps restic's keys under the prefix, as application/octet-stream", async () => {
    const backend = await freshBackend("layout", { prefix: "/team//repo/" });
    expect(backend.location()).toBe(`s3:${env.endpoint}/${backend.bucket}/team/repo`);
    const id = "ab".repeat(32);
    const types: FileType[] = ["key", "data", "index", "snapshot", "lock"];
    for (const type of types) await backend.save({ type, name: id }, Buffer.from(type));
    await backend.save(configHandle, Buffer.from("config"));
    const listed = await admin.send(new ListObjectsV2Command({ Bucket: backend.bucket }));
    expect((listed.Contents ?? []).map((object) => object.Key).sort()).toEqual(
      [
        "team/repo/config",
        `team/repo/data/ab/${id}`,
        `team/repo/index/${id}`,
        `team/repo/keys/${id}`,
        `team/repo/locks/${id}`,
        `team/repo/snapshots/${id}`,
      ].sort(),
    );
    const head = await admin.send(new HeadObjectCommand({ Bucket: backend.bucket, Key: `team/repo/data/ab/${id}` }));
    expect(head.ContentType).toBe("application/octet-stream");
    expect(head.ContentLength).toBe(4);
  });

  it("lists 1100 objects over several pages while never running more than maxConnections requests", async () => {
    const backend = await freshBackend("pagination", { maxConnections: 8 });
    let inFlight = 0;
    let peak = 0;
    let listRequests = 0;
    backend.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "ListObjectsV2Command") listRequests++;
        inFlight++;
        peak = Math.max(peak, inFlight);
        try {
          return await next(args);
        } finally {
          inFlight--;
        }
      },
      { step: "initialize", name: "countInFlight" },
    );
    const files = Array.from({ length: 1100 }, (_, index) => ({ type: "data" as const, name: name(index) }));
    // Deliberately all at once: the backend, not the caller, must keep the connections bounded.
    await Promise.all(files.map((file, index) => backend.save(file, Buffer.from(String(index)))));
    expect(peak).toBe(8);
    const listed = await listAll(backend, "data");
    expect(listed).toHaveLength(1100);
    expect(new Set(listed.map((entry) => entry.name))).toEqual(new Set(files.map((file) => file.name)));
    expect(listed.find((entry) => entry.name === name(1099))).toEqual({ name: name(1099), size: 4 });
    expect(listRequests).toBeGreaterThanOrEqual(2);

    // A small page size walks many pages and still yields every name exactly once.
    const paged = testBackend(env, { bucket: backend.bucket, listPageSize: 70 });
    const names = (await listAll(paged, "data")).map((entry) => entry.name);
    expect(names).toHaveLength(1100);
    expect(new Set(names).size).toBe(1100);
    await paged.close();
  });

  it("uploads large bodies in parts (buffer and stream) and reads ranges across part boundaries", async () => {
    const backend = await freshBackend("multipart", { multipartThreshold: 6 * MiB, partSize: 5 * MiB });
    const bytes = randomBytes(13 * MiB + 7);
    const fromBuffer: FileHandle = { type: "data", name: name(1) };
    await backend.save(fromBuffer, bytes);
    const head = await admin.send(
      new HeadObjectCommand({ Bucket: backend.bucket, Key: `data/${fromBuffer.name.slice(0, 2)}/${fromBuffer.name}` }),
    );
    expect(head.ETag).toMatch(/-3"$/);
    expect((await backend.load(fromBuffer)).equals(bytes)).toBe(true);
    for (const [offset, length] of [
      [5 * MiB - 10, 20],
      [10 * MiB - 1, 2],
      [0, 5 * MiB + 1],
      [13 * MiB, 7],
    ] as const) {
      expect((await backend.load(fromBuffer, { offset, length })).equals(bytes.subarray(offset, offset + length))).toBe(
        true,
      );
    }

    const fromStream: FileHandle = { type: "data", name: name(2) };
    await backend.save(fromStream, streamOf(bytes, bytes.byteLength, 777_777));
    expect((await backend.load(fromStream)).equals(bytes)).toBe(true);
    expect(await backend.stat(fromStream)).toEqual({ name: fromStream.name, size: bytes.byteLength });

    // Write-once is checked before any part is sent.
    let parts = 0;
    backend.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "UploadPartCommand") parts++;
        return next(args);
      },
      { step: "initialize", name: "countParts" },
    );
    await expect(backend.save(fromStream, bytes)).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
    expect(parts).toBe(0);
    expect(await openUploads(backend.bucket)).toEqual([]);
  });

  it("streams a range to loadChunks as it arrives, in pieces far smaller than the range", async () => {
    const backend = await freshBackend("chunks");
    const bytes = randomBytes(8 * MiB + 5);
    const file: FileHandle = { type: "data", name: name(3) };
    await backend.save(file, bytes);
    const pieces: number[] = [];
    let received = 0;
    await backend.loadChunks(
      file,
      (chunk) => {
        expect(Buffer.from(chunk).equals(bytes.subarray(100 + received, 100 + received + chunk.byteLength))).toBe(true);
        received += chunk.byteLength;
        pieces.push(chunk.byteLength);
      },
      { offset: 100, length: 8 * MiB - 100 },
    );
    expect(received).toBe(8 * MiB - 100);
    expect(Math.max(...pieces)).toBeLessThan(MiB);
  });

  it("abandons the multipart upload when the caller aborts, leaving no upload open and no object", async () => {
    const backend = await freshBackend("abort", { multipartThreshold: 6 * MiB, partSize: 5 * MiB });
    const controller = new AbortController();
    let partsSent = 0;
    backend.client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === "UploadPartCommand" && ++partsSent === 1) controller.abort();
        return result;
      },
      { step: "initialize", name: "abortAfterFirstPart" },
    );
    const chunk = randomBytes(MiB);
    const source: StreamSource = {
      size: 30 * MiB,
      open: () =>
        Readable.from(
          (async function* () {
            for (let i = 0; i < 30; i++) {
              await new Promise((resolve) => setTimeout(resolve, 5));
              yield chunk;
            }
          })(),
        ),
    };
    const file: FileHandle = { type: "data", name: name(3) };
    await expect(backend.save(file, source, { signal: controller.signal })).rejects.toMatchObject({
      name: "AbortError",
    });
    expect(partsSent).toBeGreaterThanOrEqual(1);
    expect(await openUploads(backend.bucket)).toEqual([]);
    await expect(backend.stat(file)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("abandons the upload when a part fails for good or the body has the wrong size; retries a flaky part", async () => {
    const backend = await freshBackend("partfail", {
      multipartThreshold: 6 * MiB,
      partSize: 5 * MiB,
      partRetry: { attempts: 3, baseDelayMs: 1 },
    });
    let failPart: { number: number; status: number; times: number } | null = null;
    let partCalls = 0;
    backend.client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { PartNumber?: number };
        if (context.commandName === "UploadPartCommand") {
          partCalls++;
          if (failPart && input.PartNumber === failPart.number && failPart.times > 0) {
            failPart.times--;
            throw Object.assign(new Error(`injected ${failPart.status}`), {
              name: failPart.status === 403 ? "AccessDenied" : "SlowDown",
              $metadata: { httpStatusCode: failPart.status },
            });
          }
        }
        return next(args);
      },
      { step: "initialize", name: "failPart" },
    );
    const bytes = randomBytes(12 * MiB);

    failPart = { number: 2, status: 403, times: 1 };
    const denied: FileHandle = { type: "data", name: name(4) };
    await expect(backend.save(denied, bytes)).rejects.toMatchObject({ code: "ACCESS_DENIED" });
    expect(await openUploads(backend.bucket)).toEqual([]);

    const wrongSize: FileHandle = { type: "data", name: name(5) };
    await expect(backend.save(wrongSize, streamOf(bytes, bytes.byteLength + 1))).rejects.toMatchObject({
      code: "SIZE_MISMATCH",
    });
    expect(await openUploads(backend.bucket)).toEqual([]);

    failPart = { number: 3, status: 503, times: 2 };
    partCalls = 0;
    const flaky: FileHandle = { type: "data", name: name(6) };
    await backend.save(flaky, bytes);
    expect(partCalls).toBe(5);
    expect((await backend.load(flaky)).equals(bytes)).toBe(true);
    expect(await listAll(backend, "data")).toEqual([{ name: flaky.name, size: bytes.byteLength }]);
  });

  it("falls back to a look before writing when the server refuses conditional writes (501)", async () => {
    const backend = await freshBackend("nocond");
    let refused = 0;
    backend.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "PutObjectCommand" && (args.input as { IfNoneMatch?: string }).IfNoneMatch) {
          refused++;
          throw Object.assign(new Error("A header you provided implies functionality that is not implemented"), {
            name: "NotImplemented",
            $metadata: { httpStatusCode: 501 },
          });
        }
        return next(args);
      },
      { step: "initialize", name: "noConditionalWrites" },
    );
    const file: FileHandle = { type: "index", name: name(7) };
    await backend.save(file, Buffer.from("first"));
    await expect(backend.save(file, Buffer.from("second"))).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
    await backend.save({ type: "index", name: name(8) }, Buffer.from("third"));
    expect(refused).toBe(1);
    expect(await backend.load(file)).toEqual(Buffer.from("first"));
  });

  it("maps a missing bucket, wrong credentials and an unreachable server, and only the last is retried", async () => {
    const file: FileHandle = { type: "snapshot", name: name(9) };
    const missing = testBackend(env, { bucket: bucketName("missing") });
    await expect(missing.save(file, Buffer.from("x"))).rejects.toMatchObject({ code: "BUCKET_NOT_FOUND" });
    await expect(missing.load(file)).rejects.toMatchObject({ code: "BUCKET_NOT_FOUND" });
    await expect(listAll(missing, "snapshot")).rejects.toMatchObject({ code: "BUCKET_NOT_FOUND" });
    await missing.close();

    const existing = await freshBackend("creds");
    const events: RetryEvent[] = [];
    const policy = { attempts: 3, baseDelayMs: 1, onRetry: (event: RetryEvent) => events.push(event) };
    const wrong = new S3Backend({
      endpoint: env.endpoint,
      region: env.region,
      bucket: existing.bucket,
      credentials: { accessKeyId: env.accessKeyId, secretAccessKey: "not-the-secret" },
    });
    const denied = await withRetry(wrong, policy)
      .save(file, Buffer.from("x"))
      .catch((error: unknown) => error);
    expect(denied).toMatchObject({ code: "ACCESS_DENIED", transient: false });
    expect(String((denied as Error).message)).not.toContain("not-the-secret");
    expect(events).toEqual([]);
    await wrong.close();

    const unreachable = new S3Backend({
      endpoint: "http://127.0.0.1:1",
      region: env.region,
      bucket: "anything",
      credentials: { accessKeyId: "a", secretAccessKey: "b" },
    });
    await expect(withRetry(unreachable, policy).stat(file)).rejects.toMatchObject({
      code: "STORAGE_UNAVAILABLE",
      transient: true,
    });
    expect(events.map((event) => event.attempt)).toEqual([1, 2]);
    await unreachable.close();
  });

  it("creates its bucket once and opens from restic's s3: syntax", async () => {
    const bucket = bucketName("location");
    const backend = S3Backend.fromLocation(`s3:${env.endpoint}/${bucket}/some/prefix`, {
      region: env.region,
      credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
    });
    cleanups.push(async () => {
      await backend.close();
      await removeBucket(admin, bucket);
    });
    expect(backend.location()).toBe(`s3:${env.endpoint}/${bucket}/some/prefix`);
    expect(await backend.createBucketIfMissing()).toBe(true);
    expect(await backend.createBucketIfMissing()).toBe(false);
    await backend.save(configHandle, Buffer.from("c"));
    const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect((listed.Contents ?? []).map((object) => object.Key)).toEqual(["some/prefix/config"]);
  });

  it("catches a download cut off midway, and the retry wrapper reads it again", async () => {
    const backend = await freshBackend("cutget");
    const bytes = randomBytes(3 * MiB);
    const file: FileHandle = { type: "data", name: name(10) };
    await backend.save(file, bytes);
    const proxy = await cuttingProxy();
    try {
      const viaProxy = testBackend({ ...env, endpoint: proxy.endpoint }, { bucket: backend.bucket });
      proxy.cuts.downloads = 2;
      const cutOnce = await viaProxy.load(file).catch((error: unknown) => error);
      expect(cutOnce).toMatchObject({ transient: true });
      expect(["TRUNCATED_READ", "STORAGE_UNAVAILABLE"]).toContain((cutOnce as { code: string }).code);

      const events: RetryEvent[] = [];
      const retried = withRetry(viaProxy, { baseDelayMs: 1, onRetry: (event) => events.push(event) });
      expect((await retried.load(file)).equals(bytes)).toBe(true);
      expect(events).toHaveLength(1);
      await viaProxy.close();
    } finally {
      await proxy.close();
    }
  });

  it("leaves no object behind when an upload is cut off midway (Content-MD5); parts are retried in place", async () => {
    const sizes = { multipartThreshold: 6 * MiB, partSize: 5 * MiB, partRetry: { attempts: 3, baseDelayMs: 1 } };
    const backend = await freshBackend("cutput", sizes);
    const proxy = await cuttingProxy();
    try {
      const viaProxy = testBackend({ ...env, endpoint: proxy.endpoint }, { bucket: backend.bucket, ...sizes });
      const single = randomBytes(2 * MiB);
      const file: FileHandle = { type: "data", name: name(12) };
      proxy.cuts.uploads = 1;
      const cut = await viaProxy.save(file, single).catch((error: unknown) => error);
      expect(cut).toMatchObject({ code: "STORAGE_UNAVAILABLE", transient: true });
      // The server saw half a body; without Content-MD5, versitygw would keep that half as the object.
      await expect(backend.stat(file)).rejects.toMatchObject({ code: "NOT_FOUND" });
      proxy.cuts.uploads = 1;
      const events: RetryEvent[] = [];
      await withRetry(viaProxy, { baseDelayMs: 1, onRetry: (event) => events.push(event) }).save(file, single);
      expect(events).toHaveLength(1);
      expect((await backend.load(file)).equals(single)).toBe(true);

      // A cut part is sent again by the upload itself; the object is whole and no upload stays open.
      const large = randomBytes(11 * MiB);
      const parted: FileHandle = { type: "data", name: name(13) };
      proxy.cuts.uploads = 2;
      await viaProxy.save(parted, large);
      expect(proxy.cuts.uploads).toBe(0);
      expect((await backend.load(parted)).equals(large)).toBe(true);
      expect(await openUploads(backend.bucket)).toEqual([]);
      await viaProxy.close();
    } finally {
      await proxy.close();
    }
  });

  it("retries a truncated ranged read injected by the faulty wrapper on top of S3", async () => {
    const backend = await freshBackend("faulty");
    const bytes = randomBytes(100_000);
    const file: FileHandle = { type: "data", name: name(11) };
    await backend.save(file, bytes);
    const faulty = new FaultyBackend(backend, { seed: 3 }).truncateNextLoads(1, { keep: 10 });
    const events: RetryEvent[] = [];
    const retried = withRetry(faulty, { baseDelayMs: 1, onRetry: (event) => events.push(event) });
    expect(await retried.load(file, { offset: 50_000, length: 40_000 })).toEqual(bytes.subarray(50_000, 90_000));
    expect(events.map((event) => (event.error as { code: string }).code)).toEqual(["TRUNCATED_READ"]);
    await pool([1, 2, 3], 2, async () => {
      expect((await retried.load(file, { offset: 1, length: 2 })).byteLength).toBe(2);
    });
  });
});

/**
 * A proxy to the test server that forwards requests unchanged (the signature covers the Host header, which stays
 * as the client sent it) but cuts the next `cuts.downloads` response bodies and `cuts.uploads` request bodies
 * after half their length, as a dropped connection would.
 */
async function cuttingProxy() {
  const cuts = { downloads: 0, uploads: 0 };
  const upstream = new URL(env.endpoint);
  const server = createServer((incoming, outgoing) => {
    const length = Number(incoming.headers["content-length"] ?? 0);
    const cutUpload = length > 0 && cuts.uploads > 0;
    if (cutUpload) cuts.uploads--;
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 500, answer.headers);
        const cutDownload = incoming.method === "GET" && cuts.downloads > 0;
        if (cutDownload) cuts.downloads--;
        const limit = Number(answer.headers["content-length"] ?? 0) / 2;
        let sent = 0;
        answer.on("data", (chunk: Buffer) => {
          if (cutDownload && sent + chunk.byteLength > limit) {
            outgoing.write(chunk.subarray(0, Math.max(0, limit - sent)));
            outgoing.socket?.destroy();
            answer.destroy();
            return;
          }
          sent += chunk.byteLength;
          outgoing.write(chunk);
        });
        answer.on("end", () => outgoing.end());
      },
    );
    forward.on("error", () => outgoing.socket?.destroy());
    let received = 0;
    incoming.on("data", (chunk: Buffer) => {
      if (cutUpload && received + chunk.byteLength > length / 2) {
        forward.write(chunk.subarray(0, Math.max(0, length / 2 - received)));
        // Give the half body time to reach the server, then drop both connections.
        setTimeout(() => {
          forward.destroy();
          incoming.socket.destroy();
        }, 50);
        incoming.pause();
        return;
      }
      received += chunk.byteLength;
      forward.write(chunk);
    });
    incoming.on("end", () => forward.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cuts,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
