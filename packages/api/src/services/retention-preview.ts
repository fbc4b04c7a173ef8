import type { Database } from "@e3/db";
import { planRetention, type RetentionPlan, snapshotTimeIn } from "@e3/engine/retention";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { isTimeZone, nextSlots, scheduleSchema } from "../schedule.ts";
import { engineRetentionPolicy, retentionSchema } from "./job-schemas.ts";
import { requireTenantJob } from "./jobs.ts";

// The wizard's retention preview: the engine's own plan (the one the agent's forget applies) over the job's snapshot
// catalog, so the user sees which snapshots a policy keeps or deletes and why before saving it. A new job has no
// snapshots yet; then the plan runs over the snapshots its schedule would make in the coming year (at most
// `simulatedRuns` of them), which answers "how many will I keep?".
// Days, weeks and months are the agent's: its forget reads each snapshot's time in the zone the agent stamped it in
// (its local zone). The catalog keeps instants only, so the plan writes them in the job's schedule zone, the zone the
// user picked for the machine (else the browser's, else UTC): a snapshot at 00:30 Berlin counts for that day.

const simulatedRuns = 2000;

export const retentionPreviewInputSchema = z.strictObject({
  jobId: z.uuid().optional(),
  retention: retentionSchema,
  /** For a new job (no jobId): the schedule whose future snapshots are simulated. */
  schedule: scheduleSchema.optional(),
  /** The browser's zone: where days start when the schedule names none (interval or manual schedules). */
  timeZone: z.string().max(100).refine(isTimeZone, "must be an IANA time zone such as Europe/Berlin").optional(),
});

export type RetentionVerdict = {
  snapshotId: string;
  time: Date;
  hostname: string;
  paths: string[];
  sizeBytes: number | null;
  fileCount: number | null;
  keep: boolean;
  /** restic's words ("daily snapshot", "within 7d"); empty for a removed snapshot. */
  reasons: string[];
};

export async function previewRetention(
  db: Database,
  tenantId: string,
  input: z.infer<typeof retentionPreviewInputSchema>,
  now = new Date(),
) {
  let snapshots: Omit<RetentionVerdict, "keep" | "reasons">[];
  let simulated = false;
  let planAt = now;
  let scheduleZone = input.schedule?.kind === "cron" ? input.schedule.timezone : undefined;
  if (input.jobId) {
    const job = await requireTenantJob(db, tenantId, input.jobId);
    if (!input.schedule) {
      const stored = scheduleSchema.safeParse(job.scheduleJson);
      if (stored.success && stored.data.kind === "cron") scheduleZone = stored.data.timezone;
    }
    const rows = await db.snapshot.findMany({
      where: { jobId: job.id, forgottenAt: null },
      orderBy: { time: "desc" },
      take: 10_000,
    });
    snapshots = rows.map((row) => ({
      snapshotId: row.snapshotId,
      time: row.time,
      hostname: row.hostname,
      paths: row.paths,
      sizeBytes: row.sizeBytes === null ? null : Number(row.sizeBytes),
      fileCount: row.fileCount === null ? null : Number(row.fileCount),
    }));
  } else {
    simulated = true;
    const schedule = input.schedule ?? {
      kind: "cron" as const,
      cron: "0 2 * * *",
      timezone: "UTC",
      randomDelaySeconds: 0,
    };
    const yearLater = now.getTime() + 365 * 86_400_000;
    const slots = nextSlots(schedule, now, simulatedRuns).filter((slot) => slot.getTime() <= yearLater);
    planAt = new Date((slots.at(-1)?.getTime() ?? now.getTime()) + 1000);
    snapshots = slots.reverse().map((time, index) => ({
      snapshotId: `simulated-${String(index).padStart(5, "0")}`,
      time,
      hostname: "",
      paths: [],
      sizeBytes: null,
      fileCount: null,
    }));
  }
  const timeZone = scheduleZone ?? input.timeZone ?? "UTC";
  let plan: RetentionPlan<{ id: string; time: string; hostname: string; paths: string[] }>;
  try {
    plan = planRetention(
      snapshots.map((snapshot) => ({
        id: snapshot.snapshotId,
        time: snapshotTimeIn(snapshot.time, timeZone),
        hostname: snapshot.hostname,
        paths: snapshot.paths,
      })),
      engineRetentionPolicy(input.retention),
      { now: planAt },
    );
  } catch (error) {
    throw new TRPCError({ code: "BAD_REQUEST", message: (error as Error).message, cause: error });
  }
  const reasons = new Map<string, string[]>();
  for (const group of plan.groups) for (const kept of group.keep) reasons.set(kept.snapshot.id, kept.reasons);
  const verdicts: RetentionVerdict[] = snapshots.map((snapshot) => ({
    ...snapshot,
    keep: reasons.has(snapshot.snapshotId),
    reasons: reasons.get(snapshot.snapshotId) ?? [],
  }));
  return {
    description: plan.description,
    simulated,
    /** The moment the plan is evaluated: now, or after the last simulated run. */
    planAt,
    /** The zone whose days, weeks and months the plan used; the preview shows times in it. */
    timeZone,
    keep: verdicts.filter((verdict) => verdict.keep).length,
    remove: verdicts.filter((verdict) => !verdict.keep).length,
    /** Groups (host and paths) the policy would empty completely. */
    emptiedGroups: plan.groups.filter((group) => group.removesAll).length,
    snapshots: verdicts,
  };
}
