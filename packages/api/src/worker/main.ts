import { createDatabase } from "@e3/db";
import { readServerConfig } from "../config.ts";
import { currentWorkerIdentity, recordWorkerHeartbeat } from "./heartbeat.ts";

// `pnpm worker`: the background process beside the portal. Each tick records this worker's heartbeat; the scheduler,
// watchdog, overdue detection and notifications join this loop as the server-core issue lands them.

const config = readServerConfig();
const db = createDatabase(config.DATABASE_URL, { poolSize: 2 });
const worker = currentWorkerIdentity();
let stopping = false;

async function tick() {
  try {
    await recordWorkerHeartbeat(db, worker);
  } catch (error) {
    console.error(`worker ${worker.id}: tick failed: ${(error as Error).message}`);
  }
}

async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  console.log(`worker ${worker.id}: ${signal}, stopping`);
  await db.$disconnect();
  process.exit(0);
}

console.log(`worker ${worker.id}: started, tick every ${config.WORKER_TICK_SECONDS}s`);
await tick();
const timer = setInterval(tick, config.WORKER_TICK_SECONDS * 1000);
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));
