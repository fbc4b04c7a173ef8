import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentEndpoint, agentEndpoints } from "../src/agent/contract.ts";
import { appRouter } from "../src/routers/index.ts";
import { sealSecret } from "../src/secrets/envelope.ts";
import { type Context, createCallerFactory } from "../src/trpc.ts";
import {
  callAgentApi,
  createHarness,
  createJob,
  createTenant,
  enrollAgent,
  type Harness,
  queueRun,
} from "./fixtures.ts";

// Tenant A's client and tenant A's agent try every tRPC procedure and every /agent/* endpoint with tenant B's ids.
// The cases are keyed by the router's own procedure list: a new procedure without a case here fails this suite.

type Foreign = {
  tenantId: string;
  agentId: string;
  jobId: string;
  runId: string;
  snapshotId: string;
  commandId: string;
  tokenId: string;
  channelId: string;
};

/** How a procedure must treat another tenant's ids: refuse (NOT_FOUND/FORBIDDEN), or answer without B's data. */
type Case = { refuses: (b: Foreign) => unknown } | { leaksNothing: (b: Foreign) => unknown };

const procedureCases: Record<string, Case> = {
  "agents.list": { leaksNothing: () => undefined },
  "agents.get": { refuses: (b) => ({ agentId: b.agentId }) },
  "agents.rename": { refuses: (b) => ({ agentId: b.agentId, name: "pwned" }) },
  "agents.revoke": { refuses: (b) => ({ agentId: b.agentId }) },
  "agents.createEnrollmentToken": { leaksNothing: () => ({}) },
  "agents.enrollmentTokens": { leaksNothing: () => undefined },
  "agents.revokeEnrollmentToken": { refuses: (b) => ({ tokenId: b.tokenId }) },
  "jobs.list": { leaksNothing: () => undefined },
  "jobs.get": { refuses: (b) => ({ jobId: b.jobId }) },
  "jobs.create": {
    refuses: (b) => ({
      name: "steal",
      agentId: b.agentId,
      engine: "backup",
      sourcePaths: ["/"],
      destination: { type: "local", path: "/tmp/x" },
      schedule: { kind: "manual" },
    }),
  },
  "jobs.recoveryKey": { refuses: (b) => ({ jobId: b.jobId }) },
  "jobs.recoveryKeys": { leaksNothing: () => undefined },
  "jobs.update": { refuses: (b) => ({ jobId: b.jobId, changes: { name: "pwned" } }) },
  "jobs.delete": { refuses: (b) => ({ jobId: b.jobId }) },
  "jobs.runNow": { refuses: (b) => ({ jobId: b.jobId }) },
  "jobs.pause": { refuses: (b) => ({ jobId: b.jobId }) },
  "jobs.resume": { refuses: (b) => ({ jobId: b.jobId }) },
  "jobs.previewSchedule": { leaksNothing: () => ({ schedule: { kind: "interval", everySeconds: 3600 } }) },
  "runs.list": { leaksNothing: (b) => ({ jobId: b.jobId }) },
  "runs.get": { refuses: (b) => ({ runId: b.runId }) },
  "runs.logs": { refuses: (b) => ({ runId: b.runId }) },
  "runs.events": { refuses: (b) => ({ runId: b.runId }) },
  "runs.cancel": { refuses: (b) => ({ runId: b.runId }) },
  "runs.live": { refuses: (b) => ({ runId: b.runId }) },
  "restore.start": { refuses: (b) => ({ jobId: b.jobId, snapshotId: b.snapshotId }) },
  "snapshots.list": { refuses: (b) => ({ jobId: b.jobId }) },
  "snapshots.previewRetention": { refuses: (b) => ({ jobId: b.jobId, retention: { keepLast: 1 } }) },
  // Editing a job: tenant B's job must not lend its stored S3 keys to tenant A's probes.
  "destinations.test": { refuses: (b) => ({ jobId: b.jobId, bucket: "backups" }) },
  "destinations.buckets": { refuses: (b) => ({ jobId: b.jobId }) },
  "destinations.createBucket": { refuses: (b) => ({ jobId: b.jobId, bucket: "stolen-bucket" }) },
  "commands.maintenance": { refuses: (b) => ({ jobId: b.jobId, kind: "maintenance_full" }) },
  "commands.browse": { refuses: (b) => ({ kind: "local", agentId: b.agentId, path: "/" }) },
  "commands.get": { refuses: (b) => ({ commandId: b.commandId }) },
  "settings.notifications": { leaksNothing: () => undefined },
  "settings.setNotifyOn": { leaksNothing: () => ({ notifyOn: "all" }) },
  "settings.addChannel": { leaksNothing: () => ({ kind: "email", name: "me", target: "me@example.com" }) },
  "settings.removeChannel": { refuses: (b) => ({ channelId: b.channelId }) },
  "settings.testChannel": { refuses: (b) => ({ channelId: b.channelId }) },
  "dashboard.summary": { leaksNothing: () => undefined },
  "dashboard.activity": { leaksNothing: () => undefined },
  "dashboard.storage": { leaksNothing: () => ({ days: 30 }) },
  "admin.fleet": { refuses: () => undefined },
  "admin.tenants": { refuses: () => undefined },
  "admin.createTenant": { refuses: () => ({ name: "x", slug: "x-x" }) },
  "admin.agents": { refuses: (b) => ({ tenantId: b.tenantId }) },
  "admin.jobs": { refuses: (b) => ({ tenantId: b.tenantId }) },
  "admin.runs": { refuses: (b) => ({ tenantId: b.tenantId }) },
  "admin.maintenance": { refuses: (b) => ({ jobId: b.jobId, kind: "maintenance_quick" }) },
  "admin.settings": { refuses: () => undefined },
  "admin.updateSettings": { refuses: () => ({ agent_s3_region: "evil-1" }) },
  "admin.auditLog": { refuses: (b) => ({ tenantId: b.tenantId }) },
  "admin.tenant": { refuses: (b) => ({ tenantId: b.tenantId }) },
  "admin.setTenantDisabled": { refuses: (b) => ({ tenantId: b.tenantId, disabled: true }) },
  "admin.users": { refuses: (b) => ({ tenantId: b.tenantId }) },
  "admin.createUser": {
    refuses: (b) => ({ email: "intruder@example.com", name: "I", role: "client", tenantId: b.tenantId }),
  },
  "admin.setUserPassword": { refuses: () => ({ userId: "user-alpha" }) },
  "admin.setUserDisabled": { refuses: () => ({ userId: "user-alpha", disabled: true }) },
  "admin.agent": { refuses: (b) => ({ agentId: b.agentId }) },
  "admin.job": { refuses: (b) => ({ jobId: b.jobId }) },
  "admin.run": { refuses: (b) => ({ runId: b.runId }) },
};

