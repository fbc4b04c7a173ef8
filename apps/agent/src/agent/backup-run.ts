import { hostname } from "node:os";
import type { RunAssignment } from "@e3/api/agent-contract";
import type { Policy } from "@e3/api/policy";
import { addKey, backup, EngineError, isEngineError, type SnapshotSummary } from "@e3/engine";
import { platformFor } from "../platform/index.ts";
import type { Platform } from "../platform/platform.ts";
import { withBackupSource } from "./backup-source.ts";
import { backupPolicyOptions, type JobPolicyOptions, readRunPolicy, withJobCommands } from "./job-policy.ts";
import { type JobRepository, openJobRepository } from "./job-repository.ts";
import { jobKeysForNewRepository, KeyStoreError, readJobKeys, writeJobKeys } from "./key-store.ts";
import { applyRetention } from "./retention.ts";
import { type FinalReport, type LogLevel, portalProgress, type RunReporter } from "./run-reporter.ts";

// A backup run (engine=backup): the job's repository opened or created with the portal's password, the engine's
// backup() with the job's sources and patterns, its progress, unreadable files and result reported. A cancelled
// run writes no snapshot but leaves its uploaded packs indexed, so a reclaimed or later run does not upload them
// again.

/** The job's glob fields hold one pattern per line (a comma also separates, as the portal's form allows). */
export function splitPatterns(globs: string | null): string[] {
  if (!globs) return [];
  return globs
    .split(/[\n,]/)
    .map((pattern) => pattern.trim())
    .filter((pattern) => pattern.length > 0);
}

function summaryJson(summary: SnapshotSummary): Record<string, unknown> {
  return { ...summary };
}

export type BackupRunOptions = JobPolicyOptions & {
  /** The agent's state folder: the key store of encryption_mode=agent jobs, the record of VSS shadow copies. */
  stateDir?: string;
  /** The platform layer (Windows paths, VSS); the one this process runs on when absent. */
  platform?: Platform;
};

export async function runBackup(
  run: RunAssignment,
  reporter: RunReporter,
  signal: AbortSignal,
  options: BackupRunOptions = {},
): Promise<FinalReport> {
  const read = readRunPolicy(run, reporter, options);
  if ("report" in read) return read.report;
  return withJobCommands(run, read.policy, reporter, signal, () =>
    backupWithPolicy(run, read.policy, reporter, signal, options),
  );
}

async function backupWithPolicy(
  run: RunAssignment,
  policy: Policy,
  reporter: RunReporter,
  signal: AbortSignal,
  { stateDir, platform = platformFor() }: BackupRunOptions,
): Promise<FinalReport> {
  reporter.event(
    run.reclaimed ? "BACKUP_RESUMING" : "BACKUP_STARTING",
    "info",
    run.reclaimed ? "resuming after an agent restart; data already uploaded is reused" : "backup starting",
    { paths: run.source.paths },
  );
  const job = await openRunRepository(run, reporter, stateDir, signal);
  try {
    reporter.log("info", `repository ${job.location} opened`);
    let unreadable = 0;
    const sourceOptions = {
      platform,
      paths: run.source.paths,
      excludes: splitPatterns(run.source.excludeGlob),
      includes: splitPatterns(run.source.includeGlob),
      useVss: policy.useVss,
      stateDir,
      signal,
      log: (level: LogLevel, message: string) => reporter.log(level, message),
    };
    const result = await withBackupSource(sourceOptions, (source) =>
      backup(job.repository, {
        ...source,
        compression: run.compression,
        hostname: hostname(),
        tags: [`e3-job:${run.jobId}`],
        signal,
        ...backupPolicyOptions(policy, run),
        onProgress: (progress) => reporter.progress(portalProgress(progress, "uploading")),
        onError: (error) => {
          unreadable += 1;
          reporter.log("warn", `${error.path}: ${error.message}`, { path: error.path });
        },
      }),
    );
    const { summary } = result;
    const snapshotTime = Date.parse(result.snapshot.time);
    reporter.event("BACKUP_COMPLETED", unreadable > 0 ? "warn" : "info", `snapshot ${result.snapshotId.slice(0, 8)}`, {
      snapshotId: result.snapshotId,
      filesNew: summary.filesNew,
      filesChanged: summary.filesChanged,
      dataAdded: summary.dataAdded,
      unreadable,
    });
    const report: FinalReport = {
      status: unreadable === 0 ? "success" : policy.skipUnreadable ? "warning" : "failed",
      stats: summaryJson(summary),
      snapshot: {
        id: result.snapshotId,
        time: new Date(Number.isNaN(snapshotTime) ? Date.parse(summary.backupEnd) : snapshotTime).toISOString(),
        hostname: result.snapshot.hostname ?? hostname(),
        paths: result.snapshot.paths,
        tags: result.snapshot.tags ?? [],
        fileCount: summary.totalFilesProcessed,
        sizeBytes: summary.totalBytesProcessed,
        addedBytes: summary.dataAddedPacked,
        summary: summaryJson(summary),
      },
    };
    if (unreadable > 0) {
      report.errorCode = "SOURCE_UNREADABLE";
      report.errorMessage = `${unreadable} files or folders could not be read (see the run's log)`;
    }
    if (report.status === "failed") return report;
    // A snapshot was written (success, or warning with unreadable files skipped): the job's retention follows.
    const retention = await applyRetention(job.repository, run.retention, reporter, signal);
    if (retention && "removed" in retention && retention.removed.length > 0) {
      report.forgottenSnapshots = retention.removed;
    }
    if (retention && "error" in retention) {
      report.status = "warning";
      report.errorCode ??= retention.error.code;
      report.errorMessage = report.errorMessage
        ? `${report.errorMessage}; ${retention.error.message}`
        : retention.error.message;
    }
    return report;
  } finally {
    await job.close();
  }
}

