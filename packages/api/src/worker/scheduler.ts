import type { Database } from "@e3/db";
import { nextRunAt, type Schedule, scheduleSchema } from "../schedule.ts";
import { appendServerEvent } from "../services/run-events.ts";

/** A run that starts this much later than its slot was missed (server or worker down) and is flagged as such. */
const missedAfterMs = 5 * 60_000;
const batchSize = 100;

export type SchedulerResult = { enqueued: number; skippedBusy: number; missed: number };

function parseSchedule(value: unknown): Schedule | null {
  const parsed = scheduleSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/**
 * Turns due schedule slots into queued runs. Jobs are locked with FOR UPDATE SKIP LOCKED, so N workers split the
 * work and each slot is enqueued once; `runs(job_id, scheduled_for)` being unique backs that up. A job keeps at most
 * one queued run. Slots missed during downtime collapse into one run, flagged SCHEDULE_MISSED.
 */
export async function runScheduler(db: Database, now = new Date(), random = Math.random): Promise<SchedulerResult> {
  const result: SchedulerResult = { enqueued: 0, skippedBusy: 0, missed: 0 };
  await db.$transaction(async (tx) => {
    // Pauses that were given an end resume by themselves; the job then gets a fresh slot below (the slots that fell
    // into the pause are not "missed": nobody wanted them).
    await tx.$executeRaw`
      UPDATE jobs SET paused_at = NULL, paused_by = NULL, resumed_at = paused_until, paused_until = NULL,
        next_run_at = NULL
      WHERE paused_at IS NOT NULL AND paused_until <= ${now}`;
    // Jobs created, re-enabled or resumed without a next slot get one; paused jobs get none.
    const unscheduled = await tx.$queryRaw<{ id: string; schedule_json: unknown }[]>`
      SELECT id, schedule_json FROM jobs
      WHERE enabled AND deleted_at IS NULL AND next_run_at IS NULL AND paused_at IS NULL
      LIMIT ${batchSize} FOR UPDATE SKIP LOCKED`;
    for (const job of unscheduled) {
      const schedule = parseSchedule(job.schedule_json);
      const next = schedule ? nextRunAt(schedule, now, random()) : null;
      if (next) await tx.job.update({ where: { id: job.id }, data: { nextRunAt: next } });
    }

    const due = await tx.$queryRaw<
      {
        id: string;
        tenant_id: string;
        agent_id: string;
        engine: "backup" | "sync";
        dest_type: "s3" | "local";
        dest_bucket: string | null;
        dest_prefix: string | null;
        dest_local_path: string | null;
        schedule_json: unknown;
        next_run_at: Date;
      }[]
    >`
      SELECT id, tenant_id, agent_id, engine, dest_type, dest_bucket, dest_prefix, dest_local_path, schedule_json, next_run_at
      FROM jobs
      WHERE enabled AND deleted_at IS NULL AND paused_at IS NULL AND next_run_at <= ${now}
        AND tenant_id NOT IN (SELECT id FROM tenants WHERE disabled_at IS NOT NULL)
      ORDER BY next_run_at
      LIMIT ${batchSize} FOR UPDATE SKIP LOCKED`;
    for (const job of due) {
      const schedule = parseSchedule(job.schedule_json);
      await tx.job.update({
        where: { id: job.id },
        data: { nextRunAt: schedule ? nextRunAt(schedule, now, random()) : null },
      });
      const queued = await tx.run.count({ where: { jobId: job.id, status: "queued" } });
      if (queued > 0) {
        result.skippedBusy += 1;
        continue;
      }
      const inserted = await tx.run.createManyAndReturn({
        data: [
          {
            tenantId: job.tenant_id,
            jobId: job.id,
            agentId: job.agent_id,
            runType: "backup",
            trigger: "schedule",
            engine: job.engine,
            destType: job.dest_type,
            destBucket: job.dest_bucket,
            destPrefix: job.dest_prefix,
            destLocalPath: job.dest_local_path,
            scheduledFor: job.next_run_at,
          },
        ],
        skipDuplicates: true,
      });
      const run = inserted[0];
      if (!run) continue;
      result.enqueued += 1;
      if (now.getTime() - job.next_run_at.getTime() > missedAfterMs) {
        result.missed += 1;
        await appendServerEvent(tx, run.id, {
          type: "SCHEDULE_MISSED",
          level: "warn",
          message: `scheduled for ${job.next_run_at.toISOString()} but the scheduler was not running then; starting now`,
          data: { scheduledFor: job.next_run_at.toISOString() },
        });
      }
    }
  });
  return result;
}
