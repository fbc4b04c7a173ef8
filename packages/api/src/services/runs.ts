import type { Database, Job, Prisma, Run } from "@e3/db";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { type BrowseCommandPayload, browseCommandPayloadSchema } from "../agent/contract.ts";
import { announceRunUpdate } from "../live/run-updates.ts";
import { notFound } from "../trpc.ts";
import { requireTenantJob } from "./jobs.ts";

// Starting and stopping work: manual runs, cancels, restores and maintenance. Restore and maintenance create a run
// of their own for progress (seed: restore_run_id) plus the command that carries them to the agent.

const commandLifetimeMs = { restore: 3_600_000, maintenance: 3_600_000, cancel: 3_600_000, browse: 120_000 };
const inProgress = ["queued", "starting", "running"] as const;

/** The run columns copied from its job (seed: runs carry engine and destination). */
export function runColumns(job: Job) {
  return {
    tenantId: job.tenantId,
    jobId: job.id,
    agentId: job.agentId,
    engine: job.engine,
    destType: job.destType,
    destBucket: job.destBucket,
    destPrefix: job.destPrefix,
    destLocalPath: job.destLocalPath,
  };
}

export async function requireTenantRun(db: Database, tenantId: string, runId: string): Promise<Run> {
  const run = await db.run.findFirst({ where: { id: runId, tenantId } });
  if (!run) throw notFound("run");
  return run;
}

/** "Run now": one queued run, unless the job already has one waiting. */
export async function startRunNow(db: Database, tenantId: string, jobId: string, userId: string) {
  const job = await requireTenantJob(db, tenantId, jobId);
  const waiting = await db.run.findFirst({ where: { jobId: job.id, status: "queued", runType: "backup" } });
  if (waiting) return { run: waiting, alreadyQueued: true };
  const run = await db.run.create({ data: { ...runColumns(job), runType: "backup", trigger: "manual" } });
  await db.auditLog.create({
    data: { tenantId, actorUserId: userId, action: "run.start", targetType: "run", targetId: run.id },
  });
  return { run, alreadyQueued: false };
}

/** Cancel: a queued run ends at once; a running one is asked to stop through a cancel command. */
export async function cancelRun(db: Database, tenantId: string, runId: string, userId: string) {
  const run = await requireTenantRun(db, tenantId, runId);
  if (!(inProgress as readonly string[]).includes(run.status)) {
    throw new TRPCError({ code: "CONFLICT", message: `the run already ended as ${run.status}` });
  }
  const now = new Date();
  if (run.status === "queued") {
    await db.run.update({
      where: { id: run.id },
      data: { status: "cancelled", finishedAt: now, cancelRequestedAt: now, updatedAt: run.updatedAt },
    });
    await announceRunUpdate(db, run.id);
    return { cancelled: true, requested: false };
  }
  if (!run.agentId) throw new TRPCError({ code: "CONFLICT", message: "the run has no agent to cancel it" });
  await db.$transaction([
    // The heartbeat (updated_at) is left alone: asking to cancel is not a sign of life from the agent.
    db.run.update({ where: { id: run.id }, data: { cancelRequestedAt: now, updatedAt: run.updatedAt } }),
    db.runCommand.create({
      data: {
        tenantId,
        agentId: run.agentId,
        jobId: run.jobId,
        runId: run.id,
        type: "cancel",
        createdByUserId: userId,
        expiresAt: new Date(now.getTime() + commandLifetimeMs.cancel),
      },
    }),
  ]);
  return { cancelled: false, requested: true };
}

export const restoreInputSchema = z.strictObject({
  jobId: z.uuid(),
  snapshotId: z.string().regex(/^[0-9a-f]{8,64}$/, "must be a snapshot id (hex)"),
  /** Paths inside the snapshot to restore; empty restores everything. */
  paths: z.array(z.string().min(1).max(4096)).max(10_000).default([]),
  /** Where to write; omitted restores to the original location. */
  targetPath: z.string().min(1).max(4096).nullable().default(null),
  /** Another agent of the same tenant to restore on; omitted means the job's own agent. */
  targetAgentId: z.uuid().nullable().default(null),
  overwrite: z.enum(["always", "if-changed", "never"]).default("if-changed"),
});
export type RestoreInput = z.infer<typeof restoreInputSchema>;

export async function startRestore(db: Database, tenantId: string, input: RestoreInput, userId: string) {
  const job = await requireTenantJob(db, tenantId, input.jobId);
  const agentId = input.targetAgentId ?? job.agentId;
  const agent = await db.agent.findFirst({ where: { id: agentId, tenantId, status: "active" } });
  if (!agent) throw notFound("agent");
  const snapshot = await db.snapshot.findFirst({
    where: { jobId: job.id, snapshotId: { startsWith: input.snapshotId } },
  });
  if (!snapshot) throw notFound("snapshot");
  return db.$transaction(async (tx) => {
    const run = await tx.run.create({
      data: { ...runColumns(job), agentId, runType: "restore", trigger: "command" },
    });
    const command = await tx.runCommand.create({
      data: {
        tenantId,
        agentId,
        jobId: job.id,
        runId: run.id,
        type: "restore",
        createdByUserId: userId,
        payloadJson: {
          snapshotId: snapshot.snapshotId,
          paths: input.paths,
          targetPath: input.targetPath,
          overwrite: input.overwrite,
        } as Prisma.InputJsonValue,
        expiresAt: new Date(Date.now() + commandLifetimeMs.restore),
      },
    });
    await tx.auditLog.create({
      data: {
        tenantId,
        actorUserId: userId,
        action: "restore.start",
        targetType: "run",
        targetId: run.id,
        detailJson: { snapshotId: snapshot.snapshotId, agentId, targetPath: input.targetPath },
      },
    });
    return { restoreRunId: run.id, commandId: command.id };
  });
}

