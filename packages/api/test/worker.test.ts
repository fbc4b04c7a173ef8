import { createDatabase, type Database } from "@e3/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAgentOfflineCheck } from "../src/worker/agent-offline.ts";
import { runOverdueCheck } from "../src/worker/overdue.ts";
import { runScheduler } from "../src/worker/scheduler.ts";
import { runWatchdog } from "../src/worker/watchdog.ts";
import { createHarness, createJob, createTenant, enrollAgent, type Harness, queueRun } from "./fixtures.ts";

let harness: Harness;
/** A second connection pool, as a second worker process would have. */
let secondWorkerDb: Database;
beforeAll(async () => {
  harness = await createHarness("worker");
  secondWorkerDb = createDatabase(harness.database.url, { poolSize: 4 });
});
afterAll(async () => {
  await secondWorkerDb.$disconnect();
  await harness.close();
});

async function jobFor(schedule: unknown, extra: Record<string, unknown> = {}) {
  const tenant = await createTenant(harness.db);
  const agent = await enrollAgent(harness.deps, tenant.id);
  return createJob(harness, tenant.id, agent.agentId, { scheduleJson: schedule, ...extra } as never);
}

const hourly = { kind: "cron", cron: "0 * * * *", timezone: "UTC" };

describe("scheduler", () => {
  it("gives a new job its next slot, then enqueues exactly one run per slot with two workers racing", async () => {
    const job = await jobFor(hourly);
    const t0 = new Date("2030-01-01T10:20:00Z");
    await runScheduler(harness.db, t0);
    expect((await harness.db.job.findUniqueOrThrow({ where: { id: job.id } })).nextRunAt?.toISOString()).toBe(
      "2030-01-01T11:00:00.000Z",
    );

    const due = new Date("2030-01-01T11:00:01Z");
    const results = await Promise.all([
      runScheduler(harness.db, due),
      runScheduler(secondWorkerDb, due),
      runScheduler(harness.db, due),
      runScheduler(secondWorkerDb, due),
    ]);
    const runs = await harness.db.run.findMany({ where: { jobId: job.id } });
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: "queued", trigger: "schedule", agentId: job.agentId });
    expect(runs[0]!.scheduledFor?.toISOString()).toBe("2030-01-01T11:00:00.000Z");
    expect(results.reduce((sum, r) => sum + r.enqueued, 0)).toBeGreaterThanOrEqual(1);
    expect((await harness.db.job.findUniqueOrThrow({ where: { id: job.id } })).nextRunAt?.toISOString()).toBe(
      "2030-01-01T12:00:00.000Z",
    );
  });

  it("keeps at most one queued run per job and collapses missed slots into one flagged run", async () => {
    const job = await jobFor(hourly);
    await harness.db.job.update({ where: { id: job.id }, data: { nextRunAt: new Date("2030-02-01T01:00:00Z") } });

    // The server was down from 01:00 to 05:30: one run, marked as missed, and the next slot is 06:00.
    const late = new Date("2030-02-01T05:30:00Z");
    expect((await runScheduler(harness.db, late)).missed).toBeGreaterThanOrEqual(1);
    const runs = await harness.db.run.findMany({ where: { jobId: job.id } });
    expect(runs).toHaveLength(1);
    const run = runs[0];
    const events = await harness.db.runEvent.findMany({ where: { runId: run!.id } });
    expect(events.map((e) => [e.type, e.seq])).toEqual([["SCHEDULE_MISSED", -1]]);
    expect((await harness.db.job.findUniqueOrThrow({ where: { id: job.id } })).nextRunAt?.toISOString()).toBe(
      "2030-02-01T06:00:00.000Z",
    );

    // The agent has not picked the run up by 06:00: the slot passes without a second queued run.
    expect((await runScheduler(harness.db, new Date("2030-02-01T06:00:30Z"))).skippedBusy).toBeGreaterThanOrEqual(1);
    expect(await harness.db.run.count({ where: { jobId: job.id } })).toBe(1);
    expect((await harness.db.job.findUniqueOrThrow({ where: { id: job.id } })).nextRunAt?.toISOString()).toBe(
      "2030-02-01T07:00:00.000Z",
    );
  });

  it("leaves disabled, deleted and manual jobs alone", async () => {
    const disabled = await jobFor(hourly, { enabled: false });
    const deleted = await jobFor(hourly, { deletedAt: new Date() });
    const manual = await jobFor({ kind: "manual" });
    await runScheduler(harness.db, new Date("2030-03-01T00:00:00Z"));
    await runScheduler(harness.db, new Date("2030-03-02T00:00:00Z"));
    for (const job of [disabled, deleted, manual]) {
      expect(await harness.db.run.count({ where: { jobId: job.id } })).toBe(0);
    }
    expect((await harness.db.job.findUniqueOrThrow({ where: { id: manual.id } })).nextRunAt).toBeNull();
  });
});

