import { createHash } from "node:crypto";
import type { Dirent } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { posix, win32 } from "node:path";
import {
  type AgentCommand,
  type BrowseCommandPayload,
  type BrowseCommandResult,
  type BrowseEntry,
  browseCommandPayloadSchema,
  browseCommandResultSchema,
} from "@e3/api/agent-contract";
import {
  type FolderPage,
  isEngineError,
  listFolderPage,
  listSnapshots,
  pathVersions,
  RepositoryReader,
  type SnapshotEntry,
  type SnapshotWithId,
  searchSnapshots,
  TreeCache,
  type TreeSource,
} from "@e3/engine";
import { platformFor } from "../platform/index.ts";
import type { Drive } from "../platform/platform.ts";
import { type JobRepository, openJobRepository } from "./job-repository.ts";
import { jobPassword } from "./key-store.ts";

// Browse commands (the portal's source picker and restore wizard): a folder of the agent's own disks, a folder of a
// snapshot, a search across the job's snapshots, or one path's versions. Answers must be quick and fit the
// contract's 256 KiB result: listings are paged (cursor = the last name returned) and cut by size as well as by
// count. A job's repository stays open for a couple of minutes after a browse, so clicking through folders does
// not pay the key derivation and the index load each time.

/** Stay well inside the contract's 256 KiB result. */
const maxResultBytes = 200 * 1024;
/** A search or versions lookup that takes longer is cut short (the portal waits for the answer). */
const browseTimeoutMs = 60_000;
const cacheIdleMs = 120_000;
const statConcurrency = 16;

export class BrowseError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the agent's own disks

/** What listing the local disks needs from the platform, so Windows' drives are testable on Linux. */
export type LocalPlatform = {
  platform: NodeJS.Platform;
  /** The platform layer's drives (src/platform): Windows' local, removable and network drive letters. */
  listDrives: () => Promise<Drive[]>;
};

export const hostPlatform: LocalPlatform = {
  platform: process.platform,
  listDrives: () => platformFor().listDrives(),
};

/** Where browsing starts: "/" on Linux and macOS; on Windows each drive the platform lists ("C:\\" labelled "C: Windows"). */
export async function localRoots(platform: LocalPlatform): Promise<{ path: string; label: string }[]> {
  if (platform.platform !== "win32") return [{ path: "/", label: "/" }];
  return (await platform.listDrives()).map((drive) => {
    const letter = drive.path.replace(/\\+$/, "");
    return { path: drive.path, label: drive.label ? `${letter} ${drive.label}` : letter };
  });
}

function isoOrNull(time: Date | string | undefined): string | null {
  if (time === undefined) return null;
  const date = typeof time === "string" ? new Date(time) : time;
  if (Number.isNaN(date.getTime())) return null;
  const iso = date.toISOString();
  return /^\d{4}-/.test(iso) ? iso : null;
}

function direntType(dirent: Dirent): BrowseEntry["type"] {
  if (dirent.isDirectory()) return "dir";
  if (dirent.isFile()) return "file";
  if (dirent.isSymbolicLink()) return "symlink";
  return "other";
}

/** Entries after `cursor` (a name), in order; when the cursor's entry is gone, the ones sorting after it. */
function afterCursor<T>(items: T[], nameOf: (item: T) => string, cursor: string | null): T[] {
  if (cursor === null) return items;
  const index = items.findIndex((item) => nameOf(item) === cursor);
  return index >= 0 ? items.slice(index + 1) : items.filter((item) => nameOf(item) > cursor);
}

/** Takes items while both the count and the JSON size allow; `more` tells whether something was left out. */
function takeFitting<T>(items: T[], limit: number): { taken: T[]; more: boolean } {
  const taken: T[] = [];
  let bytes = 0;
  for (const item of items) {
    bytes += JSON.stringify(item).length + 1;
    if (taken.length >= limit || bytes > maxResultBytes) return { taken, more: true };
    taken.push(item);
  }
  return { taken, more: false };
}

function fsError(error: unknown, path: string): BrowseError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return new BrowseError("PATH_NOT_FOUND", `${path} does not exist on this machine`);
  if (code === "ENOTDIR") return new BrowseError("NOT_A_FOLDER", `${path} is not a folder`);
  if (code === "EACCES" || code === "EPERM") {
    return new BrowseError("ACCESS_DENIED", `the agent's account may not read ${path}; grant it read access`);
  }
  return new BrowseError("BROWSE_FAILED", `${path} cannot be listed (${code ?? (error as Error).message})`);
}

