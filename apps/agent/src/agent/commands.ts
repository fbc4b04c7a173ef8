import type { AgentCommand, RunProgress } from "@e3/api/agent-contract";
import {
  findSnapshot,
  maintain,
  type Progress,
  RepositoryReader,
  type RestoreSummary,
  restoreSnapshot,
  type TreeSource,
} from "@e3/engine";
import { z } from "zod";
import { platformFor } from "../platform/index.ts";
import type { Platform } from "../platform/platform.ts";
import type { AgentClient } from "./client.ts";
import { openJobRepository } from "./job-repository.ts";
import { jobPassword } from "./key-store.ts";
import { engineRetention } from "./retention.ts";
import { type FinalReport, portalProgress, type RunReporter } from "./run-reporter.ts";

// Commands the idle agent gets from poll_pending_commands. A restore or a maintenance reports through the run the
// portal created for it (seed: restore_run_id) and answers the command with its summary. Kinds this agent cannot do
// yet (mount) are answered at once with a failure that says so, so nothing waits forever.

export const restorePayloadSchema = z.strictObject({
  snapshotId: z.string().regex(/^[0-9a-f]{8,64}$/, "snapshotId must be a snapshot id (hex)"),
  paths: z.array(z.string().min(1)).default([]),
  /** Null restores to the original location. */
  targetPath: z.string().min(1).nullable().default(null),
  overwrite: z.enum(["always", "if-changed", "never"]).default("if-changed"),
});

export type CommandOutcome = { report: FinalReport; result?: Record<string, unknown> };

export type CommandOptions = {
  stateDir: string;
  /** The agent was stopped or killed while doing this command before, and the portal handed it back. */
  resumed?: boolean;
  /** The operating system (the one this process runs on when absent). */
  os?: Platform["os"];
  /** Where a Windows drive's root is (C → C:\); tests put the drives in folders. */
  driveRoot?: (drive: string) => string;
};

export class RestoreTargetError extends Error {
  readonly code = "RESTORE_TARGET_REQUIRED";
}

/**
 * The overwrite policy of a restore that resumes: files the interrupted attempt already wrote are complete (the
 * engine renames a file into place only once it is whole) and match the snapshot, so `always` becomes `if-changed`
 * (each kept file is verified against its blob ids, and anything else is replaced as before); `if-changed` and
 * `never` already keep them.
 */
export function resumedOverwrite(overwrite: RestorePayload["overwrite"]): RestorePayload["overwrite"] {
  return overwrite === "always" ? "if-changed" : overwrite;
}

type RestorePayload = z.infer<typeof restorePayloadSchema>;

/** One restoreSnapshot call: a tree of the snapshot laid out under a folder, optionally only some of its paths. */
type Placement = { tree: string; target: string; include: string[] };

/**
 * A restore to the original location of a Windows snapshot: its tree holds C:\Users as /C/Users, so each drive's
 * folder goes back under that drive's root, with only the selected paths of it (all of it when none are selected).
 */
export async function drivePlacements(
  reader: TreeSource,
  snapshot: { tree: string },
  paths: string[],
  driveRoot: (drive: string) => string,
): Promise<Placement[]> {
  const drives = new Map<string, string>();
  for (const node of await reader.tree(snapshot.tree)) {
    const name = node.name.toString("utf8");
    if (node.type === "dir" && node.subtree && /^[A-Za-z]$/.test(name)) drives.set(name.toUpperCase(), node.subtree);
    else if (paths.length === 0) {
      throw new RestoreTargetError(
        `the snapshot's /${name} is not on a drive, so it has no original location here; restore to a folder instead`,
      );
    }
  }
  const wanted = new Map<string, string[] | "whole drive">();
  for (const path of paths.length > 0 ? paths : [...drives.keys()].map((drive) => `/${drive}`)) {
    const match = /^\/([^/]+)(\/.*)?$/.exec(path);
    const drive = (match?.[1] ?? "").toUpperCase();
    if (!drives.has(drive)) {
      throw new RestoreTargetError(`${path} is not on a drive of this snapshot; restore it to a folder instead`);
    }
    const within = match?.[2] ?? "/";
    const sofar = wanted.get(drive) ?? [];
    wanted.set(drive, within === "/" || sofar === "whole drive" ? "whole drive" : [...sofar, within]);
  }
  return [...wanted].map(([drive, include]) => ({
    tree: drives.get(drive)!,
    target: driveRoot(drive),
    include: include === "whole drive" ? [] : include,
  }));
}

