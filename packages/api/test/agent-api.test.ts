import { createDatabase } from "@e3/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EnrollResponse, RunAssignment } from "../src/agent/contract.ts";
import { handleAgentRequest } from "../src/agent/http.ts";
import {
  agentRequest,
  callAgentApi,
  createEnrollmentToken,
  createHarness,
  createJob,
  createTenant,
  enrollAgent,
  type Harness,
  queueRun,
} from "./fixtures.ts";

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness("agentapi");
});
afterAll(() => harness.close());

const credentials = (agent: EnrollResponse) => ({ agentId: agent.agentId, agentToken: agent.agentToken });

async function setAge(runId: string, seconds: number, status: "starting" | "running" = "running") {
  await harness.db.run.update({
    where: { id: runId },
    data: { status, updatedAt: new Date(Date.now() - seconds * 1000) },
  });
}

describe("POST /agent/enroll", () => {
  it("exchanges a one-time token for an agent id and a token stored only hashed", async () => {
    const tenant = await createTenant(harness.db);
    const token = await createEnrollmentToken(harness.db, tenant.id);
    const first = await callAgentApi(harness.deps, "enroll", { token, hostname: "pc-1", os: "windows" });
    expect(first.status).toBe(200);
    const enrolled = first.body as EnrollResponse;
    expect(enrolled.tenantId).toBe(tenant.id);
    expect(enrolled.agentToken.length).toBeGreaterThanOrEqual(43); // 256 bits in base64url
    const agent = await harness.db.agent.findUniqueOrThrow({ where: { id: enrolled.agentId } });
    expect(agent.tokenHash).not.toContain(enrolled.agentToken);
    expect(agent.name).toBe("pc-1");

    const again = await callAgentApi(harness.deps, "enroll", { token, hostname: "pc-2" });
    expect(again.status).toBe(401);
    expect(again.body).toMatchObject({ error: { code: "ENROLLMENT_TOKEN_INVALID" } });
  });

  it("refuses an expired token and lets exactly one of many concurrent enrollments use a token", async () => {
    const tenant = await createTenant(harness.db);
    const expired = await createEnrollmentToken(harness.db, tenant.id, -1000);
    expect((await callAgentApi(harness.deps, "enroll", { token: expired, hostname: "x" })).status).toBe(401);

    const token = await createEnrollmentToken(harness.db, tenant.id);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => callAgentApi(harness.deps, "enroll", { token, hostname: `racer-${i}` })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401, 401, 401, 401]);
    expect(await harness.db.agent.count({ where: { tenantId: tenant.id } })).toBe(1);
  });
});

describe("agent authentication", () => {
  it("answers 401 for missing or wrong credentials and 403 for a revoked agent", async () => {
    const tenant = await createTenant(harness.db);
    const agent = await enrollAgent(harness.deps, tenant.id);
    expect((await callAgentApi(harness.deps, "next_run", {})).status).toBe(401);
    expect(
      (await callAgentApi(harness.deps, "next_run", {}, { agentId: agent.agentId, agentToken: "e3agt_wrong" })).status,
    ).toBe(401);
    expect((await callAgentApi(harness.deps, "next_run", {}, { agentId: "not-a-uuid", agentToken: "x" })).status).toBe(
      401,
    );
    expect((await callAgentApi(harness.deps, "next_run", {}, credentials(agent))).status).toBe(200);

    await harness.db.agent.update({ where: { id: agent.agentId }, data: { status: "revoked", revokedAt: new Date() } });
    const revoked = await callAgentApi(harness.deps, "next_run", {}, credentials(agent));
    expect(revoked.status).toBe(403);
    expect(revoked.body).toMatchObject({ error: { code: "AGENT_REVOKED" } });
  });
});

