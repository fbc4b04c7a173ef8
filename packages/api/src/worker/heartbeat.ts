import { hostname } from "node:os";
import type { Database } from "@e3/db";

export type WorkerIdentity = { id: string; host: string; pid: number; startedAt: Date };

export function currentWorkerIdentity(): WorkerIdentity {
  const host = hostname();
  return { id: `${host}:${process.pid}`, host, pid: process.pid, startedAt: new Date() };
}

/** Records that this worker is alive; /api/health and the home page report the youngest beat's age. */
export async function recordWorkerHeartbeat(db: Database, worker: WorkerIdentity, now = new Date()): Promise<void> {
  await db.workerHeartbeat.upsert({
    where: { id: worker.id },
    create: { id: worker.id, host: worker.host, pid: worker.pid, startedAt: worker.startedAt, beatAt: now },
    update: { beatAt: now },
  });
}

/** Seconds since the most recent beat of any worker, or null when no worker ever ran. */
export async function latestWorkerHeartbeatAge(db: Database, now = new Date()): Promise<number | null> {
  const latest = await db.workerHeartbeat.findFirst({ orderBy: { beatAt: "desc" } });
  return latest ? Math.max(0, (now.getTime() - latest.beatAt.getTime()) / 1000) : null;
}
