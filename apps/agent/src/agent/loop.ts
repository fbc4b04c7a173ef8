import { existsSync } from "node:fs";
import { hostname } from "node:os";
import type { AgentCommand, RunAssignment } from "@e3/api/agent-contract";
import type { AgentStatus } from "../status-page/agent-status.ts";
import { type BackoffPolicy, defaultBackoff, nextPollDelay } from "./backoff.ts";
import { runBackup } from "./backup-run.ts";
import { BrowseCache, BrowseError, runBrowse } from "./browse.ts";
import { AgentApiError, AgentClient, isServerUnavailable } from "./client.ts";
import { type CommandOutcome, refuseCommand, runMaintenance, runRestore } from "./commands.ts";
import type { AgentConfig } from "./config.ts";
import { type FinalReport, RunReporter, recoverRuns, runFolder, sleep } from "./run-reporter.ts";
import { runSync } from "./sync-run.ts";

// The agent in the foreground: ask for a run (next_run claims a queued one or hands back our own interrupted one),
// run it to its end, and when there is none, do the pending commands; then wait the poll interval (with jitter), or
// longer and longer while the portal is unreachable. Only a refused identity (401/403) stops the loop: the agent must
// be enrolled again.

export type LoopOptions = {
  config: AgentConfig;
  stateDir: string;
  pollSeconds: number;
  version: string;
  /** Aborted when the agent shuts down (SIGTERM/Ctrl-C): a run in progress stops and is reclaimed after a restart. */
  signal: AbortSignal;
  say: (line: string) => void;
  /** What the local status page shows, kept up to date when given. */
  status?: AgentStatus;
};

/** Why a run stopped on a cancel request, told apart from a shutdown of the agent. */
class RunCancelled extends Error {
  readonly code = "RUN_CANCELLED";
}

function errorCodeOf(error: unknown, fallback: string): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && /^[A-Z][A-Z0-9_]{1,63}$/.test(code) ? code : fallback;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** After a browse, the portal's user is clicking through folders: poll this often for a while. */
const browseSession = { pollMs: 1000, lastsMs: 60_000 };
/** While a run or a restore is in progress, browse commands are fetched this often on the side. */
const busyBrowsePollMs = 2000;

type Context = LoopOptions & { client: AgentClient; browse: BrowseResponder };

export async function runAgentLoop(options: LoopOptions): Promise<void> {
  const { config, signal, say } = options;
  const client = new AgentClient(config.server, { agentId: config.agentId, agentToken: config.agentToken });
  const policy: BackoffPolicy = { intervalMs: options.pollSeconds * 1000, ...defaultBackoff };
  const host = hostname();
  const browse = new BrowseResponder(client, options);
  const context: Context = { ...options, client, browse };
  let failures = 0;
  say(`agent ${config.agentId} polling ${config.server} every ~${options.pollSeconds} s`);
  try {
    while (!signal.aborted) {
      let busy = false;
      try {
        await recoverRuns(client, options.stateDir, say);
        const { run } = await client.call("next_run", { hostname: host.slice(0, 255), version: options.version });
        if (run) {
          busy = true;
          await browse.meanwhile(() => executeRun(client, run, options));
        } else {
          const { commands } = await client.call("poll_pending_commands", {});
          for (const command of commands) {
            if (signal.aborted) break;
            if (command.type === "browse") {
              await browse.answer(command);
              continue;
            }
            busy = true;
            // The portal delivers a command once: one that fails must not cost the others of the batch.
            await browse
              .meanwhile(() => executeCommand(context, command))
              .catch((error: unknown) => {
                say(`command ${command.commandId} (${command.type}) could not be answered: ${messageOf(error)}`);
              });
          }
        }
        if (failures > 0) say("the portal is reachable again");
        failures = 0;
        options.status?.connected();
      } catch (error) {
        if (error instanceof AgentApiError && (error.status === 401 || error.status === 403)) {
          options.status?.unreachable(error.message, true);
          throw new AgentApiError(
            error.status,
            error.code,
            `the portal refused this agent's identity (${error.message}); enroll it again with 'e3-backup-agent enroll'`,
          );
        }
        if (signal.aborted) break;
        failures += 1;
        say(`${isServerUnavailable(error) ? "portal unreachable" : "poll failed"}: ${messageOf(error)}`);
        options.status?.unreachable(messageOf(error));
      }
      if (!busy || failures > 0) {
        const delay = nextPollDelay(policy, failures);
        await sleep(failures === 0 && browse.inSession() ? Math.min(delay, browseSession.pollMs) : delay, signal);
      }
    }
  } finally {
    await browse.close();
  }
}

