import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunAssignment } from "../src/agent/contract.ts";
import { appRouter } from "../src/routers/index.ts";
import { type Context, createCallerFactory } from "../src/trpc.ts";
import { callAgentApi, callerContext, createHarness, createTenant, enrollAgent, type Harness } from "./fixtures.ts";

let harness: Harness;
let tenantId: string;
let agent: { agentId: string; agentToken: string };
const callerFor = (context: Context) => createCallerFactory(appRouter)(context);
let client: ReturnType<typeof callerFor>;
let admin: typeof client;

function contextFor(user: Context["user"]): Context {
  return callerContext(harness, user);
}

beforeAll(async () => {
  harness = await createHarness("routers");
  const tenant = await createTenant(harness.db, "Acme");
  tenantId = tenant.id;
  agent = await enrollAgent(harness.deps, tenant.id, "acme-pc");
  client = callerFor(contextFor({ id: "u-client", email: "c@acme.test", name: "C", role: "client", tenantId }));
  admin = callerFor(contextFor({ id: "u-admin", email: "a@e3.test", name: "A", role: "admin", tenantId: null }));
});
afterAll(() => harness.close());

const s3Job = () => ({
  name: "Documents",
  agentId: agent.agentId,
  engine: "backup" as const,
  sourcePaths: ["C:\\Users\\me\\Documents"],
  destination: {
    type: "s3" as const,
    bucket: "acme-backups",
    prefix: "pc",
    accessKeyId: "AKIAACME",
    secretAccessKey: "acme-secret",
  },
  schedule: { kind: "cron" as const, cron: "0 2 * * *", timezone: "Europe/Berlin" },
  retention: { keepDaily: 7, keepWeekly: 4 },
});

async function fieldErrorsOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return (error as TRPCError).message;
}

describe("agents", () => {
  it("tells an enrolled agent from one that has polled: first_polled_at comes with its first call, not with enrolling", async () => {
    const fresh = await enrollAgent(harness.deps, tenantId, "acme-new");
    const listed = async () => (await client.agents.list()).find((candidate) => candidate.id === fresh.agentId);
    // Enrolling sets last_seen_at, but the agent has not run yet: never connected, not online.
    expect(await listed()).toMatchObject({ connectivity: "never", firstPolledAt: null });
    expect((await admin.admin.agents({ tenantId })).find((row) => row.id === fresh.agentId)?.connectivity).toBe(
      "never",
    );
    const first = await callAgentApi(harness.deps, "next_run", {}, fresh);
    expect(first.status).toBe(200);
    const polled = await listed();
    expect(polled?.firstPolledAt).toBeInstanceOf(Date);
    expect(polled?.connectivity).toBe("online");
    // Later polls keep the first one's time.
    await callAgentApi(harness.deps, "next_run", {}, fresh);
    expect((await listed())?.firstPolledAt).toEqual(polled?.firstPolledAt);
    expect((await client.agents.get({ agentId: fresh.agentId })).firstPolledAt).toEqual(polled?.firstPolledAt);
  });
});

