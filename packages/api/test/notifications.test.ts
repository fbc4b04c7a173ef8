import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type NotifierDeps,
  notifyFinishedRuns,
  notifyOfflineAgents,
  notifyOverdueJobs,
} from "../src/notify/dispatch.ts";
import { createMailer } from "../src/notify/email.ts";
import { appRouter } from "../src/routers/index.ts";
import { sealSecret } from "../src/secrets/envelope.ts";
import { createCallerFactory } from "../src/trpc.ts";
import { createHarness, createJob, createTenant, enrollAgent, type Harness, queueRun } from "./fixtures.ts";
import { type SmtpListener, startSmtpListener } from "./smtp-listener.ts";

// Notifications through a real SMTP listener and a real HTTP webhook receiver on loopback.

let mails: SmtpListener["mails"];
type Hook = { headers: Record<string, string | string[] | undefined>; body: string };
const hooks: Hook[] = [];
let failNextHooks = 0;

let harness: Harness;
let smtp: SmtpListener;
let webhookServer: Server;
let webhookUrl: string;

beforeAll(async () => {
  harness = await createHarness("notify");
  smtp = await startSmtpListener();
  mails = smtp.mails;
  webhookServer = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on("end", () => {
      if (failNextHooks > 0) {
        failNextHooks -= 1;
        response.writeHead(503).end();
        return;
      }
      hooks.push({ headers: request.headers, body });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => webhookServer.listen(0, "127.0.0.1", resolve));
  webhookUrl = `http://127.0.0.1:${(webhookServer.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await smtp.close();
  await new Promise((resolve) => webhookServer.close(resolve));
  await harness.close();
});

function notifier(): NotifierDeps {
  return {
    db: harness.db,
    keyring: harness.keyring,
    mailer: createMailer(smtp.url, "e3 <e3@example.test>"),
    portalUrl: "https://backup.example.test",
    webhook: { attempts: 3, baseDelayMs: 10 },
  };
}

async function finishedRun(jobId: string, status: "success" | "failed", runType: "backup" | "restore" = "backup") {
  const job = await harness.db.job.findUniqueOrThrow({ where: { id: jobId } });
  const run = await queueRun(harness.db, job);
  return harness.db.run.update({
    where: { id: run.id },
    data: {
      status,
      runType,
      startedAt: new Date(Date.now() - 60_000),
      finishedAt: new Date(),
      errorCode: status === "failed" ? "SOURCE_UNREADABLE" : null,
    },
  });
}

describe("notifications", () => {
  it("emails the tenant's users about a failed restore under the default errors-only policy, once", async () => {
    const tenant = await createTenant(harness.db, "Mailco");
    await harness.db.user.create({
      data: { id: "mailco-user", name: "M", email: "ops@mailco.test", role: "client", tenantId: tenant.id },
    });
    const agent = await enrollAgent(harness.deps, tenant.id);
    const job = await createJob(harness, tenant.id, agent.agentId, { name: "Finance" });
    await finishedRun(job.id, "success");
    const failed = await finishedRun(job.id, "failed", "restore");

    mails.length = 0;
    const [first, second] = await Promise.all([notifyFinishedRuns(notifier()), notifyFinishedRuns(notifier())]);
    expect((first?.failures ?? []).concat(second?.failures ?? [])).toEqual([]);
    const ours = mails.filter((mail) => mail.to.includes("ops@mailco.test"));
    expect(ours).toHaveLength(1);
    expect(ours[0]!.subject).toBe("[e3] Restore failed: Finance");
    expect(ours[0]!.text).toContain("SOURCE_UNREADABLE");
    expect(ours[0]!.text).toContain(`https://backup.example.test/runs/${failed.id}`);

    mails.length = 0;
    await notifyFinishedRuns(notifier());
    expect(mails.filter((mail) => mail.to.includes("ops@mailco.test"))).toHaveLength(0);
  });

  it("follows the job's policy over the tenant's, and channel policies on top", async () => {
    const tenant = await createTenant(harness.db, "Quietco");
    await harness.db.tenant.update({ where: { id: tenant.id }, data: { notifyOn: "off" } });
    await harness.db.notificationChannel.create({
      data: { tenantId: tenant.id, kind: "email", name: "all", target: "all@quiet.test", notifyOn: "all" },
    });
    await harness.db.notificationChannel.create({
      data: { tenantId: tenant.id, kind: "email", name: "errors", target: "errors@quiet.test", notifyOn: "errors" },
    });
    const agent = await enrollAgent(harness.deps, tenant.id);
    const silent = await createJob(harness, tenant.id, agent.agentId, { name: "Silent" });
    const chatty = await createJob(harness, tenant.id, agent.agentId, { name: "Chatty", notifyOn: "all" });
    await finishedRun(silent.id, "failed");
    await finishedRun(chatty.id, "success");

    mails.length = 0;
    await notifyFinishedRuns(notifier());
    const quiet = mails.filter((mail) => mail.to.includes("quiet.test"));
    expect(quiet.map((mail) => [mail.subject, mail.to])).toEqual([["[e3] Backup success: Chatty", "all@quiet.test"]]);
  });

  it("posts signed webhooks, retrying a failing receiver, and alerts on overdue jobs", async () => {
    const tenant = await createTenant(harness.db, "Hookco");
    await harness.db.notificationChannel.create({
      data: {
        tenantId: tenant.id,
        kind: "webhook",
        name: "pager",
        target: webhookUrl,
        notifyOn: "errors",
        secretEnc: sealSecret(harness.keyring, "whsec-0123456789abcdef", "secret_enc"),
      },
    });
    const agent = await enrollAgent(harness.deps, tenant.id);
    const job = await createJob(harness, tenant.id, agent.agentId, { name: "Mail server" });
    await finishedRun(job.id, "failed");

    hooks.length = 0;
    failNextHooks = 2;
    const result = await notifyFinishedRuns(notifier());
    expect(result.failures.filter((failure) => failure.includes("pager"))).toEqual([]);
    expect(hooks).toHaveLength(1);
    const hook = hooks[0]!;
    const expected = createHmac("sha256", "whsec-0123456789abcdef")
      .update(`${hook.headers["x-e3-timestamp"]}.${hook.body}`)
      .digest("hex");
    expect(hook.headers["x-e3-signature"]).toBe(`v1=${expected}`);
    expect(JSON.parse(hook.body)).toMatchObject({ type: "run.finished", jobName: "Mail server", status: "failed" });

    hooks.length = 0;
    await notifyOverdueJobs(notifier(), [job.id]);
    expect(hooks.map((h) => JSON.parse(h.body).type)).toEqual(["job.overdue"]);

    hooks.length = 0;
    const lastSeen = new Date(Date.now() - 20 * 60_000);
    await notifyOfflineAgents(notifier(), [
      { id: agent.agentId, tenant_id: tenant.id, name: "mail-host", last_seen_at: lastSeen },
    ]);
    expect(hooks.map((h) => JSON.parse(h.body))).toMatchObject([{ type: "agent.offline", agentName: "mail-host" }]);
  });
});