const agentEndpointCases: Record<AgentEndpoint, ((b: Foreign) => unknown) | "no foreign ids"> = {
  enroll: "no foreign ids",
  next_run: "no foreign ids",
  poll_pending_commands: "no foreign ids",
  update_run: (b) => ({ runId: b.runId, status: "failed" }),
  push_events: (b) => ({ runId: b.runId, events: [{ seq: 1, ts: new Date().toISOString(), type: "X_Y" }] }),
  push_logs: (b) => ({ runId: b.runId, logs: [{ seq: 1, ts: new Date().toISOString(), level: "info", message: "x" }] }),
  poll_commands: (b) => ({ runId: b.runId }),
  complete_command: (b) => ({ commandId: b.commandId, status: "failed" }),
  list_jobs: "no foreign ids",
  request_run: (b) => ({ jobId: b.jobId }),
};

let harness: Harness;
let foreign: Foreign;
let callerContext: Context;
let agentA: { agentId: string; agentToken: string };

async function seedTenant(name: string) {
  const tenant = await createTenant(harness.db, name);
  const agent = await enrollAgent(harness.deps, tenant.id, `${name}-host`);
  const job = await createJob(harness, tenant.id, agent.agentId, { name: `${name}-job` });
  const run = await queueRun(harness.db, job);
  await harness.db.run.update({ where: { id: run.id }, data: { status: "running" } });
  await harness.db.runLog.create({
    data: { runId: run.id, seq: 1, ts: new Date(), level: "info", message: `${name} secret log` },
  });
  // An agent-held job's recovery passphrase waiting for its one download.
  await harness.db.runEvent.create({
    data: {
      runId: run.id,
      seq: 1,
      ts: new Date(),
      type: "RECOVERY_KEY_CREATED",
      dataJson: { passphraseSealed: sealSecret(harness.keyring, `${name}-recovery`, "run_events.recovery_passphrase") },
    },
  });
  const snapshot = await harness.db.snapshot.create({
    data: {
      tenantId: tenant.id,
      jobId: job.id,
      snapshotId: "c".repeat(64),
      time: new Date(),
      hostname: "h",
      paths: ["/"],
      tags: [],
    },
  });
  const command = await harness.db.runCommand.create({
    data: {
      tenantId: tenant.id,
      agentId: agent.agentId,
      jobId: job.id,
      runId: run.id,
      type: "cancel",
      expiresAt: new Date(Date.now() + 3_600_000),
    },
  });
  const token = await harness.db.enrollmentToken.create({
    data: { tenantId: tenant.id, tokenHash: `${name}-unused-token-hash`, expiresAt: new Date(Date.now() + 3_600_000) },
  });
  const channel = await harness.db.notificationChannel.create({
    data: { tenantId: tenant.id, kind: "email", name: `${name} ops`, target: `${name}@example.com` },
  });
  return { tenant, agent, job, run, snapshot, command, token, channel };
}

