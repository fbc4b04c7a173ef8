import { existsSync } from "node:fs";
import { readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { RunProgress, UpdateRunRequest } from "@e3/api/agent-contract";
import type { Progress } from "@e3/engine";
import { ZodError } from "zod";
import { writeFileAtomically } from "./atomic-file.ts";
import { type BackoffPolicy, defaultBackoff, nextPollDelay } from "./backoff.ts";
import { AgentApiError, type AgentClient, isServerUnavailable } from "./client.ts";
import { Spool, type SpoolSender } from "./spool.ts";

// Everything a run tells the portal while it works: heartbeats and progress through update_run, events and log
// lines through the spool, cancel requests from poll_commands and from update_run's answer. The final report is
// written to the run's folder before it is sent, so an agent killed while the portal was away still delivers it
// when it starts again (recoverRuns).

export type LogLevel = "debug" | "info" | "warn" | "error";
export type FinalReport = Omit<UpdateRunRequest, "runId" | "status"> & {
  status: "success" | "warning" | "failed" | "cancelled";
};

/**
 * Each tick flushes the spool; progress (which doubles as the heartbeat) goes out every 5 s and command polls every
 * 2 s, so a cancel stops the engine within a few seconds.
 */
const timing = { tickMs: 1000, progressMs: 5000, commandsMs: 2000 };

export function runFolder(stateDir: string, runId: string): string {
  return join(stateDir, "runs", runId);
}

const engineToPortalPhase: Record<string, RunProgress["phase"]> = {
  scanning: "scanning",
  "backing up": "uploading",
  finishing: "finalizing",
  restoring: "restoring",
};

/** The engine's progress in the contract's shape. */
export function portalProgress(progress: Progress, fallbackPhase: RunProgress["phase"]): RunProgress {
  // Counters can dip below zero for a moment (a sync takes back the bytes of a failed attempt); the contract and
  // the portal's bars want none of that.
  const count = (value: number) => (Number.isFinite(value) && value > 0 ? value : 0);
  const bytesDone = count(progress.bytesDone);
  const bytesPerSecond = count(progress.bytesPerSecond);
  const remaining = count(progress.bytesTotal) - bytesDone;
  return {
    phase: engineToPortalPhase[progress.phase] ?? fallbackPhase,
    filesDone: Math.round(count(progress.filesDone)),
    filesTotal: Math.round(count(progress.filesTotal)),
    bytesDone,
    bytesTotal: count(progress.bytesTotal),
    bytesPerSecond,
    ...(bytesPerSecond > 0 && remaining > 0 ? { etaSeconds: Math.round(remaining / bytesPerSecond) } : {}),
    ...(progress.currentFile ? { currentFiles: [progress.currentFile.slice(0, 4096)] } : {}),
    errors: Math.round(count(progress.errors)),
  };
}

export class RunReporter {
  readonly runId: string;
  readonly #client: AgentClient;
  readonly #spool: Spool;
  readonly #folder: string;
  readonly #heartbeatMs: number;
  readonly #onCancel: (reason: string) => void;
  #progress: RunProgress | undefined;
  #lastUpdate = 0;
  #lastCommandPoll = 0;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | null = null;
  /** Set once the portal says the run is over (a 409): nothing more is reported for it. */
  #endedElsewhere: string | null = null;

  private constructor(
    client: AgentClient,
    runId: string,
    spool: Spool,
    folder: string,
    heartbeatSeconds: number,
    onCancel: (reason: string) => void,
  ) {
    this.#client = client;
    this.runId = runId;
    this.#spool = spool;
    this.#folder = folder;
    // At least every 60 s whatever the portal asks for; progress reports count as heartbeats.
    this.#heartbeatMs = Math.min(heartbeatSeconds, 60) * 1000;
    this.#onCancel = onCancel;
  }

  static async open(options: {
    client: AgentClient;
    stateDir: string;
    runId: string;
    heartbeatSeconds: number;
    onCancel: (reason: string) => void;
  }): Promise<RunReporter> {
    const folder = runFolder(options.stateDir, options.runId);
    const spool = await Spool.open(folder);
    return new RunReporter(options.client, options.runId, spool, folder, options.heartbeatSeconds, options.onCancel);
  }

  event(type: string, level: LogLevel, message?: string, data?: Record<string, unknown>): void {
    this.#spool.add("event", {
      ts: new Date().toISOString(),
      type,
      level,
      ...(message ? { message: message.slice(0, 10_000) } : {}),
      ...(data ? { data } : {}),
    });
  }

  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    this.#spool.add("log", {
      ts: new Date().toISOString(),
      level,
      message: message.slice(0, 10_000),
      ...(fields ? { fields } : {}),
    });
  }

  progress(progress: RunProgress): void {
    this.#progress = progress;
  }

  /** The last progress reported (the local status page shows it). */
  get lastProgress(): RunProgress | undefined {
    return this.#progress;
  }

  /** Reports `running` at once, then ticks until finish(). */
  async start(): Promise<void> {
    await this.#update().catch(() => {});
    this.#timer = setInterval(() => {
      this.#ticking ??= this.#tick().finally(() => {
        this.#ticking = null;
      });
    }, timing.tickMs);
  }

  async #tick(): Promise<void> {
    const now = Date.now();
    await this.#flush().catch(() => {});
    if (now - this.#lastUpdate >= Math.min(timing.progressMs, this.#heartbeatMs)) {
      await this.#update().catch(() => {});
    }
    if (now - this.#lastCommandPoll >= timing.commandsMs) {
      this.#lastCommandPoll = now;
      await this.#pollCommands().catch(() => {});
    }
  }

  #flush(): Promise<void> {
    return this.#spool.flush(spoolSender(this.#client, this.runId));
  }

  async #update(): Promise<void> {
    if (this.#endedElsewhere) return;
    try {
      const answer = await this.#client.call("update_run", {
        runId: this.runId,
        status: "running",
        ...(this.#progress ? { progress: this.#progress } : {}),
      });
      this.#lastUpdate = Date.now();
      if (answer.cancelRequested) this.#onCancel("cancelled in the portal");
    } catch (error) {
      if (error instanceof AgentApiError && error.status === 409) {
        this.#endedElsewhere = error.message;
        this.#onCancel(`the portal ended the run: ${error.message}`);
      }
      throw error;
    }
  }

  async #pollCommands(): Promise<void> {
    const { commands } = await this.#client.call("poll_commands", { runId: this.runId });
    if (commands.some((command) => command.type === "cancel")) this.#onCancel("cancelled in the portal");
  }

  /** Stops ticking without a final report: the agent is shutting down and will reclaim the run when it restarts. */
  async suspend(): Promise<void> {
    await this.#stopTicking();
    await this.#flush().catch(() => {});
  }

  /** Records the final report on disk, then delivers it and the spool, retrying while the portal is unreachable. */
  async finish(report: FinalReport, signal?: AbortSignal): Promise<void> {
    await this.#stopTicking();
    const final = { ...(this.#progress ? { progress: this.#progress } : {}), ...report };
    await writeFileAtomically(join(this.#folder, "final.json"), JSON.stringify(final));
    await deliverPending(this.#client, this.#folder, this.runId, this.#spool, { persist: true, signal });
  }

  async #stopTicking(): Promise<void> {
    clearInterval(this.#timer);
    await this.#ticking;
  }
}

function spoolSender(client: AgentClient, runId: string): SpoolSender {
  return {
    event: async (events) => {
      await client.call("push_events", { runId, events });
    },
    log: async (logs) => {
      await client.call("push_logs", { runId, logs });
    },
  };
}

const deliveryBackoff: BackoffPolicy = { intervalMs: 0, ...defaultBackoff, failureMaxMs: 60_000 };

/**
 * Sends a run's spool and final report (when it has one), then forgets the run's folder. With `persist`, waits out
 * an unreachable portal (backing off) until it is delivered or `signal` ends the agent.
 */
async function deliverPending(
  client: AgentClient,
  folder: string,
  runId: string,
  spool: Spool,
  options: { persist: boolean; signal?: AbortSignal | undefined },
): Promise<void> {
  const final = await readFile(join(folder, "final.json"), "utf8")
    .then((text) => JSON.parse(text) as FinalReport)
    .catch(() => null);
  for (let failures = 0; ; failures++) {
    try {
      await spool.flush(spoolSender(client, runId));
      if (final) await sendFinal(client, runId, final);
      break;
    } catch (error) {
      // A run the portal no longer knows (deleted with its job) has nowhere to go.
      if (error instanceof AgentApiError && error.status === 404) {
        await rm(folder, { recursive: true, force: true });
        return;
      }
      if (!options.persist || !isServerUnavailable(error) || options.signal?.aborted) throw error;
      await sleep(nextPollDelay(deliveryBackoff, failures + 1), options.signal);
    }
  }
  if (final) await rm(folder, { recursive: true, force: true });
}

async function sendFinal(client: AgentClient, runId: string, final: FinalReport): Promise<void> {
  try {
    await client.call("update_run", { runId, ...final });
  } catch (error) {
    // The watchdog or a cancel ended the run first; the portal's word stands.
    if (error instanceof AgentApiError && error.status === 409) return;
    throw error;
  }
}

/**
 * Between runs: sends what earlier runs (of this or an earlier agent process) left in the state folder; an
 * unreachable portal throws, and the poll loop tries again after its backoff. A run without a final report keeps
 * its folder (its spool numbering) for when next_run hands it back. A run the portal refuses (a 4xx other than
 * for the agent's identity) can never be delivered: its folder is set aside as `<run>.undeliverable` for the
 * operator instead of blocking the agent.
 */
export async function recoverRuns(client: AgentClient, stateDir: string, say: (line: string) => void): Promise<void> {
  const names = await readdir(join(stateDir, "runs")).catch(() => [] as string[]);
  for (const runId of names) {
    if (!/^[0-9a-f-]{36}$/.test(runId)) continue;
    const folder = runFolder(stateDir, runId);
    const spool = await Spool.open(folder);
    if (spool.pendingCount() === 0 && !existsSync(join(folder, "final.json"))) continue;
    try {
      await deliverPending(client, folder, runId, spool, { persist: false });
    } catch (error) {
      // A report this agent's own contract check rejects (written by an older, buggy version) can never go either.
      const refused =
        (error instanceof AgentApiError && error.status !== 401 && error.status !== 403) || error instanceof ZodError;
      if (!refused) throw error;
      await rename(folder, `${folder}.undeliverable`);
      say(`run ${runId}: the portal refuses its reports (${error.message}); kept in ${folder}.undeliverable`);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
