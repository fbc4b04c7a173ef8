import type { Database, Prisma } from "@e3/db";
import { z } from "zod";
import { connectivityOf, onlineWithinMs } from "./agents.ts";

// "Am I safe?": per job, whether its last backup succeeded, whether it is overdue or running, and a 30-day strip of
// the worst result per day. Shared by the tenant dashboard and the admin fleet view (which passes no tenant).

const worstFirst = ["failed", "warning", "cancelled", "success"] as const;
/** A day's cell: the worst finished backup, "overdue" for a day without one while the job was overdue, or none. */
type DayResult = (typeof worstFirst)[number] | "overdue" | "none";

export async function dashboardSummary(db: Database, tenantId: string | null, now = new Date()) {
  const jobWhere: Prisma.JobWhereInput = { deletedAt: null, ...(tenantId ? { tenantId } : {}) };
  const since = new Date(now.getTime() - 30 * 86_400_000);
  const [jobs, runs, running] = await Promise.all([
    db.job.findMany({
      where: jobWhere,
      select: {
        id: true,
        name: true,
        tenantId: true,
        enabled: true,
        overdueSince: true,
        nextRunAt: true,
        pausedAt: true,
        pausedUntil: true,
      },
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
    const rank = (result: DayResult) => (result === "none" || result === "overdue" ? 99 : worstFirst.indexOf(result));
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
      // A paused schedule is the user's choice, not a problem: shown as paused, never as overdue.
      paused: job.pausedAt !== null,
      pausedUntil: job.pausedUntil,
      overdue: job.overdueSince !== null && job.pausedAt === null,
      lastResult: entry.last,
      nextRunAt: job.nextRunAt,
      days: days.map((day) => ({
        day,
        result:
          entry.days.get(day) ??
          (job.overdueSince && day >= job.overdueSince.toISOString().slice(0, 10) ? "overdue" : ("none" as DayResult)),
      })),
    };
  });
  return {
    counts: {
      jobs: jobs.length,
      protected: perJob.filter(
        (job) => (job.lastResult === "success" || job.lastResult === "warning") && !job.overdue && !job.paused,
      ).length,
      paused: perJob.filter((job) => job.paused).length,
      overdue: perJob.filter((job) => job.overdue).length,
      failing: perJob.filter((job) => job.lastResult === "failed").length,
      running,
    },
    jobs: perJob,
  };
}

export type Problem =
  | {
      kind: "job_failed" | "job_warning";
      jobId: string;
      jobName: string;
      runId: string;
      errorCode: string | null;
      errorMessage: string | null;
      at: Date | null;
    }
  | { kind: "job_overdue"; jobId: string; jobName: string; since: Date }
  | {
      kind: "agent_unreachable";
      agentId: string;
      agentName: string;
      connectivity: "stale" | "offline" | "never";
      lastSeenAt: Date | null;
    };

/**
 * The dashboard's lists under the verdict: what needs attention (failing or overdue jobs, agents that stopped
 * polling), the latest runs of any kind, and the next scheduled slots.
 */
export async function dashboardActivity(db: Database, tenantId: string, now = new Date()) {
  const [jobs, agents, recentRuns, upcoming] = await Promise.all([
    db.job.findMany({
      where: { tenantId, deletedAt: null },
      select: {
        id: true,
        name: true,
        overdueSince: true,
        pausedAt: true,
        runs: {
          where: { runType: "backup", status: { in: ["success", "warning", "failed"] } },
          orderBy: { finishedAt: { sort: "desc", nulls: "last" } },
          take: 1,
          select: { id: true, status: true, errorCode: true, errorMessage: true, finishedAt: true },
        },
      },
      orderBy: { name: "asc" },
    }),
    db.agent.findMany({
      where: { tenantId, status: "active" },
      select: { id: true, name: true, status: true, lastSeenAt: true, firstPolledAt: true },
      orderBy: { name: "asc" },
    }),
    db.run.findMany({
      where: { tenantId },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: 10,
      select: {
        id: true,
        runType: true,
        status: true,
        errorCode: true,
        trigger: true,
        createdAt: true,
        startedAt: true,
        finishedAt: true,
        job: { select: { id: true, name: true } },
      },
    }),
    db.job.findMany({
      where: { tenantId, deletedAt: null, enabled: true, pausedAt: null, nextRunAt: { not: null } },
      orderBy: { nextRunAt: "asc" },
      take: 5,
      select: { id: true, name: true, nextRunAt: true, engine: true, agent: { select: { id: true, name: true } } },
    }),
  ]);
  const problems: Problem[] = [];
  for (const job of jobs) {
    const last = job.runs[0];
    if (last && (last.status === "failed" || last.status === "warning")) {
      problems.push({
        kind: last.status === "failed" ? "job_failed" : "job_warning",
        jobId: job.id,
        jobName: job.name,
        runId: last.id,
        errorCode: last.errorCode,
        errorMessage: last.errorMessage,
        at: last.finishedAt,
      });
    }
    if (job.overdueSince && !job.pausedAt)
      problems.push({ kind: "job_overdue", jobId: job.id, jobName: job.name, since: job.overdueSince });
  }
  for (const agent of agents) {
    const connectivity = connectivityOf(agent, now);
    if (connectivity === "online" || connectivity === "revoked") continue;
    // An agent enrolled a moment ago has not polled yet either; it is a problem once its service stays silent.
    const justEnrolled = agent.lastSeenAt !== null && now.getTime() - agent.lastSeenAt.getTime() <= onlineWithinMs;
    if (connectivity === "never" && justEnrolled) continue;
    problems.push({
      kind: "agent_unreachable",
      agentId: agent.id,
      agentName: agent.name,
      connectivity,
      lastSeenAt: agent.lastSeenAt,
    });
  }
  const severity = { job_failed: 0, agent_unreachable: 1, job_overdue: 2, job_warning: 3 } as const;
  problems.sort((a, b) => severity[a.kind] - severity[b.kind]);
  return {
    problems,
    recentRuns,
    nextRuns: upcoming.map((job) => ({
      jobId: job.id,
      jobName: job.name,
      engine: job.engine,
      agentName: job.agent.name,
      at: job.nextRunAt!,
    })),
    agentCount: agents.length,
  };
}

/** The pack bytes left in the repository after a full maintenance's prune (used + unused kept), if it ran one. */
const prunedStats = z.object({
  prune: z.object({ dryRun: z.literal(false), bytes: z.object({ used: z.number(), unusedAfter: z.number() }) }),
});

function repositoryBytesAfterPrune(stats: unknown): number | null {
  const parsed = prunedStats.safeParse(stats);
  return parsed.success ? parsed.data.prune.bytes.used + parsed.data.prune.bytes.unusedAfter : null;
}

/**
 * Storage used and the dedup ratio, one point per day: for the snapshots that existed that day (taken by then and not
 * yet forgotten), the data they reference (sum of their sizes) against what the job's repository holds. A full
 * maintenance reports the repository's size after its prune (run stats `prune.bytes`); from then on a job's
 * "stored" is that size plus what later backups added (forgetting frees nothing until the next prune). A job whose
 * repository was never pruned by a maintenance run counts what its live snapshots' runs added (after dedup and
 * compression), an estimate.
 */
export async function storageHistory(db: Database, tenantId: string, days: number, now = new Date()) {
  const since = new Date(now.getTime() - days * 86_400_000);
  const maintenances = await db.run.findMany({
    where: {
      tenantId,
      runType: "maintenance_full",
      status: { in: ["success", "warning"] },
      finishedAt: { not: null, lte: now },
    },
    select: { jobId: true, finishedAt: true, statsJson: true },
    orderBy: { finishedAt: "asc" },
  });
  const measured = new Map<string, { at: Date; bytes: number }[]>();
  for (const run of maintenances) {
    const bytes = repositoryBytesAfterPrune(run.statsJson);
    if (bytes === null || !run.finishedAt) continue;
    const list = measured.get(run.jobId) ?? [];
    list.push({ at: run.finishedAt, bytes });
    measured.set(run.jobId, list);
  }
  const latestMeasure = (jobId: string, end: Date) => measured.get(jobId)?.findLast((measure) => measure.at <= end);
  // Snapshots forgotten after the oldest size a point starts from still hold their data until the next prune.
  let floor = since;
  for (const jobId of measured.keys()) {
    const start = latestMeasure(jobId, since);
    if (start && start.at < floor) floor = start.at;
  }
  const snapshots = await db.snapshot.findMany({
    where: { tenantId, OR: [{ forgottenAt: null }, { forgottenAt: { gte: floor } }] },
    select: { jobId: true, time: true, forgottenAt: true, sizeBytes: true, addedBytes: true },
    orderBy: { time: "asc" },
  });
  const jobIds = new Set([...measured.keys(), ...snapshots.map((snapshot) => snapshot.jobId)]);
  const points: {
    day: string;
    storedBytes: number;
    referencedBytes: number;
    snapshots: number;
    dedupRatio: number | null;
  }[] = [];
  for (let i = days - 1; i >= 0; i--) {
    const end = new Date(now.getTime() - i * 86_400_000);
    const day = end.toISOString().slice(0, 10);
    const starts = new Map([...jobIds].map((jobId) => [jobId, latestMeasure(jobId, end)]));
    let stored = 0;
    for (const measure of starts.values()) stored += measure?.bytes ?? 0;
    let referenced = 0;
    let count = 0;
    for (const snapshot of snapshots) {
      if (snapshot.time > end) break;
      const live = !snapshot.forgottenAt || snapshot.forgottenAt > end;
      const start = starts.get(snapshot.jobId);
      if (start ? snapshot.time > start.at : live) stored += Number(snapshot.addedBytes ?? 0);
      if (!live) continue;
      referenced += Number(snapshot.sizeBytes ?? 0);
      count += 1;
    }
    points.push({
      day,
      storedBytes: stored,
      referencedBytes: referenced,
      snapshots: count,
      dedupRatio: stored > 0 ? referenced / stored : null,
    });
  }
  return { points };
}