function addSummaries(total: RestoreSummary | null, next: RestoreSummary): RestoreSummary {
  if (!total) return next;
  const sum = { ...total };
  for (const key of Object.keys(sum) as (keyof RestoreSummary)[]) sum[key] += next[key];
  return sum;
}

export async function runRestore(
  command: AgentCommand,
  reporter: RunReporter | null,
  signal: AbortSignal,
  { stateDir, resumed = false, os = platformFor().os, driveRoot = (drive) => `${drive}:\\` }: CommandOptions,
): Promise<CommandOutcome> {
  const payload = restorePayloadSchema.parse(command.payload);
  if (!command.job) throw new Error("the restore command carries no job; the job may have been deleted");
  const password = await jobPassword(stateDir, command.job);
  const toDrives = payload.targetPath === null && os === "windows";
  const target = toDrives ? "the original location" : (payload.targetPath ?? "/");
  const overwrite = resumed ? resumedOverwrite(payload.overwrite) : payload.overwrite;
  reporter?.event(
    resumed ? "RESTORE_RESUMING" : "RESTORE_STARTING",
    "info",
    resumed
      ? `resuming the restore of snapshot ${payload.snapshotId.slice(0, 8)} to ${target} after the agent restarted; files already restored and verified are kept`
      : `restoring snapshot ${payload.snapshotId.slice(0, 8)} to ${target}`,
    { snapshotId: payload.snapshotId, paths: payload.paths, target, ...(resumed ? { overwrite } : {}) },
  );
  const job = await openJobRepository(command.job.destination, password, { create: false, signal });
  try {
    const reader = new RepositoryReader(job.repository.key, job.repository.storage);
    const snapshot = await findSnapshot(reader, payload.snapshotId);
    const placements = toDrives
      ? await drivePlacements(reader, snapshot, payload.paths, driveRoot)
      : [{ tree: snapshot.tree, target, include: payload.paths }];
    let failures = 0;
    let summary: RestoreSummary | null = null;
    for (const placement of placements) {
      const placed = await restoreSnapshot(job.repository, placement, {
        target: placement.target,
        ...(placement.include.length > 0 ? { include: placement.include } : {}),
        overwrite,
        // What the interrupted attempt left under temporary names in the folders it was filling.
        ...(resumed ? { removeLeftovers: true } : {}),
        signal,
        onProgress: (progress) => reporter?.progress(portalProgress(progress, "restoring")),
        onError: (error) => {
          failures += 1;
          reporter?.log("error", `${error.path}: ${error.message}`, { path: error.path });
        },
      });
      summary = addSummaries(summary, placed);
    }
    const result = { snapshotId: snapshot.id, target, ...summary! };
    reporter?.event(
      failures > 0 ? "RESTORE_FAILED" : "RESTORE_COMPLETED",
      failures > 0 ? "error" : "info",
      `restored ${result.filesRestored} files to ${target}${failures > 0 ? `; ${failures} could not be restored` : ""}`,
      result,
    );
    return {
      report:
        failures > 0
          ? {
              status: "failed",
              stats: result,
              errorCode: "RESTORE_INCOMPLETE",
              errorMessage: `${failures} files could not be restored (see the run's log)`,
            }
          : { status: "success", stats: result },
      result,
    };
  } finally {
    await job.close();
  }
}

export const maintenancePayloadSchema = z.object({
  /** The job's retention when the command was queued; the job's current one when absent. */
  retention: z.unknown().optional(),
});

const maintenancePhases: [RegExp, RunProgress["phase"]][] = [
  [/^check/, "checking"],
  [/^(prune|forget|merging)/, "pruning"],
];

/** Minimum time between MAINTENANCE_PROGRESS events (each phase change is one, at most this often). */
const maintenanceEventMs = 2000;

