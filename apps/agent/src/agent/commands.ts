import type { AgentCommand } from "@e3/api/agent-contract";
import { findSnapshot, RepositoryReader, restoreSnapshot } from "@e3/engine";
import { z } from "zod";
import type { AgentClient } from "./client.ts";
import { openJobRepository } from "./job-repository.ts";
import { type FinalReport, portalProgress, type RunReporter } from "./run-reporter.ts";

// Commands the idle agent gets from poll_pending_commands. A restore reports through the run the portal created for
// it (seed: restore_run_id) and answers the command with its summary. Kinds this agent cannot do yet are answered
// at once with a failure that says so, and their run (maintenance has one) is failed, so nothing waits forever.

export const restorePayloadSchema = z.strictObject({
  snapshotId: z.string().regex(/^[0-9a-f]{8,64}$/, "snapshotId must be a snapshot id (hex)"),
  paths: z.array(z.string().min(1)).default([]),
  /** Null restores to the original location. */
  targetPath: z.string().min(1).nullable().default(null),
  overwrite: z.enum(["always", "if-changed", "never"]).default("if-changed"),
});

export type CommandOutcome = { report: FinalReport; result?: Record<string, unknown> };

export async function runRestore(
  command: AgentCommand,
  reporter: RunReporter | null,
  signal: AbortSignal,
): Promise<CommandOutcome> {
  const payload = restorePayloadSchema.parse(command.payload);
  if (!command.job) throw new Error("the restore command carries no job; the job may have been deleted");
  const password = command.job.repository.password;
  if (password === null) {
    return {
      report: {
        status: "failed",
        errorCode: "NOT_SUPPORTED",
        errorMessage: "encryption_mode=agent is not supported by this agent yet",
      },
    };
  }
  const target = payload.targetPath ?? "/";
  reporter?.event("RESTORE_STARTING", "info", `restoring snapshot ${payload.snapshotId.slice(0, 8)} to ${target}`, {
    snapshotId: payload.snapshotId,
    paths: payload.paths,
    target,
  });
  const job = await openJobRepository(command.job.destination, password, { create: false, signal });
  try {
    const reader = new RepositoryReader(job.repository.key, job.repository.storage);
    const snapshot = await findSnapshot(reader, payload.snapshotId);
    let failures = 0;
    const summary = await restoreSnapshot(job.repository, snapshot, {
      target,
      ...(payload.paths.length > 0 ? { include: payload.paths } : {}),
      overwrite: payload.overwrite,
      signal,
      onProgress: (progress) => reporter?.progress(portalProgress(progress, "restoring")),
      onError: (error) => {
        failures += 1;
        reporter?.log("error", `${error.path}: ${error.message}`, { path: error.path });
      },
    });
    const result = { snapshotId: snapshot.id, target, ...summary };
    reporter?.event(
      failures > 0 ? "RESTORE_FAILED" : "RESTORE_COMPLETED",
      failures > 0 ? "error" : "info",
      `restored ${summary.filesRestored} files to ${target}${failures > 0 ? `; ${failures} could not be restored` : ""}`,
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