export async function startMaintenance(
  db: Database,
  job: Job,
  kind: "maintenance_quick" | "maintenance_full",
  userId: string,
) {
  if (job.engine !== "backup") {
    throw new TRPCError({ code: "BAD_REQUEST", message: "maintenance applies to backup repositories, not sync jobs" });
  }
  return db.$transaction(async (tx) => {
    const run = await tx.run.create({ data: { ...runColumns(job), runType: kind, trigger: "command" } });
    const command = await tx.runCommand.create({
      data: {
        tenantId: job.tenantId,
        agentId: job.agentId,
        jobId: job.id,
        runId: run.id,
        type: kind,
        createdByUserId: userId,
        payloadJson: { retention: job.retentionJson } as Prisma.InputJsonValue,
        expiresAt: new Date(Date.now() + commandLifetimeMs.maintenance),
      },
    });
    await tx.auditLog.create({
      data: {
        tenantId: job.tenantId,
        actorUserId: userId,
        action: `${kind}.start`,
        targetType: "run",
        targetId: run.id,
      },
    });
    return { runId: run.id, commandId: command.id };
  });
}

const snapshotPrefix = z.string().regex(/^[0-9a-f]{8,64}$/, "must be a snapshot id (hex, at least 8 digits)");
const paging = { cursor: z.string().max(4096).nullable().default(null), limit: z.number().int().min(1).max(1000) };
/** Browsing a job's snapshots: by the job's own agent unless `agentId` names another agent of the tenant. */
const ofJob = { jobId: z.uuid(), agentId: z.uuid().optional() };

/** What the portal asks an agent to list; turned into the agent's `browseCommandPayloadSchema`. */
export const browseInputSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("local"),
    agentId: z.uuid(),
    path: z.string().max(4096).default(""),
    ...paging,
    limit: paging.limit.default(500),
  }),
  z.strictObject({
    kind: z.literal("snapshot"),
    ...ofJob,
    snapshotId: snapshotPrefix,
    path: z.string().max(4096).default("/"),
    ...paging,
    limit: paging.limit.default(500),
  }),
  z.strictObject({
    kind: z.literal("search"),
    ...ofJob,
    pattern: z.string().min(1).max(1024),
    snapshotIds: z.array(snapshotPrefix).max(1000).default([]),
    caseInsensitive: z.boolean().default(true),
    distinctPaths: z.boolean().default(false),
    ...paging,
    limit: paging.limit.default(200),
  }),
  z.strictObject({
    kind: z.literal("versions"),
    ...ofJob,
    path: z.string().min(1).max(4096),
    limit: paging.limit.default(200),
  }),
]);
export type BrowseInput = z.infer<typeof browseInputSchema>;

/** The job's catalogued snapshot a prefix names; NOT_FOUND when none or several do. */
async function catalogSnapshotId(db: Database, jobId: string, prefix: string): Promise<string> {
  const matches = await db.snapshot.findMany({
    where: { jobId, snapshotId: { startsWith: prefix } },
    select: { snapshotId: true },
    take: 2,
  });
  if (matches.length !== 1) throw notFound("snapshot");
  return (matches[0] as { snapshotId: string }).snapshotId;
}

/** Queues a browse command; the portal polls commands.get and parses its result with browseCommandResultSchema. */
export async function requestBrowse(db: Database, tenantId: string, input: BrowseInput, userId: string) {
  const job = input.kind === "local" ? null : await requireTenantJob(db, tenantId, input.jobId);
  const agentId = input.agentId ?? job?.agentId;
  const agent = await db.agent.findFirst({ where: { id: agentId, tenantId, status: "active" } });
  if (!agent) throw notFound("agent");
  let payload: BrowseCommandPayload;
  if (input.kind === "local") {
    payload = { kind: "local", path: input.path, cursor: input.cursor, limit: input.limit };
  } else if (input.kind === "snapshot") {
    const snapshotId = await catalogSnapshotId(db, input.jobId, input.snapshotId);
    payload = { kind: "snapshot", snapshotId, path: input.path, cursor: input.cursor, limit: input.limit };
  } else if (input.kind === "search") {
    const snapshotIds: string[] = [];
    for (const prefix of input.snapshotIds) snapshotIds.push(await catalogSnapshotId(db, input.jobId, prefix));
    payload = {
      kind: "search",
      pattern: input.pattern,
      snapshotIds,
      caseInsensitive: input.caseInsensitive,
      distinctPaths: input.distinctPaths,
      cursor: input.cursor,
      limit: input.limit,
    };
  } else {
    payload = { kind: "versions", path: input.path, limit: input.limit };
  }
  const command = await db.runCommand.create({
    data: {
      tenantId,
      agentId: agent.id,
      jobId: job?.id ?? null,
      type: "browse",
      createdByUserId: userId,
      payloadJson: browseCommandPayloadSchema.parse(payload) as Prisma.InputJsonValue,
      expiresAt: new Date(Date.now() + commandLifetimeMs.browse),
    },
  });
  return { commandId: command.id };
}
