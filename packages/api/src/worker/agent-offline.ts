import type { Database } from "@e3/db";
import { staleWithinMs } from "../services/agents.ts";

export type OfflineAgent = { id: string; tenant_id: string; name: string; last_seen_at: Date };
export type AgentOfflineResult = { wentOffline: OfflineAgent[]; cameBack: number };

/**
 * Agents silent for longer than the stale window are flagged offline once (a conditional UPDATE, so with N workers
 * exactly one raises the alert) and unflagged when they call in again. Revoked agents are never alerted on.
 */
export async function runAgentOfflineCheck(db: Database, now = new Date()): Promise<AgentOfflineResult> {
  const cutoff = new Date(now.getTime() - staleWithinMs);
  const wentOffline = await db.$queryRaw<OfflineAgent[]>`
    UPDATE agents SET offline_since = ${now}
    WHERE status = 'active' AND offline_since IS NULL AND last_seen_at < ${cutoff}
    RETURNING id, tenant_id, name, last_seen_at`;
  const cameBack = await db.$executeRaw`
    UPDATE agents SET offline_since = NULL WHERE offline_since IS NOT NULL AND last_seen_at >= ${cutoff}`;
  return { wentOffline, cameBack };
}
