import { hostname } from "node:os";
import type { RunAssignment } from "@e3/api/agent-contract";
import type { Policy } from "@e3/api/policy";
import { backup, type SnapshotSummary } from "@e3/engine";
import { backupPolicyOptions, type JobPolicyOptions, readRunPolicy, withJobCommands } from "./job-policy.ts";
import { openJobRepository } from "./job-repository.ts";
import { type FinalReport, portalProgress, type RunReporter } from "./run-reporter.ts";

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

export async function runBackup(
  run: RunAssignment,
  reporter: RunReporter,
  signal: AbortSignal,
  options: JobPolicyOptions = {},
): Promise<FinalReport> {
  if (run.engine === "sync") {
    reporter.event("SYNC_FAILED", "error", "the sync engine is not supported by this agent version yet");
    return {
      status: "failed",
      errorCode: "NOT_SUPPORTED",
      errorMessage: "this agent cannot run sync jobs yet; update the agent",
    };
  }
  const password = run.repository.password;
  if (password === null) {
    reporter.event("BACKUP_FAILED", "error", "agent-held repository keys are not supported yet");
    return {
      status: "failed",
      errorCode: "NOT_SUPPORTED",
      errorMessage: "encryption_mode=agent is not supported by this agent yet; use managed encryption for the job",
    };
  }
  const read = readRunPolicy(run, reporter, options);
  if ("report" in read) return read.report;
  return withJobCommands(run, read.policy, reporter, signal, () =>
    backupWithPolicy(run, read.policy, password, reporter, signal),
  );
}

async function backupWithPolicy(
  run: RunAssignment,
  policy: Policy,
  password: string,
  reporter: RunReporter,
  signal: AbortSignal,
): Promise<FinalReport> {
  reporter.event(
    run.reclaimed ? "BACKUP_RESUMING" : "BACKUP_STARTING",
    "info",
    run.reclaimed ? "resuming after an agent restart; data already uploaded is reused" : "backup starting",
    { paths: run.source.paths },
  );
  const job = await openJobRepository(run.destination, password, { create: true, signal });
  try {
    reporter.log("info", `repository ${job.location} opened`);
    let unreadable = 0;
    const result = await backup(job.repository, {
      paths: run.source.paths,
      excludes: splitPatterns(run.source.excludeGlob),
      includes: splitPatterns(run.source.includeGlob),
      compression: run.compression,
      hostname: hostname(),
      tags: [`e3-job:${run.jobId}`],
      signal,
      ...backupPolicyOptions(policy, run.parallelism),
      onProgress: (progress) => reporter.progress(portalProgress(progress, "uploading")),
      onError: (error) => {
        unreadable += 1;
        reporter.log("warn", `${error.path}: ${error.message}`, { path: error.path });
      },
    });
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
    return report;
  } finally {
    await job.close();
  }
}
