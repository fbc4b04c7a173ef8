import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "../src/routers/index.ts";
import { createCallerFactory } from "../src/trpc.ts";
import { runOverdueCheck } from "../src/worker/overdue.ts";
import { runScheduler } from "../src/worker/scheduler.ts";
import { callerContext, createHarness, createJob, createTenant, enrollAgent, type Harness } from "./fixtures.ts";

// Pausing a job's schedule (jobs.pause / jobs.resume) against the real scheduler and overdue check on PostgreSQL.

let harness: Harness;
let tenantId: string;
let agentId: string;
const callerFor = createCallerFactory(appRouter);
let client: ReturnType<typeof callerFor>;

beforeAll(async () => {
  harness = await createHarness("pause");
  tenantId = (await createTenant(harness.db, "Pause")).id;
  agentId = (await enrollAgent(harness.deps, tenantId, "pause-pc")).agentId;
  const user = await harness.db.user.create({
    data: { id: "user-pause", name: "P", email: "p@example.com", role: "client", tenantId },
  });
  client = callerFor(
    callerContext(harness, { id: user.id, email: user.email, name: user.name, role: "client", tenantId }),
  );
});
afterAll(() => harness.close());

const hourly = { kind: "cron", cron: "0 * * * *", timezone: "UTC" };
const hours = (n: number) => n * 3_600_000;
const reload = (id: string) => harness.db.job.findUniqueOrThrow({ where: { id } });

describe("pausing a job's schedule", () => {
  it("stops the scheduler and the overdue alarm, cancels the queued scheduled run, and resumes from now", async () => {
    const now = Date.now();
    const job = await createJob(harness, tenantId, agentId, {
      name: "Paused photos",
      scheduleJson: hourly,
      createdAt: new Date(now - hours(72)),
    });
    await runScheduler(harness.db, new Date(now));
    await harness.db.job.update({ where: { id: job.id }, data: { nextRunAt: new Date(now - 1000) } });
    expect((await runScheduler(harness.db, new Date(now))).enqueued).toBe(1);
    expect((await runOverdueCheck(harness.db, new Date(now))).becameOverdue).toContain(job.id);

    const paused = await client.jobs.pause({ jobId: job.id });
    expect(paused.pausedAt).toBeInstanceOf(Date);
    expect(paused).toMatchObject({ pausedUntil: null, pausedBy: "user-pause", nextRunAt: null, overdueSince: null });
    const cancelled = await harness.db.run.findFirstOrThrow({ where: { jobId: job.id } });
    expect(cancelled).toMatchObject({ status: "cancelled", errorCode: "JOB_PAUSED" });

    // A day of worker ticks: nothing is enqueued, no slot is given, and the job is never overdue.
    for (let hour = 1; hour <= 24; hour += 1) await runScheduler(harness.db, new Date(now + hours(hour)));
    expect(await harness.db.run.count({ where: { jobId: job.id, trigger: "schedule", status: "queued" } })).toBe(0);
    expect((await reload(job.id)).nextRunAt).toBeNull();
    expect((await runOverdueCheck(harness.db, new Date(now + hours(24)))).becameOverdue).not.toContain(job.id);

    const summary = await client.dashboard.summary();
    const row = summary.jobs.find((entry) => entry.jobId === job.id)!;
    expect(row).toMatchObject({ paused: true, overdue: false });
    expect(summary.counts.paused).toBe(1);
    const activity = await client.dashboard.activity();
    expect(activity.problems.filter((problem) => "jobId" in problem && problem.jobId === job.id)).toEqual([]);
    expect(activity.nextRuns.map((next) => next.jobId)).not.toContain(job.id);

    // Manual runs still work while the schedule is paused.
    const manual = await client.jobs.runNow({ jobId: job.id });
    expect(manual.alreadyQueued).toBe(false);

    const resumed = await client.jobs.resume({ jobId: job.id });
    expect(resumed.pausedAt).toBeNull();
    expect(resumed.resumedAt).toBeInstanceOf(Date);
    expect(resumed.nextRunAt!.getTime()).toBeGreaterThan(Date.now());
    expect(resumed.nextRunAt!.getTime()).toBeLessThanOrEqual(Date.now() + hours(1));
    // The overdue clock restarts at the resume: 80 minutes later the hourly job is not overdue yet, 100 minutes it is.
    const resumedAt = resumed.resumedAt!.getTime();
    expect((await runOverdueCheck(harness.db, new Date(resumedAt + 80 * 60_000))).becameOverdue).not.toContain(job.id);
    expect((await runOverdueCheck(harness.db, new Date(resumedAt + 100 * 60_000))).becameOverdue).toContain(job.id);

    const audit = await harness.db.auditLog.findMany({ where: { targetId: job.id }, orderBy: { createdAt: "asc" } });
    expect(audit.map((entry) => entry.action)).toEqual(["job.pause", "job.resume"]);
  });

  it("resumes by itself when the pause's end passes, without a missed-slot run", async () => {
    const job = await createJob(harness, tenantId, agentId, { name: "Paused until", scheduleJson: hourly });
    const until = new Date(Date.now() + hours(2));
    const paused = await client.jobs.pause({ jobId: job.id, until });
    expect(paused.pausedUntil).toEqual(until);

    await runScheduler(harness.db, new Date(until.getTime() - 60_000));
    expect((await reload(job.id)).pausedAt).not.toBeNull();

    const after = new Date(until.getTime() + 1000);
    await runScheduler(harness.db, after);
    const resumed = await reload(job.id);
    expect(resumed).toMatchObject({ pausedAt: null, pausedUntil: null, pausedBy: null, resumedAt: until });
    expect(resumed.nextRunAt!.getTime()).toBeGreaterThan(after.getTime());

    await runScheduler(harness.db, new Date(resumed.nextRunAt!.getTime() + 1000));
    const run = await harness.db.run.findFirstOrThrow({ where: { jobId: job.id, trigger: "schedule" } });
    expect(await harness.db.runEvent.count({ where: { runId: run.id, type: "SCHEDULE_MISSED" } })).toBe(0);
  });

  it("refuses an end in the past or more than a year ahead, and resuming a running schedule changes nothing", async () => {
    const job = await createJob(harness, tenantId, agentId, { name: "Not paused", scheduleJson: hourly });
    const past = await client.jobs
      .pause({ jobId: job.id, until: new Date(Date.now() - 1000) })
      .catch((e: unknown) => e);
    expect(past).toBeInstanceOf(TRPCError);
    expect((past as TRPCError).message).toContain("must end in the future");
    const far = await client.jobs
      .pause({ jobId: job.id, until: new Date(Date.now() + 400 * 86_400_000) })
      .catch((e: unknown) => e);
    expect((far as TRPCError).code).toBe("BAD_REQUEST");
    expect((far as TRPCError).message).toContain("must be within a year");
    expect((await reload(job.id)).pausedAt).toBeNull();

    const before = await reload(job.id);
    const resumed = await client.jobs.resume({ jobId: job.id });
    expect(resumed.updatedAt).toEqual(before.updatedAt);
  });
});
