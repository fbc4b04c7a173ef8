import { randomBytes } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { createAuth } from "../src/auth/auth.ts";
import { appRouter } from "../src/routers/index.ts";
import { type Context, createCallerFactory } from "../src/trpc.ts";
import { runTick } from "../src/worker/tick.ts";
import {
  callAgentApi,
  callerContext,
  createHarness,
  createJob,
  createTenant,
  enrollAgent,
  type Harness,
  queueRun,
} from "./fixtures.ts";

// The admin API on the real database: users and tenants (sign-in proven through better-auth), settings whose
// watchdog/reclaim values reach the watchdog and next_run, the cross-tenant tables with their filters and pages,
// and the audit trail every change leaves.

let harness: Harness;
let auth: ReturnType<typeof createAuth>;
const callerFor = (context: Context) => createCallerFactory(appRouter)(context);
let admin: ReturnType<typeof callerFor>;
const adminUser = { id: "u-admin", email: "root@e3.test", name: "Root", role: "admin" as const, tenantId: null };

async function failureOf(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => null,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

/** The field a form would mark: the ZodError's paths (what the error formatter turns into fieldErrors). */
function fieldsOf(error: TRPCError): Record<string, string> {
  expect(error.cause).toBeInstanceOf(ZodError);
  return Object.fromEntries((error.cause as ZodError).issues.map((issue) => [issue.path.join("."), issue.message]));
}

beforeAll(async () => {
  harness = await createHarness("admin");
  auth = createAuth({ db: harness.db, secret: randomBytes(32).toString("hex"), baseURL: "http://portal.test" });
  await harness.db.user.create({ data: { ...adminUser, emailVerified: true } });
  admin = callerFor(callerContext(harness, adminUser, "192.0.2.7"));
});
afterAll(() => harness.close());

const signIn = (email: string, password: string) =>
  auth.api.signInEmail({ body: { email, password }, asResponse: true });

describe("users and tenants", () => {
  it("creates a tenant and a client user whose generated password signs in; refuses duplicates at the field", async () => {
    const tenant = await admin.admin.createTenant({ name: "Northwind", slug: "northwind" });
    expect(fieldsOf(await failureOf(admin.admin.createTenant({ name: "Again", slug: "northwind" })))).toEqual({
      slug: "another tenant already uses this slug",
    });
    const created = await admin.admin.createUser({
      email: "Ops@Northwind.test",
      name: "Ops",
      role: "client",
      tenantId: tenant.id,
    });
    expect(created.password).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect((await signIn("ops@northwind.test", created.password!)).status).toBe(200);
    expect(
      fieldsOf(
        await failureOf(
          admin.admin.createUser({ email: "ops@northwind.test", name: "x", role: "client", tenantId: tenant.id }),
        ),
      ),
    ).toEqual({ email: "an account with this email exists already" });
    expect(
      fieldsOf(await failureOf(admin.admin.createUser({ email: "lost@northwind.test", name: "x", role: "client" }))),
    ).toEqual({ tenantId: "a client user belongs to a tenant; pick one" });

    const listed = await admin.admin.users({ tenantId: tenant.id });
    expect(listed.users).toMatchObject([
      { email: "ops@northwind.test", role: "client", tenant: { name: "Northwind" } },
    ]);
    const audit = await admin.admin.auditLog({ action: "user." });
    expect(audit.entries.map((entry) => entry.action)).toEqual(["user.create"]);
    expect(audit.entries[0]).toMatchObject({ actorEmail: adminUser.email, ipAddress: "192.0.2.7" });
  });

  it("resets a password (ending the user's sessions) and disables and enables a user", async () => {
    const user = await harness.db.user.findUniqueOrThrow({ where: { email: "ops@northwind.test" } });
    const { password: first } = await admin.admin.setUserPassword({ userId: user.id, password: "chosen by the admin" });
    expect(first).toBeNull();
    expect((await signIn(user.email, "chosen by the admin")).status).toBe(200);
    expect(await harness.db.session.count({ where: { userId: user.id } })).toBeGreaterThan(0);
    const { password } = await admin.admin.setUserPassword({ userId: user.id });
    expect(await harness.db.session.count({ where: { userId: user.id } })).toBe(0);
    expect((await signIn(user.email, "chosen by the admin")).status).toBe(401);
    expect((await signIn(user.email, password!)).status).toBe(200);

    await admin.admin.setUserDisabled({ userId: user.id, disabled: true });
    expect(await harness.db.session.count({ where: { userId: user.id } })).toBe(0);
    expect((await signIn(user.email, password!)).status).toBe(403);
    await admin.admin.setUserDisabled({ userId: user.id, disabled: false });
    expect((await signIn(user.email, password!)).status).toBe(200);
    expect((await failureOf(admin.admin.setUserDisabled({ userId: adminUser.id, disabled: true }))).message).toMatch(
      /your own account/,
    );
  });

  it("disables a tenant: its sessions end, sign-in is refused and its jobs are not scheduled", async () => {
    const tenant = await harness.db.tenant.findUniqueOrThrow({ where: { slug: "northwind" } });
    const user = await harness.db.user.findUniqueOrThrow({ where: { email: "ops@northwind.test" } });
    const { password } = await admin.admin.setUserPassword({ userId: user.id });
    expect((await signIn(user.email, password!)).status).toBe(200);
    const agent = await enrollAgent(harness.deps, tenant.id, "northwind-pc");
    const job = await createJob(harness, tenant.id, agent.agentId, {
      name: "Nightly",
      nextRunAt: new Date(Date.now() - 1000),
    });

    const disabled = await admin.admin.setTenantDisabled({ tenantId: tenant.id, disabled: true });
    expect(disabled.sessionsEnded).toBe(1);
    expect((await signIn(user.email, password!)).status).toBe(403);
    await runTick(harness.db, harness.deps.config, null);
    expect(await harness.db.run.count({ where: { jobId: job.id } })).toBe(0);

    await admin.admin.setTenantDisabled({ tenantId: tenant.id, disabled: false });
    await runTick(harness.db, harness.deps.config, null);
    expect(await harness.db.run.count({ where: { jobId: job.id } })).toBe(1);
    expect(
      (await admin.admin.auditLog({ tenantId: tenant.id, action: "tenant." })).entries.map((e) => e.action),
    ).toEqual(["tenant.enable", "tenant.disable", "tenant.create"]);
  });
});

describe("settings", () => {
  it("refuses a reclaim grace that is not below the watchdog timeout, at the grace field", async () => {
    const error = await failureOf(
      admin.admin.updateSettings({ agentTimings: { watchdogTimeoutSeconds: 300, reclaimGraceSeconds: 300 } }),
    );
    expect(error.code).toBe("BAD_REQUEST");
    expect(fieldsOf(error)["agentTimings.reclaimGraceSeconds"]).toMatch(/less than the watchdog timeout/);
    expect(await harness.db.setting.count()).toBe(0);
  });

  it("stores the S3 endpoint and the timings; the watchdog and next_run use the new values", async () => {
    const before = await admin.admin.settings();
    expect(before).toMatchObject({ watchdogTimeoutSeconds: 720, reclaimGraceSeconds: 180, agent_s3_endpoint: null });
    await admin.admin.updateSettings({
      agent_s3_endpoint: "https://s3.provider.test",
      agent_s3_region: "eu-central-1",
      agentTimings: { watchdogTimeoutSeconds: 120, reclaimGraceSeconds: 60 },
    });
    expect(await admin.admin.settings()).toMatchObject({
      agent_s3_endpoint: "https://s3.provider.test",
      agent_s3_region: "eu-central-1",
      watchdogTimeoutSeconds: 120,
      reclaimGraceSeconds: 60,
      defaults: { watchdogTimeoutSeconds: 720, reclaimGraceSeconds: 180 },
    });

    // A run silent for 5 minutes: past the new 2-minute watchdog, though well inside the env's 12 minutes.
    const tenant = await createTenant(harness.db, "Watchdog Inc");
    const agent = await enrollAgent(harness.deps, tenant.id, "wd-pc");
    const job = await createJob(harness, tenant.id, agent.agentId);
    const silent = await queueRun(harness.db, job);
    await harness.db
      .$executeRaw`UPDATE runs SET status = 'running', updated_at = now() - interval '5 minutes' WHERE id = ${silent.id}::uuid`;
    const tick = await runTick(harness.db, harness.deps.config, null);
    expect(tick.watchdog.failedRuns).toContain(silent.id);

    // A run silent for 90 s is reclaimed by its agent (grace 60 s), which the env's 180 s grace would not allow.
    const quiet = await queueRun(harness.db, job);
    await harness.db
      .$executeRaw`UPDATE runs SET status = 'running', agent_id = ${agent.agentId}::uuid, updated_at = now() - interval '90 seconds' WHERE id = ${quiet.id}::uuid`;
    const next = await callAgentApi(harness.deps, "next_run", {}, agent);
    expect(next.status).toBe(200);
    expect((next.body as { run: { runId: string } | null }).run?.runId).toBe(quiet.id);
  });
});

describe("fleet tables", () => {
  it("lists jobs and runs across tenants with filters and cursor pages, and drills into a tenant, agent and job", async () => {
    const tenant = await createTenant(harness.db, "Pager Ltd");
    const agent = await enrollAgent(harness.deps, tenant.id, "pager-pc");
    const backup = await createJob(harness, tenant.id, agent.agentId, { name: "Pager backup" });
    const sync = await createJob(harness, tenant.id, agent.agentId, { name: "Pager sync", engine: "sync" });
    for (let i = 0; i < 5; i++) await queueRun(harness.db, backup, new Date(Date.now() - i * 60_000));
    await queueRun(harness.db, sync);

    const syncJobs = await admin.admin.jobs({ tenantId: tenant.id, engine: "sync" });
    expect(syncJobs.jobs.map((job) => [job.name, job.tenantName, job.agentName])).toEqual([
      ["Pager sync", "Pager Ltd", "pager-pc"],
    ]);
    const firstJobs = await admin.admin.jobs({ search: "pager", limit: 1 });
    const secondJobs = await admin.admin.jobs({ search: "pager", limit: 1, cursor: firstJobs.nextCursor });
    expect([firstJobs.jobs[0]?.name, secondJobs.jobs[0]?.name]).toEqual(["Pager backup", "Pager sync"]);
    expect(secondJobs.nextCursor).toBeNull();

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof admin.admin.runs>> = await admin.admin.runs({
        tenantId: tenant.id,
        engine: "backup",
        limit: 2,
        cursor,
      });
      expect(page.runs.every((run) => run.engine === "backup" && run.tenant.name === "Pager Ltd")).toBe(true);
      seen.push(...page.runs.map((run) => run.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(5);

    const full = await admin.admin.maintenance({ jobId: backup.id, kind: "maintenance_full" });
    const detail = await admin.admin.job({ jobId: backup.id });
    expect(detail.runs[0]).toMatchObject({ id: full.runId, runType: "maintenance_full", status: "queued" });
    expect(detail.commands[0]).toMatchObject({ id: full.commandId, type: "maintenance_full", status: "pending" });
    expect(detail.job).toMatchObject({ tenant: { name: "Pager Ltd" }, agent: { name: "pager-pc" } });
    expect(detail.job).not.toHaveProperty("destSecretKeyEnc");
    const maintenanceRuns = await admin.admin.runs({ runType: ["maintenance_full"], jobId: backup.id });
    expect(maintenanceRuns.runs.map((run) => run.id)).toEqual([full.runId]);
    const run = await admin.admin.run({ runId: full.runId });
    expect(run.commands.map((command) => command.type)).toEqual(["maintenance_full"]);

    const drilled = await admin.admin.tenant({ tenantId: tenant.id });
    expect(drilled.summary.jobs.map((job) => job.name).sort()).toEqual(["Pager backup", "Pager sync"]);
    expect(drilled.agents.map((a) => a.name)).toEqual(["pager-pc"]);
    const agentDetail = await admin.admin.agent({ agentId: agent.agentId });
    expect(agentDetail.jobs).toHaveLength(2);
    expect(agentDetail.agent).not.toHaveProperty("tokenHash");
  });
});
