import type { BigIntStats } from "node:fs";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { lstat, type FileHandle as OpenFile, open } from "node:fs/promises";
import { hostname as osHostname, userInfo } from "node:os";
import { posix } from "node:path";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { chunkerTables } from "../chunker/polynomial.ts";
import { maxChunkSize, minChunkSize, RabinChunker } from "../chunker/rabin.ts";
import { EngineError } from "../errors.ts";
import { type ProgressCallback, ProgressMeter } from "../progress.ts";
import { BlobIdTable } from "../repository/blob-ids.ts";
import { type BlobSealer, inlineSealer, WorkerSealer } from "../repository/blob-sealer.ts";
import { withLock } from "../repository/lock.ts";
import { RepositoryReader } from "../repository/reader.ts";
import type { Repository } from "../repository/repository.ts";
import type { Snapshot, SnapshotSummary } from "../repository/snapshot.ts";
import { type Compression, RepositoryWriter } from "../repository/writer.ts";
import { Bandwidth, limitUploads, parseBandwidth } from "../storage/bandwidth.ts";
import { Semaphore } from "../storage/semaphore.ts";
import { formatGoTime, nowNanoseconds } from "../tree/go-time.ts";
import { nodeFromStats, type TreeNode } from "../tree/node.ts";
import { encodeTree } from "../tree/tree-json.ts";
import { PatternList } from "./patterns.ts";
import { checkWalkPolicy, WalkPolicy, type WalkPolicyOptions } from "./policy.ts";

// The archiver: walks the paths to back up, stores every file's chunks and every directory's tree, and writes the
// snapshot last (engine-reference §1.14). With a parent snapshot, a file whose size, mtime, ctime and inode are
// unchanged reuses the parent's blob list without being read. A file or folder that cannot be read is reported and
// left out; it never aborts the snapshot. Cancelling stops the walk and writes no snapshot, but indexes the packs
// already uploaded, so the next backup uploads none of them again.

export type BackupOptions = WalkPolicyOptions & {
  paths: string[];
  /** restic --exclude patterns (patterns.ts). */
  excludes?: string[];
  /** When given, only files matching one of these are backed up (with the folders leading to them). */
  includes?: string[];
  tags?: string[];
  hostname?: string;
  /** A snapshot id to compare against; by default the newest one with the same host and paths; null for none. */
  parent?: string | null;
  compression?: Compression;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  onError?: (error: BackupError) => void;
  /** Sealing threads; 0 seals on the calling thread. Default: one per core but one (the walk keeps one busy). */
  threads?: number;
  /**
   * Files read at once (restic's --read-concurrency; 2 by default, as restic). More only adds memory here: each large
   * file holds a 9 MiB read buffer plus the chunk waiting for a sealing slot, and a 128 MiB backup of large files
   * peaked ~50 MiB higher at 4 than at 2 for the same time.
   */
  fileConcurrency?: number;
  /** For tests: a smaller pack size. */
  packSize?: number;
  /**
   * restic's --limit-upload for every upload together, in rclone's --bwlimit syntax: KiB/s (`512`), a rate with a
   * suffix (`10M`) or a timetable (`"Mon-Fri 08:00,512 18:00,off"`, followed as the clock moves).
   */
  uploadLimit?: string;
  programVersion?: string;
  /**
   * Where the walk reads a path from. The paths backed up, the tree and the patterns are in the walk's own terms
   * (absolute, "/"-separated: on Windows restic's `/C/Users` for `C:\Users`); this maps each one to the file system,
   * e.g. into a volume shadow copy. The path itself when absent.
   */
  readFrom?: (path: string) => string;
  /** How a backed-up path is recorded in the snapshot's `paths` (restic records `C:\Users` on Windows). */
  recordPath?: (path: string) => string;
};

export type BackupError = { path: string; message: string };

export type BackupResult = {
  snapshotId: string;
  snapshot: Snapshot;
  summary: SnapshotSummary;
  /** Files and folders left out because they could not be read. */
  errors: BackupError[];
};