describe("watchdog", () => {
  it("fails exactly the runs whose heartbeat is older than the timeout, once, with AGENT_OFFLINE", async () => {
    const job = await jobFor({ kind: "manual" });
    const now = new Date();
    const stale = await queueRun(harness.db, job);
    const fresh = await queueRun(harness.db, job);
    const queued = await queueRun(harness.db, job);
    await harness.db.run.update({
      where: { id: stale.id },
      data: { status: "running", updatedAt: new Date(now.getTime() - 721_000) },
    });
    await harness.db.run.update({
      where: { id: fresh.id },
      data: { status: "running", updatedAt: new Date(now.getTime() - 700_000) },
    });

    const [first, second] = await Promise.all([
      runWatchdog(harness.db, { AGENT_WATCHDOG_TIMEOUT_SECONDS: 720 }, now),
      runWatchdog(secondWorkerDb, { AGENT_WATCHDOG_TIMEOUT_SECONDS: 720 }, now),
    ]);
    expect([...first!.failedRuns, ...second!.failedRuns]).toEqual([stale.id]);
    const after = await harness.db.run.findMany({ where: { jobId: job.id }, orderBy: { createdAt: "asc" } });
    const byId = new Map(after.map((run) => [run.id, run]));
    expect(byId.get(stale.id)).toMatchObject({ status: "failed", errorCode: "AGENT_OFFLINE" });
    expect(byId.get(stale.id)!.errorMessage).toMatch(/stopped reporting for more than 12 minutes/);
    expect(byId.get(fresh.id)!.status).toBe("running");
    expect(byId.get(queued.id)!.status).toBe("queued");
    const events = await harness.db.runEvent.findMany({ where: { runId: stale.id } });
    expect(events.map((e) => e.type)).toEqual(["RUN_FAILED"]);
  });

  it("expires commands nobody picked up and fails the restore run that waited for one", async () => {
    const job = await jobFor({ kind: "manual" });
    const restoreRun = await harness.db.run.create({
      data: {
        tenantId: job.tenantId,
        jobId: job.id,
        agentId: job.agentId,
        runType: "restore",
        trigger: "command",
        engine: "backup",
        destType: "s3",
      },
    });
    await harness.db.runCommand.create({
      data: {
        tenantId: job.tenantId,
        agentId: job.agentId,
        jobId: job.id,
        runId: restoreRun.id,
        type: "restore",
        expiresAt: new Date(Date.now() - 1000),
      },
    });
    const result = await runWatchdog(harness.db, { AGENT_WATCHDOG_TIMEOUT_SECONDS: 720 });
    expect(result.failedCommandRuns).toEqual([restoreRun.id]);
    expect(await harness.db.run.findUniqueOrThrow({ where: { id: restoreRun.id } })).toMatchObject({
      status: "failed",
      errorCode: "COMMAND_EXPIRED",
    });
  });
});

describe("overdue detection", () => {
  it("raises a job once when no success arrived within 1.5 intervals, and clears it after a success", async () => {
    const job = await jobFor({ kind: "interval", everySeconds: 3600 });
    const created = job.createdAt.getTime();
    expect((await runOverdueCheck(harness.db, new Date(created + 80 * 60_000))).becameOverdue).not.toContain(job.id);

    const late = new Date(created + 100 * 60_000);
    const [a, b] = await Promise.all([runOverdueCheck(harness.db, late), runOverdueCheck(secondWorkerDb, late)]);
    expect([...a.becameOverdue, ...b.becameOverdue].filter((id) => id === job.id)).toHaveLength(1);
    expect((await harness.db.job.findUniqueOrThrow({ where: { id: job.id } })).overdueSince).toEqual(late);

    const run = await queueRun(harness.db, job);
    await harness.db.run.update({ where: { id: run.id }, data: { status: "success", finishedAt: late } });
    const recovered = await runOverdueCheck(harness.db, new Date(late.getTime() + 60_000));
    expect(recovered.recovered).toContain(job.id);
    expect((await harness.db.job.findUniqueOrThrow({ where: { id: job.id } })).overdueSince).toBeNull();
  });
});

describe("offline agents", () => {
  it("flags an agent silent past the stale window once across workers, and clears it when it calls in", async () => {
    const tenant = await createTenant(harness.db);
    const agent = await enrollAgent(harness.deps, tenant.id, "quiet-host");
    const revoked = await enrollAgent(harness.deps, tenant.id, "gone-host");
    const now = new Date();
    const silentSince = new Date(now.getTime() - 16 * 60_000);
    await harness.db.agent.update({ where: { id: agent.agentId }, data: { lastSeenAt: silentSince } });
    await harness.db.agent.update({
      where: { id: revoked.agentId },
      data: { lastSeenAt: silentSince, status: "revoked" },
    });

    const [a, b] = await Promise.all([
      runAgentOfflineCheck(harness.db, now),
      runAgentOfflineCheck(secondWorkerDb, now),
    ]);
    const flagged = [...a.wentOffline, ...b.wentOffline].filter((row) => row.tenant_id === tenant.id);
    expect(flagged.map((row) => row.name)).toEqual(["quiet-host"]);
    expect(
      (await runAgentOfflineCheck(harness.db, now)).wentOffline.filter((row) => row.tenant_id === tenant.id),
    ).toEqual([]);

    await harness.db.agent.update({ where: { id: agent.agentId }, data: { lastSeenAt: new Date() } });
    expect((await runAgentOfflineCheck(harness.db, new Date())).cameBack).toBeGreaterThanOrEqual(1);
    expect((await harness.db.agent.findUniqueOrThrow({ where: { id: agent.agentId } })).offlineSince).toBeNull();
  });
});
