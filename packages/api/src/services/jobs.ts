import { createHash, randomBytes } from "node:crypto";
import type { Database, Job, Prisma } from "@e3/db";
import { TRPCError } from "@trpc/server";
import { nextRunAt, scheduleSchema } from "../schedule.ts";
import { type Keyring, sealSecret } from "../secrets/envelope.ts";
import { notFound } from "../trpc.ts";
import type { CreateJobInput, UpdateJobInput } from "./job-schemas.ts";

// Job rules from the seed: the destination is S3 or a local folder, the agent belongs to the job's tenant, JSON is
// normalized before it is stored. Secrets are sealed here and never leave the server except to the job's agent.

/** What the portal may see of a job: everything but the sealed secrets, which become "is it set" flags. */
export function publicJob(job: Job) {
  const { destAccessKeyEnc, destSecretKeyEnc, repoPasswordEnc, ...rest } = job;
  return {
    ...rest,
    hasAccessKey: destAccessKeyEnc !== null,
    hasSecretKey: destSecretKeyEnc !== null,
    hasRepositoryPassword: repoPasswordEnc !== null,
  };
}
export type PublicJob = ReturnType<typeof publicJob>;

async function requireTenantAgent(db: Database, tenantId: string, agentId: string) {
  const agent = await db.agent.findFirst({ where: { id: agentId, tenantId } });
  if (!agent) throw notFound("agent");
  if (agent.status === "revoked") {
    throw new TRPCError({ code: "BAD_REQUEST", message: "that agent was revoked; enroll the machine again first" });
  }
  return agent;
}

/** A stable hash of what the agent must apply, so it can tell when a job's policy changed (seed: last_policy_hash). */
function policyHash(
  job: Pick<Job, "scheduleJson" | "retentionJson" | "policyJson" | "compression" | "engine">,
): string {
  return createHash("sha256")
    .update(JSON.stringify([job.engine, job.compression, job.scheduleJson, job.retentionJson, job.policyJson]))
    .digest("hex")
    .slice(0, 16);
}

function destinationColumns(keyring: Keyring, destination: CreateJobInput["destination"]) {
  if (destination.type === "local") {
    return {
      destType: "local" as const,
      destLocalPath: destination.path,
      destBucket: null,
      destPrefix: null,
      destEndpoint: null,
      destRegion: null,
      destAccessKeyEnc: null,
      destSecretKeyEnc: null,
      bucketAutoCreate: false,
    };
  }
  return {
    destType: "s3" as const,
    destLocalPath: null,
    destBucket: destination.bucket,
    destPrefix: destination.prefix ?? null,
    destEndpoint: destination.endpoint ?? null,
    destRegion: destination.region ?? null,
    bucketAutoCreate: destination.bucketAutoCreate,
    ...(destination.accessKeyId
      ? { destAccessKeyEnc: sealSecret(keyring, destination.accessKeyId, "dest_access_key_enc") }
      : {}),
    ...(destination.secretAccessKey
      ? { destSecretKeyEnc: sealSecret(keyring, destination.secretAccessKey, "dest_secret_key_enc") }
      : {}),
  };
}

export async function createJob(db: Database, keyring: Keyring, tenantId: string, input: CreateJobInput) {
  await requireTenantAgent(db, tenantId, input.agentId);
  const json = {
    scheduleJson: input.schedule as Prisma.InputJsonValue,
    retentionJson: (input.retention ?? undefined) as Prisma.InputJsonValue | undefined,
    policyJson: input.policy as Prisma.InputJsonValue,
  };
  const job = await db.job.create({
    data: {
      tenantId,
      agentId: input.agentId,
      name: input.name,
      enabled: input.enabled,
      engine: input.engine,
      sourcePaths: input.sourcePaths,
      ...destinationColumns(keyring, input.destination),
      ...json,
      bandwidthLimitKbps: input.bandwidthLimitKbps,
      localBandwidthLimitKbps: input.localBandwidthLimitKbps,
      parallelism: input.parallelism,
      encryptionMode: input.encryptionMode,
      compression: input.compression,
      localIncludeGlob: input.includeGlob,
      localExcludeGlob: input.excludeGlob,
      notifyOn: input.notifyOn,
      // Managed mode: the server generates and keeps the repository password, so any enrolled machine can restore.
      repoPasswordEnc:
        input.encryptionMode === "managed"
          ? sealSecret(keyring, randomBytes(32).toString("base64url"), "repo_password_enc")
          : null,
      nextRunAt: input.enabled ? nextRunAt(input.schedule, new Date()) : null,
      lastPolicyHash: policyHash({
        engine: input.engine,
        compression: input.compression,
        scheduleJson: input.schedule,
        retentionJson: input.retention,
        policyJson: input.policy,
      }),
    },
  });
  return publicJob(job);
}

export async function requireTenantJob(db: Database, tenantId: string, jobId: string): Promise<Job> {
  const job = await db.job.findFirst({ where: { id: jobId, tenantId, deletedAt: null } });
  if (!job) throw notFound("job");
  return job;
}

