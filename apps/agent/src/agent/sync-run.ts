import { basename, join } from "node:path";
import type { RunAssignment } from "@e3/api/agent-contract";
import type { Policy } from "@e3/api/policy";
import { EngineError, openSyncTarget, prepareStorage, type SyncResult, syncFolder } from "@e3/engine";
import { splitPatterns } from "./backup-run.ts";
import { bandwidthOf, type JobPolicyOptions, readRunPolicy, withJobCommands } from "./job-policy.ts";
import { repositoryLocation } from "./job-repository.ts";
import { type FinalReport, portalProgress, type RunReporter } from "./run-reporter.ts";

// A sync run (engine=sync): each source folder mirrored to the job's bucket/prefix or local folder the way rclone
// does it (copy or sync mode, the job's include/exclude globs in rclone's filter dialect, one shared bandwidth
// limit or timetable, `transfers` parallel uploads). One source folder fills the destination itself; several go
// to a subfolder each, named after the folder. The object cache and the open-uploads journal live in the state
// folder per job, so the next run needs no HEAD per object and an interrupted multipart upload is cleaned up.

/** How many file errors the run's stats keep (every one is in the run's log). */
const errorsInStats = 20;

/** Where each source folder goes: the destination itself for one folder, a subfolder per folder for several. */
function destinations(run: RunAssignment): { source: string; location: string }[] {
  const { location } = repositoryLocation(run.destination);
  const paths = run.source.paths;
  if (paths.length === 0) throw new EngineError("INVALID_ARGUMENT", "the sync job has no source folder; edit the job");
  if (paths.length === 1) return [{ source: paths[0] as string, location }];
  const names = new Map<string, string>();
  return paths.map((source) => {
    const name = basename(source.replace(/[\\/]+$/, "")) || "root";
    const other = names.get(name);
    if (other) {
      throw new EngineError(
        "INVALID_ARGUMENT",
        `${other} and ${source} would both sync to ${name}/; give the job one of them, or folders with different names`,
      );
    }
    names.set(name, source);
    return {
      source,
      location: run.destination.type === "local" ? join(location, name) : `${location.replace(/\/+$/, "")}/${name}`,
    };
  });
}

type Totals = Omit<SyncResult, "plan" | "errors" | "dryRun" | "deletionsSkipped" | "status">;

export async function runSync(
  run: RunAssignment,
  reporter: RunReporter,
  signal: AbortSignal,
  options: JobPolicyOptions & { stateDir: string },
): Promise<FinalReport> {
  const read = readRunPolicy(run, reporter, options);
  if ("report" in read) return read.report;
  return withJobCommands(run, read.policy, reporter, signal, () =>
    syncWithPolicy(run, read.policy, reporter, signal, options.stateDir),
  );
}

async function syncWithPolicy(
  run: RunAssignment,
  policy: Policy,
  reporter: RunReporter,
  signal: AbortSignal,
  stateDir: string,
): Promise<FinalReport> {
  const bwlimit = bandwidthOf(run, policy);
  const targets = destinations(run);
  const { env } = repositoryLocation(run.destination);
  reporter.event(
    run.reclaimed ? "SYNC_RESUMING" : "SYNC_STARTING",
    "info",
    `${policy.syncMode} of ${targets.length} folder(s)`,
    {
      mode: policy.syncMode,
      paths: run.source.paths,
      ...(bwlimit ? { bandwidthLimit: bwlimit } : {}),
    },
  );
  if (run.destination.type === "s3" && run.destination.bucketAutoCreate) {
    // Creates the bucket when it is missing; a sync writes no repository layout.
    const storage = await prepareStorage(repositoryLocation(run.destination).location, env);
    await storage.close().catch(() => {});
  }
  const totals: Totals = {
    filesChecked: 0,
    bytesChecked: 0,
    filesTransferred: 0,
    bytesTransferred: 0,
    mtimesUpdated: 0,
    filesDeleted: 0,
    bytesDeleted: 0,
    elapsedMs: 0,
  };
  const errors: SyncResult["errors"] = [];
  const deletionsSkipped: string[] = [];
  let failed = false;
  for (const { source, location } of targets) {
    const target = openSyncTarget(location, env, { stateDir: join(stateDir, "sync", run.jobId) });
    try {
      reporter.log("info", `syncing ${source} to ${target.description} (${policy.syncMode})`);
      const result = await syncFolder({
        source,
        target,
        mode: policy.syncMode,
        transfers: run.parallelism ?? policy.transfers,
        checkers: policy.checkers,
        ...(bwlimit ? { bwlimit } : {}),
        filter: { include: splitPatterns(run.source.includeGlob), exclude: splitPatterns(run.source.excludeGlob) },
        signal,
        onProgress: (progress) => {
          const portal = portalProgress(progress, "syncing");
          reporter.progress({
            ...portal,
            phase: progress.phase === "checking" ? "checking" : "syncing",
            filesDone: totals.filesTransferred + progress.filesDone,
            ...(progress.currentFiles.length
              ? { currentFiles: progress.currentFiles.slice(0, 16).map((file) => file.slice(0, 4096)) }
              : {}),
          });
        },
        onError: (error) => {
          reporter.log(error.kind === "skipped" ? "warn" : "error", `${error.path}: ${error.message}`, {
            path: error.path,
            kind: error.kind,
            ...(error.code ? { code: error.code } : {}),
          });
        },
      });
      for (const key of Object.keys(totals) as (keyof Totals)[]) totals[key] += result[key];
      errors.push(...result.errors);
      if (result.deletionsSkipped) {
        deletionsSkipped.push(result.deletionsSkipped);
        reporter.log("warn", `${source}: deletions skipped: ${result.deletionsSkipped}`);
      }
      if (result.status === "failed") failed = true;
    } finally {
      await target.close().catch(() => {});
    }
  }
  const skipped = errors.filter((error) => error.kind === "skipped").length;
  const status: FinalReport["status"] = failed
    ? "failed"
    : errors.length > 0 || deletionsSkipped.length
      ? "warning"
      : "success";
  const stats = {
    engine: "sync",
    mode: policy.syncMode,
    ...totals,
    errors: errors.length,
    firstErrors: errors
      .slice(0, errorsInStats)
      .map(({ path, message, kind }) => ({ path: path.slice(0, 1024), message: message.slice(0, 1024), kind })),
    ...(deletionsSkipped.length ? { deletionsSkipped } : {}),
  };
  reporter.event(
    status === "failed" ? "SYNC_FAILED" : "SYNC_COMPLETED",
    status === "success" ? "info" : status === "warning" ? "warn" : "error",
    `transferred ${totals.filesTransferred} files (${totals.bytesTransferred} bytes), ${totals.mtimesUpdated} times updated, ${totals.filesDeleted} deleted` +
      (errors.length ? `; ${errors.length} with errors` : ""),
    {
      filesChecked: totals.filesChecked,
      filesTransferred: totals.filesTransferred,
      bytesTransferred: totals.bytesTransferred,
      filesDeleted: totals.filesDeleted,
      errors: errors.length,
    },
  );
  if (status === "success") return { status, stats };
  return {
    status,
    stats,
    errorCode: failed ? "SYNC_TRANSFER_FAILED" : skipped > 0 ? "SOURCE_UNREADABLE" : "SYNC_INCOMPLETE",
    errorMessage: failed
      ? `${errors.length - skipped} files could not be written to the destination (see the run's log)`
      : skipped > 0
        ? `${skipped} files could not be read and were skipped (see the run's log)`
        : `deletions were skipped: ${deletionsSkipped.join("; ")}`,
  };
}
