import { createHash } from "node:crypto";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { freeNow } from "../memory.ts";
import {
  type ChunkConsumer,
  checkHandle,
  configHandle,
  type FileHandle,
  type FileInfo,
  type FileType,
  folderOf,
  isStreamSource,
  type LoadOptions,
  pathOf,
  readSaveData,
  resolveRange,
  type SaveData,
  type SaveOptions,
  type SignalOptions,
  type StorageBackend,
  sizeMismatch,
  sizeOf,
} from "./backend.ts";
import type { Bandwidth } from "./bandwidth.ts";
import { classifyError, httpStatusOf, isAbortError, isStorageError, StorageError } from "./errors.ts";
import { s3StorageError } from "./s3-errors.ts";
import { normalizePrefix, parseS3Location } from "./s3-location.ts";

export { parseS3Location, type S3Location } from "./s3-location.ts";

import { type RetryPolicy, retrying } from "./retry.ts";
import { Semaphore } from "./semaphore.ts";

// A repository in an S3 bucket, under an optional prefix, with restic's keys (engine-reference §1.1): restic reads
// and writes the same objects. Written for the S3 family, not only AWS: checksums only where a request requires
// them (Ceph, MinIO, Wasabi and versitygw reject or ignore the SDK's newer default trailers), Content-MD5 on
// buffered bodies as restic sends it, path-style addressing for custom endpoints. Every request holds one of
// `maxConnections` slots, so no number of callers opens more sockets than that. The SDK's own retries are off:
// retry.ts is the one retry layer (and reports its retries); only multipart parts are retried here, so one lost
// part does not resend a whole pack.

const MiB = 1024 * 1024;
/** S3's limits: parts of 5 MiB at least (but the last), 10 000 parts at most. */
const minPartSize = 5 * MiB;
const maxParts = 10_000;

export type S3Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

export type S3BackendOptions = {
  bucket: string;
  /** Folder inside the bucket ("" or absent: the bucket's root, as restic). */
  prefix?: string;
  /** `http(s)://host[:port]`; absent: AWS. */
  endpoint?: string;
  /** Default `us-east-1` (what MinIO, Ceph and versitygw expect unless configured otherwise). */
  region?: string;
  /** Path-style URLs (`host/bucket/key`); default true with a custom endpoint, false for AWS. */
  forcePathStyle?: boolean;
  /** Absent: the SDK's default chain (environment, profile, instance role). */
  credentials?: S3Credentials;
  /** Concurrent requests (and sockets) at most; default 8. */
  maxConnections?: number;
  /** Bodies of this size and more go up in parts; default 64 MiB. */
  multipartThreshold?: number;
  /** Part size; default 16 MiB, raised for huge bodies to stay within 10 000 parts. */
  partSize?: number;
  /** Parts of one upload in flight at most; default 4. */
  partConcurrency?: number;
  /** Retries of a single part; default 4 attempts. */
  partRetry?: RetryPolicy;
  /**
   * Refuse to overwrite with `If-None-Match: *` (AWS, MinIO, Ceph Squid+, versitygw). Servers that answer 501 are
   * detected and fall back to a HEAD before the write. Default true.
   */
  conditionalWrites?: boolean;
  /** Page size of listings (at most 1000, the S3 maximum and default). */
  listPageSize?: number;
  /** Give up connecting after this long; default 10 s. */
  connectionTimeoutMs?: number;
  /** Close a socket silent for this long; default 120 s. */
  socketTimeoutMs?: number;
  /** Where the SDK's own warnings go; default nowhere (failures reach the caller as StorageErrors anyway). */
  logger?: S3Logger;
};

export type S3Logger = {
  debug: (...content: unknown[]) => void;
  info: (...content: unknown[]) => void;
  warn: (...content: unknown[]) => void;
  error: (...content: unknown[]) => void;
};

const silent: S3Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