describe("settings.testChannel", () => {
  it("sends a test through an email channel and a signed webhook, and says why when it cannot", async () => {
    const tenant = await createTenant(harness.db, "Testers");
    const caller = (mailer: ReturnType<typeof createMailer> | null) =>
      createCallerFactory(appRouter)({
        db: harness.db,
        keyring: harness.keyring,
        config: harness.deps.config,
        user: { id: "u-test", email: "t@testers.test", name: "T", role: "client", tenantId: tenant.id },
        impersonatedBy: null,
        ip: null,
        live: null,
        mailer,
        portalUrl: "https://backup.example.test",
      });
    const client = caller(notifier().mailer);
    const { channelId: emailId } = await client.settings.addChannel({
      kind: "email",
      name: "Ops mail",
      target: "ops@testers.test",
    });
    const secret = "a-webhook-secret-of-some-length";
    const { channelId: hookId } = await client.settings.addChannel({
      kind: "webhook",
      name: "Ops hook",
      target: webhookUrl,
      secret,
    });
    mails.length = 0;
    hooks.length = 0;

    expect(await client.settings.testChannel({ channelId: emailId })).toEqual({ delivered: true, error: null });
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ to: "ops@testers.test", subject: "[e3] Test notification for Ops mail" });
    expect(mails[0]!.text).toContain("https://backup.example.test/settings");

    expect(await client.settings.testChannel({ channelId: hookId })).toEqual({ delivered: true, error: null });
    expect(hooks).toHaveLength(1);
    const hook = hooks[0]!;
    expect(JSON.parse(hook.body)).toMatchObject({ type: "test", channelName: "Ops hook", tenantName: "Testers" });
    const expected = createHmac("sha256", secret)
      .update(`${hook.headers["x-e3-timestamp"]}.${hook.body}`)
      .digest("hex");
    expect(hook.headers["x-e3-signature"]).toBe(`v1=${expected}`);

    // One attempt only: a failing receiver is reported at once, not retried for seconds.
    failNextHooks = 1;
    const failed = await client.settings.testChannel({ channelId: hookId });
    expect(failed.delivered).toBe(false);
    expect(failed.error).toMatch(/HTTP 503/);
    failNextHooks = 0;

    const withoutSmtp = await caller(null).settings.testChannel({ channelId: emailId });
    expect(withoutSmtp).toEqual({ delivered: false, error: expect.stringMatching(/SMTP_URL is not set/) });
  });
});
