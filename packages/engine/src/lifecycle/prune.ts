import { seal } from "../crypto/seal.ts";
import { EngineError } from "../errors.ts";
import { freeNow } from "../memory.ts";
import { type ProgressCallback, ProgressMeter } from "../progress.ts";
import { decodeBlob } from "../repository/blob-decode.ts";
import { withLock } from "../repository/lock.ts";
import type { BlobType } from "../repository/pack.ts";
import { RepositoryReader } from "../repository/reader.ts";
import type { Repository } from "../repository/repository.ts";
import { StagedPack } from "../repository/staged-pack.ts";
import { compressionLevels } from "../repository/writer.ts";
import { compressFrame } from "../repository/zstd.ts";
import { blobFlags } from "./blob-table.ts";
import { IndexFileWriter } from "./repair-index.ts";
import {
  damaged,
  enterPhase,
  expectedPackSize,
  loadRepositoryState,
  markUsedBlobs,
  type PackEntry,
  type RepositoryState,
} from "./repository-state.ts";

// restic's prune (engine-reference §3.3, §1.13): which blobs the snapshots still use is computed by walking every
// snapshot's trees; packs nothing uses are deleted, packs partly used are rewritten ("repacked") until the unused
// space left is below maxUnused, small packs are merged, and the index is rewritten to name only what remains.
//
// Order, so that a crash at any moment leaves a repository restic checks clean:
//   1. new packs (copies of the used blobs of the packs being repacked): until the index names them they are
//      only extra files, which check reports as a hint, never an error;
//   2. the new index files, naming every pack that stays and every new pack: blobs are then indexed twice
//      (old and new index), which restic accepts;
//   3. the old index files are deleted: the packs being removed are now named by no index;
//   4. those packs are deleted, last.
// Everything runs under the exclusive lock, so no backup writes meanwhile: a backup holds a shared lock for its
// whole run, and a pack no index names is either a crashed run's leftover or this prune's own (restic's design).

export type PruneOptions = {
  /**
   * Unused space tolerated after the prune, as a percentage of the repository's packed size (restic's
   * --max-unused, 5 by default). 0 repacks every partly used pack; Infinity never repacks for unused space.
   */
  maxUnused?: number;
  /**
   * At most this many bytes of packs are repacked (restic's --max-repack-size, counted as restic does: the whole
   * size of each pack chosen, used and unused blobs). Packs that would go beyond it are kept as they are; deleting
   * packs nothing uses is not limited. Unlimited by default; 0 repacks nothing.
   */
  maxRepackSize?: number;
  /**
   * Repack every pack holding a blob stored uncompressed and compress those blobs (restic's --repack-uncompressed):
   * how a repository written with compression off, or by restic before 0.14, gets compressed. Only limited by
   * maxRepackSize. Repository version 2 only.
   */
  repackUncompressed?: boolean;
  /** Plan only: nothing is written or deleted; a shared lock is taken so backups may run meanwhile. */
  dryRun?: boolean;
  /** Target size of the packs repacking writes (16 MiB, restic's default). */
  packSize?: number;
  /** How long to wait for a conflicting lock (a backup that is running) before giving up with REPO_LOCKED. */
  lockWaitMs?: number;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
};

export type PruneSummary = {
  dryRun: boolean;
  snapshots: number;
  treesWalked: number;
  blobs: {
    total: number;
    used: number;
    unused: number;
    /** Blobs repacking compressed (they were stored uncompressed; repackUncompressed). */
    compressed: number;
  };
  packs: {
    total: number;
    /** Packs nothing uses any more (plus unindexed leftovers). */
    deleted: number;
    repacked: number;
    /** New packs repacking wrote. */
    written: number;
    kept: number;
    /** Pack files no index named (a crashed backup's or prune's leftovers); deleted. */
    unreferenced: number;
  };
  bytes: {
    /** Packed bytes the snapshots use. */
    used: number;
    unused: number;
    /** Bytes read and rewritten by repacking. */
    repacked: number;
    /** Pack bytes deleted minus pack bytes written. */
    freed: number;
    /** Unused bytes still in kept packs afterwards. */
    unusedAfter: number;
  };
  indexFiles: { removed: number; written: number };
  /** Bytes the blob table took in memory, and per blob. */
  memory: { tableBytes: number; bytesPerBlob: number };
};

const defaultPackSize = 16 * 1024 * 1024;
/** Small packs are merged once there are at least this many (restic's rule: fewer is not worth the rewrite). */
const smallPacksWorthMerging = 10;
const deleteConcurrency = 8;
/** Used blobs next to each other are read together, up to this many bytes per request. */
const maxRunBytes = 4 * 1024 * 1024;

