import { createHash, createHmac } from "node:crypto";
import type { ClientRequest, Agent as HttpAgent, IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import { classifyError, isAbortError, StorageError } from "./errors.ts";
import { s3StorageError } from "./s3-errors.ts";
import { Semaphore } from "./semaphore.ts";

// A lean S3 client for the sync engine's hot path: one signed HTTP request per call, no middleware stack. The AWS
// SDK spends about 0.7 ms of CPU on each small PUT (serializers, a dozen middlewares, endpoint rules, checksum
// plugins) and a third of a Node process's baseline memory; a sync of 20 000 small files is that cost 20 000
// times. Here a request is: SigV4 (AWS Signature Version 4, header form, the signing key derived once a day), the
// payload unsigned as rclone sends it (`UNSIGNED-PAYLOAD`; PUTs carry Content-MD5, which the server verifies), a
// pooled keep-alive socket where the server allows it, the XML answer read by hand. Failures become StorageErrors
// with the codes of s3-errors.ts (shared with the SDK-based S3Backend); retries are the caller's (retry.ts).

export type S3Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

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
  /** A buffer, or a stream of exactly `contentLength` bytes. */
  body?: Buffer | Readable;
  contentLength?: number;
  /** For messages: the object or operation. */
  what: string;
  signal?: AbortSignal | undefined;
};

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

export type UploadPage = {
  uploads: { key: string; uploadId: string; initiatedMs: number }[];
  next: { keyMarker: string; uploadIdMarker: string } | undefined;
};

const emptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export class S3Http {
  readonly bucket: string;
  readonly #endpoint: URL;
  readonly #secure: boolean;
  readonly #host: string;
  readonly #pathPrefix: string;
  readonly #region: string;
  readonly #credentials: S3CredentialSource;
  readonly #slots: Semaphore;
  readonly #connectionTimeoutMs: number;
  readonly #socketTimeoutMs: number;
  readonly #maxConnections: number;
  readonly #listPageSize: number | undefined;
  #agent: HttpAgent | undefined;
  #request: typeof import("node:http").request | undefined;
  #signingKey: { day: string; secret: string; key: Buffer } | undefined;

  constructor(options: S3HttpOptions) {
    this.bucket = options.bucket;
    this.#endpoint = new URL(options.endpoint);
    this.#secure = this.#endpoint.protocol === "https:";
    this.#host = options.forcePathStyle ? this.#endpoint.host : `${options.bucket}.${this.#endpoint.host}`;
    this.#pathPrefix = options.forcePathStyle ? `/${uriEncode(options.bucket)}` : "";
    this.#region = options.region;
    this.#credentials = options.credentials;
    this.#maxConnections = options.maxConnections ?? 32;
    this.#slots = new Semaphore(this.#maxConnections);
    this.#connectionTimeoutMs = options.connectionTimeoutMs ?? 10_000;
    this.#socketTimeoutMs = options.socketTimeoutMs ?? 120_000;
    this.#listPageSize = options.listPageSize;
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
    body: Buffer | Readable,
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
    if (this.#listPageSize) query["max-keys"] = String(this.#listPageSize);
    const { body } = await this.send({ method: "GET", query, what, signal });
    const decodeKey = keyDecoder(body);
    const objects = xmlElements(body, "Contents").map((entry) => ({
      key: decodeKey(xmlText(entry, "Key") ?? ""),
      size: Number(xmlText(entry, "Size") ?? 0),
      etag: xmlText(entry, "ETag") ?? "",
      lastModifiedMs: Date.parse(xmlText(entry, "LastModified") ?? "") || 0,
    }));
    const truncated = xmlText(body, "IsTruncated") === "true";
    const nextToken = truncated ? xmlText(body, "NextContinuationToken") : undefined;
    if (truncated && !nextToken) {
      throw new StorageError("STORAGE_ERROR", `${this.location}: ${what}: a truncated listing came without a token`);
    }
    return { objects, nextToken };
  }

  async listMultipartUploads(
    prefix: string,
    marker: UploadPage["next"],
    what: string,
    signal: AbortSignal | undefined,
  ): Promise<UploadPage> {
    const query: Record<string, string> = { uploads: "", "encoding-type": "url" };
    if (prefix) query.prefix = prefix;
    if (this.#listPageSize) query["max-uploads"] = String(this.#listPageSize);
    if (marker) {
      query["key-marker"] = marker.keyMarker;
      query["upload-id-marker"] = marker.uploadIdMarker;
    }
    const { body } = await this.send({ method: "GET", query, what, signal });
    const decodeKey = keyDecoder(body);
    const uploads = xmlElements(body, "Upload").map((entry) => ({
      key: decodeKey(xmlText(entry, "Key") ?? ""),
      uploadId: xmlText(entry, "UploadId") ?? "",
      initiatedMs: Date.parse(xmlText(entry, "Initiated") ?? ""),
    }));
    const truncated = xmlText(body, "IsTruncated") === "true";
    const keyMarker = xmlText(body, "NextKeyMarker");
    return {
      uploads,
      next:
        truncated && keyMarker
          ? { keyMarker: decodeKey(keyMarker), uploadIdMarker: xmlText(body, "NextUploadIdMarker") ?? "" }
          : undefined,
    };
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

  async createMultipartUpload(
    key: string,
    metadata: Record<string, string>,
    what: string,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const { body } = await this.send({
      method: "POST",
      key,
      query: { uploads: "" },
      headers: { "content-type": "application/octet-stream", ...metadataHeaders(metadata) },
      what,
      signal,
    });
    const uploadId = xmlText(body, "UploadId");
    if (!uploadId) throw new StorageError("STORAGE_ERROR", `${this.location}: ${what}: the server gave no upload id`);
    return uploadId;
  }

  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Buffer | Readable,
    options: { contentLength: number; contentMd5: string; what: string },
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const response = await this.send({
      method: "PUT",
      key,
      query: { partNumber: String(partNumber), uploadId },
      body,
      contentLength: options.contentLength,
      headers: { "content-md5": options.contentMd5 },
      what: options.what,
      signal,
    });
    const etag = header(response.headers, "etag");
    if (!etag) throw new StorageError("STORAGE_ERROR", `${this.location}: ${options.what}: the part has no ETag`);
    return etag;
  }

  async completeMultipartUpload(
    key: string,
    uploadId: string,
    etags: string[],
    what: string,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const parts = etags
      .map((etag, index) => `<Part><PartNumber>${index + 1}</PartNumber><ETag>${xmlEscape(etag)}</ETag></Part>`)
      .join("");
    const document = Buffer.from(`<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`);
    const { body } = await this.send({
      method: "POST",
      key,
      query: { uploadId },
      body: document,
      contentLength: document.byteLength,
      headers: { "content-type": "application/xml" },
      what,
      signal,
    });
    return xmlText(body, "ETag") ?? "";
  }

  async abortMultipartUpload(key: string, uploadId: string, what: string, signal: AbortSignal): Promise<void> {
    await this.send({ method: "DELETE", key, query: { uploadId }, what, signal });
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
    this.#sign(request.method, path, query, headers, credentials, request.body === undefined);
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
      else {
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

  #sign(
    method: string,
    path: string,
    query: string,
    headers: Record<string, string>,
    credentials: S3Credentials,
    noBody: boolean,
  ): void {
    const now = new Date().toISOString();
    const amzDate = `${now.slice(0, 4)}${now.slice(5, 7)}${now.slice(8, 13)}${now.slice(14, 16)}${now.slice(17, 19)}Z`;
    headers["x-amz-date"] = amzDate;
    headers["x-amz-content-sha256"] = noBody ? emptySha256 : "UNSIGNED-PAYLOAD";
    if (credentials.sessionToken) headers["x-amz-security-token"] = credentials.sessionToken;
    // The day's signing key (four HMACs) is derived once a day, and again when the secret changes.
    const day = amzDate.slice(0, 8);
    let known = this.#signingKey;
    if (known?.day !== day || known.secret !== credentials.secretAccessKey) {
      known = {
        day,
        secret: credentials.secretAccessKey,
        key: signingKey(credentials.secretAccessKey, day, this.#region),
      };
      this.#signingKey = known;
    }
    headers.authorization = authorization({
      method,
      path,
      query,
      headers,
      accessKeyId: credentials.accessKeyId,
      region: this.#region,
      key: known.key,
    });
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

/** SigV4's key for one day, region and service `s3`. */
export function signingKey(secret: string, day: string, region: string): Buffer {
  let key = createHmac("sha256", `AWS4${secret}`).update(day).digest();
  for (const part of [region, "s3", "aws4_request"]) key = createHmac("sha256", key).update(part).digest();
  return key;
}

/**
 * The Authorization header of AWS Signature Version 4 for a request whose `headers` (lower-case names) hold
 * everything to sign, `x-amz-date` and `x-amz-content-sha256` included; `path` and `query` are already
 * canonical (uriEncode, canonicalQuery). Every header but Content-Length is signed.
 */
export function authorization(input: {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  accessKeyId: string;
  region: string;
  key: Buffer;
}): string {
  const { headers } = input;
  const amzDate = headers["x-amz-date"] ?? "";
  const names = Object.keys(headers)
    .filter((name) => name !== "content-length" && name !== "authorization")
    .sort();
  const canonicalHeaders = names.map((name) => `${name}:${headers[name]!.trim().replace(/\s+/g, " ")}\n`).join("");
  const signedHeaders = names.join(";");
  const canonicalRequest = [
    input.method,
    input.path,
    input.query,
    canonicalHeaders,
    signedHeaders,
    headers["x-amz-content-sha256"] ?? emptySha256,
  ].join("\n");
  const scope = `${amzDate.slice(0, 8)}/${input.region}/s3/aws4_request`;
  const digest = createHash("sha256").update(canonicalRequest).digest("hex");
  const signature = createHmac("sha256", input.key)
    .update(`AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${digest}`)
    .digest("hex");
  return `AWS4-HMAC-SHA256 Credential=${input.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
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

function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? (value[0] ?? "") : (value ?? "");
}

function metadataHeaders(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata ?? {})) out[`x-amz-meta-${name.toLowerCase()}`] = value;
  return out;
}

const plainComponent = /^[A-Za-z0-9\-_.~]*$/;
const plainPath = /^[A-Za-z0-9\-_.~/]*$/;

/** RFC 3986 percent-encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ (and `/` in paths). */
export function uriEncode(text: string, keepSlash = false): string {
  if ((keepSlash ? plainPath : plainComponent).test(text)) return text;
  const encoded = encodeURIComponent(text).replace(
    /[!'()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return keepSlash ? encoded.replace(/%2F/g, "/") : encoded;
}

export function canonicalQuery(query: Record<string, string> | undefined): string {
  if (!query) return "";
  return Object.keys(query)
    .map((name) => [uriEncode(name), uriEncode(query[name]!)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

/** The text of the first `<tag>…</tag>` in `xml`, entities decoded. */
export function xmlText(xml: string, tag: string): string | undefined {
  const open = `<${tag}>`;
  const start = xml.indexOf(open);
  if (start < 0) return xml.includes(`<${tag}/>`) ? "" : undefined;
  const end = xml.indexOf(`</${tag}>`, start + open.length);
  if (end < 0) return undefined;
  return xmlDecode(xml.slice(start + open.length, end));
}

/** The inner XML of every `<tag>…</tag>` (not nested in itself). */
export function xmlElements(xml: string, tag: string): string[] {
  const open = `<${tag}>`;
  const close = `</${tag}>`;
  const out: string[] = [];
  for (let at = xml.indexOf(open); at >= 0; at = xml.indexOf(open, at)) {
    const end = xml.indexOf(close, at + open.length);
    if (end < 0) break;
    out.push(xml.slice(at + open.length, end));
    at = end + close.length;
  }
  return out;
}

const entities: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

export function xmlDecode(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (whole, name: string) => {
    if (name[0] !== "#") return entities[name] ?? whole;
    const point = name[1] === "x" ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
    return point <= 0x10ffff ? String.fromCodePoint(point) : whole;
  });
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Keys come URL-encoded when the server honoured `encoding-type=url` (it says so); otherwise as they are. */
function keyDecoder(body: string): (key: string) => string {
  if (xmlText(body, "EncodingType") !== "url") return (key) => key;
  return (key) => decodeURIComponent(key.replace(/\+/g, "%20"));
}
