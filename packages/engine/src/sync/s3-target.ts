import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { isStorageError } from "../storage/errors.ts";
import { type RetryPolicy, retrying, type StorageOperation } from "../storage/retry.ts";
import { type S3CredentialSource, type S3Credentials, S3Http } from "../storage/s3-http.ts";
import { parseS3Location } from "../storage/s3-location.ts";
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  listMultipartUploads,
  uploadPart,
} from "../storage/s3-multipart.ts";
import type { DestinationFile } from "./plan.ts";
import { allLimited } from "./pool.ts";
import type { RcloneFilter } from "./rclone-filter.ts";
import { formatMtime, md5Base64, md5FromEtag, md5FromMetadata, md5Key, mtimeKey, parseMtime } from "./rclone-meta.ts";
import { fileBody, type LocalFile, md5OfFile, paced, readRange } from "./source.ts";
import { StateCache } from "./state-cache.ts";
import type { SyncTarget, UploadContext } from "./target.ts";

// A folder in an S3 bucket written the way rclone writes it (engine-reference §5.1): one object per file at
// `prefix/relative/path`, the mtime in `mtime` metadata, Content-MD5 on single-part uploads, `md5chksum` on
// multipart ones, no folder marker objects. Listing is one ListObjectsV2 walk (rclone's --fast-list); mtimes
// come from the state cache when it still matches the listing, from a HEAD otherwise. Requests go through the
// lean S3Http client (one signed HTTP request each, no SDK): a sync of small files is mostly per-request cost.

const MiB = 1024 * 1024;
const maxParts = 10_000;
/** Files up to this size are read into memory and sent in one go; larger ones are hashed, then streamed. */
const bufferedUpTo = MiB;
const readSyncUpTo = 256 * 1024;
/** One CopyObject can copy at most 5 GiB; a larger file's mtime is fixed by uploading it again (as rclone). */
const maxCopySize = 5 * 1024 * MiB;
/** Multipart uploads older than this under our prefix are abandoned ones, whoever started them (rclone cleanup). */
const abandonedAfterMs = 24 * 3600 * 1000;

export type S3TargetOptions = {
  /** `s3:http[s]://host[:port]/bucket[/prefix]` (restic's syntax, as the repository commands take it). */
  location: string;
  credentials?: S3CredentialSource;
  region?: string;
  /** Where the object cache and the open-uploads journal live; without it every run HEADs as rclone does. */
  stateDir?: string;
  /** Files of this size and more go up in parts (rclone --s3-upload-cutoff, default 200 MiB). */
  uploadCutoff?: number;
  /** Part size (rclone --s3-chunk-size, default 5 MiB), raised to stay within 10 000 parts. */
  chunkSize?: number;
  /** Parts of one file in flight (rclone --s3-upload-concurrency, default 4). */
  uploadConcurrency?: number;
  /** Sockets at most (default 32). */
  maxConnections?: number;
  retry?: RetryPolicy;
  /** Cache entries checked with a HEAD on every run (default 32); see #verifyCache. */
  cacheSample?: number;
};

type S3File = DestinationFile & { etag: string; lastModifiedMs: number; md5?: string | undefined; headed?: boolean };

/**
 * What this run wrote, until finish() learns its Last-Modified. `path` is the source's own string (a key sliced
 * from a listing page would keep the whole page alive in the cache); `md5` only when the ETag does not spell it.
 */
type Written = { path: string; size: number; etag: string; mtime: string; md5: string | undefined };

export class S3Target implements SyncTarget {
  readonly description: string;
  /** rclone's S3 mtimes are exact to the nanosecond. */
  readonly modifyWindowNs = 1n;
  readonly #client: S3Http;
  readonly #prefix: string;
  readonly #stateDir: string | undefined;
  readonly #uploadCutoff: number;
  readonly #chunkSize: number;
  readonly #uploadConcurrency: number;
  readonly #retry: RetryPolicy;
  readonly #cacheSample: number;
  #cache: StateCache | undefined;
  /** Objects this run wrote without learning their Last-Modified; finish() reads it from a listing. */
  readonly #written = new Map<string, Written>();
  /** Every object the listing found, filtered or not, so the cache can drop the ones gone. */
  readonly #listed = new Set<string>();