type Counters = Omit<
  SnapshotSummary,
  "backupStart" | "backupEnd" | "dataBlobs" | "treeBlobs" | "dataAdded" | "dataAddedPacked"
>;

const readSize = 1024 * 1024;
/**
 * Entries of one folder worked on at once. Folders nest, so the walk's width is this to the power of the depth:
 * enough to keep reads, hashing and uploads overlapped, few enough that a huge tree is not all in memory at once.
 */
const entriesAtOnce = 8;

/** `map` with at most `limit` calls of `work` pending at a time; results in input order. */
async function mapWithLimit<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

function errorMessage(error: unknown): string {
  const errno = error as NodeJS.ErrnoException;
  if (errno?.code === "EACCES" || errno?.code === "EPERM") return "permission denied";
  if (errno?.code === "ENOENT") return "vanished while being backed up";
  return error instanceof Error ? error.message : String(error);
}

function joinPath(dir: Buffer, name: Buffer): Buffer {
  return dir.length === 1 && dir[0] === 0x2f
    ? Buffer.concat([dir, name])
    : Buffer.concat([dir, Buffer.from("/"), name]);
}

function sameNumber(a: bigint | undefined, b: bigint | undefined): boolean {
  return (a ?? 0n) === (b ?? 0n);
}

/** restic's "unchanged" test: same type, size, mtime, ctime and inode as in the parent snapshot. */
function unchanged(node: TreeNode, previous: TreeNode | undefined): previous is TreeNode & { content: string[] } {
  return (
    previous !== undefined &&
    previous.type === "file" &&
    previous.content !== null &&
    sameNumber(previous.size, node.size) &&
    previous.mtime === node.mtime &&
    previous.ctime === node.ctime &&
    sameNumber(previous.inode, node.inode)
  );
}

/** Absolute, normalised, without duplicates or paths already inside another one. */
function normalisePaths(paths: string[]): string[] {
  if (paths.length === 0) throw new EngineError("INVALID_ARGUMENT", "nothing to back up: give at least one path");
  const absolute = [...new Set(paths.map((path) => posix.resolve(path)))].sort();
  return absolute.filter((path) => !absolute.some((other) => other !== path && path.startsWith(`${other}/`)));
}

class Archiver {
  readonly #reader: RepositoryReader;
  readonly #writer: RepositoryWriter;
  readonly #tables: ReturnType<typeof chunkerTables>;
  readonly #options: BackupOptions;
  readonly #excludes: PatternList;
  readonly #includes: PatternList;
  readonly #policy: WalkPolicy;
  readonly #files: Semaphore;
  readonly #progress: ProgressMeter;
  readonly errors: BackupError[] = [];
  readonly counters: Counters = {
    filesNew: 0,
    filesChanged: 0,
    filesUnmodified: 0,
    dirsNew: 0,
    dirsChanged: 0,
    dirsUnmodified: 0,
    totalFilesProcessed: 0,
    totalBytesProcessed: 0,
  };
  readonly #activeFiles = new Set<string>();
  /** Read buffers of files finished, for the next file: a fresh 9 MiB per file lingers until a garbage collection. */
  readonly #readBuffers: Buffer[] = [];

  constructor(reader: RepositoryReader, writer: RepositoryWriter, polynomial: bigint, options: BackupOptions) {
    this.#reader = reader;
    this.#writer = writer;
    this.#tables = chunkerTables(polynomial);
    this.#options = options;
    this.#excludes = new PatternList(options.excludes ?? []);
    this.#includes = new PatternList(options.includes ?? []);
    this.#policy = new WalkPolicy(options, options.paths, options.readFrom);
    this.#files = new Semaphore(options.fileConcurrency ?? 2);
    this.#progress = new ProgressMeter("backing up", options.onProgress);
  }

  /** Where the file system has `path` (BackupOptions.readFrom). */
  source(path: Buffer): Buffer | string {
    return this.#options.readFrom ? this.#options.readFrom(path.toString()) : path;
  }

  get progress(): ProgressMeter {
    return this.#progress;
  }

