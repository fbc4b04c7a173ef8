// What a notification says, independent of how it travels (email or webhook). Pure, so it is tested on its own.

export type RunNotice = {
  kind: "run.finished";
  tenantName: string;
  jobName: string;
  runId: string;
  runType: string;
  status: string;
  errorCode: string | null;
  errorMessage: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  portalUrl: string;
};

export type OverdueNotice = {
  kind: "job.overdue";
  tenantName: string;
  jobName: string;
  jobId: string;
  lastSuccessAt: Date | null;
  portalUrl: string;
};

export type AgentOfflineNotice = {
  kind: "agent.offline";
  tenantName: string;
  agentName: string;
  agentId: string;
  lastSeenAt: Date;
  portalUrl: string;
};

/** Sent by the Test button of a notification channel, to prove the channel works. */
export type TestNotice = {
  kind: "test";
  tenantName: string;
  channelName: string;
  portalUrl: string;
};

export type Notice = RunNotice | OverdueNotice | AgentOfflineNotice | TestNotice;

const runTypeLabel: Record<string, string> = {
  backup: "Backup",
  restore: "Restore",
  maintenance_quick: "Quick maintenance",
  maintenance_full: "Full maintenance",
};

/** Errors-only channels get failures, warnings and alerts; "all" adds successes and cancels. */
export function isProblem(notice: Notice): boolean {
  return notice.kind !== "run.finished" || notice.status === "failed" || notice.status === "warning";
}

export function wantsNotice(policy: "all" | "errors" | "off", notice: Notice): boolean {
  return policy === "all" || (policy === "errors" && isProblem(notice));
}

function duration(from: Date | null, to: Date | null): string | null {
  if (!from || !to) return null;
  const seconds = Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}

export function renderEmail(notice: Notice): { subject: string; text: string } {
  if (notice.kind === "test") {
    return {
      subject: `[e3] Test notification for ${notice.channelName}`,
      text: [
        `This is a test from the e3 portal of ${notice.tenantName}: the channel "${notice.channelName}" works.`,
        `Notification settings: ${notice.portalUrl}/settings`,
      ].join("\n\n"),
    };
  }
  if (notice.kind === "agent.offline") {
    return {
      subject: `[e3] Offline: ${notice.agentName} stopped checking in`,
      text: [
        `The agent on "${notice.agentName}" (${notice.tenantName}) has not contacted the portal since ${notice.lastSeenAt.toISOString()}.`,
        "Its backups will not run until it is back: check that the machine is on, online, and its e3 service running.",
        `${notice.portalUrl}/agents/${notice.agentId}`,
      ].join("\n\n"),
    };
  }
  if (notice.kind === "job.overdue") {
    return {
      subject: `[e3] Overdue: ${notice.jobName} has not completed a backup on schedule`,
      text: [
        `The job "${notice.jobName}" (${notice.tenantName}) has no successful backup within its schedule.`,
        `Last success: ${notice.lastSuccessAt ? notice.lastSuccessAt.toISOString() : "never"}.`,
        "Check that the machine is on and its agent online, then run the job now.",
        `${notice.portalUrl}/jobs/${notice.jobId}`,
      ].join("\n\n"),
    };
  }
  const label = runTypeLabel[notice.runType] ?? notice.runType;
  const took = duration(notice.startedAt, notice.finishedAt);
  return {
    subject: `[e3] ${label} ${notice.status}: ${notice.jobName}`,
    text: [
      `${label} of "${notice.jobName}" (${notice.tenantName}) ended: ${notice.status}${took ? ` after ${took}` : ""}.`,
      ...(notice.errorCode || notice.errorMessage
        ? [`Reason: ${[notice.errorCode, notice.errorMessage].filter(Boolean).join(": ")}`]
        : []),
      `Details and logs: ${notice.portalUrl}/runs/${notice.runId}`,
    ].join("\n\n"),
  };
}
