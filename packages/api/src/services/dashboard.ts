import type { Database, Prisma } from "@e3/db";

// "Am I safe?": per job, whether its last backup succeeded, whether it is overdue or running, and a 30-day strip of
// the worst result per day. Shared by the tenant dashboard and the admin fleet view (which passes no tenant).

const worstFirst = ["failed", "warning", "cancelled", "success"] as const;
type DayResult = (typeof worstFirst)[number] | "none";

export async function dashboardSummary(db: Database, tenantId: string | null, now = new Date()) {
  const jobWhere: Prisma.JobWhereInput = { deletedAt: null, ...(tenantId ? { tenantId } : {}) };
  const since = new Date(now.getTime() - 30 * 86_400_000);
  const [jobs, runs, running] = await Promise.all([
    db.job.findMany({
      where: jobWhere,
      select: { id: true, name: true, tenantId: true, enabled: true, overdueSince: true, nextRunAt: true },
    }),
    db.run.findMany({
      where: { job: jobWhere, runType: "backup", finishedAt: { gte: since }, status: { in: [...worstFirst] } },
      select: { jobId: true, status: true, finishedAt: true },
      orderBy: { finishedAt: "asc" },
    }),
    db.run.count({ where: { job: jobWhere, status: { in: ["starting", "running"] } } }),
  ]);
  const byJob = new Map<string, { last: string | null; days: Map<string, DayResult> }>();
  for (const job of jobs) byJob.set(job.id, { last: null, days: new Map() });
  for (const run of runs) {
    const entry = byJob.get(run.jobId);
    if (!entry || !run.finishedAt) continue;
    entry.last = run.status;
    const day = run.finishedAt.toISOString().slice(0, 10);
    const previous = entry.days.get(day) ?? "none";
    const rank = (result: DayResult) => (result === "none" ? 99 : worstFirst.indexOf(result));
    if (rank(run.status as DayResult) < rank(previous)) entry.days.set(day, run.status as DayResult);
  }
  const days = Array.from({ length: 30 }, (_, i) =>
    new Date(since.getTime() + (i + 1) * 86_400_000).toISOString().slice(0, 10),
  );
  const perJob = jobs.map((job) => {
    const entry = byJob.get(job.id)!;
    return {
      jobId: job.id,
      name: job.name,
      tenantId: job.tenantId,
      enabled: job.enabled,
      overdue: job.overdueSince !== null,
      lastResult: entry.last,
      nextRunAt: job.nextRunAt,
      days: days.map((day) => ({ day, result: entry.days.get(day) ?? ("none" as DayResult) })),
    };
  });
  return {
    counts: {
      jobs: jobs.length,
      protected: perJob.filter((job) => (job.lastResult === "success" || job.lastResult === "warning") && !job.overdue)
        .length,
      overdue: perJob.filter((job) => job.overdue).length,
      failing: perJob.filter((job) => job.lastResult === "failed").length,
      running,
    },
    jobs: perJob,
  };
}
