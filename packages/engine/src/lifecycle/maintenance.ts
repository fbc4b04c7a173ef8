import { EngineError, isEngineError } from "../errors.ts";
import type { Progress, ProgressCallback } from "../progress.ts";
import { lockRepository, removeStaleLocks } from "../repository/lock.ts";
import type { Repository } from "../repository/repository.ts";
import { type CheckReport, checkLocked } from "./check.ts";
import { forgetLocked } from "./forget.ts";
import { type PruneSummary, pruneLocked } from "./prune.ts";
import { mergeIndexFilesLocked } from "./repair-index.ts";
import type { RetentionPolicy } from "./retention.ts";

// The agent's maintenance_quick and maintenance_full commands (seed; engine-reference §4.2 for Kopia's split):
//   quick = remove stale locks, apply the job's retention (forget), merge small index files;
//   full  = quick + prune + check reading a random 5 % of the packs.
// Safe beside other clients backing up to the same repository: everything that deletes runs under restic's
// exclusive lock, which is only granted while no backup holds its shared lock; while one does, maintenance waits
// (up to lockWaitMs) and then declines with REPO_LOCKED. A backup that starts during maintenance is refused its
// lock the same way. The check runs after the exclusive lock is released, under a shared one, so backups may go on.

export type MaintenanceKind = "quick" | "full";

export type MaintenanceOptions = {
  kind: MaintenanceKind;
  /** The job's retention; without it no snapshot is removed. */
  retention?: RetentionPolicy;
  /** Retention considers only this host's snapshots. */
  hostname?: string;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** How long to wait for running backups to release the repository (10 minutes by default). */
  lockWaitMs?: number;
  /** Unused space prune tolerates, in percent (5). */
  maxUnused?: number;
  /** The share of packs the full maintenance's check reads (restic's --read-data-subset; "5%"). */
  readDataSubset?: string;
};

export type MaintenanceSummary = {
  kind: MaintenanceKind;
  snapshotsRemoved: number;
  /** Ids of the snapshots the retention removed. */
  removedSnapshots: string[];
  packsDeleted: number;
  packsRepacked: number;
  bytesFreed: number;
  /** Index files folded together (quick) or replaced by prune's rewritten index (full). */
  indexFilesMerged: number;
  locksRemoved: number;
  /** Full maintenance only. */
  prune?: PruneSummary;
  /** Full maintenance only: why prune refused to touch a damaged repository (the check then says what is lost). */
  pruneRefused?: string;
  /** Full maintenance only: ok false names the damage (the maintenance itself still succeeded). */
  check?: Pick<CheckReport, "ok" | "errorCount" | "errors" | "damaged" | "packsRead" | "bytesRead" | "hints">;
  durationMs: number;
};

const defaultLockWaitMs = 10 * 60_000;

export async function maintain(repository: Repository, options: MaintenanceOptions): Promise<MaintenanceSummary> {
  if (options.kind !== "quick" && options.kind !== "full") {
    throw new EngineError(
      "INVALID_ARGUMENT",
      `maintenance kind must be "quick" or "full", not ${JSON.stringify(options.kind)}`,
    );
  }
  const started = Date.now();
  const { signal } = options;
  const report = (step: string) => (progress: Progress) =>
    options.onProgress?.({ ...progress, phase: `${step}: ${progress.phase}` });
  const announce = (phase: string) =>
    options.onProgress?.({
      phase,
      filesDone: 0,
      filesTotal: 0,
      bytesDone: 0,
      bytesTotal: 0,
      bytesPerSecond: 0,
      elapsedMs: Date.now() - started,
      errors: 0,
    });
  const summary: MaintenanceSummary = {
    kind: options.kind,
    snapshotsRemoved: 0,
    removedSnapshots: [],
    packsDeleted: 0,
    packsRepacked: 0,
    bytesFreed: 0,
    indexFilesMerged: 0,
    locksRemoved: 0,
    durationMs: 0,
  };

  // Stale locks first (restic's unlock needs no lock): a crashed backup's lock would otherwise block us for 30 min.
  announce("removing stale locks");
  summary.locksRemoved = await removeStaleLocks(repository);
  announce("waiting for the exclusive lock");
  const lock = await lockRepository(repository, {
    exclusive: true,
    signal,
    waitMs: options.lockWaitMs ?? defaultLockWaitMs,
  });
  try {
    if (options.retention) {
      announce("forget");
      const { removed } = await forgetLocked(repository, {
        policy: options.retention,
        ...(options.hostname !== undefined ? { hostname: options.hostname } : {}),
        ...(signal ? { signal } : {}),
      });
      summary.removedSnapshots = removed;
      summary.snapshotsRemoved = removed.length;
    }
    if (options.kind === "full") {
      try {
        const pruned = await pruneLocked(repository, {
          ...(options.maxUnused !== undefined ? { maxUnused: options.maxUnused } : {}),
          ...(signal ? { signal } : {}),
          onProgress: report("prune"),
        });
        summary.prune = pruned;
        summary.packsDeleted = pruned.packs.deleted;
        summary.packsRepacked = pruned.packs.repacked;
        summary.bytesFreed = pruned.bytes.freed;
        summary.indexFilesMerged = pruned.indexFiles.removed;
      } catch (error) {
        // A damaged repository is not pruned (nothing was changed); the check below names what is lost.
        if (!isEngineError(error, "REPOSITORY_DAMAGED")) throw error;
        summary.pruneRefused = error.message;
      }
    } else {
      // Prune rewrites the whole index anyway; quick maintenance only folds small files together.
      announce("merging index files");
      summary.indexFilesMerged = (await mergeIndexFilesLocked(repository, { ...(signal ? { signal } : {}) })).merged;
    }
  } finally {
    await lock.release();
  }

  if (options.kind === "full") {
    // Structure and a data sample, beside any backup that starts now (a shared lock).
    const shared = await lockRepository(repository, {
      exclusive: false,
      signal,
      waitMs: options.lockWaitMs ?? defaultLockWaitMs,
    });
    try {
      const checked = await checkLocked(repository, {
        readDataSubset: options.readDataSubset ?? "5%",
        ...(signal ? { signal } : {}),
        onProgress: report("check"),
      });
      summary.check = {
        ok: checked.ok,
        errorCount: checked.errorCount,
        errors: checked.errors.slice(0, 50),
        damaged: checked.damaged,
        packsRead: checked.packsRead,
        bytesRead: checked.bytesRead,
        hints: checked.hints,
      };
    } finally {
      await shared.release();
    }
  }
  summary.durationMs = Date.now() - started;
  return summary;
}
