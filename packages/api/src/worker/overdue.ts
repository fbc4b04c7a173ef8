import type { Database } from "@e3/db";
import { isOverdue, scheduleSchema } from "../schedule.ts";

export type OverdueResult = { becameOverdue: string[]; recovered: string[] };

/**
 * Flags jobs whose last success (or creation, before the first; or the end of a pause, if later) is older than 1.5
 * times their schedule's gap, and clears the flag when a success arrives. Paused jobs are never overdue. `overdue_since` is set by a conditional update, so with N workers exactly
 * one reports a job as newly overdue (and raises the alert).
 */
export async function runOverdueCheck(db: Database, now = new Date()): Promise<OverdueResult> {
  const jobs = await db.$queryRaw<
    {
      id: string;
      schedule_json: unknown;
      created_at: Date;
      resumed_at: Date | null;
      overdue_since: Date | null;
      last_success: Date | null;
    }[]
  >`
    SELECT j.id, j.schedule_json, j.created_at, j.resumed_at, j.overdue_since,
      (SELECT max(r.finished_at) FROM runs r
       WHERE r.job_id = j.id AND r.run_type = 'backup' AND r.status IN ('success', 'warning')) AS last_success
    FROM jobs j
    WHERE j.enabled AND j.deleted_at IS NULL AND j.paused_at IS NULL`;
  const result: OverdueResult = { becameOverdue: [], recovered: [] };
  for (const job of jobs) {
    const schedule = scheduleSchema.safeParse(job.schedule_json);
    if (!schedule.success) continue;
    // A resumed schedule's clock starts again at the resume: the pause's missing backups were asked for.
    const base = job.last_success ?? job.created_at;
    const since = job.resumed_at && job.resumed_at > base ? job.resumed_at : base;
    const overdue = isOverdue(schedule.data, since, now);
    if (overdue && job.overdue_since === null) {
      const changed = await db.job.updateMany({
        where: { id: job.id, overdueSince: null },
        data: { overdueSince: now },
      });
      if (changed.count === 1) result.becameOverdue.push(job.id);
    } else if (!overdue && job.overdue_since !== null) {
      const changed = await db.job.updateMany({
        where: { id: job.id, overdueSince: { not: null } },
        data: { overdueSince: null },
      });
      if (changed.count === 1) result.recovered.push(job.id);
    }
  }
  return result;
}