export async function updateJob(db: Database, keyring: Keyring, tenantId: string, input: UpdateJobInput) {
  const job = await requireTenantJob(db, tenantId, input.jobId);
  const changes = input.changes;
  if (changes.agentId) await requireTenantAgent(db, tenantId, changes.agentId);
  if (changes.encryptionMode && changes.encryptionMode !== job.encryptionMode) {
    throw new TRPCError({
      code: "BAD_REQUEST",
      message: "the encryption mode of an existing repository cannot change; create a new job instead",
    });
  }
  const data: Prisma.JobUncheckedUpdateInput = {
    ...(changes.name !== undefined ? { name: changes.name } : {}),
    ...(changes.agentId !== undefined ? { agentId: changes.agentId } : {}),
    ...(changes.engine !== undefined ? { engine: changes.engine } : {}),
    ...(changes.sourcePaths !== undefined ? { sourcePaths: changes.sourcePaths } : {}),
    ...(changes.destination !== undefined ? destinationColumns(keyring, changes.destination) : {}),
    ...(changes.schedule !== undefined ? { scheduleJson: changes.schedule as Prisma.InputJsonValue } : {}),
    ...(changes.retention !== undefined ? { retentionJson: (changes.retention ?? null) as Prisma.InputJsonValue } : {}),
    ...(changes.policy !== undefined ? { policyJson: changes.policy as Prisma.InputJsonValue } : {}),
    ...(changes.bandwidthLimitKbps !== undefined ? { bandwidthLimitKbps: changes.bandwidthLimitKbps } : {}),
    ...(changes.localBandwidthLimitKbps !== undefined
      ? { localBandwidthLimitKbps: changes.localBandwidthLimitKbps }
      : {}),
    ...(changes.parallelism !== undefined ? { parallelism: changes.parallelism } : {}),
    ...(changes.compression !== undefined ? { compression: changes.compression } : {}),
    ...(changes.includeGlob !== undefined ? { localIncludeGlob: changes.includeGlob } : {}),
    ...(changes.excludeGlob !== undefined ? { localExcludeGlob: changes.excludeGlob } : {}),
    ...(changes.notifyOn !== undefined ? { notifyOn: changes.notifyOn } : {}),
    ...(changes.enabled !== undefined ? { enabled: changes.enabled } : {}),
  };
  if (changes.schedule !== undefined || changes.enabled !== undefined) {
    const enabled = changes.enabled ?? job.enabled;
    // A new schedule gets its next slot now; re-enabling without one lets the scheduler compute it.
    data.nextRunAt = enabled && changes.schedule ? nextRunAt(changes.schedule, new Date()) : null;
  }
  const updated = await db.job.update({ where: { id: job.id }, data });
  const hash = policyHash(updated);
  const final =
    hash === updated.lastPolicyHash
      ? updated
      : await db.job.update({ where: { id: job.id }, data: { lastPolicyHash: hash } });
  return publicJob(final);
}

/** Soft delete: history, runs and the snapshot catalog stay; the scheduler stops. The repository is untouched. */
export async function deleteJob(db: Database, tenantId: string, jobId: string) {
  const job = await requireTenantJob(db, tenantId, jobId);
  await db.job.update({ where: { id: job.id }, data: { deletedAt: new Date(), enabled: false, nextRunAt: null } });
  await db.run.updateMany({
    where: { jobId: job.id, status: "queued" },
    data: {
      status: "cancelled",
      finishedAt: new Date(),
      errorCode: "JOB_DELETED",
      errorMessage: "the job was deleted",
    },
  });
  return { deleted: true };
}

/**
 * Pause a job's schedule: nothing is enqueued until it is resumed (or `until` passes), a queued scheduled run is
 * cancelled, and the job is not overdue meanwhile. A run in progress goes on; manual runs still work.
 */
export async function pauseJob(
  db: Database,
  tenantId: string,
  jobId: string,
  userId: string,
  until: Date | null,
  now = new Date(),
) {
  const job = await requireTenantJob(db, tenantId, jobId);
  if (until && until <= now) {
    throw new TRPCError({ code: "BAD_REQUEST", message: "the pause must end in the future (or leave the end empty)" });
  }
  const updated = await db.$transaction(async (tx) => {
    const paused = await tx.job.update({
      where: { id: job.id },
      data: {
        pausedAt: job.pausedAt ?? now,
        pausedUntil: until,
        pausedBy: userId,
        nextRunAt: null,
        overdueSince: null,
      },
    });
    await tx.run.updateMany({
      where: { jobId: job.id, status: "queued", trigger: "schedule" },
      data: {
        status: "cancelled",
        finishedAt: now,
        errorCode: "JOB_PAUSED",
        errorMessage: "the job's schedule was paused before this run started",
      },
    });
    await tx.auditLog.create({
      data: {
        tenantId,
        actorUserId: userId,
        action: "job.pause",
        targetType: "job",
        targetId: job.id,
        detailJson: { until: until?.toISOString() ?? null },
      },
    });
    return paused;
  });
  return publicJob(updated);
}

/** Resume a paused schedule: the scheduler gives it its next slot from now, and the overdue clock restarts. */
export async function resumeJob(db: Database, tenantId: string, jobId: string, userId: string, now = new Date()) {
  const job = await requireTenantJob(db, tenantId, jobId);
  if (!job.pausedAt) return publicJob(job);
  const updated = await db.$transaction(async (tx) => {
    const schedule = scheduleSchema.safeParse(job.scheduleJson);
    const resumed = await tx.job.update({
      where: { id: job.id },
      data: {
        pausedAt: null,
        pausedUntil: null,
        pausedBy: null,
        resumedAt: now,
        nextRunAt: job.enabled && schedule.success ? nextRunAt(schedule.data, now) : null,
      },
    });
    await tx.auditLog.create({
      data: { tenantId, actorUserId: userId, action: "job.resume", targetType: "job", targetId: job.id },
    });
    return resumed;
  });
  return publicJob(updated);
}
