import { createHash } from "node:crypto";
import { createReadStream, type Dirent, lstatSync, readdirSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { Bandwidth } from "../storage/bandwidth.ts";
import type { BodyWriter } from "../storage/s3-http.ts";
import type { SourceFile } from "./plan.ts";
import type { RcloneFilter } from "./rclone-filter.ts";

// The local side of a sync: the folder walked once with the filter (folders pruned as rclone prunes them), and
// each file's bytes handed to a target through the bandwidth limit, counted for progress as they leave.

export type LocalFile = SourceFile & { absolute: string };

export type ListingProblem = { path: string; error: NodeJS.ErrnoException };

/**
 * A file the walk found. Its absolute path is built when asked (on upload, once) instead of being held beside the
 * relative one for every file of the tree: 20 000 files kept ~2 MiB of such strings alive for the whole sync.
 */
class WalkedFile implements LocalFile {
  readonly path: string;
  readonly size: number;
  readonly mtimeNs: bigint;
  readonly #root: string;

  constructor(root: string, path: string, size: number, mtimeNs: bigint) {
    this.#root = root;
    this.path = path;
    this.size = size;
    this.mtimeNs = mtimeNs;
  }

  get absolute(): string {
    return join(this.#root, this.path);
  }
}

/**
 * Every regular file under `root` the filter includes, by relative path. Symbolic links and special files are
 * left out (rclone skips links without --copy-links). Synchronous on purpose: tens of thousands of lstat calls
 * finish several times faster without a promise each, and nothing else waits on the event loop meanwhile.
 */
export function walkFolder(
  root: string,
  filter: RcloneFilter,
): { files: Map<string, LocalFile>; problems: ListingProblem[] } {
  const files = new Map<string, LocalFile>();
  const problems: ListingProblem[] = [];
  const visit = (relative: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(relative ? join(root, relative) : root, { withFileTypes: true });
    } catch (error) {
      problems.push({ path: relative, error: error as NodeJS.ErrnoException });
      return;
    }
    for (const entry of entries) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (filter.includesFolder(path)) visit(path);
        continue;
      }
      if (!entry.isFile() || !filter.includesFile(path)) continue;
      const absolute = join(root, path);
      try {
        const stats = lstatSync(absolute, { bigint: true });
        if (stats.isFile()) files.set(path, new WalkedFile(root, path, Number(stats.size), stats.mtimeNs));
      } catch (error) {
        // Vanished between readdir and lstat: it is not part of this sync.
        if ((error as NodeJS.ErrnoException).code !== "ENOENT")
          problems.push({ path, error: error as NodeJS.ErrnoException });
      }
    }
  };
  visit("");
  return { files, problems };
}

/**
 * Hex MD5 of a file, read through one reused 1 MiB buffer: a stream would allocate a new chunk per read, and a
 * gigabyte hashed so leaves a gigabyte of garbage buffers that V8 collects late (peak RSS, not CPU).
 */
export async function md5OfFile(absolute: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash("md5");
  const handle = await open(absolute, "r");
  try {
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash.digest("hex");
}

/** `length` bytes from `offset`, into the start of `into` when given (it must hold them), else a new buffer. */
export async function readRange(absolute: string, offset: number, length: number, into?: Buffer): Promise<Buffer> {
  const handle = await open(absolute, "r");
  try {
    const buffer = into ? into.subarray(0, length) : Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled !== length) throw Object.assign(new Error(`${absolute} shrank while it was read`), { code: "ECHANGED" });
    return buffer;
  } finally {
    await handle.close();
  }
}

/** Counts bytes as they are sent, and takes them back when an attempt fails and is retried. */
export type ByteCounter = (bytes: number) => void;

/**
 * A request body: the bytes of `data` (a buffer, or the file's range) paced by the bandwidth limit and counted.
 * Without a limit a buffer goes as it is (the HTTP client writes it in one go) and is counted once sent.
 */
export function paced(
  data: Buffer | { absolute: string; start: number; end: number },
  bandwidth: Bandwidth | undefined,
  count: ByteCounter,
  signal: AbortSignal | undefined,
): { body: Buffer | Readable; sent: () => number } {
  let sent = 0;
  const limited = bandwidth?.rate() !== undefined;
  if (Buffer.isBuffer(data) && !limited) return { body: data, sent: () => sent };
  // No signal inside: the HTTP client aborts the request and destroys this body itself. A body failing on its own
  // after the client let go of it would be an error event nobody listens to.
  async function* chunks(): AsyncGenerator<Buffer> {
    const source: Iterable<Buffer> | AsyncIterable<Buffer> = Buffer.isBuffer(data)
      ? [data]
      : createReadStream(data.absolute, { start: data.start, end: data.end - 1, highWaterMark: 256 * 1024 });
    for await (const chunk of source) {
      const step = bandwidth ? bandwidth.sliceSize() : chunk.byteLength;
      for (let offset = 0; offset < chunk.byteLength; offset += step) {
        signal?.throwIfAborted();
        const slice = chunk.subarray(offset, offset + step);
        if (bandwidth) await bandwidth.take(slice.byteLength);
        sent += slice.byteLength;
        count(slice.byteLength);
        yield slice;
      }
    }
  }
  const body = Readable.from(chunks(), { objectMode: false });
  body.on("error", () => {});
  return { body, sent: () => sent };
}

/** Bytes read per step of a streamed upload; the same two buffers serve the whole file. */
const streamChunk = 256 * 1024;

/**
 * The body of a file's range for the S3 client (its BodyWriter), paced and counted as `paced` does: two 256 KiB
 * buffers in turn, the next read while the last chunk is sent, each buffer refilled only after it left. A file
 * that shrinks meanwhile fails the upload (ECHANGED) instead of sending fewer bytes than announced.
 */
export function fileBody(
  range: { absolute: string; start: number; end: number },
  bandwidth: Bandwidth | undefined,
  count: ByteCounter,
  signal: AbortSignal | undefined,
): { body: BodyWriter; sent: () => number } {
  let sent = 0;
  const body: BodyWriter = async (write) => {
    const handle = await open(range.absolute, "r");
    try {
      const buffers = [Buffer.allocUnsafe(streamChunk), Buffer.allocUnsafe(streamChunk)];
      let sending: Promise<void> = Promise.resolve();
      for (let at = range.start, turn = 0; at < range.end; turn ^= 1) {
        signal?.throwIfAborted();
        const buffer = buffers[turn]!;
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.byteLength, range.end - at), at);
        if (bytesRead === 0) {
          throw Object.assign(new Error(`${range.absolute} shrank while it was sent`), {
            code: "ECHANGED",
            path: range.absolute,
          });
        }
        at += bytesRead;
        const chunk = buffer.subarray(0, bytesRead);
        // The other buffer must have left before this one is handed over (and before it is read into again).
        await sending;
        sending = send(chunk);
        // An unobserved failure here surfaces at the next await of `sending`.
        sending.catch(() => {});
      }
      await sending;
    } finally {
      await handle.close();
    }

    async function send(chunk: Buffer): Promise<void> {
      const step = bandwidth ? bandwidth.sliceSize() : chunk.byteLength;
      for (let offset = 0; offset < chunk.byteLength; offset += step) {
        signal?.throwIfAborted();
        const slice = chunk.subarray(offset, offset + step);
        if (bandwidth) await bandwidth.take(slice.byteLength);
        await write(slice);
        sent += slice.byteLength;
        count(slice.byteLength);
      }
    }
  };
  return { body, sent: () => sent };
}
