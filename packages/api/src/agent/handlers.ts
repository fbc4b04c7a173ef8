import type { Agent, Database, Run } from "@e3/db";
import { generateToken, hashToken, Prisma, tokenMatchesHash } from "@e3/db";
import type { z } from "zod";
import type { ServerConfig } from "../config.ts";
import { announceRunUpdate, runUpdatesChannel } from "../live/run-updates.ts";
import type { Keyring } from "../secrets/envelope.ts";
import { agentTimings } from "../services/agent-timings.ts";
import { buildJobContext } from "../services/job-context.ts";
import { sealRecoveryPassphrase } from "../services/recovery-key.ts";
import { runColumns } from "../services/runs.ts";
import type {
  AgentCommand,
  completeCommandRequestSchema,
  EnrollRequest,
  EnrollResponse,
  ListJobsResponse,
  NextRunResponse,
  PollCommandsResponse,
  PushResponse,
  pushEventsRequestSchema,
  pushLogsRequestSchema,
  RequestRunResponse,
  UpdateRunRequest,
  UpdateRunResponse,
} from "./contract.ts";
import { AgentApiError, commandNotFound, runNotFound, unauthenticated } from "./errors.ts";

// One function per /agent/* endpoint. Each takes validated input and does its writes in one transaction, so a
// failed request leaves nothing half-written. Run and command lookups are always scoped to the calling agent.

export type AgentApiDeps = {
  db: Database;
  keyring: Keyring;
  config: Pick<ServerConfig, "AGENT_RECLAIM_GRACE_SECONDS" | "AGENT_WATCHDOG_TIMEOUT_SECONDS">;
  now?: () => Date;
};

const terminal = new Set(["success", "warning", "failed", "cancelled"]);
/**
 * last_seen_at is refreshed at most this often per agent, so thousands of polling agents cost few writes; "online"
 * means seen within two minutes (services/agents.ts), well above it.
 */
const lastSeenResolutionMs = 60_000;

function nowOf(deps: AgentApiDeps): Date {
  return deps.now?.() ?? new Date();
}

// ---------------------------------------------------------------------------------------------------------------
// authentication

/** Finds the calling agent; read-only, so a request refused later leaves no trace. */
export async function authenticateAgent(
  deps: AgentApiDeps,
  agentId: string | null,
  token: string | null,
): Promise<Agent> {
  if (!agentId || !token || !/^[0-9a-f-]{36}$/i.test(agentId)) throw unauthenticated();
  const agent = await deps.db.agent.findUnique({ where: { id: agentId } });
  if (!agent || !tokenMatchesHash(token, agent.tokenHash)) throw unauthenticated();
  if (agent.status === "revoked") {
    throw new AgentApiError(403, "AGENT_REVOKED", "this agent was revoked in the portal; enroll it again to use it");
  }
  return agent;
}