describe("POST /agent/next_run", () => {
  it("claims the oldest queued run of this agent with decrypted credentials, and nothing when none is queued", async () => {
    const tenant = await createTenant(harness.db);
    const agent = await enrollAgent(harness.deps, tenant.id);
    const other = await enrollAgent(harness.deps, tenant.id, "host-2");
    const job = await createJob(harness, tenant.id, agent.agentId);
    const older = await queueRun(harness.db, job, new Date(Date.now() - 60_000));
    const newer = await queueRun(harness.db, job);

    expect((await callAgentApi(harness.deps, "next_run", {}, credentials(other))).body).toEqual({ run: null });

    const first = await callAgentApi(harness.deps, "next_run", { hostname: "host-1" }, credentials(agent));
    const run = first.body.run as RunAssignment;
    expect(run.runId).toBe(older.id);
    expect(run.reclaimed).toBe(false);
    expect(run.destination).toMatchObject({
      type: "s3",
      bucket: "backups",
      accessKeyId: "AKIATESTKEY",
      secretAccessKey: "secret-key-value",
    });
    expect(run.repository).toEqual({ encryptionMode: "managed", password: "repository-password" });
    const claimed = await harness.db.run.findUniqueOrThrow({ where: { id: older.id } });
    expect(claimed.status).toBe("starting");
    expect(claimed.startedAt).not.toBeNull();
    expect(claimed.policySnapshot).toMatchObject({ retention: { keepDaily: 7 } });

    expect(
      ((await callAgentApi(harness.deps, "next_run", {}, credentials(agent))).body.run as RunAssignment).runId,
    ).toBe(newer.id);
    expect((await callAgentApi(harness.deps, "next_run", {}, credentials(agent))).body).toEqual({ run: null });
  });

  it("never hands one run to two concurrent claims", async () => {
    const tenant = await createTenant(harness.db);
    const agent = await enrollAgent(harness.deps, tenant.id);
    const job = await createJob(harness, tenant.id, agent.agentId);
    const queued = await Promise.all(Array.from({ length: 6 }, () => queueRun(harness.db, job)));
    const responses = await Promise.all(
      Array.from({ length: 24 }, () => callAgentApi(harness.deps, "next_run", {}, credentials(agent))),
    );
    const claimedIds = responses.map((r) => (r.body.run as RunAssignment | null)?.runId).filter(Boolean);
    expect(claimedIds).toHaveLength(6);
    expect(new Set(claimedIds)).toEqual(new Set(queued.map((run) => run.id)));
  });

  it("never double-claims across two server processes' connection pools either", async () => {
    const tenant = await createTenant(harness.db);
    const agents = await Promise.all(
      Array.from({ length: 4 }, (_, i) => enrollAgent(harness.deps, tenant.id, `pool-${i}`)),
    );
    const queued = [];
    for (const agent of agents) {
      const job = await createJob(harness, tenant.id, agent.agentId);
      for (let i = 0; i < 5; i++) queued.push(await queueRun(harness.db, job));
    }
    // A second pool stands for a second portal instance: separate connections, same database.
    const secondInstance = { ...harness.deps, db: createDatabase(harness.database.url, { poolSize: 8 }) };
    try {
      const responses = await Promise.all(
        Array.from({ length: 64 }, (_, i) =>
          callAgentApi(i % 2 === 0 ? harness.deps : secondInstance, "next_run", {}, credentials(agents[i % 4]!)),
        ),
      );
      const claimedIds = responses.map((r) => (r.body.run as RunAssignment | null)?.runId).filter(Boolean);
      expect(claimedIds).toHaveLength(queued.length);
      expect(new Set(claimedIds)).toEqual(new Set(queued.map((run) => run.id)));
    } finally {
      await secondInstance.db.$disconnect();
    }
  });

  it("gives an agent back its own in-progress run only between the reclaim grace and the watchdog cutoff", async () => {
    const tenant = await createTenant(harness.db);
    const agent = await enrollAgent(harness.deps, tenant.id);
    const stranger = await enrollAgent(harness.deps, tenant.id, "host-2");
    const job = await createJob(harness, tenant.id, agent.agentId);
    const run = await queueRun(harness.db, job);

    await setAge(run.id, 60); // heartbeat 1 minute ago: the agent is still working on it
    expect((await callAgentApi(harness.deps, "next_run", {}, credentials(agent))).body).toEqual({ run: null });

    await setAge(run.id, 300); // silent for 5 minutes: past the 180 s grace, before the 720 s watchdog
    expect((await callAgentApi(harness.deps, "next_run", {}, credentials(stranger))).body).toEqual({ run: null });
    const reclaimed = (await callAgentApi(harness.deps, "next_run", {}, credentials(agent))).body.run as RunAssignment;
    expect(reclaimed).toMatchObject({ runId: run.id, reclaimed: true });
    const refreshed = await harness.db.run.findUniqueOrThrow({ where: { id: run.id } });
    expect(Date.now() - refreshed.updatedAt.getTime()).toBeLessThan(10_000);

    await setAge(run.id, 900); // past the watchdog cutoff: the watchdog's to fail, not the agent's to resume
    expect((await callAgentApi(harness.deps, "next_run", {}, credentials(agent))).body).toEqual({ run: null });
  });
});