export class S3Backend implements StorageBackend {
  /** The SDK client, for callers that need more than the backend interface (bucket administration, tests). */
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly #endpoint: string | undefined;
  readonly #region: string;
  readonly #slots: Semaphore;
  readonly #multipartThreshold: number;
  readonly #partSize: number;
  readonly #partConcurrency: number;
  readonly #partRetry: RetryPolicy;
  readonly #listPageSize: number;
  #conditionalWrites: boolean;

  constructor(options: S3BackendOptions) {
    if (!options.bucket) throw new StorageError("INVALID_LOCATION", "an S3 backend needs a bucket name");
    this.bucket = options.bucket;
    this.prefix = normalizePrefix(options.prefix ?? "");
    this.#endpoint = options.endpoint?.replace(/\/+$/, "");
    this.#region = options.region ?? "us-east-1";
    const maxConnections = options.maxConnections ?? 8;
    this.#slots = new Semaphore(maxConnections);
    this.#multipartThreshold = options.multipartThreshold ?? 64 * MiB;
    this.#partSize = Math.max(minPartSize, options.partSize ?? 16 * MiB);
    this.#partConcurrency = Math.max(1, options.partConcurrency ?? 4);
    this.#partRetry = options.partRetry ?? { attempts: 4 };
    this.#listPageSize = Math.min(1000, Math.max(1, options.listPageSize ?? 1000));
    this.#conditionalWrites = options.conditionalWrites ?? true;
    const agentOptions = { keepAlive: true, maxSockets: maxConnections };
    this.client = new S3Client({
      region: this.#region,
      ...(this.#endpoint ? { endpoint: this.#endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? this.#endpoint !== undefined,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      maxAttempts: 1,
      // Without a logger the SDK writes some warnings straight to the console.
      logger: options.logger ?? silent,
      requestHandler: new NodeHttpHandler({
        httpAgent: new HttpAgent(agentOptions),
        httpsAgent: new HttpsAgent(agentOptions),
        connectionTimeout: options.connectionTimeoutMs ?? 10_000,
        socketTimeout: options.socketTimeoutMs ?? 120_000,
      }),
    });
  }

  /** An S3 backend for restic's `s3:…` repository syntax. */
  static fromLocation(
    location: string,
    options: Omit<S3BackendOptions, "bucket" | "prefix" | "endpoint" | "forcePathStyle"> = {},
  ): S3Backend {
    const parsed = parseS3Location(location);
    return new S3Backend({ ...options, ...parsed, region: options.region ?? parsed.region });
  }

  location(): string {
    return `s3:${this.#endpoint ?? "https://s3.amazonaws.com"}/${this.bucket}${this.prefix ? `/${this.prefix}` : ""}`;
  }

  /** Creates the bucket unless it exists; true when it was created. */
  async createBucketIfMissing(options: SignalOptions = {}): Promise<boolean> {
    const { signal } = options;
    try {
      await this.#request(`bucket ${this.bucket}`, signal, () =>
        this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal: signal }),
      );
      return false;
    } catch (error) {
      if (!isStorageError(error, "NOT_FOUND") && !isStorageError(error, "BUCKET_NOT_FOUND")) throw error;
    }
    try {
      await this.#request(`bucket ${this.bucket}`, signal, () =>
        this.client.send(
          new CreateBucketCommand({
            Bucket: this.bucket,
            // us-east-1 is the one region that must not be named.
            ...(this.#region === "us-east-1"
              ? {}
              : { CreateBucketConfiguration: { LocationConstraint: this.#region as never } }),
          }),
          { abortSignal: signal },
        ),
      );
      return true;
    } catch (error) {
      const cause = error instanceof StorageError ? error.cause : undefined;
      if (cause instanceof Error && cause.name === "BucketAlreadyOwnedByYou") return false;
      throw error;
    }
  }

  #key(handle: FileHandle): string {
    const path = pathOf(handle);
    return this.prefix ? `${this.prefix}/${path}` : path;
  }

  async save(handle: FileHandle, data: SaveData, options: SaveOptions = {}): Promise<void> {
    const { signal, bandwidth } = options;
    const key = this.#key(handle);
    signal?.throwIfAborted();
    const size = sizeOf(data);
    // Large bodies go up in parts. Below the threshold a streamed body is read whole for one PUT: that holds no
    // more than a multipart upload's parts in flight would (the defaults: 64 MiB = 4 parts of 16 MiB), and a pack
    // staged in a file (16 MiB and its header) then costs one request, not four.
    if (size >= this.#multipartThreshold) {
      // Refuse before sending gigabytes, not after (the conditional Complete still guards against a race).
      await this.#refuseExisting(handle, signal);
      await this.#saveMultipart(handle, key, data, size, signal, bandwidth);
      return;
    }
    if (!this.#conditionalWrites) await this.#refuseExisting(handle, signal);
    // Buffered, so the size is checked before the request starts and Content-MD5 can go with it: a server that
    // stores what arrived before a connection dropped (versitygw's posix backend does) then refuses the
    // incomplete body instead of keeping a truncated object.
    const body = await readSaveData(data, handle, signal);
    try {
      await this.#put(handle, key, body, signal, this.#conditionalWrites, bandwidth);
    } catch (error) {
      if (!(this.#conditionalWrites && isStorageError(error) && error.status === 501)) throw error;
      // The server does not do conditional writes: remember, and fall back to looking first.
      this.#conditionalWrites = false;
      await this.#refuseExisting(handle, signal);
      await this.#put(handle, key, body, signal, false, bandwidth);
    } finally {
      // Read from a stream, the body is ours: a pack's 16 MiB go now, not at V8's next full collection.
      if (isStreamSource(data)) freeNow(body);
    }
  }

  async #put(
    handle: FileHandle,
    key: string,
    body: Buffer,
    signal: AbortSignal | undefined,
    conditional: boolean,
    bandwidth: Bandwidth | undefined,
  ): Promise<void> {
    await this.#request(pathOf(handle), signal, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: paced(body, bandwidth),
          ContentLength: body.byteLength,
          ContentType: "application/octet-stream",
          ContentMD5: md5(body),
          ...(conditional ? { IfNoneMatch: "*" } : {}),
        }),
        { abortSignal: signal },
      ),
    );
  }

  async #refuseExisting(handle: FileHandle, signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.stat(handle, { signal });
    } catch (error) {
      if (isStorageError(error, "NOT_FOUND")) return;
      throw error;
    }
    throw new StorageError("ALREADY_EXISTS", `${pathOf(handle)} exists already`);
  }

  async #saveMultipart(
    handle: FileHandle,
    key: string,
    data: SaveData,
    size: number,
    signal: AbortSignal | undefined,
    bandwidth: Bandwidth | undefined,
  ): Promise<void> {
    const path = pathOf(handle);
    const partSize = Math.max(this.#partSize, Math.ceil(size / maxParts / MiB) * MiB);
    const created = await this.#request(path, signal, () =>
      this.client.send(
        new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: "application/octet-stream" }),
        { abortSignal: signal },
      ),
    );
    const uploadId = created.UploadId;
    if (!uploadId)
      throw new StorageError("STORAGE_ERROR", `${path}: the server started a multipart upload without an id`);
    // One failed part stops the others; the caller's abort stops them all.
    const failed = new AbortController();
    const partSignal = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal;
    let completed = false;
    try {
      const etags: string[] = [];
      const inFlight = new Set<Promise<void>>();
      let failure: unknown;
      const fail = (error: unknown) => {
        failure ??= error;
        failed.abort(error);
      };
      const uploadPart = async (number: number, part: Buffer) => {
        const response = await retrying(
          () =>
            this.#request(`${path} part ${number}`, partSignal, () =>
              this.client.send(
                new UploadPartCommand({
                  Bucket: this.bucket,
                  Key: key,
                  UploadId: uploadId,
                  PartNumber: number,
                  Body: paced(part, bandwidth),
                  ContentLength: part.byteLength,
                  // Verified by the server: a part cut short is refused, never stored.
                  ContentMD5: md5(part),
                }),
                { abortSignal: partSignal },
              ),
            ),
          { operation: "save", target: `${path} part ${number}`, policy: this.#partRetry, signal: partSignal },
        );
        if (!response.ETag)
          throw new StorageError("STORAGE_ERROR", `${path}: part ${number} came back without an ETag`);
        etags[number - 1] = response.ETag;
      };
      try {
        let partNumber = 0;
        for await (const part of partsOf(data, partSize, handle, partSignal)) {
          if (failure !== undefined) break;
          const tracked: Promise<void> = uploadPart(++partNumber, part)
            .catch(fail)
            .finally(() => inFlight.delete(tracked));
          inFlight.add(tracked);
          if (inFlight.size >= this.#partConcurrency) await Promise.race(inFlight);
        }
      } catch (error) {
        // The body failed (wrong size, read error, abort): stop the parts in flight too.
        fail(error);
      }
      // Every part settles before the upload is completed or abandoned, so none lands after an abort.
      await Promise.all(inFlight);
      signal?.throwIfAborted();
      if (failure !== undefined) throw failure;
      await this.#request(path, signal, () =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })) },
            ...(this.#conditionalWrites ? { IfNoneMatch: "*" } : {}),
          }),
          { abortSignal: signal },
        ),
      );
      completed = true;
    } finally {
      if (!completed) await this.#abortUpload(key, uploadId);
    }
  }

  /** Abandons a multipart upload so its parts stop costing storage; runs even when the caller aborted. */
  async #abortUpload(key: string, uploadId: string): Promise<void> {
    await retrying(
      () =>
        this.#request(`${key} (abandoned upload)`, undefined, () =>
          this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }), {
            abortSignal: AbortSignal.timeout(60_000),
          }),
        ),
      { operation: "remove", target: key, policy: { attempts: 3, baseDelayMs: 200 } },
    ).catch(() => {
      // The bucket's lifecycle rule for incomplete uploads is the backstop; the save's own error matters more.
    });
  }

  async load(handle: FileHandle, options: LoadOptions = {}): Promise<Buffer> {
    let body = Buffer.alloc(0);
    let filled = 0;
    await this.#get(handle, options, (length) => {
      // Filled as the chunks arrive: the body is in memory once, not as chunks and again as their concatenation.
      body = Buffer.allocUnsafe(length);
      return (chunk) => {
        body.set(chunk, filled);
        filled += chunk.byteLength;
      };
    });
    return body;
  }

  loadChunks(handle: FileHandle, consume: ChunkConsumer, options: LoadOptions = {}): Promise<void> {
    return this.#get(handle, options, () => consume);
  }

  /**
   * GETs the object or the range `options` asks for and hands its bytes to the consumer `begin` returns once the
   * response says how many there are, insisting on exactly that many.
   */
  async #get(handle: FileHandle, options: LoadOptions, begin: (length: number) => ChunkConsumer): Promise<void> {
    const { signal } = options;
    signal?.throwIfAborted();
    const offset = options.offset ?? 0;
    let wanted: { start: number; end: number } | undefined;
    if (options.length === 0 || (options.length === undefined && offset > 0)) {
      // An empty range cannot be asked for in HTTP, and `bytes=<size>-` is refused: settle these by size.
      const { size } = await this.stat(handle, { signal });
      wanted = resolveRange(size, options, handle);
      if (wanted.start === wanted.end) return;
    } else if (options.length !== undefined) {
      resolveRange(Number.MAX_SAFE_INTEGER, options, handle);
      wanted = { start: offset, end: offset + options.length };
    }
    const range = wanted && `bytes=${wanted.start}-${wanted.end - 1}`;
    const path = pathOf(handle);
    const release = await this.#slots.acquire(signal);
    try {
      const response = await this.client
        .send(new GetObjectCommand({ Bucket: this.bucket, Key: this.#key(handle), Range: range }), {
          abortSignal: signal,
        })
        .catch((error: unknown) => {
          throw this.#error(error, path, signal);
        });
      const body = response.Body;
      if (!(body instanceof Readable)) throw new StorageError("STORAGE_ERROR", `${path}: the response has no body`);
      const announced = response.ContentLength;
      // Where the wanted bytes lie in the body: a server that ignores the range sends the whole object.
      const whole = wanted !== undefined && response.ContentRange === undefined;
      let length = announced;
      if (wanted) {
        length = wanted.end - wanted.start;
        if (whole && announced !== undefined) {
          resolveRange(announced, { offset: wanted.start, length }, handle);
        } else if (!whole && announced !== undefined && announced !== length) {
          // S3 answers a range reaching past the end with what there is; that is the caller's mistake, not a cut.
          const total = /\/(\d+)$/.exec(response.ContentRange ?? "")?.[1];
          if (total !== undefined && wanted.end > Number(total))
            resolveRange(Number(total), { offset, length }, handle);
          throw new StorageError("TRUNCATED_READ", `${path}: ${announced} of ${length} bytes arrived for ${range}`);
        }
      }
      await this.#deliver(body, { skip: whole ? offset : 0, length, whole, path, signal }, begin);
    } catch (error) {
      if (isStorageError(error, "INVALID_RANGE") && error.status === 416) {
        throw new StorageError("INVALID_RANGE", `${path}: ${range} lies outside the object`, {
          cause: error,
          status: 416,
        });
      }
      throw error;
    } finally {
      release();
    }
  }

  /**
   * Hands `length` bytes of a response body (all when unknown) from `skip` on to the consumer, insisting on all of
   * them and, unless the body is the `whole` object sent instead of a range, on no more. The consumer's own errors
   * pass unchanged; the connection's become StorageErrors.
   */
  async #deliver(
    body: Readable,
    where: { skip: number; length: number | undefined; whole: boolean; path: string; signal: AbortSignal | undefined },
    begin: (length: number) => ChunkConsumer,
  ): Promise<void> {
    const { skip, length, whole, path, signal } = where;
    const onAbort = () => body.destroy(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const chunks = body[Symbol.asyncIterator]();
      const next = async (): Promise<Buffer | undefined> => {
        try {
          const { done, value } = await chunks.next();
          return done ? undefined : (value as Buffer);
        } catch (error) {
          throw this.#error(error, path, signal);
        }
      };
      if (length === undefined) {
        // No Content-Length (a chunked response): gathered, then handed on whole.
        const parts: Buffer[] = [];
        for (let part = await next(); part; part = await next()) parts.push(part);
        const whole = Buffer.concat(parts);
        await begin(whole.byteLength)(whole);
        return;
      }
      const consume = begin(length);
      const end = skip + length;
      let position = 0; // in the body
      for (let part = await next(); part; part = await next()) {
        const from = Math.max(0, skip - position);
        const to = Math.min(part.byteLength, end - position);
        if (from < to) await consume(part.subarray(from, to));
        position += part.byteLength;
        if (position > end) {
          if (whole) return; // the rest of an object sent whole is not wanted
          throw new StorageError("TRUNCATED_READ", `${path}: more bytes arrived than the ${length} announced`);
        }
      }
      if (position < end) {
        throw new StorageError(
          "TRUNCATED_READ",
          `${path}: the connection ended after ${Math.max(0, position - skip)} of ${length} bytes`,
        );
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      body.destroy();
    }
  }

  async stat(handle: FileHandle, options: SignalOptions = {}): Promise<FileInfo> {
    const { signal } = options;
    const path = pathOf(handle);
    const response = await this.#request(path, signal, () =>
      this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.#key(handle) }), { abortSignal: signal }),
    );
    return { name: handle.type === "config" ? "config" : handle.name, size: response.ContentLength ?? 0 };
  }

  async *list(type: FileType, options: SignalOptions = {}): AsyncIterable<FileInfo> {
    const { signal } = options;
    if (type === "config") {
      try {
        yield await this.stat(configHandle, options);
      } catch (error) {
        if (!isStorageError(error, "NOT_FOUND")) throw error;
      }
      return;
    }
    const folder = `${this.prefix ? `${this.prefix}/` : ""}${folderOf(type)}/`;
    let token: string | undefined;
    do {
      const page = await this.#request(`${folder} listing`, signal, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: folder,
            // Data lives one folder deeper (data/ab/<id>); the other types are flat, as restic lists them.
            Delimiter: type === "data" ? undefined : "/",
            ContinuationToken: token,
            MaxKeys: this.#listPageSize,
          }),
          { abortSignal: signal },
        ),
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key ?? "";
        const name = key.slice(key.lastIndexOf("/") + 1);
        if (!isValidName(type, name)) continue;
        yield { name, size: object.Size ?? 0 };
      }
      if (page.IsTruncated && !page.NextContinuationToken) {
        throw new StorageError(
          "STORAGE_ERROR",
          `${this.location()}: a truncated listing came without a continuation token`,
        );
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async remove(handle: FileHandle, options: SignalOptions = {}): Promise<void> {
    const { signal } = options;
    const path = pathOf(handle);
    try {
      await this.#request(path, signal, () =>
        this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#key(handle) }), {
          abortSignal: signal,
        }),
      );
    } catch (error) {
      if (!isStorageError(error, "NOT_FOUND")) throw error;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** One request holding one connection slot, its failure mapped to a StorageError. */
  async #request<T>(what: string, signal: AbortSignal | undefined, send: () => Promise<T>): Promise<T> {
    const release = await this.#slots.acquire(signal);
    try {
      return await send();
    } catch (error) {
      throw this.#error(error, what, signal);
    } finally {
      release();
    }
  }

  #error(error: unknown, what: string, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason;
    if (isAbortError(error) || error instanceof StorageError) return error;
    const name = error instanceof Error ? error.name : "";
    const message = error instanceof Error ? error.message : String(error);
    const failure = {
      name,
      message,
      status: httpStatusOf(error),
      transient: classifyError(error) === "transient",
      cause: error,
    };
    return s3StorageError(failure, `${this.location()}: ${what}`, this.bucket);
  }
}

