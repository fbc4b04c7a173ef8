import { spawn } from "node:child_process";
import type { RunAssignment } from "@e3/api/agent-contract";
import { type CommandHook, type Policy, parseRunPolicy } from "@e3/api/policy";
import type { BackupOptions } from "@e3/engine";
import { z } from "zod";
import type { FinalReport, RunReporter } from "./run-reporter.ts";

// A job's policy on the agent: read with the portal's own schema, turned into the engine's backup options, and its
// pre/post commands run around the backup, only where this machine's agent.conf sets allowJobCommands (the portal
// alone can never make an agent run a command). Command lines are never logged (they may hold credentials); their
// output's last lines are.

export type JobPolicyOptions = {
  /** agent.conf's allowJobCommands: whether jobs may run their pre/post commands here. */
  allowJobCommands?: boolean;
};

/** The policy of a run, or the failed report that says why it cannot be applied. */
export function readRunPolicy(
  run: RunAssignment,
  reporter: RunReporter,
  options: JobPolicyOptions,
): { policy: Policy } | { report: FinalReport } {
  let policy: Policy;
  try {
    const parsed = parseRunPolicy(run.policy);
    policy = parsed.policy;
    if (parsed.unknownFields.length > 0) {
      reporter.log("warn", `the job's policy has fields this agent does not know and ignores (update the agent)`, {
        fields: parsed.unknownFields,
      });
    }
  } catch (error) {
    const problems =
      error instanceof z.ZodError
        ? error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")
        : String(error);
    reporter.event("BACKUP_FAILED", "error", `the job's policy is not valid: ${problems}`);
    return {
      report: {
        status: "failed",
        errorCode: "INVALID_POLICY",
        errorMessage: `the job's policy is not valid (${problems})`,
      },
    };
  }
  if ((policy.preCommand || policy.postCommand) && !options.allowJobCommands) {
    const message =
      'the job has pre/post commands but this agent does not allow them; set "allowJobCommands": true in the agent\'s agent.conf on that machine, or remove the commands from the job';
    reporter.event("BACKUP_FAILED", "error", message);
    return { report: { status: "failed", errorCode: "COMMANDS_NOT_ALLOWED", errorMessage: message } };
  }
  return { policy };
}

/**
 * rclone's --bwlimit for the job (a sync's --bwlimit, a backup's upload limit): the policy's timetable, else the limit in KiB/s (rclone's default unit) — the
 * local-network limit for a folder destination when the job sets one.
 */
export function bandwidthOf(
  run: Pick<RunAssignment, "destination" | "bandwidthLimitKbps" | "localBandwidthLimitKbps">,
  policy: Pick<Policy, "bandwidthTimetable">,
): string | undefined {
  if (policy.bandwidthTimetable) return policy.bandwidthTimetable;
  const limit =
    run.destination.type === "local" ? (run.localBandwidthLimitKbps ?? run.bandwidthLimitKbps) : run.bandwidthLimitKbps;
  return limit ? `${limit}K` : undefined;
}

/**
 * The engine's backup options for the job: its policy (the job-level parallelism when the policy sets no read
 * concurrency) and its bandwidth limit or timetable for the uploads.
 */
export function backupPolicyOptions(
  policy: Policy,
  run: Pick<RunAssignment, "parallelism" | "destination" | "bandwidthLimitKbps" | "localBandwidthLimitKbps">,
): Pick<
  BackupOptions,
  | "excludeCaches"
  | "excludeLargerThan"
  | "oneFileSystem"
  | "failOnUnreadable"
  | "packSize"
  | "fileConcurrency"
  | "uploadLimit"
> {
  const concurrency = policy.readConcurrency ?? run.parallelism ?? undefined;
  const uploadLimit = bandwidthOf(run, policy);
  return {
    excludeCaches: policy.excludeCaches,
    oneFileSystem: policy.oneFileSystem,
    failOnUnreadable: !policy.skipUnreadable,
    packSize: policy.packSizeMiB * 1024 * 1024,
    ...(policy.excludeLargerThanBytes === undefined ? {} : { excludeLargerThan: policy.excludeLargerThanBytes }),
    ...(concurrency ? { fileConcurrency: concurrency } : {}),
    ...(uploadLimit ? { uploadLimit } : {}),
  };
}

export type CommandOutcome = { ok: boolean; exitCode: number | null; timedOut: boolean; output: string };

const outputKept = 8 * 1024;