describe("POST /agent/update_run", () => {
  it("stores progress, refreshes the heartbeat, records the snapshot and finishes the run", async () => {
    const tenant = await createTenant(harness.db);
    const agent = await enrollAgent(harness.deps, tenant.id);
    const job = await createJob(harness, tenant.id, agent.agentId);
    const run = await queueRun(harness.db, job);
    await callAgentApi(harness.deps, "next_run", {}, credentials(agent));
    await setAge(run.id, 100, "starting");

    const progress = { phase: "uploading", filesDone: 10, filesTotal: 40, bytesDone: 1024, bytesTotal: 4096 };
    const running = await callAgentApi(
      harness.deps,
      "update_run",
      { runId: run.id, status: "running", progress },
      credentials(agent),
    );
    expect(running).toEqual({ status: 200, body: { status: "running", cancelRequested: false } });
    const afterProgress = await harness.db.run.findUniqueOrThrow({ where: { id: run.id } });
    expect(afterProgress.progressJson).toEqual(progress);
    expect(Date.now() - afterProgress.updatedAt.getTime()).toBeLessThan(10_000);

    const snapshot = {
      id: "a".repeat(64),
      time: "2026-11-24T02:00:05.123Z",
      hostname: "host-1",
      paths: ["/home/user/Documents"],
      fileCount: 40,
      sizeBytes: 4096,
    };
    const done = await callAgentApi(
      harness.deps,
      "update_run",
      { runId: run.id, status: "success", snapshot, stats: { filesNew: 40 }, logRef: "runs/x.log" },
      credentials(agent),
    );
    expect(done.body).toEqual({ status: "success", cancelRequested: false });
    const finished = await harness.db.run.findUniqueOrThrow({ where: { id: run.id } });
    expect(finished).toMatchObject({ status: "success", snapshotId: snapshot.id, logRef: "runs/x.log" });
    expect(finished.finishedAt).not.toBeNull();
    const catalog = await harness.db.snapshot.findMany({ where: { jobId: job.id } });
    expect(catalog).toHaveLength(1);
    expect(catalog[0]).toMatchObject({
      snapshotId: snapshot.id,
      tenantId: tenant.id,
      fileCount: 40n,
      sizeBytes: 4096n,
    });

    // A retried final report is accepted; a contradicting one is refused.
    expect(
      (await callAgentApi(harness.deps, "update_run", { runId: run.id, status: "success" }, credentials(agent))).status,
    ).toBe(200);
    const late = await callAgentApi(
      harness.deps,
      "update_run",
      { runId: run.id, status: "failed" },
      credentials(agent),
    );
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ error: { code: "RUN_ALREADY_FINISHED" } });
  });

  it("hides other agents' runs and tells the agent when a cancel was requested", async () => {
    const tenant = await createTenant(harness.db);
    const agent = await enrollAgent(harness.deps, tenant.id);
    const intruder = await enrollAgent(harness.deps, tenant.id, "intruder");
    const job = await createJob(harness, tenant.id, agent.agentId);
    const run = await queueRun(harness.db, job);
    await callAgentApi(harness.deps, "next_run", {}, credentials(agent));

    const foreign = await callAgentApi(
      harness.deps,
      "update_run",
      { runId: run.id, status: "failed" },
      credentials(intruder),
    );
    expect(foreign.status).toBe(404);
    expect((await harness.db.run.findUniqueOrThrow({ where: { id: run.id } })).status).toBe("starting");

    const cancel = await harness.db.runCommand.create({
      data: {
        tenantId: tenant.id,
        agentId: agent.agentId,
        jobId: job.id,
        runId: run.id,
        type: "cancel",
        expiresAt: new Date(Date.now() + 600_000),
      },
    });
    await harness.db.run.update({ where: { id: run.id }, data: { cancelRequestedAt: new Date() } });
    const update = await callAgentApi(
      harness.deps,
      "update_run",
      { runId: run.id, status: "running" },
      credentials(agent),
    );
    expect(update.body).toEqual({ status: "running", cancelRequested: true });

    const polled = await callAgentApi(harness.deps, "poll_commands", { runId: run.id }, credentials(agent));
    expect(polled.body).toEqual({
      commands: [{ commandId: cancel.id, type: "cancel", runId: run.id, payload: {}, job: null }],
    });
    expect((await harness.db.runCommand.findUniqueOrThrow({ where: { id: cancel.id } })).status).toBe("delivered");

    await callAgentApi(harness.deps, "update_run", { runId: run.id, status: "cancelled" }, credentials(agent));
    const closed = await harness.db.runCommand.findUniqueOrThrow({ where: { id: cancel.id } });
    expect(closed.status).toBe("completed");
  });
});

