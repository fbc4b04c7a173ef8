import { createDatabase } from "@e3/db";
import { readServerConfig } from "../config.ts";
import { log } from "../log.ts";
import { createMailer } from "../notify/email.ts";
import { keyringFromEnv } from "../secrets/envelope.ts";
import { currentWorkerIdentity, recordWorkerHeartbeat } from "./heartbeat.ts";
import { runTick } from "./tick.ts";

// `pnpm worker`: the background process beside the portal. Each tick records this worker's heartbeat, then runs the
// watchdog, the scheduler and overdue detection (worker/tick.ts). Any number of workers may run against one database.

const config = readServerConfig();
const db = createDatabase(config.DATABASE_URL, { poolSize: 2 });
const worker = currentWorkerIdentity();
const notifier = {
  db,
  keyring: keyringFromEnv(process.env),
  mailer: config.SMTP_URL ? createMailer(config.SMTP_URL, config.SMTP_FROM) : null,
  portalUrl: config.E3_PUBLIC_URL,
};
let stopping = false;
let ticking = false;

async function tick() {
  // A slow tick (a busy database) is not overlapped by the next one.
  if (ticking || stopping) return;
  ticking = true;
  try {
    await recordWorkerHeartbeat(db, worker);
    const result = await runTick(db, config, notifier);
    const notable = [
      result.scheduler.enqueued > 0 && `${result.scheduler.enqueued} runs enqueued`,
      result.watchdog.failedRuns.length > 0 && `${result.watchdog.failedRuns.length} runs failed AGENT_OFFLINE`,
      result.watchdog.expiredCommands > 0 && `${result.watchdog.expiredCommands} commands expired`,
      result.overdue.becameOverdue.length > 0 && `${result.overdue.becameOverdue.length} jobs overdue`,
      result.agents.wentOffline.length > 0 && `${result.agents.wentOffline.length} agents offline`,
      result.notifications && result.notifications.notices > 0 && `${result.notifications.notices} notifications`,
      ...(result.notifications?.failures ?? []).map((failure) => `notification failed: ${failure}`),
    ].filter(Boolean);
    if (notable.length > 0) log.info({ worker: worker.id }, notable.join(", "));
  } catch (error) {
    log.error({ worker: worker.id, err: error }, "tick failed");
  } finally {
    ticking = false;
  }
}

async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  log.info({ worker: worker.id }, `${signal}, stopping`);
  await db.$disconnect();
  process.exit(0);
}

log.info({ worker: worker.id }, `started, tick every ${config.WORKER_TICK_SECONDS}s`);
await tick();
const timer = setInterval(tick, config.WORKER_TICK_SECONDS * 1000);
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));