export async function browseLocal(
  payload: Extract<BrowseCommandPayload, { kind: "local" }>,
  platform: LocalPlatform = hostPlatform,
): Promise<Extract<BrowseCommandResult, { kind: "local" }>> {
  const roots = await localRoots(platform);
  const base = { kind: "local" as const, roots, platform: platform.platform, unreadable: 0 };
  if (payload.path === "") {
    const entries = roots.map((root) => ({
      name: root.label,
      path: root.path,
      type: "dir" as const,
      size: 0,
      mtime: null,
    }));
    return { ...base, path: "", parent: null, entries, nextCursor: null };
  }
  const path = platform.platform === "win32" ? win32 : posix;
  if (!path.isAbsolute(payload.path)) {
    throw new BrowseError(
      "INVALID_PATH",
      `${payload.path} is not an absolute path on this ${platform.platform} machine`,
    );
  }
  const folder = path.resolve(payload.path);
  let dirents: Dirent[];
  try {
    dirents = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    throw fsError(error, folder);
  }
  dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const page = afterCursor(dirents, (dirent) => dirent.name, payload.cursor).slice(0, payload.limit + 1);
  let unreadable = 0;
  const entries: BrowseEntry[] = new Array(page.length);
  for (let start = 0; start < page.length; start += statConcurrency) {
    await Promise.all(
      page.slice(start, start + statConcurrency).map(async (dirent, offset) => {
        const full = path.join(folder, dirent.name);
        const entry: BrowseEntry = { name: dirent.name, path: full, type: direntType(dirent), size: 0, mtime: null };
        try {
          const stats = await lstat(full);
          entry.size = stats.isFile() ? stats.size : 0;
          entry.mtime = isoOrNull(stats.mtime);
        } catch {
          unreadable += 1;
        }
        entries[start + offset] = entry;
      }),
    );
  }
  const { taken, more } = takeFitting(entries, payload.limit);
  const root = path.parse(folder).root;
  return {
    ...base,
    path: folder,
    parent: folder === root ? "" : path.dirname(folder),
    entries: taken,
    unreadable,
    nextCursor: more ? (taken.at(-1)?.name ?? null) : null,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// a job's snapshots

type OpenJob = {
  job: JobRepository;
  reader: RepositoryReader;
  /** Decoded trees, so paging through a folder or searching again costs no downloads. */
  trees: TreeCache;
  fingerprint: string;
  timer: NodeJS.Timeout | null;
};

/** Open repositories of recently browsed jobs, closed after two idle minutes. */
export class BrowseCache {
  readonly #open = new Map<string, Promise<OpenJob>>();

  async #get(command: AgentCommand, stateDir: string, signal: AbortSignal): Promise<OpenJob> {
    const job = command.job;
    if (!job) throw new BrowseError("JOB_MISSING", "the browse command carries no job; the job may have been deleted");
    const password = await jobPassword(stateDir, job);
    const fingerprint = createHash("sha256")
      .update(JSON.stringify([job.destination, password]))
      .digest("hex");
    const cached = this.#open.get(job.jobId);
    if (cached) {
      const open = await cached.catch(() => null);
      if (open && open.fingerprint === fingerprint) {
        if (open.timer) clearTimeout(open.timer);
        open.timer = null;
        return open;
      }
      await this.drop(job.jobId);
    }
    const opening = openJobRepository(job.destination, password, { create: false, signal }).then((repository) => {
      const reader = new RepositoryReader(repository.repository.key, repository.repository.storage);
      return { job: repository, reader, trees: new TreeCache(reader, { maxNodes: 100_000 }), fingerprint, timer: null };
    });
    this.#open.set(job.jobId, opening);
    opening.catch(() => this.#open.delete(job.jobId));
    return opening;
  }

  #release(jobId: string, open: OpenJob): void {
    if (open.timer) clearTimeout(open.timer);
    open.timer = setTimeout(() => void this.drop(jobId), cacheIdleMs);
    open.timer.unref();
  }

  /** Runs `work` on the job's repository; a stale index (a backup added trees since) is reloaded once. */
  async with<T>(
    command: AgentCommand,
    stateDir: string,
    signal: AbortSignal,
    work: (reader: RepositoryReader, trees: TreeSource) => Promise<T>,
  ): Promise<T> {
    const jobId = command.job?.jobId ?? "";
    for (let attempt = 0; ; attempt++) {
      const open = await this.#get(command, stateDir, signal);
      try {
        return await work(open.reader, open.trees);
      } catch (error) {
        if (attempt === 0 && isEngineError(error, "BLOB_NOT_FOUND")) {
          await this.drop(jobId);
          continue;
        }
        throw error;
      } finally {
        if (this.#open.has(jobId)) this.#release(jobId, open);
      }
    }
  }

  async drop(jobId: string): Promise<void> {
    const cached = this.#open.get(jobId);
    this.#open.delete(jobId);
    const open = await cached?.catch(() => null);
    if (open?.timer) clearTimeout(open.timer);
    await open?.job.close();
  }

  async close(): Promise<void> {
    for (const jobId of [...this.#open.keys()]) await this.drop(jobId);
  }
}

function entryOf(entry: SnapshotEntry): BrowseEntry {
  const type = entry.type === "dir" || entry.type === "file" || entry.type === "symlink" ? entry.type : "other";
  return { name: entry.name, path: entry.path, type, size: entry.size, mtime: isoOrNull(entry.mtime) };
}

function timeOf(time: string): string {
  return isoOrNull(time) ?? new Date(0).toISOString();
}

function snapshotRef(snapshot: SnapshotWithId) {
  return { snapshotId: snapshot.id, snapshotTime: timeOf(snapshot.time) };
}

function notInSnapshot(error: unknown): boolean {
  return isEngineError(error, "PATH_NOT_FOUND");
}

async function browseSnapshots(
  reader: RepositoryReader,
  trees: TreeSource,
  payload: Exclude<BrowseCommandPayload, { kind: "local" }>,
  signal: AbortSignal,
): Promise<BrowseCommandResult> {
  const snapshots = await listSnapshots(reader);
  if (payload.kind === "snapshot") {
    const snapshot = snapshots.find((candidate) => candidate.id === payload.snapshotId);
    if (!snapshot) {
      throw new BrowseError(
        "SNAPSHOT_NOT_FOUND",
        `snapshot ${payload.snapshotId.slice(0, 8)} is no longer in the repository`,
      );
    }
    let page: FolderPage;
    try {
      page = await listFolderPage(trees, snapshot, payload.path, {
        limit: payload.limit,
        ...(payload.cursor === null ? {} : { cursor: payload.cursor }),
      });
    } catch (error) {
      if (notInSnapshot(error)) throw new BrowseError("PATH_NOT_FOUND", (error as Error).message);
      throw error;
    }
    const { taken, more } = takeFitting(page.entries.map(entryOf), payload.limit);
    return {
      kind: "snapshot",
      ...snapshotRef(snapshot),
      path: page.path,
      entries: taken,
      nextCursor: more ? (taken.at(-1)?.name ?? null) : page.nextCursor,
    };
  }
  if (payload.kind === "search") {
    const wanted = new Set(payload.snapshotIds);
    const searched = wanted.size ? snapshots.filter((snapshot) => wanted.has(snapshot.id)) : snapshots;
    const page = await searchSnapshots(trees, searched, payload.pattern, {
      limit: payload.limit,
      caseInsensitive: payload.caseInsensitive,
      distinctPaths: payload.distinctPaths,
      signal,
      ...(payload.cursor === null ? {} : { cursor: payload.cursor }),
    });
    const matches = page.hits.map((hit) => ({
      ...entryOf(hit.entry),
      snapshotId: hit.snapshotId,
      snapshotTime: timeOf(hit.snapshotTime),
    }));
    const { taken, more } = takeFitting(matches, payload.limit);
    // Cut by size: the next page starts over after the last hit sent (the engine's cursor names snapshot and path).
    const cursor = more ? searchCursor(taken.at(-1)) : page.nextCursor;
    return {
      kind: "search",
      pattern: payload.pattern,
      matches: taken,
      snapshotsSearched: page.snapshotsSearched,
      nextCursor: cursor,
    };
  }
  const versions = (await pathVersions(trees, snapshots, payload.path, { signal })).reverse().map((version) => ({
    snapshotId: version.snapshotId,
    snapshotTime: timeOf(version.snapshotTime),
    status: version.status,
    changed: version.changed,
    entry: version.entry ? entryOf(version.entry) : null,
  }));
  const { taken, more } = takeFitting(versions, payload.limit);
  return {
    kind: "versions",
    path: payload.path,
    versions: taken,
    snapshotsSearched: snapshots.length,
    truncated: more,
  };
}

/** The engine's search cursor for continuing after `hit` (its documented shape: snapshot id and path). */
function searchCursor(hit: { snapshotId: string; path: string } | undefined): string | null {
  return hit ? Buffer.from(JSON.stringify({ s: hit.snapshotId, p: hit.path })).toString("base64url") : null;
}

/** Answers one browse command: the result to send with complete_command, or a BrowseError saying what is wrong. */
export async function runBrowse(
  command: AgentCommand,
  options: { stateDir: string; cache: BrowseCache; signal: AbortSignal; platform?: LocalPlatform },
): Promise<BrowseCommandResult> {
  const parsed = browseCommandPayloadSchema.safeParse(command.payload);
  if (!parsed.success) {
    throw new BrowseError(
      "INVALID_REQUEST",
      `the browse request is not one this agent understands (${parsed.error.issues[0]?.message}); update the agent`,
    );
  }
  const payload = parsed.data;
  const deadline = AbortSignal.timeout(browseTimeoutMs);
  let result: BrowseCommandResult;
  try {
    result =
      payload.kind === "local"
        ? await browseLocal(payload, options.platform)
        : await options.cache.with(command, options.stateDir, options.signal, (reader, trees) =>
            browseSnapshots(reader, trees, payload, AbortSignal.any([options.signal, deadline])),
          );
  } catch (error) {
    if (deadline.aborted && !options.signal.aborted) {
      throw new BrowseError(
        "BROWSE_TIMEOUT",
        `the ${payload.kind} took longer than ${browseTimeoutMs / 1000} s; narrow the pattern or pick fewer snapshots`,
      );
    }
    if (isEngineError(error, "INVALID_ARGUMENT")) throw new BrowseError("INVALID_REQUEST", (error as Error).message);
    throw error;
  }
  // What the portal will parse; a bug here fails the command with a clear message instead of a bad answer.
  return browseCommandResultSchema.parse(result);
}