describe("retention and agent-held keys", () => {
  it("marks forgotten snapshots in the catalog and seals a reported recovery passphrase", async () => {
    const tenant = await createTenant(harness.db);
    const agent = await enrollAgent(harness.deps, tenant.id);
    const job = await createJob(harness, tenant.id, agent.agentId);
    const run = await queueRun(harness.db, job);
    await callAgentApi(harness.deps, "next_run", {}, credentials(agent));
    const snapshot = (id: string) => ({
      tenantId: tenant.id,
      jobId: job.id,
      snapshotId: id.repeat(64),
      time: new Date(),
      hostname: "h",
      paths: ["/"],
      tags: [],
    });
    await harness.db.snapshot.createMany({ data: [snapshot("1"), snapshot("2")] });
    const passphrase = "ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2";
    const pushed = await callAgentApi(
      harness.deps,
      "push_events",
      {
        runId: run.id,
        events: [
          { seq: 1, ts: new Date().toISOString(), type: "RECOVERY_KEY_CREATED", data: { keyId: "k", passphrase } },
        ],
      },
      credentials(agent),
    );
    expect(pushed.body).toEqual({ accepted: 1, duplicates: 0 });
    const stored = await harness.db.runEvent.findFirstOrThrow({ where: { runId: run.id } });
    expect(JSON.stringify(stored.dataJson)).not.toContain(passphrase);
    expect(stored.dataJson).toMatchObject({ keyId: "k", passphraseSealed: expect.stringMatching(/^e3s1\./) });

    const done = await callAgentApi(
      harness.deps,
      "update_run",
      {
        runId: run.id,
        status: "success",
        snapshot: { id: "3".repeat(64), time: new Date().toISOString(), hostname: "h", paths: ["/"] },
        forgottenSnapshots: ["1".repeat(64)],
      },
      credentials(agent),
    );
    expect(done.status).toBe(200);
    const catalog = await harness.db.snapshot.findMany({ where: { jobId: job.id }, orderBy: { snapshotId: "asc" } });
    expect(catalog.map((entry) => [entry.snapshotId[0], entry.forgottenAt !== null])).toEqual([
      ["1", true],
      ["2", false],
      ["3", false],
    ]);
  });
});

