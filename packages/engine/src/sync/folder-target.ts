import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, unlink, utimes } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { DestinationFile } from "./plan.ts";
import type { RcloneFilter } from "./rclone-filter.ts";
import { type LocalFile, md5OfFile, paced, walkFolder } from "./source.ts";
import type { SyncTarget, UploadContext } from "./target.ts";

// A local folder as the destination (rclone's local backend): files copied under a temporary name beside their
// final one and renamed when complete with the source's mtime, so an interrupted sync never leaves a half file
// under a real name. Node sets times as a double of seconds, exact to a fraction of a microsecond, so mtimes
// within 1 µs count as equal here.

const temporaryName = /^\.e3-sync-[0-9a-f]{12}\.tmp$/;

export class FolderTarget implements SyncTarget {
  readonly description: string;
  readonly modifyWindowNs = 1000n;
  readonly #root: string;
  #dryRun = false;

  constructor(root: string) {
    this.#root = root;
    this.description = root;
  }

  async prepare(_signal: AbortSignal | undefined, dryRun: boolean): Promise<void> {
    this.#dryRun = dryRun;
    if (!dryRun) await mkdir(this.#root, { recursive: true });
  }

  async list(filter: RcloneFilter): Promise<Map<string, DestinationFile>> {
    const { files, problems } = walkFolder(this.#root, filter);
    const problem = problems[0];
    // A destination folder that does not exist yet is empty (a dry run does not create it).
    if (problem && !(problem.path === "" && problem.error.code === "ENOENT")) throw problem.error;
    const listed = new Map<string, DestinationFile>();
    for (const [path, file] of files) {
      // Left by an interrupted run: never a file of the source (removed, unless this is a dry run).
      if (temporaryName.test(basename(path))) {
        if (!this.#dryRun) await unlink(file.absolute).catch(() => {});
      } else listed.set(path, { path, size: file.size, mtimeNs: file.mtimeNs });
    }
    return listed;
  }

  async loadMtime(): Promise<void> {
    // The listing read it already.
  }

  md5(file: DestinationFile, signal: AbortSignal | undefined): Promise<string | undefined> {
    return md5OfFile(join(this.#root, file.path), signal);
  }

  async upload(file: LocalFile, context: UploadContext): Promise<void> {
    const final = join(this.#root, file.path);
    await mkdir(dirname(final), { recursive: true });
    const temporary = join(dirname(final), `.e3-sync-${randomBytes(6).toString("hex")}.tmp`);
    const body = paced(
      { absolute: file.absolute, start: 0, end: file.size },
      context.bandwidth,
      context.count,
      context.signal,
    );
    try {
      await pipeline(body.body, createWriteStream(temporary, { flags: "wx" }), { signal: context.signal });
      await setMtime(temporary, file.mtimeNs);
      await rename(temporary, final);
    } catch (error) {
      context.count(-body.sent());
      await rm(temporary, { force: true });
      throw error;
    }
  }

  async setMtime(file: DestinationFile, source: LocalFile): Promise<void> {
    await setMtime(join(this.#root, file.path), source.mtimeNs);
  }

  async remove(path: string): Promise<void> {
    await rm(join(this.#root, path), { force: true });
  }

  async finish(): Promise<void> {}

  async close(): Promise<void> {}
}

function setMtime(path: string, mtimeNs: bigint): Promise<void> {
  const seconds = Number(mtimeNs / 1_000_000_000n) + Number(mtimeNs % 1_000_000_000n) / 1e9;
  return utimes(path, seconds, seconds);
}