describe("jobs", () => {
  it("creates a job with sealed secrets, a managed repository password and its next slot", async () => {
    const job = await client.jobs.create(s3Job());
    expect(job).toMatchObject({ name: "Documents", destType: "s3", hasAccessKey: true, hasRepositoryPassword: true });
    expect(JSON.stringify(job)).not.toContain("acme-secret");
    expect(job.nextRunAt).toBeInstanceOf(Date);
    const stored = await harness.db.job.findUniqueOrThrow({ where: { id: job.id } });
    expect(stored.destSecretKeyEnc).toMatch(/^e3s1\./);
    expect(stored.policyJson).toMatchObject({ excludeCaches: true, packSizeMiB: 16 });
  });

  it("refuses bad jobs with messages that name the field", async () => {
    const noKeys = { ...s3Job(), destination: { type: "s3" as const, bucket: "acme-backups" } };
    expect(await fieldErrorsOf(client.jobs.create(noKeys))).toMatch(/access key id and a secret access key/);
    const badBucket = { ...s3Job(), destination: { ...s3Job().destination, bucket: "Bad_Bucket" } };
    expect(await fieldErrorsOf(client.jobs.create(badBucket))).toMatch(/valid S3 bucket name/);
    const badCron = { ...s3Job(), schedule: { kind: "cron" as const, cron: "99 * * * *", timezone: "UTC" } };
    expect(await fieldErrorsOf(client.jobs.create(badCron))).toMatch(/not a valid cron expression/);
    const keepNothing = { ...s3Job(), retention: { keepDaily: 0 } };
    expect(await fieldErrorsOf(client.jobs.create(keepNothing))).toMatch(/keep at least something/);
    const noSources = { ...s3Job(), sourcePaths: [] };
    expect(await fieldErrorsOf(client.jobs.create(noSources))).toMatch(/pick at least one folder/);
  });

  it("updates keep stored secrets unless new ones are given, and refuse switching the encryption mode", async () => {
    const job = await client.jobs.create(s3Job());
    const before = await harness.db.job.findUniqueOrThrow({ where: { id: job.id } });
    // A change names only what it changes: the rest (retention, policy, limits) stays as stored.
    await client.jobs.update({ jobId: job.id, changes: { excludeGlob: "*.tmp" } });
    const globbed = await harness.db.job.findUniqueOrThrow({ where: { id: job.id } });
    expect(globbed).toMatchObject({
      localExcludeGlob: "*.tmp",
      retentionJson: before.retentionJson,
      policyJson: before.policyJson,
    });
    expect(globbed.retentionJson).toEqual({ keepDaily: 7, keepWeekly: 4 });
    const renamed = await client.jobs.update({ jobId: job.id, changes: { name: "Docs", retention: null } });
    expect(renamed.name).toBe("Docs");
    const after = await harness.db.job.findUniqueOrThrow({ where: { id: job.id } });
    expect(after.destSecretKeyEnc).toBe(before.destSecretKeyEnc);
    expect(after.retentionJson).toBeNull();
    expect(await fieldErrorsOf(client.jobs.update({ jobId: job.id, changes: { encryptionMode: "agent" } }))).toMatch(
      /encryption mode/,
    );
  });

  it("runs now once, hands the run to the agent with its keys, and cancels through a command", async () => {
    const job = await client.jobs.create(s3Job());
    const first = await client.jobs.runNow({ jobId: job.id });
    expect((await client.jobs.runNow({ jobId: job.id })).alreadyQueued).toBe(true);

    let claimed: RunAssignment | null = null;
    for (let i = 0; i < 10 && claimed?.runId !== first.runId; i++) {
      claimed = (await callAgentApi(harness.deps, "next_run", {}, agent)).body.run as RunAssignment | null;
    }
    expect(claimed).toMatchObject({ runId: first.runId, destination: { secretAccessKey: "acme-secret" } });
    expect(await client.runs.cancel({ runId: first.runId })).toEqual({ cancelled: false, requested: true });
    const polled = await callAgentApi(harness.deps, "poll_commands", { runId: first.runId }, agent);
    expect(polled.body.commands).toHaveLength(1);

    const page = await client.runs.list({ jobId: job.id, limit: 1 });
    expect(page.runs).toHaveLength(1);
    expect(page.runs[0]!.job.name).toBe("Documents");
  });

  it("previews the next five slots of a schedule", async () => {
    const slots = await client.jobs.previewSchedule({ schedule: { kind: "interval", everySeconds: 3600 } });
    expect(slots).toHaveLength(5);
    expect(slots[1]!.getTime() - slots[0]!.getTime()).toBe(3_600_000);
  });
});