type PackPlan = PackEntry & {
  usedBytes: number;
  unusedBytes: number;
  usedBlobs: number;
  type: BlobType | "mixed" | "empty";
  /** Holds a blob stored uncompressed (repackUncompressed rewrites it compressed). */
  uncompressed: boolean;
  action: "keep" | "delete" | "repack";
};

export async function prune(repository: Repository, options: PruneOptions = {}): Promise<PruneSummary> {
  return withLock(
    repository,
    { exclusive: !options.dryRun, signal: options.signal, waitMs: options.lockWaitMs ?? 0 },
    () => pruneLocked(repository, options),
  );
}

/** Prune for a caller that already holds the exclusive lock (maintenance). */
export async function pruneLocked(repository: Repository, options: PruneOptions = {}): Promise<PruneSummary> {
  const { signal } = options;
  const maxUnused = options.maxUnused ?? 5;
  if (!(maxUnused >= 0)) throw new EngineError("INVALID_ARGUMENT", `max-unused must be 0 % or more, not ${maxUnused}`);
  const packSize = options.packSize ?? defaultPackSize;
  const maxRepackSize = options.maxRepackSize ?? Number.POSITIVE_INFINITY;
  if (!(maxRepackSize >= 0)) {
    throw new EngineError("INVALID_ARGUMENT", `max-repack-size must be 0 bytes or more, not ${maxRepackSize}`);
  }
  const repackUncompressed = options.repackUncompressed ?? false;
  if (repackUncompressed && repository.config.version < 2) {
    throw new EngineError(
      "INVALID_ARGUMENT",
      "repack-uncompressed needs a version 2 repository (version 1 cannot store compressed blobs): " +
        "run 'restic migrate upgrade_repo_v2' first",
    );
  }
  const meter = new ProgressMeter("listing snapshots", options.onProgress);
  try {
    // restic's read order: snapshots before the index, so a snapshot never names blobs an index we read lacks.
    const snapshots = await new RepositoryReader(repository.key, repository.storage).snapshots();
    enterPhase(meter, "loading index");
    const state = await loadRepositoryState(repository, {
      signal,
      onIndexFile: (done, total) => {
        meter.state.filesDone = done;
        meter.state.filesTotal = total;
      },
    });
    const missingPacks = state.packs.filter((pack) => pack.indexed && pack.size === undefined);
    if (missingPacks.length) {
      throw damaged(
        `the index names ${missingPacks.length} pack(s) that are missing (${missingPacks[0]!.id.slice(0, 8)}…): ` +
          "run 'check' to see which snapshots lost data, then 'repair index'; prune changed nothing",
      );
    }

    enterPhase(meter, "finding used blobs");
    meter.state.filesDone = 0;
    meter.state.filesTotal = 0;
    const missingBlobs: string[] = [];
    const treesWalked = await markUsedBlobs(
      repository,
      state,
      snapshots.map((snapshot) => snapshot.tree),
      {
        signal,
        onMissing: (id) => missingBlobs.push(id),
        onTree: (walked) => {
          meter.state.filesDone = walked;
        },
      },
    );
    if (missingBlobs.length) {
      throw damaged(
        `${missingBlobs.length} blob(s) the snapshots need are not in the index (${missingBlobs[0]!.slice(0, 8)}…): ` +
          "run 'check' to see what is damaged; prune changed nothing",
      );
    }

    const plans = planPacks(state, { maxUnused, packSize, maxRepackSize, repackUncompressed });
    const summary = summarise(plans, state, snapshots.length, treesWalked, options.dryRun ?? false);
    if (options.dryRun) {
      if (repackUncompressed) summary.blobs.compressed = countUncompressedUsed(state, plans);
      return summary;
    }

    const repackList = plans.filter((plan) => plan.action === "repack");
    enterPhase(meter, "repacking");
    meter.state.filesDone = 0;
    meter.state.filesTotal = repackList.length;
    meter.state.bytesTotal = repackList.reduce((sum, plan) => sum + plan.usedBytes, 0);
    const written = await repack(repository, state, repackList, { packSize, repackUncompressed, signal, meter });
    summary.packs.written = written.packs;
    summary.blobs.compressed = written.compressed;

    enterPhase(meter, "writing index");
    const keptPacks = plans.filter((plan) => plan.action === "keep").map((plan) => plan as PackEntry);
    summary.indexFiles.written = await writeIndex(repository, state, [...keptPacks, ...written.entries], signal);

    enterPhase(meter, "deleting");
    const obsolete = state.indexFiles.map((file) => ({ type: "index" as const, name: file.name }));
    await removeAll(repository, obsolete, signal);
    summary.indexFiles.removed = obsolete.length;
    const doomed = plans.filter((plan) => plan.action !== "keep");
    meter.state.filesDone = 0;
    meter.state.filesTotal = doomed.length;
    await removeAll(
      repository,
      doomed.map((plan) => ({ type: "data" as const, name: plan.id })),
      signal,
      () => meter.state.filesDone++,
    );
    summary.bytes.freed =
      doomed.reduce((sum, plan) => sum + (plan.size ?? 0), 0) -
      written.entries.reduce((sum, pack) => sum + (pack.size ?? 0), 0);
    return summary;
  } finally {
    meter.finish(signal?.aborted ? "cancelled" : "done");
  }
}