/**
 * Answers browse commands: inline when the agent is idle, and on the side (polling for browse commands alone)
 * while a run or a restore keeps the main loop busy, so the portal's pickers never wait for a backup to end.
 */
class BrowseResponder {
  readonly #client: AgentClient;
  readonly #options: LoopOptions;
  readonly #cache = new BrowseCache();
  #lastBrowse = 0;

  constructor(client: AgentClient, options: LoopOptions) {
    this.#client = client;
    this.#options = options;
  }

  inSession(): boolean {
    return Date.now() - this.#lastBrowse < browseSession.lastsMs;
  }

  async answer(command: AgentCommand): Promise<void> {
    this.#lastBrowse = Date.now();
    const { say, stateDir, signal } = this.#options;
    try {
      const result = await runBrowse(command, { stateDir, cache: this.#cache, signal });
      await this.#client.call("complete_command", { commandId: command.commandId, status: "completed", result });
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof AgentApiError || isServerUnavailable(error)) {
        say(`browse ${command.commandId} could not be answered: ${messageOf(error)}`);
        return;
      }
      const code = error instanceof BrowseError ? error.code : errorCodeOf(error, "BROWSE_FAILED");
      await this.#client
        .call("complete_command", {
          commandId: command.commandId,
          status: "failed",
          result: { errorCode: code },
          errorMessage: messageOf(error).slice(0, 10_000),
        })
        .catch((failure: unknown) => say(`browse ${command.commandId} could not be answered: ${messageOf(failure)}`));
    }
    this.#lastBrowse = Date.now();
  }

  /** Runs `work` while answering browse commands on the side. */
  async meanwhile<T>(work: () => Promise<T>): Promise<T> {
    const done = new AbortController();
    const side = (async () => {
      while (!done.signal.aborted && !this.#options.signal.aborted) {
        await sleep(this.inSession() ? browseSession.pollMs : busyBrowsePollMs, done.signal);
        if (done.signal.aborted) break;
        try {
          const { commands } = await this.#client.call("poll_pending_commands", { types: ["browse"] }, done.signal);
          for (const command of commands) await this.answer(command);
        } catch {
          // The run's own reports notice an unreachable portal; this poll simply tries again.
        }
      }
    })();
    try {
      return await work();
    } finally {
      done.abort();
      await side;
    }
  }

  close(): Promise<void> {
    return this.#cache.close();
  }
}

async function executeRun(client: AgentClient, run: RunAssignment, options: LoopOptions): Promise<void> {
  const { say, signal } = options;
  say(`${run.reclaimed ? "resuming" : "starting"} ${run.runType} run ${run.runId} of job "${run.jobName}"`);
  const cancel = new AbortController();
  const stop = () => cancel.abort(signal.reason);
  signal.addEventListener("abort", stop, { once: true });
  const reporter = await RunReporter.open({
    client,
    stateDir: options.stateDir,
    runId: run.runId,
    heartbeatSeconds: run.heartbeatSeconds,
    onCancel: (reason) => {
      if (!cancel.signal.aborted) say(`run ${run.runId}: ${reason}`);
      cancel.abort(new RunCancelled(reason));
    },
  });
  options.status?.runStarted(run, () => reporter.lastProgress);
  try {
    await reporter.start();
    let report: FinalReport;
    try {
      const jobOptions = { allowJobCommands: options.config.allowJobCommands, stateDir: options.stateDir };
      report =
        run.engine === "sync"
          ? await runSync(run, reporter, cancel.signal, jobOptions)
          : await runBackup(run, reporter, cancel.signal, jobOptions);
    } catch (error) {
      if (signal.aborted) {
        reporter.log("warn", "the agent is shutting down; the run resumes when it starts again");
        await reporter.suspend();
        return;
      }
      report = failure(error, cancel.signal, reporter, run.engine === "sync" ? "SYNC" : "BACKUP");
    }
    say(`run ${run.runId} ended ${report.status}${report.errorMessage ? `: ${report.errorMessage}` : ""}`);
    await reporter.finish(report, signal);
    options.status?.runEnded(run.runId, report.status, report.errorMessage);
  } finally {
    options.status?.runEnded(run.runId, "suspended");
    signal.removeEventListener("abort", stop);
  }
}

/** The final report of a run that threw: cancelled when a cancel request stopped it, failed otherwise. */
function failure(error: unknown, cancelled: AbortSignal, reporter: RunReporter, prefix: string): FinalReport {
  if (cancelled.aborted && cancelled.reason instanceof RunCancelled) {
    reporter.event(`${prefix}_CANCELLED`, "warn", cancelled.reason.message);
    return { status: "cancelled", errorCode: "CANCELLED", errorMessage: cancelled.reason.message };
  }
  const code = errorCodeOf(error, `${prefix}_FAILED`);
  reporter.event(`${prefix}_FAILED`, "error", messageOf(error), { code });
  return { status: "failed", errorCode: code, errorMessage: messageOf(error).slice(0, 10_000) };
}

async function executeCommand(options: Context, command: AgentCommand): Promise<void> {
  const { say, signal, client } = options;
  say(`command ${command.commandId}: ${command.type}`);
  const work =
    command.type === "restore"
      ? { run: runRestore, prefix: "RESTORE" }
      : command.type === "maintenance_quick" || command.type === "maintenance_full"
        ? { run: runMaintenance, prefix: "MAINTENANCE" }
        : null;
  if (!work) {
    await refuseCommand(client, command);
    return;
  }
  // The run's folder outlives an agent killed or stopped mid-command: the portal handed back a command this agent
  // was working on (poll_pending_commands reclaims it after the grace), and the work resumes.
  const resumed = command.runId !== null && existsSync(runFolder(options.stateDir, command.runId));
  if (resumed) say(`command ${command.commandId}: resuming ${command.type} run ${command.runId}`);
  await client.call("complete_command", { commandId: command.commandId, status: "running" });
  const cancel = new AbortController();
  const stop = () => cancel.abort(signal.reason);
  signal.addEventListener("abort", stop, { once: true });
  const reporter = command.runId
    ? await RunReporter.open({
        client,
        stateDir: options.stateDir,
        runId: command.runId,
        // Restore and maintenance runs follow the same heartbeat rule as backups.
        heartbeatSeconds: 30,
        onCancel: (reason) => cancel.abort(new RunCancelled(reason)),
      })
    : null;
  try {
    await reporter?.start();
    let outcome: CommandOutcome;
    try {
      outcome = await work.run(command, reporter, cancel.signal, { stateDir: options.stateDir, resumed });
    } catch (error) {
      if (signal.aborted) {
        await reporter?.suspend();
        return;
      }
      outcome = reporter
        ? { report: failure(error, cancel.signal, reporter, work.prefix) }
        : { report: { status: "failed", errorMessage: messageOf(error) } };
    }
    await reporter?.finish(outcome.report, signal);
    const ok = outcome.report.status === "success" || outcome.report.status === "warning";
    await client.call("complete_command", {
      commandId: command.commandId,
      status: ok ? "completed" : "failed",
      ...(outcome.result ? { result: outcome.result } : {}),
      ...(ok ? {} : { errorMessage: outcome.report.errorMessage ?? outcome.report.status }),
    });
    say(`command ${command.commandId} ${ok ? "completed" : `failed: ${outcome.report.errorMessage}`}`);
  } finally {
    signal.removeEventListener("abort", stop);
  }
}