describe("restore and maintenance", () => {
  it("creates a restore run and its command for a catalogued snapshot, on another agent of the tenant", async () => {
    const job = await client.jobs.create(s3Job());
    const other = await enrollAgent(harness.deps, tenantId, "acme-laptop");
    await harness.db.snapshot.create({
      data: {
        tenantId,
        jobId: job.id,
        snapshotId: "d".repeat(64),
        time: new Date(),
        hostname: "acme-pc",
        paths: ["/"],
        tags: [],
      },
    });
    const started = await client.restore.start({
      jobId: job.id,
      snapshotId: "dddddddd",
      paths: ["/Documents/a.txt"],
      targetPath: "/restore",
      targetAgentId: other.agentId,
    });
    const polled = await callAgentApi(harness.deps, "poll_pending_commands", {}, other);
    expect(polled.body.commands).toMatchObject([
      {
        commandId: started.commandId,
        type: "restore",
        runId: started.restoreRunId,
        payload: { snapshotId: "d".repeat(64) },
      },
    ]);
    expect(await fieldErrorsOf(client.restore.start({ jobId: job.id, snapshotId: "eeeeeeee" }))).toMatch(
      /snapshot not found/,
    );
  });

  it("queues browse commands in the agent's payload shape; an agent busy with a run can ask for browse alone", async () => {
    const job = await client.jobs.create(s3Job());
    await harness.db.snapshot.create({
      data: {
        tenantId,
        jobId: job.id,
        snapshotId: "c".repeat(64),
        time: new Date(),
        hostname: "h",
        paths: ["/"],
        tags: [],
      },
    });
    const local = await client.commands.browse({ kind: "local", agentId: agent.agentId, path: "/home" });
    const inSnapshot = await client.commands.browse({
      kind: "snapshot",
      jobId: job.id,
      snapshotId: "cccccccc",
      path: "/etc",
    });
    const search = await client.commands.browse({ kind: "search", jobId: job.id, pattern: "*.txt" });
    const maintenance = await client.commands.maintenance({ jobId: job.id, kind: "maintenance_quick" });
    const stored = await harness.db.runCommand.findMany({
      where: { id: { in: [local.commandId, inSnapshot.commandId, search.commandId] } },
    });
    const payloads = Object.fromEntries(stored.map((command) => [command.id, command.payloadJson]));
    expect(payloads[local.commandId]).toEqual({ kind: "local", path: "/home", cursor: null, limit: 500 });
    expect(payloads[inSnapshot.commandId]).toEqual({
      kind: "snapshot",
      snapshotId: "c".repeat(64),
      path: "/etc",
      cursor: null,
      limit: 500,
    });
    expect(payloads[search.commandId]).toEqual({
      kind: "search",
      pattern: "*.txt",
      snapshotIds: [],
      caseInsensitive: true,
      distinctPaths: false,
      cursor: null,
      limit: 200,
    });
    expect(
      await fieldErrorsOf(client.commands.browse({ kind: "snapshot", jobId: job.id, snapshotId: "eeeeeeee" })),
    ).toMatch(/snapshot not found/);
    expect(
      await fieldErrorsOf(client.commands.browse({ kind: "local", agentId: agent.agentId, path: "/", limit: 5000 })),
    ).toMatch(/limit/);

    const busy = await callAgentApi(harness.deps, "poll_pending_commands", { types: ["browse"] }, agent);
    const busyCommands = busy.body.commands as { commandId: string; type: string }[];
    expect(busyCommands.map((command) => command.commandId).sort()).toEqual(
      [local.commandId, inSnapshot.commandId, search.commandId].sort(),
    );
    const idle = await callAgentApi(harness.deps, "poll_pending_commands", {}, agent);
    const idleCommands = idle.body.commands as { commandId: string; type: string }[];
    expect(idleCommands.map((command) => command.commandId)).toContain(maintenance.commandId);
    expect(idleCommands.map((command) => command.type)).not.toContain("browse");
  });

  it("lets an admin start full maintenance on any tenant's backup job, and refuses clients the admin API", async () => {
    const job = await client.jobs.create(s3Job());
    const started = await admin.admin.maintenance({ jobId: job.id, kind: "maintenance_full" });
    const run = await harness.db.run.findUniqueOrThrow({ where: { id: started.runId } });
    expect(run).toMatchObject({ runType: "maintenance_full", status: "queued", tenantId });
    expect(await fieldErrorsOf(client.admin.fleet())).toMatch(/only provider admins/);
    expect(await fieldErrorsOf(admin.jobs.list())).toMatch(/belongs to a client account/);
  });
});