/** Decides for every pack: keep, delete, or repack (restic 0.14's choice, engine-reference §3.3). */
function planPacks(
  state: RepositoryState,
  limits: { maxUnused: number; packSize: number; maxRepackSize: number; repackUncompressed: boolean },
): PackPlan[] {
  const { table } = state;
  const plans: PackPlan[] = state.packs.map((pack) => {
    let usedBytes = 0;
    let unusedBytes = 0;
    let usedBlobs = 0;
    let data = false;
    let tree = false;
    let uncompressed = false;
    for (let record = pack.first; record < pack.first + pack.count; record++) {
      const length = table.length(record);
      if (!table.uncompressedLength(record)) uncompressed = true;
      if (table.has(record, blobFlags.used)) {
        usedBytes += length;
        usedBlobs++;
      } else unusedBytes += length;
      if (table.type(record) === "tree") tree = true;
      else data = true;
    }
    const type = data && tree ? "mixed" : data ? "data" : tree ? "tree" : "empty";
    return { ...pack, usedBytes, unusedBytes, usedBlobs, type, uncompressed, action: "keep" };
  });
  for (const plan of plans) {
    if (!plan.indexed) continue;
    const expected = expectedPackSize(table, plan);
    if (plan.size !== expected) {
      throw damaged(
        `pack ${plan.id} is ${plan.size} bytes but its index entries add up to ${expected}: run 'repair index'; ` +
          "prune changed nothing",
      );
    }
  }
  const candidates: PackPlan[] = [];
  const small: PackPlan[] = [];
  const compress = (plan: PackPlan) => limits.repackUncompressed && plan.uncompressed;
  const isSmall = (plan: PackPlan) => (plan.size ?? 0) < (limits.packSize * 4) / 5;
  for (const plan of plans) {
    if (!plan.indexed || plan.usedBlobs === 0) plan.action = "delete";
    else if (plan.unusedBytes > 0 || plan.type === "mixed" || compress(plan)) candidates.push(plan);
    else if (isSmall(plan)) small.push(plan);
  }
  // Too few small packs are not worth rewriting, and a single one would otherwise be rewritten by every prune.
  if (small.length >= smallPacksWorthMerging) candidates.push(...small);
  const used = plans.reduce((sum, plan) => sum + plan.usedBytes, 0);
  let unusedAfter = plans.filter((plan) => plan.action === "keep").reduce((sum, plan) => sum + plan.unusedBytes, 0);
  // maxUnused % of what stays: unused / (used + unused) <= p  <=>  unused <= p / (100 - p) * used.
  const tolerated =
    limits.maxUnused >= 100 ? Number.POSITIVE_INFINITY : (limits.maxUnused / (100 - limits.maxUnused)) * used;
  // restic's order, which decides what a max-repack-size leaves out: tree and mixed packs first, then small packs,
  // then the most wasteful (fewest bytes rewritten per byte freed).
  const rank = (plan: PackPlan) => (plan.type !== "data" ? 0 : isSmall(plan) ? 1 : 2);
  candidates.sort(
    (a, b) =>
      rank(a) - rank(b) || b.unusedBytes * a.usedBytes - a.unusedBytes * b.usedBytes || a.id.localeCompare(b.id),
  );
  let repackBytes = 0;
  for (const plan of candidates) {
    const packBytes = plan.usedBytes + plan.unusedBytes;
    // As restic: a pack that would reach the limit is kept, and a smaller one after it may still fit.
    if (repackBytes + packBytes >= limits.maxRepackSize) continue;
    // Tree packs are small and read by every prune and check: always worth rewriting; mixed packs break v2's rule;
    // packs to compress are what repackUncompressed asks for. A data pack is kept once the unused space left is
    // tolerated, unless it is small (then it is merged).
    if (plan.type === "data" && !compress(plan) && unusedAfter <= tolerated && !isSmall(plan)) continue;
    plan.action = "repack";
    repackBytes += packBytes;
    unusedAfter -= plan.unusedBytes;
  }
  return plans;
}