beforeAll(async () => {
  harness = await createHarness("isolation");
  const a = await seedTenant("alpha");
  const b = await seedTenant("bravo");
  foreign = {
    tenantId: b.tenant.id,
    agentId: b.agent.agentId,
    jobId: b.job.id,
    runId: b.run.id,
    snapshotId: b.snapshot.snapshotId,
    commandId: b.command.id,
    tokenId: b.token.id,
    channelId: b.channel.id,
  };
  const user = await harness.db.user.create({
    data: { id: "user-alpha", name: "Alpha", email: "alpha@example.com", role: "client", tenantId: a.tenant.id },
  });
  callerContext = {
    db: harness.db,
    keyring: harness.keyring,
    config: harness.deps.config,
    user: { id: user.id, email: user.email, name: user.name, role: "client", tenantId: a.tenant.id },
    impersonatedBy: null,
    ip: null,
    live: harness.live,
  };
  agentA = { agentId: a.agent.agentId, agentToken: a.agent.agentToken };
});
afterAll(() => harness.close());

const procedurePaths = Object.keys(appRouter._def.procedures).sort();

async function foreignRowsDigest() {
  return JSON.stringify(
    await Promise.all([
      harness.db.agent.findUniqueOrThrow({ where: { id: foreign.agentId }, select: { name: true, status: true } }),
      harness.db.job.findUniqueOrThrow({
        where: { id: foreign.jobId },
        select: { name: true, deletedAt: true, pausedAt: true, nextRunAt: true },
      }),
      harness.db.run.findMany({
        where: { jobId: foreign.jobId },
        select: { id: true, status: true, cancelRequestedAt: true },
      }),
      harness.db.runCommand.count({ where: { tenantId: foreign.tenantId } }),
      harness.db.runEvent.findMany({ where: { runId: foreign.runId }, select: { type: true, dataJson: true } }),
      harness.db.runLog.count({ where: { runId: foreign.runId } }),
      harness.db.notificationChannel.count({ where: { tenantId: foreign.tenantId } }),
      harness.db.enrollmentToken.findUniqueOrThrow({ where: { id: foreign.tokenId }, select: { expiresAt: true } }),
      harness.db.setting.count(),
      harness.db.tenant.count(),
    ]),
  );
}

describe("tenant isolation", () => {
  it("has a case for every tRPC procedure and every agent endpoint", () => {
    expect(procedurePaths.filter((path) => !(path in procedureCases))).toEqual([]);
    expect(Object.keys(procedureCases).filter((path) => !procedurePaths.includes(path))).toEqual([]);
    expect(Object.keys(agentEndpointCases).sort()).toEqual(Object.keys(agentEndpoints).sort());
  });

  it.each(procedurePaths)("%s never lets tenant A reach tenant B", async (path) => {
    const before = await foreignRowsDigest();
    const testCase = procedureCases[path]!;
    const caller = createCallerFactory(appRouter)(callerContext) as unknown as Record<
      string,
      Record<string, (input: unknown) => Promise<unknown>>
    >;
    const [group, name] = path.split(".") as [string, string];
    // Subscriptions answer with an async iterable; its first item is where a refusal surfaces.
    const call = async (input: unknown) => {
      const result = await caller[group]![name]!(input);
      if (result && typeof result === "object" && Symbol.asyncIterator in result) {
        const iterator = (result as AsyncIterable<unknown>)[Symbol.asyncIterator]();
        const first = await iterator.next();
        await iterator.return?.();
        return first.value;
      }
      return result;
    };
    if ("refuses" in testCase) {
      const error = await call(testCase.refuses(foreign)).then(
        () => null,
        (failure: unknown) => failure,
      );
      expect(error, `${path} answered instead of refusing`).toBeInstanceOf(TRPCError);
      expect(["NOT_FOUND", "FORBIDDEN"]).toContain((error as TRPCError).code);
    } else {
      const result = JSON.stringify(await call(testCase.leaksNothing(foreign)));
      for (const id of Object.values(foreign)) expect(result, `${path} leaked ${id}`).not.toContain(id);
      expect(result).not.toContain("bravo");
    }
    expect(await foreignRowsDigest()).toBe(before);
  });

  it.each(Object.keys(agentEndpointCases))(
    "/agent/%s refuses tenant B's runs and commands to tenant A's agent",
    async (endpoint) => {
      const make = agentEndpointCases[endpoint as AgentEndpoint];
      const before = await foreignRowsDigest();
      if (make === "no foreign ids") {
        // These take no ids: what they return must still be tenant A's alone.
        const body = endpoint === "enroll" ? { token: "e3enr_bravo-unused", hostname: "x" } : {};
        const response = await callAgentApi(harness.deps, endpoint, body, endpoint === "enroll" ? undefined : agentA);
        for (const id of Object.values(foreign)) expect(JSON.stringify(response.body)).not.toContain(id);
      } else {
        const response = await callAgentApi(harness.deps, endpoint, make(foreign), agentA);
        expect(response.status).toBe(404);
      }
      expect(await foreignRowsDigest()).toBe(before);
    },
  );
});
