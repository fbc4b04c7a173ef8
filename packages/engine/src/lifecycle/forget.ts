import { EngineError } from "../errors.ts";
import { withLock } from "../repository/lock.ts";
import { RepositoryReader } from "../repository/reader.ts";
import type { Repository } from "../repository/repository.ts";
import { listSnapshots, type SnapshotWithId } from "../snapshots/browse.ts";
import { planRetention, type RetentionPlan, type RetentionPolicy } from "./retention.ts";

// restic's `forget` with a policy: plan (retention.ts), then remove the snapshot files the plan drops. Only snapshot
// files go; the data they alone referenced stays until a prune. The plan is made under the exclusive lock, from the
// snapshots as they are then, so a backup finishing meanwhile is either planned for or waits.

export type ForgetOptions = {
  policy: RetentionPolicy;
  /** Only this host's snapshots are considered (restic's --host). */
  hostname?: string;
  /** Plan only: nothing is locked or removed. */
  dryRun?: boolean;
  /** Apply a plan that removes every snapshot of some group (keep-tag alone, with no snapshot tagged). */
  force?: boolean;
  /** Which snapshots are in the future; now by default. */
  now?: Date;
  signal?: AbortSignal;
};

export type ForgetResult = { plan: RetentionPlan<SnapshotWithId>; removed: string[] };

async function makePlan(repository: Repository, options: ForgetOptions) {
  const snapshots = await listSnapshots(new RepositoryReader(repository.key, repository.storage), {
    hostname: options.hostname,
  });
  return planRetention(snapshots, options.policy, { now: options.now });
}

export async function forget(
  repository: Repository,
  options: ForgetOptions & { lockWaitMs?: number },
): Promise<ForgetResult> {
  // A preview must work beside a running backup, and reading snapshots needs no lock (restic's --dry-run --no-lock).
  if (options.dryRun) return { plan: await makePlan(repository, options), removed: [] };
  return withLock(repository, { exclusive: true, signal: options.signal, waitMs: options.lockWaitMs ?? 0 }, () =>
    forgetLocked(repository, options),
  );
}

/** forget for a caller that already holds the exclusive lock (maintenance). */
export async function forgetLocked(repository: Repository, options: ForgetOptions): Promise<ForgetResult> {
  const plan = await makePlan(repository, options);
  const emptied = plan.groups.filter((group) => group.removesAll);
  if (emptied.length && !options.force) {
    const names = emptied.map((group) => `${group.hostname || "(no host)"}:${group.paths.join(",")}`).join("; ");
    throw new EngineError(
      "RETENTION_REMOVES_ALL",
      `the policy would remove every snapshot of ${names}; check the keep rules (a keep-tag nothing carries?), ` +
        "or force it (forget --force) if that is really meant",
    );
  }
  const removed: string[] = [];
  for (const snapshot of plan.remove) {
    options.signal?.throwIfAborted();
    await repository.storage.remove({ type: "snapshot", name: snapshot.id }, { signal: options.signal });
    removed.push(snapshot.id);
  }
  return { plan, removed };
}
