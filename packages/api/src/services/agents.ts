import type { Agent, Database } from "@e3/db";
import { generateToken, hashToken } from "@e3/db";

/**
 * Agents poll every few seconds while idle; these thresholds turn last_seen_at into a status people understand.
 * Enrolling sets last_seen_at too, so an agent whose service never polled (first_polled_at null) is "never", not
 * online: the enrollment command ran, but the agent has not connected since.
 */
export const onlineWithinMs = 2 * 60_000;
export const staleWithinMs = 15 * 60_000;

export type Connectivity = "online" | "stale" | "offline" | "never" | "revoked";

export function connectivityOf(
  agent: Pick<Agent, "status" | "lastSeenAt" | "firstPolledAt">,
  now = new Date(),
): Connectivity {
  if (agent.status === "revoked") return "revoked";
  if (!agent.firstPolledAt) return "never";
  if (!agent.lastSeenAt) return "offline";
  const age = now.getTime() - agent.lastSeenAt.getTime();
  return age <= onlineWithinMs ? "online" : age <= staleWithinMs ? "stale" : "offline";
}

export function publicAgent(agent: Agent, now = new Date()) {
  const { tokenHash: _secret, ...rest } = agent;
  return { ...rest, connectivity: connectivityOf(agent, now) };
}

/** A one-time enrollment token, returned once; only its hash is stored. */
export async function createEnrollmentToken(
  db: Database,
  tenantId: string,
  userId: string,
  options: { label?: string | null; ttlHours: number },
) {
  const token = generateToken("e3enr");
  const row = await db.enrollmentToken.create({
    data: {
      tenantId,
      tokenHash: hashToken(token),
      label: options.label ?? null,
      createdByUserId: userId,
      expiresAt: new Date(Date.now() + options.ttlHours * 3_600_000),
    },
  });
  return { id: row.id, token, expiresAt: row.expiresAt };
}
