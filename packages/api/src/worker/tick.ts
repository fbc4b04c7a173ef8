import type { Database } from "@e3/db";
import type { ServerConfig } from "../config.ts";
import { type DispatchResult, type NotifierDeps, notifyFinishedRuns, notifyOverdueJobs } from "../notify/dispatch.ts";
import { type OverdueResult, runOverdueCheck } from "./overdue.ts";
import { runScheduler, type SchedulerResult } from "./scheduler.ts";
import { runWatchdog, type WatchdogResult } from "./watchdog.ts";

export type TickResult = {
  scheduler: SchedulerResult;
  watchdog: WatchdogResult;
  overdue: OverdueResult;
  notifications: DispatchResult | null;
};

/**
 * One pass of the background work: the watchdog first (so a dead agent's run is failed before its job is judged),
 * then the scheduler, overdue detection, and notifications for what finished or became overdue. Safe to run from
 * any number of workers at once, and from the cron route (one tick per call).
 */
export async function runTick(
  db: Database,
  config: Pick<ServerConfig, "AGENT_WATCHDOG_TIMEOUT_SECONDS">,
  notifier: NotifierDeps | null,
  now = new Date(),
): Promise<TickResult> {
  const watchdog = await runWatchdog(db, config, now);
  const scheduler = await runScheduler(db, now);
  const overdue = await runOverdueCheck(db, now);
  let notifications: DispatchResult | null = null;
  if (notifier) {
    const finished = await notifyFinishedRuns(notifier, now);
    const late = await notifyOverdueJobs(notifier, overdue.becameOverdue);
    notifications = {
      notices: finished.notices + late.notices,
      emails: finished.emails + late.emails,
      webhooks: finished.webhooks + late.webhooks,
      failures: [...finished.failures, ...late.failures],
    };
  }
  return { scheduler, watchdog, overdue, notifications };
}
