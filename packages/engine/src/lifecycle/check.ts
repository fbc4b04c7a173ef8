import { createHash, randomInt } from "node:crypto";
import { EngineError } from "../errors.ts";
import { freeNow } from "../memory.ts";
import { type ProgressCallback, ProgressMeter } from "../progress.ts";
import { decodeBlob } from "../repository/blob-decode.ts";
import { withLock } from "../repository/lock.ts";
import { decodePackHeader, type PackedBlob } from "../repository/pack.ts";
import type { Repository } from "../repository/repository.ts";
import { parseSnapshot, type Snapshot } from "../repository/snapshot.ts";
import { decodeUnpacked } from "../repository/unpacked.ts";
import { decodeTree, type TreeNode } from "../tree/tree-json.ts";
import { type BlobTable, blobFlags } from "./blob-table.ts";
import { enterPhase, expectedPackSize, loadRecord, loadRepositoryState, type PackEntry } from "./repository-state.ts";

// restic's check (engine-reference §1.7-1.10, §4.3): the structure (every index entry points into a pack that
// exists and whose header says the same, no pack mixes data and trees, every tree and data blob a snapshot needs
// is indexed and its tree decodes) and, on request, the data (packs read whole: the file hashes to its name, every
// blob authenticates and hashes to its id). The report names what a restore would lose: for each damaged snapshot,
// the files whose content is gone or damaged and the folders whose listing is.

export type CheckOptions = {
  /** Read every pack (restic's --read-data). */
  readData?: boolean;
  /** Read a subset: "n/t" (the n-th of t groups of packs, by the first byte of their id, as restic) or "x%". */
  readDataSubset?: string;
  lockWaitMs?: number;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** Packs read (headers or whole) at once. */
  concurrency?: number;
};

export type CheckProblemKind =
  | "unreadable-snapshot"
  | "unreadable-index"
  | "missing-pack"
  | "pack-size"
  | "pack-header"
  | "mixed-pack"
  | "pack-id"
  | "damaged-blob"
  | "missing-blob"
  | "damaged-tree"
  | "invalid-node";

export type CheckProblem = { kind: CheckProblemKind; message: string; pack?: string; blob?: string };

export type DamagedSnapshot = {
  id: string;
  time: string;
  hostname?: string;
  paths: string[];
  /** Files (snapshot paths) whose content lost a blob or holds a damaged one. */
  files: string[];
  /** Folders whose listing is lost (their tree is missing or damaged): nothing below them can be restored. */
  folders: string[];
};

export type CheckReport = {
  ok: boolean;
  snapshots: number;
  packs: number;
  blobs: number;
  /** Packs read whole for the data check. */
  packsRead: number;
  bytesRead: number;
  /** The first 1 000 problems; errorCount counts them all. */
  errors: CheckProblem[];
  errorCount: number;
  /** Things that are not damage: pack files no index names, packs in several index files. */
  hints: string[];
  damaged: DamagedSnapshot[];
};

const maxListedErrors = 1000;