/** Used blobs stored uncompressed in the packs planned for repacking: what repackUncompressed would compress. */
function countUncompressedUsed(state: RepositoryState, plans: PackPlan[]): number {
  const { table } = state;
  let count = 0;
  for (const plan of plans) {
    if (plan.action !== "repack") continue;
    for (let record = plan.first; record < plan.first + plan.count; record++) {
      if (table.has(record, blobFlags.used) && !table.uncompressedLength(record)) count++;
    }
  }
  return count;
}

function summarise(
  plans: PackPlan[],
  state: RepositoryState,
  snapshots: number,
  treesWalked: number,
  dryRun: boolean,
): PruneSummary {
  const sum = (list: PackPlan[], field: "usedBytes" | "unusedBytes" | "size") =>
    list.reduce((total, plan) => total + (plan[field] ?? 0), 0);
  const deleted = plans.filter((plan) => plan.action === "delete");
  const repacked = plans.filter((plan) => plan.action === "repack");
  const kept = plans.filter((plan) => plan.action === "keep");
  const usedBlobs = plans.reduce((total, plan) => total + plan.usedBlobs, 0);
  const tableBytes = state.table.byteSize();
  return {
    dryRun,
    snapshots,
    treesWalked,
    blobs: { total: state.table.count, used: usedBlobs, unused: state.table.count - usedBlobs, compressed: 0 },
    packs: {
      total: plans.length,
      deleted: deleted.length,
      repacked: repacked.length,
      written: 0,
      kept: kept.length,
      unreferenced: plans.filter((plan) => !plan.indexed).length,
    },
    bytes: {
      used: sum(plans, "usedBytes"),
      unused: sum(plans, "unusedBytes"),
      repacked: sum(repacked, "usedBytes"),
      // A plan frees at most the deleted and repacked packs minus what repacking writes again.
      freed: sum(deleted, "size") + sum(repacked, "unusedBytes"),
      unusedAfter: sum(kept, "unusedBytes"),
    },
    indexFiles: { removed: 0, written: 0 },
    memory: { tableBytes, bytesPerBlob: state.table.count ? Math.round(tableBytes / state.table.count) : 0 },
  };
}

/**
 * Copies the used blobs of the given packs into new packs, data and trees apart (v2 never mixes them). Every blob is
 * verified as restic's repack does before it is copied (MAC, then the SHA-256 of its plaintext against its id): a
 * damaged blob stops the prune before anything is deleted, even one whose bytes were sealed wrong in the first
 * place. The sealed bytes are copied as they are (same key, self-contained ciphertext), except that with
 * repackUncompressed a blob stored uncompressed is compressed and sealed again. Memory stays at the ranges being read:
 * used blobs are read in runs of at most 4 MiB, never whole packs, and new packs are staged in temporary files
 * (staged-pack.ts), one per type, streamed to the storage from there.
 */