  #report(path: string, error: unknown): void {
    const entry = { path, message: errorMessage(error) };
    this.#policy.unreadable(path, entry.message);
    this.errors.push(entry);
    this.#progress.state.errors = this.errors.length;
    this.#options.onError?.(entry);
  }

  #throwIfAborted(): void {
    this.#options.signal?.throwIfAborted();
  }

  /** Whether the walk skips this path: excluded, or (with includes) neither included nor a folder. */
  #skips(path: string, isDir: boolean): boolean {
    if (this.#excludes.matches(path)) return true;
    return this.#includes.size > 0 && !isDir && !this.#includes.matches(path);
  }

  /** A parent snapshot's tree by name; a damaged parent only costs speed (everything below is read again). */
  async parentNodes(id: string | undefined): Promise<Map<string, TreeNode>> {
    if (!id) return new Map();
    const nodes = await this.#reader.tree(id).catch(() => []);
    return new Map(nodes.map((node) => [node.name.toString("latin1"), node]));
  }

  async saveTree(nodes: TreeNode[]): Promise<string> {
    const tree = encodeTree(nodes);
    await this.#writer.addBlob("tree", tree.bytes);
    return tree.id;
  }

  /** One of the backed-up paths (a folder, file or link), as a node of the folder above it. */
  saveTarget(path: string, previous: TreeNode | undefined): Promise<TreeNode | null> {
    const name = Buffer.from(path.slice(posix.dirname(path).length).replace(/^\//, ""));
    return this.#saveEntry(Buffer.from(path), name, previous);
  }

  /** Stores one directory's tree (recursively); returns its id, or null when includes leave it empty. */
  async saveDirectory(path: Buffer, parentTreeId: string | undefined): Promise<string | null> {
    this.#throwIfAborted();
    const display = path.toString();
    const names = this.#policy.names(path, readdirSync(this.source(path), { encoding: "buffer" }));
    names.sort(Buffer.compare);
    const previous = await this.parentNodes(parentTreeId);
    const nodes = await mapWithLimit(names, entriesAtOnce, (name) =>
      this.#saveEntry(joinPath(path, name), name, previous.get(name.toString("latin1"))),
    );
    const kept = nodes.filter((node): node is TreeNode => node !== null);
    if (this.#includes.size > 0 && kept.length === 0 && !this.#includes.matches(display)) return null;
    return this.saveTree(kept);
  }

  async #saveEntry(path: Buffer, name: Buffer, previous: TreeNode | undefined): Promise<TreeNode | null> {
    this.#throwIfAborted();
    const display = path.toString();
    let stats: BigIntStats;
    try {
      stats = lstatSync(this.source(path), { bigint: true });
    } catch (error) {
      this.#report(display, error);
      return null;
    }
    if (this.#skips(display, stats.isDirectory())) return null;
    const decision = this.#policy.active ? this.#policy.decide(display, stats) : "keep";
    if (decision === "skip") return null;
    const node = nodeFromStats(name, stats);
    if (decision === "empty-folder") {
      node.subtree = await this.saveTree([]);
      return node;
    }
    try {
      return await this.#fillNode(node, path, previous);
    } catch (error) {
      if (this.#options.signal?.aborted) throw error;
      if (error instanceof EngineError || !(error as NodeJS.ErrnoException).code) throw error;
      this.#report(display, error);
      return null;
    }
  }

  async #fillNode(node: TreeNode, path: Buffer, previous: TreeNode | undefined): Promise<TreeNode | null> {
    switch (node.type) {
      case "file":
        await this.#saveFile(node, path, previous);
        return node;
      case "dir": {
        const subtree = await this.saveDirectory(path, previous?.type === "dir" ? previous.subtree : undefined);
        if (subtree === null) return null;
        node.subtree = subtree;
        if (previous?.type !== "dir") this.counters.dirsNew++;
        else if (previous.subtree === subtree) this.counters.dirsUnmodified++;
        else this.counters.dirsChanged++;
        return node;
      }
      case "symlink":
        node.linktarget = readlinkSync(this.source(path), { encoding: "buffer" });
        return node;
      default:
        return node;
    }
  }

  async #saveFile(node: TreeNode, path: Buffer, previous: TreeNode | undefined): Promise<void> {
    const size = Number(node.size ?? 0n);
    this.counters.totalFilesProcessed++;
    this.counters.totalBytesProcessed += size;
    if (unchanged(node, previous) && previous.content.every((id) => this.#writer.has(id))) {
      node.content = previous.content;
      this.counters.filesUnmodified++;
      this.#fileDone(size);
      return;
    }
    // Every read holds a slot until its blobs are queued, so however wide the tree, only a few files' bytes wait
    // for the packs ahead of them; their ids are awaited after the slot is free.
    const { stored } = await this.#files.run(() =>
      size < minChunkSize ? this.#readSmallFile(node, path) : this.#readFile(node, path),
    );
    await stored;
    if (previous?.type === "file") this.counters.filesChanged++;
    else this.counters.filesNew++;
    this.#fileDone(0);
  }

  #fileDone(skippedBytes: number): void {
    this.#progress.state.filesDone++;
    this.#progress.state.bytesDone += skippedBytes;
  }

  /**
   * A file below the chunker's minimum size is one chunk: read in one blocking call, which for small files costs a
   * fraction of an asynchronous open/read/close (tens of thousands of small files are common).
   */
  async #readSmallFile(node: TreeNode, path: Buffer): Promise<{ stored: Promise<void> }> {
    const data = readFileSync(this.source(path));
    if (data.length >= minChunkSize) throw Object.assign(new Error("grew while being backed up"), { code: "ECHANGED" });
    this.#progress.state.bytesDone += data.length;
    node.size = BigInt(data.length);
    if (data.length === 0) {
      node.content = [];
      return { stored: Promise.resolve() };
    }
    const { result } = await this.#writer.queueBlob(data);
    return {
      stored: result.then(({ id }) => {
        node.content = [id];
      }),
    };
  }

  /** Reads a file once, cutting it with the repository's chunker and storing every new chunk. */
  async #readFile(node: TreeNode, path: Buffer): Promise<{ stored: Promise<void> }> {
    const display = path.toString();
    this.#activeFiles.add(display);
    this.#progress.state.currentFile = display;
    // Reads land in one buffer that holds the chunk in progress (at most 8 MiB) plus one read; each finished chunk
    // is copied out once (it moves to a sealing thread) and the rest slides to the front when room runs out.
    const buffer = this.#readBuffers.pop() ?? Buffer.allocUnsafe(maxChunkSize + readSize);
    let file: OpenFile | undefined;
    try {
      file = await open(this.source(path), "r");
      const opened = await file.stat({ bigint: true });
      if (!opened.isFile() || opened.ino !== node.inode) {
        throw Object.assign(new Error("was replaced while being backed up"), { code: "ECHANGED" });
      }
      const chunker = new RabinChunker(this.#tables);
      const results: Promise<{ id: string }>[] = [];
      const store = async (end: number) => {
        results.push((await this.#writer.queueBlob(Buffer.from(buffer.subarray(chunkStart, end)))).result);
        chunkStart = end;
      };
      let chunkStart = 0;
      let fill = 0;
      let total = 0;
      for (;;) {
        this.#throwIfAborted();
        if (fill + readSize > buffer.length) {
          buffer.copyWithin(0, chunkStart, fill);
          fill -= chunkStart;
          chunkStart = 0;
        }
        const { bytesRead } = await file.read(buffer, fill, readSize, null);
        if (bytesRead === 0) break;
        const cuts = chunker.push(buffer.subarray(fill, fill + bytesRead));
        for (const cut of cuts) await store(fill + cut.end);
        fill += bytesRead;
        total += bytesRead;
        this.#progress.state.bytesDone += bytesRead;
      }
      if (chunker.finish() && fill > chunkStart) await store(fill);
      // The size stored is what was read: a file that grew or shrank meanwhile stays self-consistent.
      node.size = BigInt(total);
      const stored = Promise.all(results).then((ids) => {
        node.content = ids.map((result) => result.id);
      });
      return { stored };
    } finally {
      this.#activeFiles.delete(display);
      // Every chunk was copied out of it (store), so the next file may overwrite it.
      this.#readBuffers.push(buffer);
      await file?.close();
    }
  }

  /** Counts what the walk will cover, for totals in the progress; runs beside the backup and never fails it. */
  async scan(paths: string[]): Promise<void> {
    const visit = async (path: Buffer): Promise<void> => {
      if (this.#options.signal?.aborted) return;
      let stats: ReturnType<typeof lstatSync>;
      try {
        stats = lstatSync(this.source(path));
      } catch {
        return;
      }
      if (!stats || this.#skips(path.toString(), stats.isDirectory())) return;
      if (this.#policy.active && this.#policy.decide(path.toString(), stats) !== "keep") return;
      if (stats.isDirectory()) {
        let names: Buffer[] = [];
        try {
          names = this.#policy.names(path, readdirSync(this.source(path), { encoding: "buffer" }));
        } catch {
          return;
        }
        for (const name of names) await visit(joinPath(path, name));
        // One folder at a time, so the backup itself keeps running beside the scan.
        await yieldToEventLoop();
      } else if (stats.isFile()) {
        this.#progress.state.filesTotal++;
        this.#progress.state.bytesTotal += stats.size;
      }
    };
    for (const path of paths) await visit(Buffer.from(path));
  }
}

type VirtualDir = { path: string; children: Map<string, VirtualDir | "target"> };

/**
 * The trees above the backed-up paths, as restic builds them: the snapshot's root tree is "/", holding one node per
 * first path component, down to the paths themselves; those upper folders are stored with their own metadata.
 */
async function saveRoot(archiver: Archiver, paths: string[], parentRoot: string | undefined): Promise<string> {
  const root: VirtualDir = { path: "/", children: new Map() };
  for (const path of paths) {
    const parts = path.split("/").filter(Boolean);
    let dir = root;
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1) {
        dir.children.set(part, "target");
        break;
      }
      let next = dir.children.get(part);
      if (next === undefined || next === "target") {
        next = { path: `/${parts.slice(0, i + 1).join("/")}`, children: new Map() };
        dir.children.set(part, next);
      }
      dir = next;
    }
  }
  if (paths.includes("/")) return (await archiver.saveDirectory(Buffer.from("/"), parentRoot)) ?? archiver.saveTree([]);
  return saveVirtual(archiver, root, parentRoot);
}

async function saveVirtual(archiver: Archiver, dir: VirtualDir, parentTreeId: string | undefined): Promise<string> {
  const previous = await archiver.parentNodes(parentTreeId);
  const nodes: TreeNode[] = [];
  for (const [name, child] of [...dir.children].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
    const path = dir.path === "/" ? `/${name}` : `${dir.path}/${name}`;
    const old = previous.get(Buffer.from(name).toString("latin1"));
    if (child === "target") {
      const node = await archiver.saveTarget(path, old);
      if (node) nodes.push(node);
      continue;
    }
    const stats = await lstat(archiver.source(Buffer.from(path)), { bigint: true });
    const node = nodeFromStats(Buffer.from(name), stats);
    node.subtree = await saveVirtual(archiver, child, old?.type === "dir" ? old.subtree : undefined);
    nodes.push(node);
  }
  return archiver.saveTree(nodes);
}

export async function backup(repository: Repository, options: BackupOptions): Promise<BackupResult> {
  const paths = normalisePaths(options.paths);
  checkWalkPolicy(options);
  for (const path of paths) {
    await lstat(options.readFrom ? options.readFrom(path) : path).catch((error: unknown) => {
      const why = (error as NodeJS.ErrnoException).code === "ENOENT" ? "it does not exist" : errorMessage(error);
      throw new EngineError("INVALID_ARGUMENT", `cannot back up ${path}: ${why}`);
    });
  }
  const hostname = options.hostname ?? osHostname();
  const uploadLimit = options.uploadLimit ? new Bandwidth(parseBandwidth(options.uploadLimit)) : undefined;
  const known = new BlobIdTable();
  const reader = new RepositoryReader(repository.key, repository.storage, { dataBlobIds: known });
  const recorded = options.recordPath ? paths.map(options.recordPath) : paths;
  const load = async () => {
    const [snapshots, trees] = await Promise.all([reader.snapshots(), reader.index()]);
    for (const id of trees.keys()) known.add(id);
    const parent = findParent(snapshots, options.parent, hostname, recorded);
    // Its root tree, and with it the first segment of trees the walk reads next (see RepositoryReader).
    if (parent) await reader.tree(parent.tree).catch(() => {});
    return parent;
  };
  // Loaded while the lock settles (LockOptions.whileSettling): set by the attempt that takes the lock.
  let loading: ReturnType<typeof load> | undefined;
  const whileSettling = () => {
    loading = load();
    return loading;
  };
  return withLock(repository, { exclusive: false, signal: options.signal, whileSettling }, async () => {
    const started = nowNanoseconds();
    const parent = await loading!;
    const sealer: BlobSealer =
      options.threads === 0 ? inlineSealer(repository.key) : new WorkerSealer(repository.key, options.threads);
    const storage = uploadLimit ? limitUploads(repository.storage, uploadLimit) : repository.storage;
    const writer = new RepositoryWriter(repository.key, storage, {
      known,
      sealer,
      ...(options.compression ? { compression: options.compression } : {}),
      ...(options.packSize ? { packSize: options.packSize } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const archiver = new Archiver(reader, writer, repository.config.chunkerPolynomial, options);
    const scanned = archiver.scan(paths);
    try {
      const tree = await saveRoot(archiver, paths, parent?.tree);
      archiver.progress.state.phase = "finishing";
      await writer.flush();
      await scanned;
      const user = currentUser();
      const summary: SnapshotSummary = {
        backupStart: formatGoTime(started),
        backupEnd: formatGoTime(nowNanoseconds()),
        ...archiver.counters,
        dataBlobs: writer.stats.dataBlobs,
        treeBlobs: writer.stats.treeBlobs,
        dataAdded: writer.stats.dataAdded,
        dataAddedPacked: writer.stats.dataAddedPacked,
      };
      const snapshot: Snapshot = {
        time: formatGoTime(started),
        ...(parent ? { parent: parent.id } : {}),
        tree,
        paths: recorded,
        hostname,
        ...user,
        ...(options.excludes?.length ? { excludes: options.excludes } : {}),
        ...(options.tags?.length ? { tags: options.tags } : {}),
        programVersion: options.programVersion ?? "e3",
        summary,
      };
      const snapshotId = await writer.writeSnapshot(snapshot);
      archiver.progress.finish("done");
      return { snapshotId, snapshot, summary, errors: archiver.errors };
    } catch (error) {
      archiver.progress.finish(options.signal?.aborted ? "cancelled" : "failed");
      await writer.abandon();
      throw error;
    } finally {
      await sealer.close();
    }
  });
}

function currentUser(): { username?: string; uid?: number; gid?: number } {
  try {
    const user = userInfo();
    return { username: user.username, uid: user.uid, gid: user.gid };
  } catch {
    return {};
  }
}

function findParent(
  snapshots: (Snapshot & { id: string })[],
  requested: string | null | undefined,
  hostname: string,
  paths: string[],
): (Snapshot & { id: string }) | undefined {
  if (requested === null) return undefined;
  if (requested !== undefined) {
    const matches = snapshots.filter((snapshot) => snapshot.id.startsWith(requested));
    if (matches.length !== 1) {
      throw new EngineError(
        "SNAPSHOT_NOT_FOUND",
        matches.length === 0 ? `no snapshot ${requested} to use as parent` : `${requested} names several snapshots`,
      );
    }
    return matches[0];
  }
  const key = JSON.stringify([...paths].sort());
  return snapshots
    .filter((snapshot) => snapshot.hostname === hostname && JSON.stringify([...snapshot.paths].sort()) === key)
    .at(-1);
}