describe("POST /agent/push_events and /agent/push_logs", () => {
  it("stores each sequence number once, so a retried batch is harmless", async () => {
    const tenant = await createTenant(harness.db);
    const agent = await enrollAgent(harness.deps, tenant.id);
    const job = await createJob(harness, tenant.id, agent.agentId);
    const run = await queueRun(harness.db, job);
    await callAgentApi(harness.deps, "next_run", {}, credentials(agent));
    const event = (seq: number) => ({ seq, ts: new Date().toISOString(), type: "BACKUP_PROGRESS", data: { seq } });

    const first = await callAgentApi(
      harness.deps,
      "push_events",
      { runId: run.id, events: [event(1), event(2), event(3)] },
      credentials(agent),
    );
    expect(first.body).toEqual({ accepted: 3, duplicates: 0 });
    const retry = await callAgentApi(
      harness.deps,
      "push_events",
      { runId: run.id, events: [event(2), event(3), event(4)] },
      credentials(agent),
    );
    expect(retry.body).toEqual({ accepted: 1, duplicates: 2 });
    const stored = await harness.db.runEvent.findMany({ where: { runId: run.id }, orderBy: { seq: "asc" } });
    expect(stored.map((e) => e.seq)).toEqual([1, 2, 3, 4]);

    const line = (seq: number) => ({ seq, ts: new Date().toISOString(), level: "info", message: `line ${seq}` });
    const logs = await callAgentApi(
      harness.deps,
      "push_logs",
      { runId: run.id, logs: [line(1), line(1), line(2)] },
      credentials(agent),
    );
    expect(logs.body).toEqual({ accepted: 2, duplicates: 1 });
  });
});

/** A restore run and the command that carries it, as restore.start makes them. */
async function queueRestore(
  tenantId: string,
  agentId: string,
  jobId: string,
  status: "pending" | "running",
  payloadJson: { snapshotId: string; targetPath: string; paths?: string[] },
) {
  const restoreRun = await harness.db.run.create({
    data: { tenantId, jobId, agentId, runType: "restore", trigger: "command", engine: "backup", destType: "s3" },
  });
  const command = await harness.db.runCommand.create({
    data: {
      tenantId,
      agentId,
      jobId,
      runId: restoreRun.id,
      type: "restore",
      status,
      payloadJson,
      expiresAt: new Date(Date.now() + 600_000),
    },
  });
  return { restoreRun, command };
}