/**
 * maintenance_quick (stale locks, retention, index merge) or maintenance_full (quick + prune + a 5 % data check) on
 * the job's repository. A check that finds damage fails the run with REPOSITORY_DAMAGED and the damage in stats.
 */
export async function runMaintenance(
  command: AgentCommand,
  reporter: RunReporter | null,
  signal: AbortSignal,
  { stateDir, resumed = false }: CommandOptions,
): Promise<CommandOutcome> {
  const kind = command.type === "maintenance_full" ? "full" : "quick";
  if (!command.job) throw new Error("the maintenance command carries no job; the job may have been deleted");
  const payload = maintenancePayloadSchema.parse(command.payload ?? {});
  const retention = engineRetention(payload.retention !== undefined ? payload.retention : command.job.retention);
  const password = await jobPassword(stateDir, command.job);
  // A resumed maintenance runs again from the start: the interrupted attempt's lock is stale (its process is gone),
  // maintain removes it first, and every step is safe to repeat after a crash (test/prune-crash kills prunes).
  reporter?.event(
    resumed ? "MAINTENANCE_RESUMING" : "MAINTENANCE_STARTING",
    "info",
    resumed ? `${kind} maintenance runs again after the agent restarted` : `${kind} maintenance starting`,
    { kind, retention: retention !== null },
  );
  const job = await openJobRepository(command.job.destination, password, { create: false, signal });
  try {
    let lastPhase = "";
    let lastEvent = 0;
    const summary = await maintain(job.repository, {
      kind,
      ...(retention ? { retention } : {}),
      signal,
      onProgress: (progress: Progress) => {
        const phase = maintenancePhases.find(([pattern]) => pattern.test(progress.phase))?.[1] ?? "finalizing";
        reporter?.progress({ ...portalProgress(progress, phase), phase });
        const step = progress.phase.split(":")[0] ?? progress.phase;
        if (step !== lastPhase && Date.now() - lastEvent >= maintenanceEventMs) {
          lastPhase = step;
          lastEvent = Date.now();
          reporter?.event("MAINTENANCE_PROGRESS", "info", step, { step });
        }
      },
    });
    const stats = { ...summary } as Record<string, unknown>;
    const damaged = summary.check && !summary.check.ok;
    const message =
      `${kind} maintenance: ${summary.snapshotsRemoved} snapshots removed, ${summary.packsDeleted} packs deleted, ` +
      `${summary.bytesFreed} bytes freed` +
      (summary.check
        ? `, check ${summary.check.ok ? "found no errors" : `found ${summary.check.errorCount} errors`}`
        : "");
    reporter?.event(damaged ? "MAINTENANCE_FAILED" : "MAINTENANCE_COMPLETED", damaged ? "error" : "info", message, {
      kind,
      snapshotsRemoved: summary.snapshotsRemoved,
      packsDeleted: summary.packsDeleted,
      bytesFreed: summary.bytesFreed,
      ...(summary.check ? { checkOk: summary.check.ok } : {}),
    });
    const forgotten = summary.removedSnapshots.length ? { forgottenSnapshots: summary.removedSnapshots } : {};
    const result = { kind, snapshotsRemoved: summary.snapshotsRemoved, bytesFreed: summary.bytesFreed };
    if (damaged) {
      return {
        report: {
          status: "failed",
          stats,
          ...forgotten,
          errorCode: "REPOSITORY_DAMAGED",
          errorMessage: `the check found damage in the repository: ${(summary.check?.errors ?? [])
            .slice(0, 3)
            .map((problem) => problem.message)
            .join("; ")}`.slice(0, 10_000),
        },
        result,
      };
    }
    return { report: { status: "success", stats, ...forgotten }, result };
  } finally {
    await job.close();
  }
}

/** Answers a command of a kind this agent does not do yet, and fails the run that waits for it. */
export async function refuseCommand(client: AgentClient, command: AgentCommand): Promise<void> {
  const message = `e3-backup-agent does not support ${command.type} commands yet; update the agent`;
  await client.call("complete_command", { commandId: command.commandId, status: "failed", errorMessage: message });
  if (command.runId) {
    await client.call("update_run", {
      runId: command.runId,
      status: "failed",
      errorCode: "NOT_SUPPORTED",
      errorMessage: message,
    });
  }
}