describe("dashboard", () => {
  it("counts protected, failing and overdue jobs and draws the worst result per day", async () => {
    const tenant = await createTenant(harness.db, "Dash");
    const dashAgent = await enrollAgent(harness.deps, tenant.id, "dash-pc");
    const dash = callerFor(
      contextFor({ id: "u-dash", email: "d@dash.test", name: "D", role: "client", tenantId: tenant.id }),
    );
    const good = await dash.jobs.create({ ...s3Job(), agentId: dashAgent.agentId, name: "good" });
    const bad = await dash.jobs.create({ ...s3Job(), agentId: dashAgent.agentId, name: "bad" });
    const finish = async (jobId: string, status: "success" | "failed", finishedAt: Date) => {
      const job = await harness.db.job.findUniqueOrThrow({ where: { id: jobId } });
      await harness.db.run.create({
        data: {
          tenantId: tenant.id,
          jobId,
          agentId: job.agentId,
          engine: "backup",
          destType: "s3",
          status,
          finishedAt,
        },
      });
    };
    const today = new Date();
    await finish(good.id, "success", today);
    await finish(bad.id, "success", new Date(today.getTime() - 3_600_000));
    await finish(bad.id, "failed", today);
    await harness.db.job.update({ where: { id: bad.id }, data: { overdueSince: today } });

    const summary = await dash.dashboard.summary();
    expect(summary.counts).toMatchObject({ jobs: 2, protected: 1, failing: 1, overdue: 1 });
    const badRow = summary.jobs.find((row) => row.jobId === bad.id)!;
    expect(badRow.days).toHaveLength(30);
    expect(badRow.days.at(-1)).toEqual({ day: today.toISOString().slice(0, 10), result: "failed" });
  });

  it("lists problems worst first, the latest runs and the next slots, and storage with its dedup ratio per day", async () => {
    const tenant = await createTenant(harness.db, "Activity");
    const onlineAgent = await enrollAgent(harness.deps, tenant.id, "act-pc");
    const silentAgent = await enrollAgent(harness.deps, tenant.id, "act-silent");
    const neverAgent = await enrollAgent(harness.deps, tenant.id, "act-ghost");
    await enrollAgent(harness.deps, tenant.id, "act-just-enrolled");
    const polledAt = new Date(Date.now() - 86_400_000);
    await harness.db.agent.update({
      where: { id: onlineAgent.agentId },
      data: { lastSeenAt: new Date(), firstPolledAt: polledAt },
    });
    await harness.db.agent.update({
      where: { id: silentAgent.agentId },
      data: { name: "silent", lastSeenAt: new Date(Date.now() - 3 * 3_600_000), firstPolledAt: polledAt },
    });
    // Enrolled an hour ago, never polled: a problem; the agent enrolled just now is still expected to poll.
    await harness.db.agent.update({
      where: { id: neverAgent.agentId },
      data: { name: "ghost", lastSeenAt: new Date(Date.now() - 3_600_000) },
    });
    const act = callerFor(
      contextFor({ id: "u-act", email: "x@act.test", name: "X", role: "client", tenantId: tenant.id }),
    );
    const failing = await act.jobs.create({ ...s3Job(), agentId: onlineAgent.agentId, name: "failing" });
    const late = await act.jobs.create({ ...s3Job(), agentId: onlineAgent.agentId, name: "late" });
    const run = await harness.db.run.create({
      data: {
        tenantId: tenant.id,
        jobId: failing.id,
        agentId: onlineAgent.agentId,
        engine: "backup",
        destType: "s3",
        status: "failed",
        errorCode: "AGENT_OFFLINE",
        finishedAt: new Date(),
      },
    });
    const overdueSince = new Date(Date.now() - 2 * 86_400_000);
    await harness.db.job.update({ where: { id: late.id }, data: { overdueSince } });

    const activity = await act.dashboard.activity();
    expect(activity.problems.map((problem) => problem.kind)).toEqual([
      "job_failed",
      "agent_unreachable",
      "agent_unreachable",
      "job_overdue",
    ]);
    expect(activity.problems[0]).toMatchObject({ jobName: "failing", runId: run.id, errorCode: "AGENT_OFFLINE" });
    expect(activity.problems[1]).toMatchObject({ agentName: "ghost", connectivity: "never" });
    expect(activity.problems[2]).toMatchObject({ agentName: "silent", connectivity: "offline" });
    expect(activity.recentRuns.map((recent) => recent.id)).toEqual([run.id]);
    // Both jobs run daily at 02:00 Berlin time; the scheduler set their next slot on creation.
    expect(activity.nextRuns.map((next) => next.jobName).sort()).toEqual(["failing", "late"]);
    expect(activity.nextRuns[0]!.at.getTime()).toBeGreaterThan(Date.now());

    // The late job's strip shows the days since it became overdue.
    const summary = await act.dashboard.summary();
    const lateDays = summary.jobs.find((job) => job.jobId === late.id)!.days;
    expect(lateDays.slice(-3).map((day) => day.result)).toEqual(["overdue", "overdue", "overdue"]);
    expect(lateDays.at(-4)!.result).toBe("none");

    const snapshot = (daysAgo: number, size: number, added: number, forgottenDaysAgo?: number) =>
      harness.db.snapshot.create({
        data: {
          tenantId: tenant.id,
          jobId: failing.id,
          snapshotId: `${daysAgo}${forgottenDaysAgo ?? ""}`.padEnd(64, "a"),
          time: new Date(Date.now() - daysAgo * 86_400_000 - 60_000),
          hostname: "act-pc",
          paths: ["/data"],
          tags: [],
          sizeBytes: BigInt(size),
          addedBytes: BigInt(added),
          forgottenAt:
            forgottenDaysAgo === undefined ? null : new Date(Date.now() - forgottenDaysAgo * 86_400_000 - 30_000),
        },
      });
    await snapshot(5, 1000, 400, 1);
    await snapshot(3, 1000, 100);
    await snapshot(40, 500, 500, 35);
    const { points } = await act.dashboard.storage({ days: 7 });
    expect(points).toHaveLength(7);
    expect(points.map((point) => point.snapshots)).toEqual([0, 1, 1, 2, 2, 1, 1]);
    expect(points[3]).toMatchObject({ storedBytes: 500, referencedBytes: 2000, dedupRatio: 4 });
    expect(points[0]).toMatchObject({ storedBytes: 0, dedupRatio: null });
    expect(points.at(-1)!.day).toBe(new Date().toISOString().slice(0, 10));

    // A full maintenance two days ago pruned the repository to 320 bytes (its run stats); a quick one reports no size.
    const maintenance = (runType: "maintenance_full" | "maintenance_quick", daysAgo: number, stats: object) =>
      harness.db.run.create({
        data: {
          tenantId: tenant.id,
          jobId: failing.id,
          agentId: onlineAgent.agentId,
          runType,
          engine: "backup",
          destType: "s3",
          status: "success",
          finishedAt: new Date(Date.now() - daysAgo * 86_400_000 - 60_000),
          statsJson: stats,
        },
      });
    await maintenance("maintenance_full", 2, {
      kind: "full",
      prune: { dryRun: false, bytes: { used: 300, unused: 700, repacked: 0, freed: 680, unusedAfter: 20 } },
    });
    await maintenance("maintenance_quick", 0.5, { kind: "quick", bytesFreed: 0 });
    await snapshot(1, 1000, 50);
    const pruned = (await act.dashboard.storage({ days: 7 })).points;
    expect(pruned[3]).toMatchObject({ storedBytes: 500, referencedBytes: 2000 });
    // From the prune on: its size, plus what later backups added; the forgotten snapshot's 400 are gone.
    expect(pruned[4]).toMatchObject({ storedBytes: 320, referencedBytes: 2000 });
    expect(pruned[5]).toMatchObject({ storedBytes: 370, referencedBytes: 2000, snapshots: 2 });
    expect(pruned[6]).toMatchObject({ storedBytes: 370, dedupRatio: 2000 / 370 });
  });
});