  constructor(options: S3TargetOptions) {
    const location = parseS3Location(options.location);
    const region = options.region ?? location.region ?? "us-east-1";
    this.#client = new S3Http({
      endpoint: location.endpoint,
      bucket: location.bucket,
      region,
      forcePathStyle: location.forcePathStyle,
      credentials: options.credentials ?? defaultCredentials(region),
      maxConnections: options.maxConnections ?? 32,
    });
    this.#prefix = location.prefix;
    this.description = `s3:${location.endpoint}/${location.bucket}${location.prefix ? `/${location.prefix}` : ""}`;
    this.#stateDir = options.stateDir;
    this.#uploadCutoff = options.uploadCutoff ?? 200 * MiB;
    this.#chunkSize = Math.max(5 * MiB, options.chunkSize ?? 5 * MiB);
    this.#uploadConcurrency = Math.max(1, options.uploadConcurrency ?? 4);
    this.#retry = options.retry ?? {};
    this.#cacheSample = options.cacheSample ?? 32;
  }

  #key(path: string): string {
    return this.#prefix ? `${this.#prefix}/${path}` : path;
  }

  #send<T>(operation: StorageOperation, target: string, signal: AbortSignal | undefined, task: () => Promise<T>) {
    return retrying(task, { operation, target, policy: this.#retry, signal }).catch((error: unknown) => {
      throw signal?.aborted ? signal.reason : error;
    });
  }

  get #state(): StateCache {
    if (!this.#cache) throw new Error("S3Target.prepare() must run before the target is used");
    return this.#cache;
  }

  async prepare(signal: AbortSignal | undefined, dryRun: boolean): Promise<void> {
    this.#cache = await StateCache.open(this.#stateDir, this.description);
    if (dryRun) return;
    const abandoned = new Map(this.#state.openUploads().map((upload) => [upload.uploadId, upload]));
    const prefix = this.#prefix ? `${this.#prefix}/` : "";
    let marker: { keyMarker: string; uploadIdMarker: string } | undefined;
    do {
      const page = await this.#send("list", "open multipart uploads", signal, () =>
        listMultipartUploads(this.#client, prefix, marker, "open multipart uploads", signal),
      );
      for (const upload of page.uploads) {
        // An upload without a start time is not known to be abandoned.
        if (upload.key && upload.uploadId && Date.now() - (upload.initiatedMs || Date.now()) > abandonedAfterMs)
          abandoned.set(upload.uploadId, { key: upload.key, uploadId: upload.uploadId });
      }
      marker = page.next;
    } while (marker);
    for (const upload of abandoned.values()) await this.#abortUpload(upload.key, upload.uploadId);
  }

  async list(filter: RcloneFilter, signal: AbortSignal | undefined): Promise<Map<string, DestinationFile>> {
    const files = new Map<string, DestinationFile>();
    const vouched: S3File[] = [];
    const folders = new Map<string, boolean>([["", true]]);
    // A folder is reached only through included parents, as rclone's folder-by-folder walk reaches it.
    const folderIncluded = (folder: string): boolean => {
      let known = folders.get(folder);
      if (known === undefined) {
        const slash = folder.lastIndexOf("/");
        known = folderIncluded(slash < 0 ? "" : folder.slice(0, slash)) && filter.includesFolder(folder);
        folders.set(folder, known);
      }
      return known;
    };
    const included = (path: string): boolean =>
      filter.empty || (folderIncluded(path.slice(0, Math.max(0, path.lastIndexOf("/")))) && filter.includesFile(path));
    for await (const object of this.#listAll(signal)) {
      const path = object.path;
      this.#listed.add(path);
      const cached = this.#state.lookup(path, object);
      const file: S3File = {
        ...object,
        md5: cached?.md5 ?? md5FromEtag(object.etag),
        mtimeNs: cached ? parseMtime(cached.mtime) : undefined,
      };
      if (!included(path)) continue;
      files.set(path, file);
      if (cached) vouched.push(file);
    }
    await this.#verifyCache(vouched, signal);
    return files;
  }

  /**
   * Some servers (versitygw's posix backend) keep Last-Modified and the ETag when another tool rewrites only the
   * metadata, so the listing cannot reveal that change. A random sample of the entries the cache vouched for is
   * read again each run; one disagreement and the cache is set aside for this run (every mtime read as rclone
   * reads it). A lone file retouched by another tool can still slip through until its bytes change.
   */
  async #verifyCache(vouched: S3File[], signal: AbortSignal | undefined): Promise<void> {
    const sample = vouched.length <= this.#cacheSample ? [...vouched] : [];
    while (sample.length < Math.min(this.#cacheSample, vouched.length)) {
      const pick = vouched[Math.floor(Math.random() * vouched.length)]!;
      if (!sample.includes(pick)) sample.push(pick);
    }
    let contradicted = false;
    await allLimited(
      sample,
      8,
      async (file, sampleSignal) => {
        const { mtimeNs, md5 } = file;
        await this.#head(file, sampleSignal);
        if (file.mtimeNs !== mtimeNs || (md5 !== undefined && file.md5 !== md5)) contradicted = true;
      },
      signal,
    );
    if (!contradicted) return;
    for (const file of vouched) {
      if (file.headed) continue;
      file.mtimeNs = undefined;
      file.md5 = md5FromEtag(file.etag);
    }
  }

  async *#listAll(
    signal: AbortSignal | undefined,
  ): AsyncGenerator<{ path: string; size: number; etag: string; lastModifiedMs: number }> {
    const prefix = this.#prefix ? `${this.#prefix}/` : "";
    let token: string | undefined;
    do {
      const page = await this.#send("list", "listing", signal, () =>
        this.#client.listObjects(prefix, token, "listing", signal),
      );
      for (const object of page.objects) {
        const path = object.key.slice(prefix.length);
        // Folder markers (`dir/`) are not files (rclone --s3-directory-markers writes them).
        if (!path || path.endsWith("/")) continue;
        yield { path, size: object.size, etag: object.etag, lastModifiedMs: object.lastModifiedMs };
      }
      token = page.nextToken;
    } while (token);
  }

  async loadMtime(file: DestinationFile, signal: AbortSignal | undefined): Promise<void> {
    await this.#head(file as S3File, signal);
  }

  async md5(file: DestinationFile, signal: AbortSignal | undefined): Promise<string | undefined> {
    const object = file as S3File;
    if (object.md5 === undefined && !object.headed) await this.#head(object, signal);
    return object.md5;
  }

  /** The mtime (metadata, else Last-Modified as rclone falls back) and md5chksum, remembered for next time. */
  async #head(file: S3File, signal: AbortSignal | undefined): Promise<void> {
    const response = await this.#send("stat", file.path, signal, () =>
      this.#client.headObject(this.#key(file.path), file.path, signal),
    );
    const metadata = response.metadata;
    const lastModifiedMs = Number.isNaN(response.lastModifiedMs) ? file.lastModifiedMs : response.lastModifiedMs;
    const mtimeNs = parseMtime(metadata[mtimeKey]) ?? BigInt(lastModifiedMs) * 1_000_000n;
    file.mtimeNs = mtimeNs;
    file.md5 = md5FromEtag(response.etag) ?? md5FromMetadata(metadata[md5Key]);
    file.headed = true;
    this.#state.remember(file.path, {
      size: response.size,
      etag: response.etag || file.etag,
      lastModifiedMs,
      mtime: formatMtime(mtimeNs),
      ...(file.md5 ? { md5: file.md5 } : {}),
    });
  }

  async upload(file: LocalFile, context: UploadContext): Promise<void> {
    if (file.size >= this.#uploadCutoff) await this.#uploadMultipart(file, context);
    else await this.#uploadSingle(file, context);
  }

  async #uploadSingle(file: LocalFile, context: UploadContext): Promise<void> {
    const { signal, count, bandwidth } = context;
    let buffer: Buffer | undefined;
    let md5 = context.md5;
    if (file.size <= bufferedUpTo) {
      // Small files in one blocking call: cheaper than the thread-pool round trips of open, stat, read and close.
      buffer = file.size <= readSyncUpTo ? readFileSync(file.absolute) : await readFile(file.absolute, { signal });
      // The bytes sent are the bytes hashed, whatever happened to the file since it was listed.
      md5 = createHash("md5").update(buffer).digest("hex");
    } else {
      md5 ??= await md5OfFile(file.absolute, signal);
    }
    const size = buffer?.byteLength ?? file.size;
    const mtime = formatMtime(file.mtimeNs);
    const response = await this.#send("save", file.path, signal, async () => {
      const body = buffer
        ? paced(buffer, bandwidth, count, signal)
        : fileBody({ absolute: file.absolute, start: 0, end: size }, bandwidth, count, signal);
      try {
        const sent = await this.#client.putObject(
          this.#key(file.path),
          body.body,
          { contentLength: size, contentMd5: md5Base64(md5!), metadata: { [mtimeKey]: mtime }, what: file.path },
          signal,
        );
        count(size - body.sent());
        return sent;
      } catch (error) {
        count(-body.sent());
        throw error;
      }
    });
    this.#wrote(file.path, size, response.etag, mtime, md5);
  }

  async #uploadMultipart(file: LocalFile, context: UploadContext): Promise<void> {
    const { signal, count, bandwidth } = context;
    const md5 = context.md5 ?? (await md5OfFile(file.absolute, signal));
    const partSize = Math.max(this.#chunkSize, Math.ceil(file.size / maxParts / MiB) * MiB);
    const key = this.#key(file.path);
    const mtime = formatMtime(file.mtimeNs);
    const uploadId = await this.#send("save", file.path, signal, () =>
      createMultipartUpload(this.#client, key, { [mtimeKey]: mtime, [md5Key]: md5Base64(md5) }, file.path, signal),
    );
    await this.#state.uploadStarted({ key, uploadId });
    let completed = false;
    try {
      const partCount = Math.max(1, Math.ceil(file.size / partSize));
      const etags: string[] = [];
      const numbers = Array.from({ length: partCount }, (_, index) => index + 1);
      // One buffer per part in flight, reused for the next part once its upload (retries included) settled: a
      // fresh 5 MiB buffer per part left a gigabyte file's worth of dead buffers for the collector.
      const spare: Buffer[] = [];
      await allLimited(
        numbers,
        this.#uploadConcurrency,
        async (number, partSignal) => {
          const offset = (number - 1) * partSize;
          const length = Math.min(partSize, file.size - offset);
          const buffer = spare.pop() ?? Buffer.allocUnsafe(partSize);
          try {
            const part = await readRange(file.absolute, offset, length, buffer);
            const what = `${file.path} part ${number}`;
            const contentMd5 = createHash("md5").update(part).digest("base64");
            etags[number - 1] = await this.#send("save", what, partSignal, async () => {
              const body = paced(part, bandwidth, count, partSignal);
              try {
                const etag = await uploadPart(
                  this.#client,
                  key,
                  uploadId,
                  number,
                  body.body,
                  { contentLength: length, contentMd5, what },
                  partSignal,
                );
                count(length - body.sent());
                return etag;
              } catch (error) {
                count(-body.sent());
                throw error;
              }
            });
          } finally {
            spare.push(buffer);
          }
        },
        signal,
      );
      const etag = await this.#send("save", file.path, signal, () =>
        completeMultipartUpload(this.#client, key, uploadId, etags, file.path, signal),
      );
      completed = true;
      await this.#state.uploadEnded(uploadId);
      this.#wrote(file.path, file.size, etag, mtime, md5);
    } finally {
      if (!completed) await this.#abortUpload(key, uploadId);
    }
  }

  #wrote(path: string, size: number, etag: string, mtime: string, md5: string | undefined): void {
    this.#written.set(path, { path, size, etag, mtime, md5: md5 === md5FromEtag(etag) ? undefined : md5 });
  }

  /** Abandons an upload so its parts stop costing storage; runs even after the caller aborted. */
  async #abortUpload(key: string, uploadId: string): Promise<void> {
    try {
      await retrying(
        () =>
          abortMultipartUpload(this.#client, key, uploadId, `${key} (abandoned upload)`, AbortSignal.timeout(60_000)),
        { operation: "remove", target: key, policy: { attempts: 3, baseDelayMs: 200 } },
      );
    } catch (error) {
      // Already gone (completed, aborted, expired): nothing left to clean. Otherwise the journal keeps it for next time.
      if (!isStorageError(error, "NOT_FOUND")) return;
    }
    await this.#state.uploadEnded(uploadId);
  }

  async setMtime(file: DestinationFile, source: LocalFile, signal: AbortSignal | undefined): Promise<void> {
    const object = file as S3File;
    if (object.size > maxCopySize) {
      await this.upload(source, { bandwidth: undefined, count: () => {}, signal, md5: object.md5 });
      return;
    }
    const key = this.#key(file.path);
    const mtime = formatMtime(source.mtimeNs);
    // A self-copy replacing the metadata keeps the bytes (rclone's SetModTime); md5chksum must survive it.
    const metadata: Record<string, string> = { [mtimeKey]: mtime };
    if (object.md5 && md5FromEtag(object.etag) === undefined) metadata[md5Key] = md5Base64(object.md5);
    const result = await this.#send("save", file.path, signal, () =>
      this.#client.replaceMetadata(key, metadata, file.path, signal),
    );
    if (result.etag && result.lastModifiedMs !== undefined && !Number.isNaN(result.lastModifiedMs)) {
      this.#state.remember(file.path, {
        size: object.size,
        etag: result.etag,
        lastModifiedMs: result.lastModifiedMs,
        mtime,
        ...(object.md5 ? { md5: object.md5 } : {}),
      });
    } else {
      this.#state.forget(file.path);
    }
  }

  async remove(path: string, signal: AbortSignal | undefined): Promise<void> {
    await this.#send("remove", path, signal, () => this.#client.deleteObject(this.#key(path), path, signal));
    this.#state.forget(path);
  }

  async finish(signal: AbortSignal | undefined): Promise<void> {
    if (this.#written.size === 0) {
      this.#state.retain((path) => this.#listed.has(path));
      await this.#state.save();
      return;
    }
    const present = new Set<string>();
    // One listing learns the Last-Modified of what this run wrote (a PUT does not return it), so the next run can
    // vouch for these objects without a HEAD. An object someone rewrote meanwhile has another ETag and is skipped.
    for await (const object of this.#listAll(signal)) {
      present.add(object.path);
      const written = this.#written.get(object.path);
      if (written && written.etag === object.etag && written.size === object.size) {
        this.#state.remember(written.path, {
          size: written.size,
          etag: written.etag,
          lastModifiedMs: object.lastModifiedMs,
          mtime: written.mtime,
          ...(written.md5 ? { md5: written.md5 } : {}),
        });
      }
    }
    this.#state.retain((path) => present.has(path));
    await this.#state.save();
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

/**
 * Without explicit keys: the AWS SDK's default chain (profile files, SSO, instance and container roles), loaded
 * only then and asked before each request (it caches and refreshes expiring keys itself).
 */
function defaultCredentials(region: string): () => Promise<S3Credentials> {
  let provider: Promise<() => Promise<S3Credentials>> | undefined;
  return async () => {
    provider ??= import("@aws-sdk/client-s3").then(({ S3Client }) => {
      const { credentials } = new S3Client({ region }).config;
      return credentials as () => Promise<S3Credentials>;
    });
    return (await provider)();
  };
}
