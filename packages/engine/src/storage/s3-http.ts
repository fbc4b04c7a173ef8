import type { ClientRequest, Agent as HttpAgent, IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import { classifyError, isAbortError, StorageError } from "./errors.ts";
import { s3StorageError } from "./s3-errors.ts";
import { canonicalQuery, type S3Credentials, S3Signer, uriEncode } from "./s3-sign.ts";
import { keyDecoder, xmlElements, xmlText } from "./s3-xml.ts";
import { Semaphore } from "./semaphore.ts";

// A lean S3 client for the sync engine's hot path: one signed HTTP request per call, no middleware stack. The AWS
// SDK spends about 0.7 ms of CPU on each small PUT (serializers, a dozen middlewares, endpoint rules, checksum
// plugins) and a third of a Node process's baseline memory; a sync of 20 000 small files is that cost 20 000
// times. Here a request is: SigV4 (s3-sign.ts), a pooled keep-alive socket where the server allows it, the XML
// answer read by hand (s3-xml.ts). Failures become StorageErrors with the codes of s3-errors.ts (shared with the
// SDK-based S3Backend); retries are the caller's (retry.ts). This module is the request and response and the
// single-object operations; multipart uploads are s3-multipart.ts.

export type { S3Credentials } from "./s3-sign.ts";

/** Fixed credentials, or a provider asked before each request (the SDK's default chain refreshes role keys). */
export type S3CredentialSource = S3Credentials | (() => Promise<S3Credentials>);

export type S3HttpOptions = {
  /** `http(s)://host[:port]`. */
  endpoint: string;
  bucket: string;
  region: string;
  /** `host/bucket/key` (custom endpoints) instead of `bucket.host/key` (AWS). */
  forcePathStyle: boolean;
  credentials: S3CredentialSource;
  /** Requests (and sockets) at once at most; default 32. */
  maxConnections?: number;
  /** Give up connecting after this long; default 10 s. */
  connectionTimeoutMs?: number;
  /** Fail a request whose socket is silent for this long; default 120 s. */
  socketTimeoutMs?: number;
  /** Objects per listing page (S3's maximum and default: 1000). */
  listPageSize?: number;
};

export type S3Request = {
  method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE";
  /** The object's key; absent: the bucket itself. */
  key?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** A buffer, or a stream or writer of exactly `contentLength` bytes. */
  body?: Buffer | Readable | BodyWriter;
  contentLength?: number;
  /** For messages: the object or operation. */
  what: string;
  signal?: AbortSignal | undefined;
};

/**
 * A body that writes itself: `write` resolves once the chunk has left for the socket, so the writer may fill the
 * same buffer again (a stream hands over a fresh buffer per chunk; 4 transfers of large files then leave tens of
 * MiB of dead buffers for the garbage collector). One write at a time; it rejects once the request has ended or
 * failed.
 */
export type BodyWriter = (write: (chunk: Buffer) => Promise<void>) => Promise<void>;

export type S3Response = { status: number; headers: IncomingHttpHeaders; body: string };

export type ObjectInfo = { key: string; size: number; etag: string; lastModifiedMs: number };

export type HeadResult = {
  size: number;
  etag: string;
  /** NaN when the server sent none. */
  lastModifiedMs: number;
  /** User metadata, keys lower-cased without `x-amz-meta-`. */
  metadata: Record<string, string>;
};

export type ObjectPage = { objects: ObjectInfo[]; nextToken: string | undefined };

export class S3Http {
  readonly bucket: string;
  readonly #endpoint: URL;
  readonly #secure: boolean;
  readonly #host: string;
  readonly #pathPrefix: string;
  readonly #signer: S3Signer;
  readonly #credentials: S3CredentialSource;
  readonly #slots: Semaphore;
  readonly #connectionTimeoutMs: number;
  readonly #socketTimeoutMs: number;
  readonly #maxConnections: number;
  /** Entries per listing page; undefined: the server's default. */
  readonly listPageSize: number | undefined;
  #agent: HttpAgent | undefined;
  #request: typeof import("node:http").request | undefined;

  constructor(options: S3HttpOptions) {
    this.bucket = options.bucket;
    this.#endpoint = new URL(options.endpoint);
    this.#secure = this.#endpoint.protocol === "https:";
    this.#host = options.forcePathStyle ? this.#endpoint.host : `${options.bucket}.${this.#endpoint.host}`;
    this.#pathPrefix = options.forcePathStyle ? `/${uriEncode(options.bucket)}` : "";
    this.#signer = new S3Signer(options.region);
    this.#credentials = options.credentials;
    this.#maxConnections = options.maxConnections ?? 32;
    this.#slots = new Semaphore(this.#maxConnections);
    this.#connectionTimeoutMs = options.connectionTimeoutMs ?? 10_000;
    this.#socketTimeoutMs = options.socketTimeoutMs ?? 120_000;
    this.listPageSize = options.listPageSize;
  }

  /** `s3:http://host:port/bucket` for messages. */
  get location(): string {
    return `s3:${this.#endpoint.origin}/${this.bucket}`;
  }

  /** Sends one signed request and reads the answer; an S3 error (also one inside a 200) throws a StorageError. */
  async send(request: S3Request): Promise<S3Response> {
    const release = await this.#slots.acquire(request.signal);
    try {
      const credentials = typeof this.#credentials === "function" ? await this.#credentials() : this.#credentials;
      return await this.#exchange(request, credentials);
    } catch (error) {
      throw this.#failure(error, request);
    } finally {
      release();
    }
  }

  async putObject(
    key: string,
    body: Buffer | Readable | BodyWriter,
    options: { contentLength: number; contentMd5: string; metadata?: Record<string, string>; what: string },
    signal: AbortSignal | undefined,
  ): Promise<{ etag: string }> {
    const response = await this.send({
      method: "PUT",
      key,
      body,
      contentLength: options.contentLength,
      headers: {
        "content-md5": options.contentMd5,
        "content-type": "application/octet-stream",
        ...metadataHeaders(options.metadata),
      },
      what: options.what,
      signal,
    });
    return { etag: header(response.headers, "etag") };
  }

  async headObject(key: string, what: string, signal: AbortSignal | undefined): Promise<HeadResult> {
    const { headers } = await this.send({ method: "HEAD", key, what, signal });
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (name.startsWith("x-amz-meta-") && typeof value === "string") metadata[name.slice(11)] = value;
    }
    const lastModified = header(headers, "last-modified");
    return {
      size: Number(header(headers, "content-length") || 0),
      etag: header(headers, "etag"),
      lastModifiedMs: lastModified ? Date.parse(lastModified) : Number.NaN,
      metadata,
    };
  }

  /** One page of ListObjectsV2 under `prefix` (keys URL-encoded on the wire, so any name survives XML). */
  async listObjects(
    prefix: string,
    token: string | undefined,
    what: string,
    signal: AbortSignal | undefined,
  ): Promise<ObjectPage> {
    const query: Record<string, string> = { "list-type": "2", "encoding-type": "url" };
    if (prefix) query.prefix = prefix;
    if (token) query["continuation-token"] = token;
    if (this.listPageSize) query["max-keys"] = String(this.listPageSize);
    const { body } = await this.send({ method: "GET", query, what, signal });
    const decodeKey = keyDecoder(body);
    // Copies, not slices of the page: a sync keeps keys and ETags of every object for its whole run, and a slice
    // keeps its ~400 KiB page alive with it (20 000 objects: ~8 MiB of pages for ~1.3 MiB of names).
    const objects = xmlElements(body, "Contents").map((entry) => ({
      key: ownCopy(decodeKey(xmlText(entry, "Key") ?? "")),
      size: Number(xmlText(entry, "Size") ?? 0),
      etag: ownCopy(xmlText(entry, "ETag") ?? ""),
      lastModifiedMs: Date.parse(xmlText(entry, "LastModified") ?? "") || 0,
    }));
    const truncated = xmlText(body, "IsTruncated") === "true";
    const nextToken = truncated ? xmlText(body, "NextContinuationToken") : undefined;
    if (truncated && !nextToken) {
      throw new StorageError("STORAGE_ERROR", `${this.location}: ${what}: a truncated listing came without a token`);
    }
    return { objects, nextToken };
  }

  /** A server-side copy of an object onto itself with new metadata (the bytes stay). */
  async replaceMetadata(
    key: string,
    metadata: Record<string, string>,
    what: string,
    signal: AbortSignal | undefined,
  ): Promise<{ etag: string | undefined; lastModifiedMs: number | undefined }> {
    const { body } = await this.send({
      method: "PUT",
      key,
      headers: {
        "x-amz-copy-source": `/${uriEncode(this.bucket)}/${uriEncode(key, true)}`,
        "x-amz-metadata-directive": "REPLACE",
        "content-type": "application/octet-stream",
        ...metadataHeaders(metadata),
      },
      what,
      signal,
    });
    const lastModified = xmlText(body, "LastModified");
    return {
      etag: xmlText(body, "ETag"),
      lastModifiedMs: lastModified ? Date.parse(lastModified) : undefined,
    };
  }

  async deleteObject(key: string, what: string, signal: AbortSignal | undefined): Promise<void> {
    await this.send({ method: "DELETE", key, what, signal });
  }

  async close(): Promise<void> {
    this.#agent?.destroy();
  }

  async #exchange(request: S3Request, credentials: S3Credentials): Promise<S3Response> {
    const send = this.#request ?? this.#loadTransport();
    const path = `${this.#pathPrefix}/${request.key === undefined ? "" : uriEncode(request.key, true)}`;
    const query = canonicalQuery(request.query);
    const bodyLength = request.contentLength ?? (Buffer.isBuffer(request.body) ? request.body.byteLength : 0);
    const headers: Record<string, string> = { ...request.headers, host: this.#host };
    if (request.method === "PUT" || request.method === "POST" || request.body)
      headers["content-length"] = String(bodyLength);
    this.#signer.sign(request.method, path, query, headers, credentials, request.body === undefined);
    return await new Promise<S3Response>((resolve, reject) => {
      let bodyError: unknown;
      const outgoing: ClientRequest = send(
        {
          protocol: this.#endpoint.protocol,
          hostname: this.#endpoint.hostname,
          port: this.#endpoint.port || (this.#secure ? 443 : 80),
          method: request.method,
          path: query ? `${path}?${query}` : path,
          headers,
          agent: this.#agent,
          timeout: this.#socketTimeoutMs,
          ...(request.signal ? { signal: request.signal } : {}),
        },
        (incoming: IncomingMessage) => {
          const chunks: Buffer[] = [];
          incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
          incoming.on("error", reject);
          incoming.on("end", () => {
            const status = incoming.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString("utf8");
            // CopyObject and CompleteMultipartUpload may fail after answering 200: the error is in the body.
            if (status >= 300 || (status === 200 && /^(<\?xml[^>]*>\s*)?<Error>/.test(text))) {
              reject(new S3ResponseError(status, text, incoming.headers));
            } else {
              resolve({ status, headers: incoming.headers, body: text });
            }
          });
        },
      );
      outgoing.on("error", (error) => reject(bodyError ?? error));
      outgoing.on("timeout", () => {
        outgoing.destroy(
          Object.assign(new Error(`no answer for ${this.#socketTimeoutMs / 1000} s`), { code: "ETIMEDOUT" }),
        );
      });
      outgoing.on("socket", (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(() => {
          outgoing.destroy(
            Object.assign(new Error(`could not connect within ${this.#connectionTimeoutMs / 1000} s`), {
              code: "ETIMEDOUT",
            }),
          );
        }, this.#connectionTimeoutMs);
        socket.once("connect", () => clearTimeout(timer));
        socket.once("close", () => clearTimeout(timer));
      });
      const body = request.body;
      if (body === undefined) outgoing.end();
      else if (Buffer.isBuffer(body)) outgoing.end(body);
      else if (typeof body === "function") {
        let ended = false;
        let pending: ((error: Error | null | undefined) => void) | undefined;
        outgoing.once("close", () => {
          ended = true;
          pending?.(Object.assign(new Error("the request ended before its body was sent"), { code: "ECANCELED" }));
        });
        const write = (chunk: Buffer) =>
          new Promise<void>((resolve, reject) => {
            if (ended) {
              reject(Object.assign(new Error("the request ended before its body was sent"), { code: "ECANCELED" }));
              return;
            }
            pending = (error) => {
              pending = undefined;
              if (error) reject(error);
              else resolve();
            };
            outgoing.write(chunk, (error) => pending?.(error));
          });
        body(write).then(
          () => outgoing.end(),
          (error: unknown) => {
            // A failing body (a source file that vanished) is the caller's error, reported as it is.
            if (ended) return;
            bodyError = error;
            outgoing.destroy(error as Error);
          },
        );
      } else {
        // A failing body (a source file that vanished) is the caller's error, reported as it is.
        body.once("error", (error) => {
          bodyError = error;
          outgoing.destroy(error);
        });
        // A request that fails or is aborted midway stops reading its body.
        outgoing.once("close", () => {
          if (!body.readableEnded) body.destroy();
        });
        body.pipe(outgoing);
      }
    });
  }

  #loadTransport(): typeof import("node:http").request {
    // The CommonJS module objects: an ESM import of node:http builds a facade over every export, whose lazy
    // getters load undici (its WebSocket and EventSource), ~14 MiB of memory a sync never uses. TLS only for https.
    const transport = this.#secure ? process.getBuiltinModule("node:https") : process.getBuiltinModule("node:http");
    this.#agent = new transport.Agent({ keepAlive: true, maxSockets: this.#maxConnections });
    this.#request = transport.request;
    return transport.request;
  }

  #failure(error: unknown, request: S3Request): unknown {
    if (request.signal?.aborted) return request.signal.reason;
    if (isAbortError(error) || error instanceof StorageError) return error;
    const where = `${this.location}: ${request.what}`;
    if (error instanceof S3ResponseError) {
      const failure = {
        name: error.name,
        message: error.message === error.name ? "" : error.message,
        status: error.status,
        transient: classifyError({ name: error.name, $metadata: { httpStatusCode: error.status } }) === "transient",
        cause: error,
      };
      return s3StorageError(failure, where, this.bucket);
    }
    const code = (error as { code?: unknown }).code;
    // A source file that failed while it was sent: the caller tells its own errors apart by code and path.
    if (typeof (error as { path?: unknown }).path === "string") return error;
    const name = typeof code === "string" ? code : error instanceof Error ? error.name : "Error";
    const message = error instanceof Error ? error.message : String(error);
    return s3StorageError(
      { name, message, status: undefined, transient: classifyError(error) === "transient", cause: error },
      where,
      this.bucket,
    );
  }
}

/** An S3 error answer: `name` is its `<Code>` (or the status for bodiless HEAD answers), `message` its `<Message>`. */
export class S3ResponseError extends Error {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;

  constructor(status: number, body: string, headers: IncomingHttpHeaders) {
    const code = xmlText(body, "Code") ?? statusNames[status] ?? `HTTP${status}`;
    super(xmlText(body, "Message") ?? code);
    this.name = code;
    this.status = status;
    this.headers = headers;
  }
}

const statusNames: Record<number, string> = {
  301: "PermanentRedirect",
  304: "NotModified",
  400: "BadRequest",
  403: "Forbidden",
  404: "NotFound",
  412: "PreconditionFailed",
  500: "InternalError",
  503: "ServiceUnavailable",
};

/** A string that shares no memory with the one it came from (V8 keeps substrings as views of their parent). */
function ownCopy(text: string): string {
  return Buffer.from(text, "utf8").toString("utf8");
}

export function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? (value[0] ?? "") : (value ?? "");
}

export function metadataHeaders(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata ?? {})) out[`x-amz-meta-${name.toLowerCase()}`] = value;
  return out;
}