describe("POST /agent/poll_pending_commands and /agent/complete_command", () => {
  it("delivers a restore command once, with its job's context, and moves it through its states", async () => {
    const tenant = await createTenant(harness.db);
    const agent = await enrollAgent(harness.deps, tenant.id);
    const job = await createJob(harness, tenant.id, agent.agentId);
    const { restoreRun, command } = await queueRestore(tenant.id, agent.agentId, job.id, "pending", {
      snapshotId: "b".repeat(64),
      targetPath: "/restore",
      paths: ["/a"],
    });
    // A restore run is never claimed through next_run: the command carries it.
    expect((await callAgentApi(harness.deps, "next_run", {}, credentials(agent))).body).toEqual({ run: null });

    const polled = await callAgentApi(harness.deps, "poll_pending_commands", {}, credentials(agent));
    const [delivered] = polled.body.commands as { commandId: string; job: { repository: { password: string } } }[];
    expect(delivered).toMatchObject({
      commandId: command.id,
      type: "restore",
      runId: restoreRun.id,
      payload: { targetPath: "/restore" },
    });
    expect(delivered!.job.repository.password).toBe("repository-password");
    expect((await callAgentApi(harness.deps, "poll_pending_commands", {}, credentials(agent))).body).toEqual({
      commands: [],
    });

    const complete = (status: string) =>
      callAgentApi(harness.deps, "complete_command", { commandId: command.id, status }, credentials(agent));
    expect((await complete("running")).body).toEqual({ status: "running" });
    expect((await complete("completed")).body).toEqual({ status: "completed" });
    expect((await complete("completed")).status).toBe(200);
    expect((await complete("failed")).status).toBe(409);
  });

  it("hands an agent back its own interrupted restore between the reclaim grace and the watchdog cutoff", async () => {
    const tenant = await createTenant(harness.db);
    const agent = await enrollAgent(harness.deps, tenant.id);
    const stranger = await enrollAgent(harness.deps, tenant.id, "host-2");
    const job = await createJob(harness, tenant.id, agent.agentId);
    const { restoreRun, command } = await queueRestore(tenant.id, agent.agentId, job.id, "running", {
      snapshotId: "c".repeat(64),
      targetPath: "/restore",
    });
    const poll = async (who: typeof agent, body: Record<string, unknown> = {}) =>
      (
        (await callAgentApi(harness.deps, "poll_pending_commands", body, credentials(who))).body as {
          commands: { commandId: string; job: { repository: { password: string } } | null }[];
        }
      ).commands;

    await setAge(restoreRun.id, 60); // reported a minute ago: the agent is still restoring
    expect(await poll(agent)).toEqual([]);

    await setAge(restoreRun.id, 300); // silent past the 180 s grace, before the 720 s watchdog
    expect(await poll(stranger)).toEqual([]);
    expect(await poll(agent, { types: ["browse"] })).toEqual([]); // a busy agent's side poll never gets it
    const [again] = await poll(agent);
    expect(again).toMatchObject({ commandId: command.id, job: { repository: { password: "repository-password" } } });
    const refreshed = await harness.db.run.findUniqueOrThrow({ where: { id: restoreRun.id } });
    expect(Date.now() - refreshed.updatedAt.getTime()).toBeLessThan(10_000);
    expect(await poll(agent)).toEqual([]); // handed back once: the heartbeat is fresh again

    await setAge(restoreRun.id, 900); // past the watchdog cutoff: the watchdog's to fail
    expect(await poll(agent)).toEqual([]);

    // A command delivered but never started (the agent died first, with it next in its batch) comes back too, once.
    const queued = await queueRestore(tenant.id, agent.agentId, job.id, "pending", {
      snapshotId: "d".repeat(64),
      targetPath: "/elsewhere",
    });
    expect((await poll(agent)).map((delivered) => delivered.commandId)).toEqual([queued.command.id]);
    const past = new Date(Date.now() - 300_000);
    await harness.db.runCommand.update({ where: { id: queued.command.id }, data: { deliveredAt: past } });
    await harness.db.run.update({ where: { id: queued.restoreRun.id }, data: { updatedAt: past } });
    expect((await poll(agent)).map((delivered) => delivered.commandId)).toEqual([queued.command.id]);
    expect(await poll(agent)).toEqual([]);

    // A finished command keeps its run from being handed back (and from being kept alive by polls).
    await setAge(restoreRun.id, 300);
    await harness.db.runCommand.update({ where: { id: command.id }, data: { status: "completed" } });
    expect(await poll(agent)).toEqual([]);
    expect((await harness.db.run.findUniqueOrThrow({ where: { id: restoreRun.id } })).updatedAt.getTime()).toBeLessThan(
      Date.now() - 250_000,
    );
  });
});

