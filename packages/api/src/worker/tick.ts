import type { Database } from "@e3/db";
import {
  type DispatchResult,
  type NotifierDeps,
  notifyFinishedRuns,
  notifyOfflineAgents,
  notifyOverdueJobs,
} from "../notify/dispatch.ts";
import { type AgentTimings, agentTimings } from "../services/agent-timings.ts";
import { type AgentOfflineResult, runAgentOfflineCheck } from "./agent-offline.ts";
import { type OverdueResult, runOverdueCheck } from "./overdue.ts";
import { runScheduler, type SchedulerResult } from "./scheduler.ts";
import { runWatchdog, type WatchdogResult } from "./watchdog.ts";

export type TickResult = {
  scheduler: SchedulerResult;
  watchdog: WatchdogResult;
  overdue: OverdueResult;
  agents: AgentOfflineResult;
  notifications: DispatchResult | null;
};

/**
 * One pass of the background work: the watchdog first (so a dead agent's run is failed before its job is judged),
 * then the scheduler, overdue and offline-agent detection, and notifications for what finished, became overdue or
 * went offline. Safe to run from
 * any number of workers at once, and from the cron route (one tick per call).
 */
export async function runTick(
  db: Database,
  /** The env defaults; the portal's overrides (services/agent-timings.ts) win. */
  config: AgentTimings,
  notifier: NotifierDeps | null,
  now = new Date(),
): Promise<TickResult> {
  const watchdog = await runWatchdog(db, await agentTimings(db, config), now);
  const scheduler = await runScheduler(db, now);
  const overdue = await runOverdueCheck(db, now);
  const agents = await runAgentOfflineCheck(db, now);
  let notifications: DispatchResult | null = null;
  if (notifier) {
    const finished = await notifyFinishedRuns(notifier, now);
    const late = await notifyOverdueJobs(notifier, overdue.becameOverdue);
    const offline = await notifyOfflineAgents(notifier, agents.wentOffline);
    const parts = [finished, late, offline];
    notifications = {
      notices: parts.reduce((sum, part) => sum + part.notices, 0),
      emails: parts.reduce((sum, part) => sum + part.emails, 0),
      webhooks: parts.reduce((sum, part) => sum + part.webhooks, 0),
      failures: parts.flatMap((part) => part.failures),
    };
  }
  return { scheduler, watchdog, overdue, agents, notifications };
}
