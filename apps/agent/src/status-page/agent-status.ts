import type { RunAssignment, RunProgress } from "@e3/api/agent-contract";

// What the local status page shows, kept by the running agent: who it is, whether the portal answers, the run in
// progress (its progress read when asked, from the run's reporter) and the runs this process finished. The loop
// only calls the four verbs below; the page's server reads snapshot().

export type ConnectionState = "not enrolled" | "connecting" | "connected" | "unreachable" | "refused";

type EndedRun = { runId: string; jobName: string; runType: string; status: string; finishedAt: string; error?: string };

export type AgentStatusSnapshot = {
  version: string;
  hostname: string;
  startedAt: string;
  identity: { agentId: string; server: string } | null;
  connection: { state: ConnectionState; since: string; lastContactAt: string | null; message: string | null };
  currentRun: {
    runId: string;
    jobId: string;
    jobName: string;
    runType: string;
    startedAt: string;
    progress: RunProgress | null;
  } | null;
  endedRuns: EndedRun[];
};

export class AgentStatus {
  readonly #version: string;
  readonly #hostname: string;
  readonly #startedAt = new Date().toISOString();
  #identity: AgentStatusSnapshot["identity"] = null;
  #connection: AgentStatusSnapshot["connection"];
  #current:
    | (Omit<NonNullable<AgentStatusSnapshot["currentRun"]>, "progress"> & { progress: () => RunProgress | undefined })
    | null = null;
  readonly #ended: EndedRun[] = [];

  constructor(version: string, hostname: string) {
    this.#version = version;
    this.#hostname = hostname;
    this.#connection = { state: "not enrolled", since: this.#startedAt, lastContactAt: null, message: null };
  }

  enrolled(identity: { agentId: string; server: string }): void {
    this.#identity = identity;
    this.#set("connecting", null);
  }

  /** The portal answered. */
  connected(): void {
    this.#set("connected", null);
    this.#connection.lastContactAt = new Date().toISOString();
  }

  /** The portal did not answer (or refused the agent's identity: `refused`). */
  unreachable(message: string, refused = false): void {
    this.#set(refused ? "refused" : "unreachable", message);
  }

  runStarted(run: RunAssignment, progress: () => RunProgress | undefined): void {
    this.#current = {
      runId: run.runId,
      jobId: run.jobId,
      jobName: run.jobName,
      runType: run.runType,
      startedAt: new Date().toISOString(),
      progress,
    };
  }

  runEnded(runId: string, status: string, error?: string): void {
    const current = this.#current;
    if (current?.runId !== runId) return;
    this.#current = null;
    this.#ended.unshift({
      runId,
      jobName: current.jobName,
      runType: current.runType,
      status,
      finishedAt: new Date().toISOString(),
      ...(error ? { error: error.slice(0, 500) } : {}),
    });
    this.#ended.length = Math.min(this.#ended.length, 10);
  }

  snapshot(): AgentStatusSnapshot {
    const current = this.#current;
    return {
      version: this.#version,
      hostname: this.#hostname,
      startedAt: this.#startedAt,
      identity: this.#identity,
      connection: { ...this.#connection },
      currentRun: current ? { ...current, progress: current.progress() ?? null } : null,
      endedRuns: [...this.#ended],
    };
  }

  #set(state: ConnectionState, message: string | null): void {
    if (this.#connection.state !== state) this.#connection.since = new Date().toISOString();
    this.#connection.state = state;
    this.#connection.message = message;
  }
}