/** The agent's environment without anything that looks like a secret, plus the run's own variables. */
function commandEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/PASSWORD|SECRET|TOKEN|CREDENTIAL/i.test(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

/**
 * Runs one command through the system shell, killed (with everything it started, on Unix) after its timeout or
 * when `signal` aborts; resolves with its exit and the last 8 KiB of its output, never rejects for the command's
 * own failure.
 */
export function runJobCommand(
  hook: CommandHook,
  options: { env: Record<string, string>; signal?: AbortSignal; cwd?: string },
): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    const unix = process.platform !== "win32";
    const child = spawn(hook.command, {
      shell: true,
      detached: unix,
      stdio: ["ignore", "pipe", "pipe"],
      env: commandEnvironment(options.env),
      ...(options.cwd ? { cwd: options.cwd } : {}),
      windowsHide: true,
    });
    let output = "";
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-outputKept);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const kill = () => {
      const signalGroup = (name: NodeJS.Signals) => {
        try {
          if (unix && child.pid) process.kill(-child.pid, name);
          else child.kill(name);
        } catch {}
      };
      signalGroup("SIGTERM");
      killTimer = setTimeout(() => signalGroup("SIGKILL"), 5000);
      killTimer.unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, hook.timeoutSeconds * 1000);
    options.signal?.addEventListener("abort", kill, { once: true });
    const done = (exitCode: number | null, extra = "") => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      options.signal?.removeEventListener("abort", kill);
      resolve({ ok: exitCode === 0 && !timedOut, exitCode, timedOut, output: (output + extra).slice(-outputKept) });
    };
    child.on("error", (error) => done(null, `\n${error.message}`));
    child.on("close", (code) => done(code));
  });
}

function describe(outcome: CommandOutcome, hook: CommandHook): string {
  if (outcome.timedOut) return `timed out after ${hook.timeoutSeconds} s and was stopped`;
  return outcome.exitCode === null ? "could not be started" : `exited with status ${outcome.exitCode}`;
}

function logOutput(reporter: RunReporter, which: string, outcome: CommandOutcome): void {
  const lines = outcome.output.split(/\r?\n/).filter((line) => line.trim() !== "");
  for (const line of lines.slice(-50)) reporter.log(outcome.ok ? "info" : "warn", `${which}: ${line}`);
}

/**
 * The backup between the policy's commands: a pre-command that fails or times out fails the run before anything is
 * read; the post-command runs after the backup whatever its outcome (with its own timeout, also after a cancel, so
 * it can undo what the pre-command did) and turns a successful run into a warning when it fails.
 */
export async function withJobCommands(
  run: RunAssignment,
  policy: Policy,
  reporter: RunReporter,
  signal: AbortSignal,
  backup: () => Promise<FinalReport>,
): Promise<FinalReport> {
  const env = { E3_JOB_ID: run.jobId, E3_RUN_ID: run.runId, E3_SOURCE_PATHS: run.source.paths.join("\n") };
  const { preCommand, postCommand } = policy;
  if (preCommand) {
    reporter.event(
      "PRE_COMMAND_STARTING",
      "info",
      `running the job's pre-command (timeout ${preCommand.timeoutSeconds} s)`,
    );
    const outcome = await runJobCommand(preCommand, { env: { ...env, E3_HOOK: "pre" }, signal });
    logOutput(reporter, "pre-command", outcome);
    if (!outcome.ok) {
      signal.throwIfAborted();
      const message = `the pre-command ${describe(outcome, preCommand)}; the backup did not start (see the run's log)`;
      reporter.event("PRE_COMMAND_FAILED", "error", message, {
        exitCode: outcome.exitCode,
        timedOut: outcome.timedOut,
      });
      return { status: "failed", errorCode: "PRE_COMMAND_FAILED", errorMessage: message };
    }
    reporter.event("PRE_COMMAND_COMPLETED", "info", "the pre-command succeeded");
  }
  if (!postCommand) return backup();
  let report: FinalReport | undefined;
  let failure: unknown;
  try {
    report = await backup();
  } catch (error) {
    failure = error;
  }
  const status = report?.status ?? (signal.aborted ? "cancelled" : "failed");
  reporter.event(
    "POST_COMMAND_STARTING",
    "info",
    `running the job's post-command (timeout ${postCommand.timeoutSeconds} s)`,
  );
  const outcome = await runJobCommand(postCommand, {
    env: { ...env, E3_HOOK: "post", E3_BACKUP_STATUS: status, E3_SNAPSHOT_ID: report?.snapshot?.id ?? "" },
  });
  logOutput(reporter, "post-command", outcome);
  if (outcome.ok) reporter.event("POST_COMMAND_COMPLETED", "info", "the post-command succeeded");
  else {
    reporter.event(
      "POST_COMMAND_FAILED",
      "warn",
      `the post-command ${describe(outcome, postCommand)} (see the run's log)`,
      {
        exitCode: outcome.exitCode,
        timedOut: outcome.timedOut,
      },
    );
  }
  if (!report) throw failure;
  if (!outcome.ok && report.status === "success") {
    return {
      ...report,
      status: "warning",
      errorCode: "POST_COMMAND_FAILED",
      errorMessage: `the backup succeeded but the post-command ${describe(outcome, postCommand)}`,
    };
  }
  return report;
}