/** Records that the agent called in (for online/stale/offline), at most once per resolution window. */
export async function touchAgentLastSeen(deps: AgentApiDeps, agent: Agent, clientIp: string | null): Promise<void> {
  const now = nowOf(deps);
  if (agent.firstPolledAt === null) {
    // The first authenticated call after enrolling (which set last_seen_at already): the agent is really running.
    await deps.db.agent.updateMany({
      where: { id: agent.id, firstPolledAt: null },
      data: { firstPolledAt: now, lastSeenAt: now, ...(clientIp ? { lastIp: clientIp } : {}) },
    });
    return;
  }
  if (agent.lastSeenAt && now.getTime() - agent.lastSeenAt.getTime() <= lastSeenResolutionMs) return;
  await deps.db.agent.updateMany({
    where: {
      id: agent.id,
      OR: [{ lastSeenAt: null }, { lastSeenAt: { lt: new Date(now.getTime() - lastSeenResolutionMs) } }],
    },
    data: { lastSeenAt: now, ...(clientIp ? { lastIp: clientIp } : {}) },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// enroll

export async function enroll(deps: AgentApiDeps, input: EnrollRequest): Promise<EnrollResponse> {
  const now = nowOf(deps);
  const agentToken = generateToken("e3agt");
  return deps.db.$transaction(async (tx) => {
    // Claim the one-time token atomically: of two agents enrolling with it at once, exactly one succeeds.
    const claimed = await tx.enrollmentToken.updateManyAndReturn({
      where: { tokenHash: hashToken(input.token), usedAt: null, expiresAt: { gt: now } },
      data: { usedAt: now },
    });
    const token = claimed[0];
    if (!token) {
      throw new AgentApiError(
        401,
        "ENROLLMENT_TOKEN_INVALID",
        "the enrollment token is unknown, already used or expired; create a new one in the portal (Agents → Enroll)",
      );
    }
    const agent = await tx.agent.create({
      data: {
        tenantId: token.tenantId,
        name: input.name ?? input.hostname,
        hostname: input.hostname,
        os: input.os ?? null,
        arch: input.arch ?? null,
        version: input.version ?? null,
        tokenHash: hashToken(agentToken),
        lastSeenAt: now,
      },
    });
    await tx.enrollmentToken.update({ where: { id: token.id }, data: { usedByAgentId: agent.id } });
    return { agentId: agent.id, agentToken, tenantId: agent.tenantId };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// next_run

/**
 * Reclaim first (this agent's own in-progress run whose heartbeat is older than the grace but younger than the
 * watchdog cutoff: the agent restarted mid-run), else claim the oldest queued backup run bound to this agent.
 * The claim is one UPDATE over a row picked with FOR UPDATE SKIP LOCKED, so concurrent agents and server instances
 * never get the same run.
 */
export async function nextRun(deps: AgentApiDeps, agent: Agent, hostname?: string): Promise<NextRunResponse> {
  const now = nowOf(deps);
  const timings = await agentTimings(deps.db, deps.config);
  const graceCutoff = new Date(now.getTime() - timings.AGENT_RECLAIM_GRACE_SECONDS * 1000);
  const watchdogCutoff = new Date(now.getTime() - timings.AGENT_WATCHDOG_TIMEOUT_SECONDS * 1000);
  // One round trip for the common case (nothing to do): reclaim and claim are two data-modifying CTEs, the claim
  // only when nothing was reclaimed.
  const rows = await deps.db.$queryRaw<{ id: string; reclaimed: boolean }[]>`
    WITH reclaimed AS (
      UPDATE runs SET updated_at = ${now}
      WHERE id = (
        SELECT id FROM runs
        WHERE agent_id = ${agent.id}::uuid AND run_type = 'backup' AND status IN ('starting', 'running')
          AND updated_at < ${graceCutoff} AND updated_at > ${watchdogCutoff}
        ORDER BY updated_at LIMIT 1
        FOR UPDATE SKIP LOCKED)
      RETURNING id
    ), claimed AS (
      UPDATE runs SET status = 'starting', started_at = ${now}, updated_at = ${now},
        worker_host = ${hostname ?? agent.hostname}
      WHERE id = (
        SELECT id FROM runs
        WHERE agent_id = ${agent.id}::uuid AND status = 'queued' AND run_type = 'backup'
          AND NOT EXISTS (SELECT 1 FROM reclaimed)
        ORDER BY created_at, id LIMIT 1
        FOR UPDATE SKIP LOCKED)
      RETURNING id
    )
    SELECT id, true AS reclaimed FROM reclaimed
    UNION ALL
    SELECT id, false AS reclaimed FROM claimed`;
  const picked = rows[0];
  if (!picked) return { run: null };
  const run = await deps.db.run.findUniqueOrThrow({ where: { id: picked.id } });
  return { run: await assignment(deps, run, picked.reclaimed) };
}

async function assignment(deps: AgentApiDeps, run: Run, reclaimed: boolean) {
  const job = await deps.db.job.findUniqueOrThrow({ where: { id: run.jobId } });
  const context = await buildJobContext(deps.db, deps.keyring, job);
  if (!reclaimed) {
    // Keep what the job said when the run started, so history explains what the run did even after edits.
    await deps.db.run.update({
      where: { id: run.id },
      data: {
        policySnapshot: {
          schedule: job.scheduleJson,
          retention: job.retentionJson,
          policy: job.policyJson,
        } as Prisma.InputJsonValue,
        updatedAt: run.updatedAt,
      },
    });
  }
  return { ...context, runId: run.id, runType: run.runType, reclaimed };
}

// ---------------------------------------------------------------------------------------------------------------
// update_run

async function ownRun(deps: AgentApiDeps, agent: Agent, runId: string): Promise<Run> {
  const run = await deps.db.run.findFirst({ where: { id: runId, agentId: agent.id } });
  if (!run) throw runNotFound(runId);
  return run;
}

/**
 * The heartbeat path: a report that only moves an in-progress run along (status `running`, progress, stats, log ref)
 * is one conditional UPDATE that also announces the change. Null when the report needs the full path below
 * (a final status, a snapshot, an error, or a run that is not in progress).
 */
async function heartbeat(deps: AgentApiDeps, agent: Agent, input: UpdateRunRequest, now: Date) {
  if (
    input.snapshot ||
    input.forgottenSnapshots ||
    input.errorCode ||
    input.errorMessage ||
    (input.status && input.status !== "running")
  )
    return null;
  const rows = await deps.db.$queryRaw<{ status: "running" | "starting"; cancel_requested: boolean }[]>`
    WITH updated AS (
      UPDATE runs SET
        status = COALESCE(${input.status ?? null}::"RunStatus", status),
        updated_at = ${now},
        progress_json = COALESCE(${input.progress ? JSON.stringify(input.progress) : null}::jsonb, progress_json),
        stats_json = COALESCE(${input.stats ? JSON.stringify(input.stats) : null}::jsonb, stats_json),
        log_ref = COALESCE(${input.logRef ?? null}, log_ref)
      WHERE id = ${input.runId}::uuid AND agent_id = ${agent.id}::uuid AND status IN ('starting', 'running')
      RETURNING id, status, cancel_requested_at IS NOT NULL AS cancel_requested
    )
    SELECT status, cancel_requested
    FROM updated CROSS JOIN LATERAL (SELECT pg_notify(${runUpdatesChannel}, updated.id::text)) AS announced`;
  const row = rows[0];
  return row ? { status: row.status, cancelRequested: row.cancel_requested } : null;
}

export async function updateRun(deps: AgentApiDeps, agent: Agent, input: UpdateRunRequest): Promise<UpdateRunResponse> {
  const now = nowOf(deps);
  const fast = await heartbeat(deps, agent, input, now);
  if (fast) return fast;
  return deps.db.$transaction(async (tx) => {
    const locked = await tx.$queryRaw<
      Run[]
    >`SELECT id FROM runs WHERE id = ${input.runId}::uuid AND agent_id = ${agent.id}::uuid FOR UPDATE`;
    if (locked.length === 0) throw runNotFound(input.runId);
    const run = await tx.run.findUniqueOrThrow({ where: { id: input.runId } });

    if (terminal.has(run.status)) {
      // A retried final report is fine; anything else is too late (the watchdog or a cancel ended the run).
      if (input.status === run.status) return { status: run.status, cancelRequested: run.cancelRequestedAt !== null };
      throw new AgentApiError(
        409,
        "RUN_ALREADY_FINISHED",
        `run ${run.id} already ended as ${run.status}${run.errorCode ? ` (${run.errorCode})` : ""}; stop working on it`,
      );
    }
    // Restore and maintenance runs are carried by their command, not claimed: the agent's first report starts them.
    if (run.status === "queued" && run.runType === "backup") {
      throw new AgentApiError(409, "RUN_NOT_CLAIMED", `run ${run.id} is still queued; claim it with next_run first`);
    }

    const status = input.status ?? run.status;
    const finished = terminal.has(status);
    await tx.run.update({
      where: { id: run.id },
      data: {
        status,
        updatedAt: now,
        ...(input.progress ? { progressJson: input.progress } : {}),
        ...(input.stats ? { statsJson: input.stats as Prisma.InputJsonValue } : {}),
        ...(input.logRef ? { logRef: input.logRef } : {}),
        ...(input.errorCode ? { errorCode: input.errorCode } : {}),
        ...(input.errorMessage ? { errorMessage: input.errorMessage } : {}),
        ...(input.snapshot ? { snapshotId: input.snapshot.id } : {}),
        ...(run.startedAt ? {} : { startedAt: now }),
        ...(finished ? { finishedAt: now } : {}),
      },
    });
    if (input.snapshot) {
      const snapshot = input.snapshot;
      const fields = {
        time: new Date(snapshot.time),
        hostname: snapshot.hostname,
        paths: snapshot.paths,
        tags: snapshot.tags,
        fileCount: snapshot.fileCount === undefined ? null : BigInt(snapshot.fileCount),
        sizeBytes: snapshot.sizeBytes === undefined ? null : BigInt(Math.round(snapshot.sizeBytes)),
        addedBytes: snapshot.addedBytes === undefined ? null : BigInt(Math.round(snapshot.addedBytes)),
        summaryJson: (snapshot.summary ?? undefined) as Prisma.InputJsonValue | undefined,
      };
      await tx.snapshot.upsert({
        where: { jobId_snapshotId: { jobId: run.jobId, snapshotId: snapshot.id } },
        create: {
          ...fields,
          tenantId: run.tenantId,
          jobId: run.jobId,
          agentId: agent.id,
          runId: run.id,
          snapshotId: snapshot.id,
        },
        update: fields,
      });
    }
    if (input.forgottenSnapshots?.length) {
      await tx.snapshot.updateMany({
        where: { jobId: run.jobId, snapshotId: { in: input.forgottenSnapshots }, forgottenAt: null },
        data: { forgottenAt: now },
      });
    }
    await announceRunUpdate(tx, run.id);
    if (finished) {
      // Nothing is left to cancel once the run ended.
      await tx.runCommand.updateMany({
        where: { runId: run.id, type: "cancel", status: { in: ["pending", "delivered", "running"] } },
        data: { status: "completed", completedAt: now, resultJson: { endedAs: status } },
      });
    }
    return { status, cancelRequested: run.cancelRequestedAt !== null };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// push_events, push_logs

/**
 * Appends a batch to run_events or run_logs in one statement: the ownership check, the insert (a sequence number
 * already stored is skipped, so a retried batch is harmless) and the live-update announcement together.
 */
async function appendToRun(
  deps: AgentApiDeps,
  agent: Agent,
  runId: string,
  table: "run_events" | "run_logs",
  rows: Record<string, unknown>[],
): Promise<PushResponse> {
  const recordset =
    table === "run_events"
      ? Prisma.sql`jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          AS item(seq int, ts timestamptz, type text, level text, message text, data jsonb)`
      : Prisma.sql`jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          AS item(seq int, ts timestamptz, level text, message text, data jsonb)`;
  const insert =
    table === "run_events"
      ? Prisma.sql`INSERT INTO run_events (run_id, seq, ts, type, level, message, data_json)
          SELECT owned.id, item.seq, item.ts, item.type, item.level::"LogLevel", item.message, item.data
          FROM owned, ${recordset}`
      : Prisma.sql`INSERT INTO run_logs (run_id, seq, ts, level, message, fields_json)
          SELECT owned.id, item.seq, item.ts, item.level::"LogLevel", item.message, item.data
          FROM owned, ${recordset}`;
  const [result] = await deps.db.$queryRaw<{ owned: number; inserted: number }[]>`
    WITH owned AS (SELECT id FROM runs WHERE id = ${runId}::uuid AND agent_id = ${agent.id}::uuid),
    inserted AS (${insert} ON CONFLICT (run_id, seq) DO NOTHING RETURNING 1)
    SELECT counts.owned, counts.inserted
    FROM (SELECT (SELECT count(*) FROM owned)::int AS owned, (SELECT count(*) FROM inserted)::int AS inserted) AS counts
    LEFT JOIN LATERAL (SELECT pg_notify(${runUpdatesChannel}, ${runId}) WHERE counts.inserted > 0) AS announced ON true`;
  if (!result || result.owned === 0) throw runNotFound(runId);
  return { accepted: result.inserted, duplicates: rows.length - result.inserted };
}

/** A recovery passphrase (encryption_mode=agent) is sealed before it is stored; see services/recovery-key.ts. */
function sealRecoveryPassphraseOf(deps: AgentApiDeps) {
  return (event: z.infer<typeof pushEventsRequestSchema>["events"][number]) =>
    sealRecoveryPassphrase(deps.keyring, event);
}

export function pushEvents(
  deps: AgentApiDeps,
  agent: Agent,
  input: z.infer<typeof pushEventsRequestSchema>,
): Promise<PushResponse> {
  return appendToRun(
    deps,
    agent,
    input.runId,
    "run_events",
    input.events.map(sealRecoveryPassphraseOf(deps)).map((event) => ({
      seq: event.seq,
      ts: event.ts,
      type: event.type,
      level: event.level,
      message: event.message ?? null,
      data: event.data ?? null,
    })),
  );
}

export function pushLogs(
  deps: AgentApiDeps,
  agent: Agent,
  input: z.infer<typeof pushLogsRequestSchema>,
): Promise<PushResponse> {
  return appendToRun(
    deps,
    agent,
    input.runId,
    "run_logs",
    input.logs.map((line) => ({
      seq: line.seq,
      ts: line.ts,
      level: line.level,
      message: line.message,
      data: line.fields ?? null,
    })),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// commands

/** Commands for the run in progress (cancel). Delivered ones are sent again until the agent completes them. */
export async function pollCommands(deps: AgentApiDeps, agent: Agent, runId: string): Promise<PollCommandsResponse> {
  await ownRun(deps, agent, runId);
  const now = nowOf(deps);
  const commands = await deps.db.runCommand.findMany({
    where: {
      agentId: agent.id,
      runId,
      type: "cancel",
      status: { in: ["pending", "delivered"] },
      expiresAt: { gt: now },
    },
    orderBy: { createdAt: "asc" },
  });
  await markDelivered(
    deps,
    commands.filter((command) => command.status === "pending").map((command) => command.id),
    now,
  );
  return {
    commands: commands.map((command) => ({
      commandId: command.id,
      type: command.type,
      runId: command.runId,
      payload: command.payloadJson ?? {},
      job: null,
    })),
  };
}

/**
 * Commands not tied to a run in progress (restore, maintenance, browse, mount), each with its job's context; only
 * the given kinds when `types` is set (an agent busy with a run answers browse commands alone meanwhile). An idle
 * poll (no `types`) first hands back this agent's own restore and maintenance commands whose run it was working on
 * and went silent between the reclaim grace and the watchdog cutoff (the agent restarted mid-run), as next_run
 * does for backups: the run's heartbeat is refreshed in the same UPDATE, so only one poll gets each.
 */
export async function pollPendingCommands(
  deps: AgentApiDeps,
  agent: Agent,
  types?: Exclude<AgentCommand["type"], "cancel">[],
): Promise<PollCommandsResponse> {
  const now = nowOf(deps);
  const reclaimed = types ? [] : await reclaimCommands(deps, agent, now);
  const pending = await deps.db.runCommand.findMany({
    where: {
      agentId: agent.id,
      type: types ? { in: types } : { not: "cancel" },
      status: "pending",
      expiresAt: { gt: now },
    },
    orderBy: { createdAt: "asc" },
    include: { job: true },
    take: 20,
  });
  const commands = [...reclaimed, ...pending];
  const delivered: AgentCommand[] = [];
  for (const command of commands) {
    delivered.push({
      commandId: command.id,
      type: command.type,
      runId: command.runId,
      payload: command.payloadJson ?? {},
      job: command.job ? await buildJobContext(deps.db, deps.keyring, command.job) : null,
    });
  }
  await markDelivered(
    deps,
    commands.map((command) => command.id),
    now,
  );
  return { commands: delivered };
}

/** The commands of this agent's interrupted restore and maintenance runs (see pollPendingCommands). */
async function reclaimCommands(deps: AgentApiDeps, agent: Agent, now: Date) {
  const timings = await agentTimings(deps.db, deps.config);
  const graceCutoff = new Date(now.getTime() - timings.AGENT_RECLAIM_GRACE_SECONDS * 1000);
  const watchdogCutoff = new Date(now.getTime() - timings.AGENT_WATCHDOG_TIMEOUT_SECONDS * 1000);
  // In progress and silent (the agent died working on it), or still queued behind a command delivered that long ago
  // (it died before starting it, e.g. the next of a batch it had been handed).
  const runs = await deps.db.$queryRaw<{ id: string }[]>`
    UPDATE runs SET updated_at = ${now}
    WHERE id IN (
      SELECT id FROM runs
      WHERE agent_id = ${agent.id}::uuid AND run_type <> 'backup' AND updated_at < ${graceCutoff}
        AND (
          (status IN ('starting', 'running') AND updated_at > ${watchdogCutoff}
            AND EXISTS (
              SELECT 1 FROM run_commands
              WHERE run_commands.run_id = runs.id AND run_commands.agent_id = ${agent.id}::uuid
                AND run_commands.type IN ('restore', 'maintenance_quick', 'maintenance_full')
                AND run_commands.status IN ('delivered', 'running')))
          OR (status = 'queued'
            AND EXISTS (
              SELECT 1 FROM run_commands
              WHERE run_commands.run_id = runs.id AND run_commands.agent_id = ${agent.id}::uuid
                AND run_commands.type IN ('restore', 'maintenance_quick', 'maintenance_full')
                AND run_commands.status = 'delivered' AND run_commands.delivered_at < ${graceCutoff}
                AND run_commands.expires_at > ${now})))
      ORDER BY updated_at LIMIT 20
      FOR UPDATE SKIP LOCKED)
    RETURNING id`;
  if (runs.length === 0) return [];
  return deps.db.runCommand.findMany({
    where: {
      agentId: agent.id,
      runId: { in: runs.map((run) => run.id) },
      type: { in: ["restore", "maintenance_quick", "maintenance_full"] },
      status: { in: ["delivered", "running"] },
    },
    orderBy: { createdAt: "asc" },
    include: { job: true },
  });
}

async function markDelivered(deps: AgentApiDeps, ids: string[], now: Date) {
  if (ids.length === 0) return;
  await deps.db.runCommand.updateMany({
    where: { id: { in: ids }, status: "pending" },
    data: { status: "delivered", deliveredAt: now },
  });
}

const commandTransitions: Record<string, readonly string[]> = {
  pending: ["running", "completed", "failed"],
  delivered: ["running", "completed", "failed"],
  running: ["running", "completed", "failed"],
};

export async function completeCommand(
  deps: AgentApiDeps,
  agent: Agent,
  input: z.infer<typeof completeCommandRequestSchema>,
): Promise<{ status: "pending" | "delivered" | "running" | "completed" | "failed" | "expired" }> {
  const now = nowOf(deps);
  return deps.db.$transaction(async (tx) => {
    const locked = await tx.$queryRaw<
      { id: string }[]
    >`SELECT id FROM run_commands WHERE id = ${input.commandId}::uuid AND agent_id = ${agent.id}::uuid FOR UPDATE`;
    if (locked.length === 0) throw commandNotFound(input.commandId);
    const command = await tx.runCommand.findUniqueOrThrow({ where: { id: input.commandId } });
    if (command.status === input.status) return { status: command.status };
    if (!commandTransitions[command.status]?.includes(input.status)) {
      throw new AgentApiError(
        409,
        "COMMAND_ALREADY_FINISHED",
        `command ${command.id} is already ${command.status}; it cannot become ${input.status}`,
      );
    }
    const finished = input.status !== "running";
    const updated = await tx.runCommand.update({
      where: { id: command.id },
      data: {
        status: input.status,
        ...(input.result ? { resultJson: input.result as Prisma.InputJsonValue } : {}),
        ...(input.errorMessage ? { errorMessage: input.errorMessage } : {}),
        ...(finished ? { completedAt: now } : {}),
        deliveredAt: command.deliveredAt ?? now,
      },
    });
    return { status: updated.status };
  });
}

/** The agent's jobs and newest runs, for its local status page. */
export async function listJobs(deps: AgentApiDeps, agent: Agent): Promise<ListJobsResponse> {
  const scope = { agentId: agent.id, tenantId: agent.tenantId };
  const jobs = await deps.db.job.findMany({
    where: { ...scope, deletedAt: null },
    orderBy: [{ name: "asc" }, { id: "asc" }],
    take: 200,
  });
  const runs = await deps.db.run.findMany({
    where: scope,
    orderBy: { createdAt: "desc" },
    take: 20,
    include: { job: { select: { name: true } } },
  });
  const iso = (date: Date | null) => (date ? date.toISOString() : null);
  return {
    jobs: jobs.map((job) => ({ jobId: job.id, name: job.name, engine: job.engine, enabled: job.enabled })),
    recentRuns: runs.map((run) => ({
      runId: run.id,
      jobId: run.jobId,
      jobName: run.job.name,
      runType: run.runType,
      status: run.status,
      trigger: run.trigger,
      createdAt: run.createdAt.toISOString(),
      startedAt: iso(run.startedAt),
      finishedAt: iso(run.finishedAt),
      errorMessage: run.errorMessage,
    })),
  };
}

/**
 * "Run now" from the agent's status page: a queued backup of one of its own jobs (the portal's own rule: none if
 * one is already waiting), audited as the agent's request.
 */
export async function requestRun(deps: AgentApiDeps, agent: Agent, jobId: string): Promise<RequestRunResponse> {
  return deps.db.$transaction(async (tx) => {
    const job = await tx.job.findFirst({
      where: { id: jobId, agentId: agent.id, tenantId: agent.tenantId, deletedAt: null },
    });
    if (!job) throw new AgentApiError(404, "JOB_NOT_FOUND", "this agent has no job with that id; reload its job list");
    if (!job.enabled) {
      throw new AgentApiError(409, "JOB_DISABLED", `job "${job.name}" is disabled; enable it in the portal first`);
    }
    // One waiting run per job, under the job's row lock so two clicks queue one run.
    await tx.$queryRaw`SELECT id FROM jobs WHERE id = ${job.id}::uuid FOR UPDATE`;
    const waiting = await tx.run.findFirst({ where: { jobId: job.id, status: "queued", runType: "backup" } });
    if (waiting) return { runId: waiting.id, alreadyQueued: true };
    const run = await tx.run.create({ data: { ...runColumns(job), runType: "backup", trigger: "manual" } });
    await tx.auditLog.create({
      data: {
        tenantId: agent.tenantId,
        action: "run.start",
        targetType: "run",
        targetId: run.id,
        detailJson: { requestedBy: "agent", agentId: agent.id },
      },
    });
    return { runId: run.id, alreadyQueued: false };
  });
}