/** Which packs a --read-data-subset reads, restic's way. */
export function selectPacks(ids: string[], subset: string | undefined, all: boolean): Set<string> {
  if (all) return new Set(ids);
  if (subset === undefined) return new Set();
  const bucket = /^(\d+)\/(\d+)$/.exec(subset);
  if (bucket) {
    const n = Number(bucket[1]);
    const t = Number(bucket[2]);
    if (!(n >= 1 && n <= t && t <= 256)) {
      throw new EngineError("INVALID_ARGUMENT", `read-data-subset ${subset}: n/t needs 1 <= n <= t <= 256`);
    }
    return new Set(ids.filter((id) => Number.parseInt(id.slice(0, 2), 16) % t === n - 1));
  }
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(subset);
  if (percent) {
    const p = Number(percent[1]);
    if (!(p > 0 && p <= 100)) {
      throw new EngineError(
        "INVALID_ARGUMENT",
        `read-data-subset ${subset}: the percentage must be above 0 and at most 100`,
      );
    }
    const count = Math.max(1, Math.floor((ids.length * p) / 100));
    const pool = [...ids];
    // A partial Fisher-Yates shuffle: a uniform random choice of `count` packs.
    for (let i = 0; i < Math.min(count, pool.length); i++) {
      const j = i + randomInt(pool.length - i);
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    return new Set(pool.slice(0, count));
  }
  throw new EngineError(
    "INVALID_ARGUMENT",
    `read-data-subset ${JSON.stringify(subset)}: give n/t (e.g. 1/5) or x% (e.g. 5%)`,
  );
}

export async function check(repository: Repository, options: CheckOptions = {}): Promise<CheckReport> {
  return withLock(repository, { exclusive: false, signal: options.signal, waitMs: options.lockWaitMs ?? 0 }, () =>
    checkLocked(repository, options),
  );
}

/** check for a caller that already holds a lock. */
export async function checkLocked(repository: Repository, options: CheckOptions = {}): Promise<CheckReport> {
  const { signal } = options;
  // Validated before any work, so a typo fails at once.
  selectPacks([], options.readDataSubset, options.readData ?? false);
  const concurrency = options.concurrency ?? 8;
  const meter = new ProgressMeter("loading snapshots", options.onProgress);
  const errors: CheckProblem[] = [];
  let errorCount = 0;
  const problem = (entry: CheckProblem) => {
    errorCount++;
    if (errors.length < maxListedErrors) errors.push(entry);
  };
  const hints: string[] = [];
  try {
    const snapshots: (Snapshot & { id: string })[] = [];
    for await (const { name } of repository.storage.list("snapshot", { signal })) {
      try {
        const sealed = await repository.storage.load({ type: "snapshot", name }, { signal });
        if (createHash("sha256").update(sealed).digest("hex") !== name)
          throw new Error("its content does not match its name");
        snapshots.push({ id: name, ...parseSnapshot(decodeUnpacked(repository.key, sealed, `snapshot ${name}`)) });
      } catch (error) {
        if (signal?.aborted) throw error;
        problem({ kind: "unreadable-snapshot", message: `snapshot ${name}: ${messageOf(error)}` });
      }
    }
    snapshots.sort((a, b) => a.time.localeCompare(b.time));

    enterPhase(meter, "loading index");
    const state = await loadRepositoryState(repository, {
      signal,
      onIndexError: (name, error) =>
        problem({ kind: "unreadable-index", message: `index ${name}: ${messageOf(error)}` }),
    });
    const { table, packs } = state;
    if (state.duplicatePacks)
      hints.push(`${state.duplicatePacks} pack(s) are named by more than one index file; 'repair index' tidies that`);
    const orphans = packs.filter((pack) => !pack.indexed).length;
    if (orphans) {
      hints.push(
        `${orphans} pack file(s) are named by no index (left by an interrupted backup or prune); 'prune' removes them`,
      );
    }
    const present: PackEntry[] = [];
    for (const pack of packs) {
      if (!pack.indexed) continue;
      if (pack.size === undefined) {
        problem({ kind: "missing-pack", pack: pack.id, message: `pack ${pack.id}: named by the index but missing` });
        markPackDamaged(table, pack);
        continue;
      }
      const expected = expectedPackSize(table, pack);
      if (pack.size !== expected) {
        problem({
          kind: "pack-size",
          pack: pack.id,
          message: `pack ${pack.id}: ${pack.size} bytes, but its index entries add up to ${expected}`,
        });
      }
      present.push(pack);
    }

    // Headers of every pack (and whole packs for the data check), a few at a time.
    const selected = selectPacks(
      present.map((pack) => pack.id),
      options.readDataSubset,
      options.readData ?? false,
    );
    enterPhase(meter, selected.size ? "reading packs" : "checking pack headers");
    meter.state.filesTotal = present.length;
    meter.state.bytesTotal = present.reduce((sum, pack) => sum + (selected.has(pack.id) ? (pack.size ?? 0) : 0), 0);
    let packsRead = 0;
    let bytesRead = 0;
    const checkPack = async (pack: PackEntry) => {
      const size = pack.size ?? 0;
      // The header's size follows from the index; a header longer than that is read again whole.
      const loadTail = (length: number) =>
        repository.storage.load({ type: "data", name: pack.id }, { offset: size - length, length, signal });
      let tail = await loadTail(Math.min(size, expectedPackSize(table, pack) - indexedBytes(table, pack)));
      const headerLength = tail.length >= 4 ? tail.readUInt32LE(tail.length - 4) : 0;
      if (headerLength + 4 > tail.length && headerLength + 4 <= size) tail = await loadTail(headerLength + 4);
      let header: PackedBlob[];
      try {
        header = decodeHeader(repository, tail, size);
      } catch (error) {
        if (signal?.aborted) throw error;
        problem({
          kind: "pack-header",
          pack: pack.id,
          message: `pack ${pack.id}: header unreadable: ${messageOf(error)}`,
        });
        header = [];
      }
      comparePackHeader(table, pack, header, problem);
      if (selected.has(pack.id)) {
        await readPackData(pack, size);
        packsRead++;
      }
      meter.state.filesDone++;
    };
    /**
     * Streams a whole pack (never held whole: 8 packs of 17 MiB at once were most of a check's peak), hashing it
     * against its name and decoding each indexed blob as soon as its bytes are in.
     */
    const readPackData = async (pack: PackEntry, size: number) => {
      const blobs: { record: number; location: ReturnType<BlobTable["location"]> }[] = [];
      for (let record = pack.first; record < pack.first + pack.count; record++) {
        const location = table.location(record);
        // One reaching past the end is reported as a size mismatch.
        if (location.offset + location.length <= size) blobs.push({ record, location });
      }
      blobs.sort((x, y) => x.location.offset - y.location.offset);
      const hash = createHash("sha256");
      /** Blobs whose bytes are arriving (index entries may overlap: each gets its own copy). */
      const arriving: {
        record: number;
        location: (typeof blobs)[number]["location"];
        bytes: Buffer;
        filled: number;
      }[] = [];
      let nextBlob = 0;
      let position = 0;
      const verify = ({ record, location, bytes }: (typeof arriving)[number]) => {
        try {
          decodeBlob(repository.key, location.id, { ...location, pack: pack.id }, bytes);
        } catch (error) {
          problem({
            kind: "damaged-blob",
            pack: pack.id,
            blob: location.id,
            message: `pack ${pack.id}: ${location.type} blob ${location.id} is damaged: ${messageOf(error)}`,
          });
          table.set(record, blobFlags.damaged);
        } finally {
          freeNow(bytes);
        }
      };
      await repository.storage.loadChunks(
        { type: "data", name: pack.id },
        (chunk) => {
          const end = position + chunk.byteLength;
          for (; nextBlob < blobs.length && blobs[nextBlob]!.location.offset < end; nextBlob++) {
            const { record, location } = blobs[nextBlob]!;
            arriving.push({ record, location, bytes: Buffer.allocUnsafe(location.length), filled: 0 });
          }
          for (const blob of arriving) {
            const from = Math.max(position, blob.location.offset + blob.filled);
            const to = Math.min(end, blob.location.offset + blob.location.length);
            if (from >= to) continue;
            blob.bytes.set(chunk.subarray(from - position, to - position), from - blob.location.offset);
            blob.filled += to - from;
          }
          for (const blob of arriving.filter((candidate) => candidate.filled === candidate.location.length)) {
            arriving.splice(arriving.indexOf(blob), 1);
            verify(blob);
          }
          hash.update(chunk);
          position = end;
          bytesRead += chunk.byteLength;
          meter.state.bytesDone += chunk.byteLength;
        },
        { signal },
      );
      // What did not arrive whole (a storage that ended the load short without saying so) fails to decode here.
      for (const blob of [
        ...arriving,
        ...blobs.slice(nextBlob).map((rest) => ({ ...rest, bytes: Buffer.alloc(0), filled: 0 })),
      ]) {
        verify(blob);
      }
      if (hash.digest("hex") !== pack.id) {
        problem({ kind: "pack-id", pack: pack.id, message: `pack ${pack.id}: its content does not match its name` });
      }
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, present.length) }, async () => {
        while (next < present.length) {
          signal?.throwIfAborted();
          await checkPack(present[next++]!);
        }
      }),
    );

    enterPhase(meter, "checking snapshots");
    meter.state.filesDone = 0;
    meter.state.filesTotal = snapshots.length;
    const walker = new DamageWalker(repository, state, problem, signal);
    const damagedSnapshots: DamagedSnapshot[] = [];
    for (const snapshot of snapshots) {
      if (await walker.damaged(snapshot.tree)) {
        const entry: DamagedSnapshot = {
          id: snapshot.id,
          time: snapshot.time,
          ...(snapshot.hostname !== undefined ? { hostname: snapshot.hostname } : {}),
          paths: snapshot.paths,
          files: [],
          folders: [],
        };
        await walker.collect(snapshot.tree, "", entry);
        damagedSnapshots.push(entry);
      }
      meter.state.filesDone++;
    }
    return {
      ok: errorCount === 0,
      snapshots: snapshots.length,
      packs: present.length,
      blobs: table.count,
      packsRead,
      bytesRead,
      errors,
      errorCount,
      hints,
      damaged: damagedSnapshots,
    };
  } finally {
    meter.finish(signal?.aborted ? "cancelled" : "done");
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function markPackDamaged(table: BlobTable, pack: PackEntry): void {
  for (let record = pack.first; record < pack.first + pack.count; record++) table.set(record, blobFlags.damaged);
}

function indexedBytes(table: BlobTable, pack: PackEntry): number {
  let sum = 0;
  for (let record = pack.first; record < pack.first + pack.count; record++) sum += table.length(record);
  return sum;
}

/** The header from the end of `bytes` (the whole pack, or its tail). */
function decodeHeader(repository: Repository, bytes: Buffer, packSize: number): PackedBlob[] {
  if (bytes.length === packSize) return decodePackHeader(repository.key, bytes, packSize);
  const headerLength = bytes.readUInt32LE(bytes.length - 4);
  if (headerLength + 4 > bytes.length) {
    throw new EngineError("INVALID_CIPHERTEXT", `header length ${headerLength} is more than the index leads to expect`);
  }
  // decodePackHeader checks the layout adds up to the pack size from the tail it is given.
  return decodePackHeader(repository.key, bytes.subarray(bytes.length - 4 - headerLength), packSize);
}

function comparePackHeader(
  table: BlobTable,
  pack: PackEntry,
  header: PackedBlob[],
  problem: (entry: CheckProblem) => void,
): void {
  const types = new Set(header.map((blob) => blob.type));
  if (types.size > 1)
    problem({ kind: "mixed-pack", pack: pack.id, message: `pack ${pack.id}: holds both data and tree blobs` });
  if (header.length === 0 && pack.count > 0) return; // unreadable, already reported
  const key = (blob: PackedBlob) =>
    `${blob.id}:${blob.type}:${blob.offset}:${blob.length}:${blob.uncompressedLength ?? 0}`;
  const inHeader = new Set(header.map(key));
  let differences = 0;
  for (let record = pack.first; record < pack.first + pack.count; record++) {
    if (!inHeader.has(key(table.location(record)))) differences++;
  }
  if (differences || header.length !== pack.count) {
    problem({
      kind: "pack-header",
      pack: pack.id,
      message: `pack ${pack.id}: the header lists ${header.length} blobs, the index ${pack.count}, ${differences} index entries differ from the header`,
    });
  }
}

/** Walks trees once each, remembering in the table which subtrees hold damage, then names what is lost. */
class DamageWalker {
  readonly #repository: Repository;
  readonly #state: Awaited<ReturnType<typeof loadRepositoryState>>;
  readonly #problem: (entry: CheckProblem) => void;
  readonly #signal: AbortSignal | undefined;
  readonly #inFlight = new Map<string, Promise<boolean>>();
  readonly #missingTrees = new Set<string>();
  readonly #missingData = new Set<string>();

  constructor(
    repository: Repository,
    state: Awaited<ReturnType<typeof loadRepositoryState>>,
    problem: (entry: CheckProblem) => void,
    signal: AbortSignal | undefined,
  ) {
    this.#repository = repository;
    this.#state = state;
    this.#problem = problem;
    this.#signal = signal;
  }

  async #nodes(record: number): Promise<TreeNode[]> {
    return decodeTree(await loadRecord(this.#repository, this.#state, record, this.#signal));
  }

  /** Record of a tree that can be read, or -1 (reported once). */
  #treeRecord(id: string): number {
    const { table } = this.#state;
    const record = table.first(id);
    if (record < 0 || table.type(record) !== "tree") {
      if (!this.#missingTrees.has(id)) {
        this.#missingTrees.add(id);
        this.#problem({ kind: "missing-blob", blob: id, message: `tree ${id} is needed but not in the index` });
      }
      return -1;
    }
    return record;
  }

  /** Whether a file node's content lost a blob. */
  #fileDamaged(node: TreeNode): boolean {
    const { table } = this.#state;
    let lost = false;
    for (const id of node.content ?? []) {
      const record = table.first(id);
      if (record < 0 || table.type(record) !== "data") {
        lost = true;
        if (!this.#missingData.has(id)) {
          this.#missingData.add(id);
          this.#problem({ kind: "missing-blob", blob: id, message: `data blob ${id} is needed but not in the index` });
        }
      } else if (table.has(record, blobFlags.damaged)) lost = true;
    }
    return lost;
  }

  /** Whether anything reachable from the tree is lost. */
  damaged(id: string): Promise<boolean> {
    const { table } = this.#state;
    const record = this.#treeRecord(id);
    if (record < 0) return Promise.resolve(true);
    if (table.has(record, blobFlags.walked)) return Promise.resolve(table.has(record, blobFlags.subtreeDamaged));
    const running = this.#inFlight.get(id);
    if (running) return running;
    const work = (async () => {
      let lost = table.has(record, blobFlags.damaged);
      let nodes: TreeNode[] = [];
      if (!lost) {
        try {
          nodes = await this.#nodes(record);
        } catch (error) {
          if (this.#signal?.aborted) throw error;
          this.#problem({ kind: "damaged-tree", blob: id, message: `tree ${id}: ${messageOf(error)}` });
          table.set(record, blobFlags.damaged);
          lost = true;
        }
      }
      const subtrees: string[] = [];
      for (const node of nodes) {
        const name = node.name.toString("utf8");
        if (node.type === "file") {
          if (node.content === null) {
            this.#problem({
              kind: "invalid-node",
              blob: id,
              message: `tree ${id}: file ${JSON.stringify(name)} has no content list`,
            });
          } else if (this.#fileDamaged(node)) lost = true;
        } else if (node.type === "dir") {
          if (!node.subtree) {
            this.#problem({
              kind: "invalid-node",
              blob: id,
              message: `tree ${id}: folder ${JSON.stringify(name)} has no subtree`,
            });
          } else subtrees.push(node.subtree);
        }
      }
      for (let i = 0; i < subtrees.length; i += 8) {
        this.#signal?.throwIfAborted();
        const results = await Promise.all(subtrees.slice(i, i + 8).map((subtree) => this.damaged(subtree)));
        if (results.includes(true)) lost = true;
      }
      table.set(record, blobFlags.walked | (lost ? blobFlags.subtreeDamaged : 0));
      return lost;
    })();
    this.#inFlight.set(id, work);
    return work.finally(() => this.#inFlight.delete(id));
  }

  /** Names the lost files and folders under a damaged tree (walked again, only along damaged paths). */
  async collect(id: string, path: string, into: DamagedSnapshot): Promise<void> {
    const { table } = this.#state;
    const record = this.#treeRecord(id);
    if (record < 0 || table.has(record, blobFlags.damaged)) {
      into.folders.push(path || "/");
      return;
    }
    let nodes: TreeNode[];
    try {
      nodes = await this.#nodes(record);
    } catch {
      into.folders.push(path || "/");
      return;
    }
    for (const node of nodes) {
      const childPath = `${path}/${node.name.toString("utf8")}`;
      if (node.type === "file" && this.#fileDamaged(node)) into.files.push(childPath);
      else if (node.type === "dir" && node.subtree && (await this.damaged(node.subtree))) {
        await this.collect(node.subtree, childPath, into);
      }
    }
  }
}
