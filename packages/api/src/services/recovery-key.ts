import type { Database, Prisma } from "@e3/db";
import { TRPCError } from "@trpc/server";
import type { RunEventInput } from "../agent/contract.ts";
import { type Keyring, openSecret, sealSecret } from "../secrets/envelope.ts";
import { requireTenantJob } from "./jobs.ts";

// encryption_mode=agent: the agent makes the repository password and keeps it; the only copy of a key that leaves
// the machine is the recovery passphrase, reported once in a RECOVERY_KEY_CREATED event. It is sealed with the
// server key as the event arrives (never stored in the clear), handed out once to the job's customer for
// download, and then erased: afterwards only the customer holds it.

export const recoveryKeyEvent = "RECOVERY_KEY_CREATED";
const column = "run_events.recovery_passphrase";

/** The event as stored: the passphrase sealed. Other events pass unchanged. */
export function sealRecoveryPassphrase(keyring: Keyring, event: RunEventInput): RunEventInput {
  const passphrase = event.data?.passphrase;
  if (event.type !== recoveryKeyEvent || typeof passphrase !== "string") return event;
  const { passphrase: _, ...data } = event.data ?? {};
  return { ...event, data: { ...data, passphraseSealed: sealSecret(keyring, passphrase, column) } };
}

/** The waiting recovery passphrase of the job, erased from the server as it is returned. */
export async function takeRecoveryKey(db: Database, keyring: Keyring, tenantId: string, jobId: string, userId: string) {
  const job = await requireTenantJob(db, tenantId, jobId);
  return db.$transaction(async (tx) => {
    const events = await tx.$queryRaw<{ id: bigint; data_json: Record<string, unknown>; ts: Date }[]>`
      SELECT e.id, e.data_json, e.ts FROM run_events e JOIN runs r ON r.id = e.run_id
      WHERE r.job_id = ${job.id}::uuid AND e.type = ${recoveryKeyEvent}
      ORDER BY e.ts DESC LIMIT 1 FOR UPDATE OF e`;
    const event = events[0];
    const sealed = event?.data_json.passphraseSealed;
    if (!event || typeof sealed !== "string") {
      throw new TRPCError({
        code: "NOT_FOUND",
        message: event
          ? `the recovery passphrase was downloaded already (${String(event.data_json.downloadedAt)}); the portal keeps no copy`
          : "the job has no recovery passphrase waiting: it is made by the agent on the first backup in agent encryption mode",
      });
    }
    const passphrase = openSecret(keyring, sealed, column);
    const { passphraseSealed: _, ...rest } = event.data_json;
    const downloadedAt = new Date().toISOString();
    await tx.runEvent.update({
      where: { id: event.id },
      data: { dataJson: { ...rest, downloadedAt, downloadedBy: userId } as Prisma.InputJsonValue },
    });
    await tx.auditLog.create({
      data: { tenantId, actorUserId: userId, action: "job.recovery_key.download", targetType: "job", targetId: job.id },
    });
    return {
      jobId: job.id,
      keyId: typeof rest.keyId === "string" ? rest.keyId : null,
      passphrase,
      createdAt: event.ts,
    };
  });
}

/**
 * The tenant's agent-held jobs that have a recovery passphrase, newest per job: waiting for its one download, or
 * downloaded already (when). Nothing secret: the passphrase itself only ever leaves through `takeRecoveryKey`.
 */
export async function listRecoveryKeys(db: Database, tenantId: string) {
  const rows = await db.$queryRaw<{ job_id: string; ts: Date; data_json: Record<string, unknown> }[]>`
    SELECT DISTINCT ON (r.job_id) r.job_id, e.ts, e.data_json
    FROM run_events e JOIN runs r ON r.id = e.run_id JOIN jobs j ON j.id = r.job_id
    WHERE j.tenant_id = ${tenantId}::uuid AND j.deleted_at IS NULL AND e.type = ${recoveryKeyEvent}
    ORDER BY r.job_id, e.ts DESC`;
  return rows.map((row) => ({
    jobId: row.job_id,
    createdAt: row.ts,
    waiting: typeof row.data_json.passphraseSealed === "string",
    downloadedAt: typeof row.data_json.downloadedAt === "string" ? new Date(row.data_json.downloadedAt) : null,
  }));
}