describe("POST /agent/list_jobs and /agent/request_run (the agent's status page)", () => {
  it("lists the agent's own jobs and runs, and queues one run now per job however often it is asked", async () => {
    const tenant = await createTenant(harness.db);
    const agent = await enrollAgent(harness.deps, tenant.id);
    const other = await enrollAgent(harness.deps, tenant.id, "host-2");
    const job = await createJob(harness, tenant.id, agent.agentId, { name: "Photos" });
    const disabled = await createJob(harness, tenant.id, agent.agentId, { name: "Archive", enabled: false });
    const othersJob = await createJob(harness, tenant.id, other.agentId, { name: "Not mine" });
    await createJob(harness, tenant.id, agent.agentId, { name: "Gone", deletedAt: new Date() });

    const requested = await Promise.all(
      [1, 2, 3].map(() => callAgentApi(harness.deps, "request_run", { jobId: job.id }, credentials(agent))),
    );
    expect(requested.map((response) => response.status)).toEqual([200, 200, 200]);
    const runIds = new Set(requested.map((response) => response.body.runId));
    expect(runIds.size).toBe(1);
    expect(requested.filter((response) => response.body.alreadyQueued === false)).toHaveLength(1);
    const run = await harness.db.run.findUniqueOrThrow({ where: { id: [...runIds][0] as string } });
    expect(run).toMatchObject({ jobId: job.id, agentId: agent.agentId, status: "queued", trigger: "manual" });
    expect(
      await harness.db.auditLog.count({ where: { action: "run.start", targetId: run.id, actorUserId: null } }),
    ).toBe(1);

    expect(await callAgentApi(harness.deps, "request_run", { jobId: disabled.id }, credentials(agent))).toMatchObject({
      status: 409,
      body: { error: { code: "JOB_DISABLED" } },
    });
    expect(await callAgentApi(harness.deps, "request_run", { jobId: othersJob.id }, credentials(agent))).toMatchObject({
      status: 404,
      body: { error: { code: "JOB_NOT_FOUND" } },
    });

    const listed = await callAgentApi(harness.deps, "list_jobs", {}, credentials(agent));
    expect(listed.status).toBe(200);
    expect(listed.body.jobs).toEqual([
      { jobId: disabled.id, name: "Archive", engine: "backup", enabled: false },
      { jobId: job.id, name: "Photos", engine: "backup", enabled: true },
    ]);
    expect(listed.body.recentRuns).toEqual([
      expect.objectContaining({ runId: run.id, jobId: job.id, jobName: "Photos", status: "queued", startedAt: null }),
    ]);
  });
});

describe("HTTP rules", () => {
  it("answers bad requests with 4xx and a message that names the problem", async () => {
    const tenant = await createTenant(harness.db);
    const agent = await enrollAgent(harness.deps, tenant.id);
    const auth = credentials(agent);

    const unknownField = await callAgentApi(harness.deps, "next_run", { hostname: "h", surprise: 1 }, auth);
    expect(unknownField.status).toBe(400);
    expect(JSON.stringify(unknownField.body)).toContain("surprise");

    const wrongType = await callAgentApi(harness.deps, "update_run", { runId: 42 }, auth);
    expect(wrongType.status).toBe(400);
    expect(JSON.stringify(wrongType.body)).toContain("runId");

    const nul = await callAgentApi(harness.deps, "enroll", { token: "t", hostname: "a\u0000b" });
    expect(nul.status).toBe(400);
    expect(JSON.stringify(nul.body)).toContain("NUL");

    expect((await callAgentApi(harness.deps, "next_run", "{not json", auth)).status).toBe(400);
    expect((await callAgentApi(harness.deps, "no_such_endpoint", {}, auth)).status).toBe(404);

    const get = await handleAgentRequest(new Request("http://portal.test/agent/next_run"), "next_run", harness.deps);
    expect(get.status).toBe(405);
    const text = new Request("http://portal.test/agent/enroll", { method: "POST", body: "token=x" });
    expect((await handleAgentRequest(text, "enroll", harness.deps)).status).toBe(415);
    const huge = agentRequest("enroll", { token: "x".repeat(2 * 1024 * 1024), hostname: "h" });
    expect((await handleAgentRequest(huge, "enroll", harness.deps)).status).toBe(413);
  });
});
