import type { Database, NotificationChannel } from "@e3/db";
import { type Keyring, openSecret } from "../secrets/envelope.ts";
import type { OfflineAgent } from "../worker/agent-offline.ts";
import type { Mailer } from "./email.ts";
import { type Notice, wantsNotice } from "./message.ts";
import { deliverWebhook } from "./webhook.ts";

// Sends what finished runs and overdue jobs have to say, per the job's policy (or its tenant's) and each channel's
// own. Runs are claimed by setting notified_at under SKIP LOCKED, so with N workers each run is announced once.
// A tenant without email channels gets email at its client users' addresses.

export type NotifierDeps = {
  db: Database;
  keyring: Keyring;
  mailer: Mailer | null;
  portalUrl: string;
  webhook?: { attempts?: number; baseDelayMs?: number };
};

export type DispatchResult = { notices: number; emails: number; webhooks: number; failures: string[] };

type Policy = "all" | "errors" | "off";

async function deliver(deps: NotifierDeps, tenantId: string, policy: Policy, notice: Notice, result: DispatchResult) {
  if (!wantsNotice(policy, notice)) return;
  result.notices += 1;
  const channels = await deps.db.notificationChannel.findMany({ where: { tenantId, enabled: true } });
  const wanted = (channel: NotificationChannel) => wantsNotice(channel.notifyOn, notice);
  const emailChannels = channels.filter((channel) => channel.kind === "email");
  const emailTo =
    emailChannels.length > 0
      ? emailChannels.filter(wanted).map((channel) => channel.target)
      : (await deps.db.user.findMany({ where: { tenantId, role: "client", banned: { not: true } } })).map(
          (u) => u.email,
        );
  if (emailTo.length > 0) {
    if (!deps.mailer) {
      result.failures.push("email: SMTP_URL is not set, so no email was sent");
    } else {
      try {
        await deps.mailer.send(emailTo, notice);
        result.emails += 1;
      } catch (error) {
        result.failures.push(`email to ${emailTo.join(", ")}: ${(error as Error).message}`);
      }
    }
  }
  for (const channel of channels.filter((c) => c.kind === "webhook" && wanted(c))) {
    const secret = channel.secretEnc ? openSecret(deps.keyring, channel.secretEnc, "secret_enc") : "";
    const delivery = await deliverWebhook(channel.target, secret, notice, deps.webhook);
    if (delivery.delivered) result.webhooks += 1;
    else result.failures.push(`webhook ${channel.name}: ${delivery.lastError} after ${delivery.attempts} attempts`);
  }
}

export async function notifyFinishedRuns(deps: NotifierDeps, now = new Date()): Promise<DispatchResult> {
  const result: DispatchResult = { notices: 0, emails: 0, webhooks: 0, failures: [] };
  const since = new Date(now.getTime() - 86_400_000);
  // Raw SQL on purpose: Prisma would also bump updated_at, which is the agent's heartbeat.
  const claimed = await deps.db.$queryRaw<{ id: string }[]>`
    UPDATE runs SET notified_at = ${now}
    WHERE id IN (
      SELECT id FROM runs
      WHERE status IN ('success', 'warning', 'failed', 'cancelled') AND notified_at IS NULL AND finished_at > ${since}
      ORDER BY finished_at LIMIT 50 FOR UPDATE SKIP LOCKED)
    RETURNING id`;
  for (const { id } of claimed) {
    const run = await deps.db.run.findUniqueOrThrow({ where: { id }, include: { job: true, tenant: true } });
    const policy = run.job.notifyOn ?? run.tenant.notifyOn;
    await deliver(
      deps,
      run.tenantId,
      policy,
      {
        kind: "run.finished",
        tenantName: run.tenant.name,
        jobName: run.job.name,
        runId: run.id,
        runType: run.runType,
        status: run.status,
        errorCode: run.errorCode,
        errorMessage: run.errorMessage,
        startedAt: run.startedAt,
        finishedAt: run.finishedAt,
        portalUrl: deps.portalUrl,
      },
      result,
    );
  }
  return result;
}

export async function notifyOverdueJobs(deps: NotifierDeps, jobIds: string[]): Promise<DispatchResult> {
  const result: DispatchResult = { notices: 0, emails: 0, webhooks: 0, failures: [] };
  for (const jobId of jobIds) {
    const job = await deps.db.job.findUniqueOrThrow({ where: { id: jobId }, include: { tenant: true } });
    const lastSuccess = await deps.db.run.findFirst({
      where: { jobId, runType: "backup", status: { in: ["success", "warning"] } },
      orderBy: { finishedAt: "desc" },
    });
    await deliver(
      deps,
      job.tenantId,
      job.notifyOn ?? job.tenant.notifyOn,
      {
        kind: "job.overdue",
        tenantName: job.tenant.name,
        jobName: job.name,
        jobId: job.id,
        lastSuccessAt: lastSuccess?.finishedAt ?? null,
        portalUrl: deps.portalUrl,
      },
      result,
    );
  }
  return result;
}

export async function notifyOfflineAgents(deps: NotifierDeps, agents: OfflineAgent[]): Promise<DispatchResult> {
  const result: DispatchResult = { notices: 0, emails: 0, webhooks: 0, failures: [] };
  for (const agent of agents) {
    const tenant = await deps.db.tenant.findUniqueOrThrow({ where: { id: agent.tenant_id } });
    await deliver(
      deps,
      tenant.id,
      tenant.notifyOn,
      {
        kind: "agent.offline",
        tenantName: tenant.name,
        agentName: agent.name,
        agentId: agent.id,
        lastSeenAt: agent.last_seen_at,
        portalUrl: deps.portalUrl,
      },
      result,
    );
  }
  return result;
}

/** The Test button: one notice through one channel right now, one webhook attempt, and what went wrong if it failed. */
export async function sendTestNotice(
  deps: Pick<NotifierDeps, "keyring" | "mailer" | "portalUrl">,
  channel: NotificationChannel,
  tenantName: string,
): Promise<{ delivered: boolean; error: string | null }> {
  const notice: Notice = { kind: "test", tenantName, channelName: channel.name, portalUrl: deps.portalUrl };
  if (channel.kind === "email") {
    if (!deps.mailer) return { delivered: false, error: "SMTP_URL is not set on the server, so no email can be sent" };
    try {
      await deps.mailer.send([channel.target], notice);
      return { delivered: true, error: null };
    } catch (error) {
      return { delivered: false, error: `email to ${channel.target}: ${(error as Error).message}` };
    }
  }
  const secret = channel.secretEnc ? openSecret(deps.keyring, channel.secretEnc, "secret_enc") : "";
  const delivery = await deliverWebhook(channel.target, secret, notice, { attempts: 1, timeoutMs: 10_000 });
  return delivery.delivered
    ? { delivered: true, error: null }
    : { delivered: false, error: `webhook ${channel.target}: ${delivery.lastError}` };
}