function isValidName(type: FileType, name: string): boolean {
  try {
    checkHandle({ type, name });
    return true;
  } catch {
    return false;
  }
}

function md5(bytes: Buffer): string {
  return createHash("md5").update(bytes).digest("base64");
}

/** The body as it is, or sent in slices as the upload limit lets them go (a fresh stream per attempt). */
function paced(body: Buffer, bandwidth: Bandwidth | undefined): Buffer | Readable {
  return bandwidth?.rate() === undefined ? body : bandwidth.stream(body);
}

/** A body cut into parts of `partSize` bytes (the last one shorter), read as the uploads make room. */
async function* partsOf(
  data: SaveData,
  partSize: number,
  handle: FileHandle,
  signal: AbortSignal,
): AsyncGenerator<Buffer> {
  if (!isStreamSource(data)) {
    const whole = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    for (let offset = 0; offset < whole.byteLength; offset += partSize) {
      signal.throwIfAborted();
      yield whole.subarray(offset, offset + partSize);
    }
    return;
  }
  const stream = data.open();
  const onAbort = () => stream.destroy(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  let chunks: Buffer[] = [];
  let buffered = 0;
  let total = 0;
  try {
    for await (const chunk of stream) {
      const bytes: Buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      total += bytes.byteLength;
      if (total > data.size) throw sizeMismatch(handle, data.size, total);
      chunks.push(bytes);
      buffered += bytes.byteLength;
      while (buffered >= partSize) {
        const joined = Buffer.concat(chunks, buffered);
        yield joined.subarray(0, partSize);
        const rest = joined.subarray(partSize);
        chunks = rest.byteLength > 0 ? [rest] : [];
        buffered = rest.byteLength;
      }
    }
  } catch (error) {
    signal.throwIfAborted();
    throw error;
  } finally {
    signal.removeEventListener("abort", onAbort);
    stream.destroy();
  }
  if (total !== data.size) throw sizeMismatch(handle, data.size, total);
  if (buffered > 0) yield Buffer.concat(chunks, buffered);
}
