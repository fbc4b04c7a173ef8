import { checkDatabaseHealth, type Database, type DatabaseHealth } from "@e3/db";
import { latestWorkerHeartbeatAge } from "./worker/heartbeat.ts";

export type PortalStatus = {
  version: string;
  database: DatabaseHealth;
  workerHeartbeatAgeSeconds: number | null;
  counts: { tenants: number; users: number; agents: number; jobs: number; runs: number } | null;
};

/** What the home page and /api/health report: is the database reachable, is a worker alive, how much is there. */
export async function getPortalStatus(db: Database, version: string): Promise<PortalStatus> {
  const database = await checkDatabaseHealth(db);
  if (!database.ok) return { version, database, workerHeartbeatAgeSeconds: null, counts: null };
  const [tenants, users, agents, jobs, runs, workerHeartbeatAgeSeconds] = await Promise.all([
    db.tenant.count(),
    db.user.count(),
    db.agent.count(),
    db.job.count({ where: { deletedAt: null } }),
    db.run.count(),
    latestWorkerHeartbeatAge(db),
  ]);
  return { version, database, workerHeartbeatAgeSeconds, counts: { tenants, users, agents, jobs, runs } };
}
