import type { Database } from "@e3/db";
import type { ServerConfig } from "../config.ts";
import { announceRunUpdate } from "../live/run-updates.ts";
import { appendServerEvent } from "../services/run-events.ts";

export type WatchdogResult = { failedRuns: string[]; expiredCommands: number; failedCommandRuns: string[] };

/**
 * Fails runs whose agent went silent (heartbeat older than the watchdog timeout) with AGENT_OFFLINE, and closes
 * commands nobody picked up in time, failing the restore/maintenance runs that waited for them. Each step is one
 * conditional UPDATE, so concurrent workers never fail a run twice or a live one at all.
 */
export async function runWatchdog(
  db: Database,
  config: Pick<ServerConfig, "AGENT_WATCHDOG_TIMEOUT_SECONDS">,
  now = new Date(),
): Promise<WatchdogResult> {
  const cutoff = new Date(now.getTime() - config.AGENT_WATCHDOG_TIMEOUT_SECONDS * 1000);
  const minutes = Math.round(config.AGENT_WATCHDOG_TIMEOUT_SECONDS / 60);
  const stale = await db.$queryRaw<{ id: string }[]>`
    UPDATE runs SET status = 'failed', error_code = 'AGENT_OFFLINE', finished_at = ${now},
      error_message = ${`the agent stopped reporting for more than ${minutes} minutes (offline, crashed or lost its network); the next scheduled run will try again`}
    WHERE status IN ('starting', 'running') AND updated_at < ${cutoff}
    RETURNING id`;
  for (const run of stale) {
    await appendServerEvent(db, run.id, {
      type: "RUN_FAILED",
      level: "error",
      message: "no heartbeat from the agent within the watchdog timeout",
      data: { errorCode: "AGENT_OFFLINE" },
    });
    await announceRunUpdate(db, run.id);
  }

  const expired = await db.$queryRaw<{ id: string; run_id: string | null }[]>`
    UPDATE run_commands SET status = 'expired', completed_at = ${now}, updated_at = ${now}
    WHERE status IN ('pending', 'delivered') AND expires_at < ${now}
    RETURNING id, run_id`;
  const waitingRunIds = expired.map((command) => command.run_id).filter((id): id is string => id !== null);
  const failedCommandRuns =
    waitingRunIds.length === 0
      ? []
      : await db.$queryRaw<{ id: string }[]>`
          UPDATE runs SET status = 'failed', error_code = 'COMMAND_EXPIRED', finished_at = ${now},
            error_message = 'the agent did not pick up the request in time; check that it is online and try again'
          WHERE id = ANY(${waitingRunIds}::uuid[]) AND status = 'queued' AND run_type <> 'backup'
          RETURNING id`;
  return {
    failedRuns: stale.map((run) => run.id),
    expiredCommands: expired.length,
    failedCommandRuns: failedCommandRuns.map((run) => run.id),
  };
}
