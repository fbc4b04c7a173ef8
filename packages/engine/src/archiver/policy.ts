import type { BigIntStats, Stats } from "node:fs";
import { closeSync, lstatSync, openSync, readSync } from "node:fs";
import { posix } from "node:path";
import { EngineError } from "../errors.ts";

// What a backup policy leaves out of the walk, kept apart from the archiver's hot path: cache folders marked with a
// valid CACHEDIR.TAG (restic's --exclude-caches: the folder and its tag file stay, the rest of it does not), files
// larger than a limit (--exclude-larger-than), other file systems (--one-file-system: a mount point is kept as an
// empty folder, nothing below it is read), and whether an unreadable entry fails the backup instead of being
// reported and left out.

export type WalkPolicyOptions = {
  /** Skip the contents of folders holding a CACHEDIR.TAG with the standard signature (bford.info/cachedir). */
  excludeCaches?: boolean;
  /** Leave out files larger than this many bytes. */
  excludeLargerThan?: number;
  /** Do not cross into other file systems (device ids) below the paths backed up. */
  oneFileSystem?: boolean;
  /** An entry that cannot be read fails the backup (SOURCE_UNREADABLE) instead of being reported and left out. */
  failOnUnreadable?: boolean;
};

export const cacheTagName = "CACHEDIR.TAG";
const cacheTagSignature = Buffer.from("Signature: 8a477f597d28d172789f06886806bc55");

/** Whether the folder holds a CACHEDIR.TAG that begins with the standard signature (followed if a link, as restic). */
export function hasCacheTag(folder: Buffer | string): boolean {
  const path = Buffer.concat([Buffer.from(folder), Buffer.from(`/${cacheTagName}`)]);
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const header = Buffer.alloc(cacheTagSignature.length);
    const read = readSync(fd, header, 0, header.length, 0);
    return read === header.length && header.equals(cacheTagSignature);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** INVALID_ARGUMENT for options that make no sense; backup() calls it before it takes the lock. */
export function checkWalkPolicy(options: WalkPolicyOptions): void {
  const limit = options.excludeLargerThan;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
    throw new EngineError("INVALID_ARGUMENT", `excludeLargerThan must be a whole number of bytes, not ${limit}`);
  }
}

function deviceOf(path: string): bigint | null {
  try {
    return lstatSync(path, { bigint: true }).dev;
  } catch {
    return null;
  }
}

function isInside(path: string, root: string): boolean {
  return path === root || root === "/" || path.startsWith(`${root}/`);
}

export type EntryDecision = "keep" | "skip" | "empty-folder";

export class WalkPolicy {
  readonly #options: WalkPolicyOptions;
  /** Backed-up paths, longest first, with their device ids (for oneFileSystem). */
  readonly #roots: { path: string; device: bigint | null }[];

  readonly #readFrom: ((path: string) => string) | undefined;

  /** `readFrom`: where a path of the walk is read (BackupOptions.readFrom); the path itself when absent. */
  constructor(options: WalkPolicyOptions, paths: string[], readFrom?: (path: string) => string) {
    checkWalkPolicy(options);
    this.#options = options;
    this.#readFrom = readFrom;
    this.#roots = options.oneFileSystem
      ? paths
          .map((path) => posix.resolve(path))
          .map((path) => ({ path, device: deviceOf(readFrom ? readFrom(path) : path) }))
          .sort((a, b) => b.path.length - a.path.length)
      : [];
  }

  /** Whether anything is configured at all (the archiver skips every check otherwise). */
  get active(): boolean {
    const { excludeCaches, excludeLargerThan, oneFileSystem } = this.#options;
    return Boolean(excludeCaches || oneFileSystem || excludeLargerThan !== undefined);
  }

  /** A folder's names as the walk should see them: only the tag file of a cache folder. */
  names(folder: Buffer, names: Buffer[]): Buffer[] {
    if (!this.#options.excludeCaches) return names;
    const tag = names.find((name) => name.toString("latin1") === cacheTagName);
    if (!tag || !hasCacheTag(this.#readFrom ? this.#readFrom(folder.toString()) : folder)) return names;
    return [tag];
  }

  /** What to do with one entry, from its lstat (the walk's bigint one or the progress scan's). */
  decide(path: string, stats: BigIntStats | Stats): EntryDecision {
    const limit = this.#options.excludeLargerThan;
    if (limit !== undefined && stats.isFile() && BigInt(stats.size) > BigInt(limit)) return "skip";
    if (this.#options.oneFileSystem && stats.isDirectory()) {
      const root = this.#roots.find((candidate) => isInside(path, candidate.path));
      if (root && root.device !== null && BigInt(stats.dev) !== root.device) return "empty-folder";
    }
    return "keep";
  }

  /**
   * Called for an entry that could not be read: with failOnUnreadable the backup stops here with a clear error;
   * otherwise the archiver reports it and goes on.
   */
  unreadable(path: string, message: string): void {
    if (!this.#options.failOnUnreadable) return;
    throw new EngineError(
      "SOURCE_UNREADABLE",
      `${path}: ${message}; the backup stops because the policy fails on unreadable files (exclude the path, fix its permissions, or let the policy skip unreadable files)`,
    );
  }
}