/**
 * The job's repository, created on the first run: with the portal's password (managed), or in encryption_mode=agent
 * with a password from the agent's key store, made before the repository so a crash never leaves a repository
 * nobody can open. An agent-mode repository also gets the recovery passphrase as a second key; it is reported once
 * (RECOVERY_KEY_CREATED, which the portal seals on arrival and lets the customer download once).
 */
async function openRunRepository(
  run: RunAssignment,
  reporter: RunReporter,
  stateDir: string | undefined,
  signal: AbortSignal,
): Promise<JobRepository> {
  if (run.repository.encryptionMode === "managed") {
    if (run.repository.password === null) {
      throw new EngineError("WRONG_PASSWORD", "the portal sent no repository password for this managed job");
    }
    return openJobRepository(run.destination, run.repository.password, { create: true, signal });
  }
  if (stateDir === undefined)
    throw new KeyStoreError("encryption_mode=agent needs the agent's state folder for its keys");
  const known = await readJobKeys(stateDir, run.jobId);
  const keys = known ?? (await jobKeysForNewRepository(stateDir, run.jobId));
  let job: JobRepository;
  try {
    job = await openJobRepository(run.destination, keys.password, { create: true, signal });
  } catch (error) {
    if (isEngineError(error, "WRONG_PASSWORD")) {
      throw new KeyStoreError(
        known
          ? "the repository no longer opens with this agent's key; was it replaced? Restore with the recovery passphrase"
          : "the job's repository exists but was made by another machine or with a lost key store; open it with the recovery passphrase or point the job at an empty destination",
      );
    }
    throw error;
  }
  try {
    if (keys.recoveryKeyId === null) {
      const recoveryKeyId = await addKey(job.repository, keys.recoveryPassphrase, { signal });
      Object.assign(keys, { keyId: job.repository.keyId ?? null, recoveryKeyId });
      await writeJobKeys(stateDir, keys);
      reporter.log("info", "agent-held repository key and recovery passphrase created");
    }
    if (keys.recoveryReportedAt === null) {
      // The spool is on disk: once queued, the event reaches the portal even across restarts and outages.
      reporter.event(
        "RECOVERY_KEY_CREATED",
        "info",
        "a recovery passphrase for this job's repository is ready to download",
        {
          keyId: keys.recoveryKeyId,
          passphrase: keys.recoveryPassphrase,
        },
      );
      keys.recoveryReportedAt = new Date().toISOString();
      await writeJobKeys(stateDir, keys);
    }
  } catch (error) {
    await job.close();
    throw error;
  }
  return job;
}