async function repack(
  repository: Repository,
  state: RepositoryState,
  packs: PackPlan[],
  options: { packSize: number; repackUncompressed: boolean; signal: AbortSignal | undefined; meter: ProgressMeter },
): Promise<{ packs: number; entries: PackEntry[]; compressed: number }> {
  const { table } = state;
  const { signal, meter } = options;
  const open: Partial<Record<BlobType, StagedPack>> = {};
  const entries: PackEntry[] = [];
  let compressed = 0;
  const finish = async (type: BlobType) => {
    const pack = open[type];
    if (!pack) return;
    delete open[type];
    const { id, size, blobs } = await pack.saveTo(repository.key, repository.storage, { signal });
    // The new pack's blobs go into the table, so the index is written from the table alone.
    const number = state.packs.length;
    const entry: PackEntry = { id, first: table.count, count: blobs.length, size, indexed: true };
    for (const blob of blobs) table.add(blob.id, blob.type, number, blob);
    state.packs.push(entry);
    state.packNumber.set(id, number);
    entries.push(entry);
  };
  const copy = async (record: number, stored: Buffer, pack: string) => {
    const location = table.location(record);
    let plaintext: Buffer;
    try {
      // The MAC alone proves only that the bytes are what their writer sealed; the hash proves they are the blob.
      plaintext = decodeBlob(repository.key, location.id, { ...location, pack }, stored);
    } catch (error) {
      throw damaged(
        `${(error as Error).message}; prune deleted nothing (new packs it wrote are named by no index): ` +
          "run 'check --read-data' to see which snapshots it damages",
      );
    }
    let sealed = stored;
    if (options.repackUncompressed && location.uncompressedLength === undefined) {
      // Always the compressed form, as restic writes v2 blobs: a blob zstd cannot shrink grows by a few bytes but
      // is not rewritten again by the next prune.
      const frame = compressFrame(plaintext, compressionLevels.auto!);
      sealed = seal(repository.key, frame);
      freeNow(frame);
      location.length = sealed.length;
      location.uncompressedLength = plaintext.length;
      compressed++;
    }
    const target = open[location.type] ?? new StagedPack();
    open[location.type] = target;
    const room = target.add(
      {
        id: location.id,
        type: location.type,
        ...(location.uncompressedLength !== undefined ? { uncompressedLength: location.uncompressedLength } : {}),
      },
      sealed,
    );
    // Only the check needed the plaintext: garbage now, like a resealed copy once it is staged.
    freeNow(plaintext);
    if (sealed !== stored) freeNow(sealed);
    if (target.size >= options.packSize) await finish(location.type);
    await room;
  };
  const copyUsedBlobs = async () => {
    for (const plan of packs) {
      signal?.throwIfAborted();
      // Used blobs in file order, grouped into runs of neighbours read with one request each.
      const used: number[] = [];
      for (let record = plan.first; record < plan.first + plan.count; record++) {
        if (table.has(record, blobFlags.used)) used.push(record);
      }
      used.sort((a, b) => table.location(a).offset - table.location(b).offset);
      const runs: number[][] = [];
      for (const record of used) {
        const run = runs.at(-1);
        const location = table.location(record);
        const last = run ? table.location(run.at(-1)!) : undefined;
        const start = run ? table.location(run[0]!).offset : 0;
        if (
          run &&
          last &&
          last.offset + last.length === location.offset &&
          location.offset + location.length - start <= maxRunBytes
        ) {
          run.push(record);
        } else runs.push([record]);
      }
      const load = (run: number[]) => {
        const first = table.location(run[0]!);
        const end = table.location(run.at(-1)!);
        return repository.storage.load(
          { type: "data", name: plan.id },
          { offset: first.offset, length: end.offset + end.length - first.offset, signal },
        );
      };
      // One run read ahead while the previous one is copied.
      let next = runs.length ? load(runs[0]!) : undefined;
      for (const [i, run] of runs.entries()) {
        const bytes = await next!;
        next = i + 1 < runs.length ? load(runs[i + 1]!) : undefined;
        const base = table.location(run[0]!).offset;
        for (const record of run) {
          const location = table.location(record);
          await copy(record, bytes.subarray(location.offset - base, location.offset - base + location.length), plan.id);
        }
        meter.state.bytesDone += bytes.length;
      }
      meter.state.filesDone++;
    }
  };
  try {
    await copyUsedBlobs();
  } catch (error) {
    // Left open by the failure: their files go (what they held is named by no index).
    for (const pack of Object.values(open)) await pack.discard();
    throw error;
  }
  await finish("data");
  await finish("tree");
  return { packs: entries.length, entries, compressed };
}

/** Writes index files naming every blob of the given packs; returns how many. */
async function writeIndex(
  repository: Repository,
  state: RepositoryState,
  packs: PackEntry[],
  signal: AbortSignal | undefined,
): Promise<number> {
  const writer = new IndexFileWriter(repository, signal);
  for (const pack of packs) {
    const blobs = [];
    for (let record = pack.first; record < pack.first + pack.count; record++) blobs.push(state.table.location(record));
    await writer.add({ id: pack.id, blobs });
  }
  await writer.flush();
  return writer.written;
}

async function removeAll(
  repository: Repository,
  handles: { type: "index" | "data"; name: string }[],
  signal: AbortSignal | undefined,
  onRemoved?: () => void,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < handles.length) {
      signal?.throwIfAborted();
      const handle = handles[next++]!;
      await repository.storage.remove(handle, { signal });
      onRemoved?.();
    }
  };
  await Promise.all(Array.from({ length: Math.min(deleteConcurrency, handles.length) }, worker));
}
