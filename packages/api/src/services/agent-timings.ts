import type { Database } from "@e3/db";
import { z } from "zod";
import type { ServerConfig } from "../config.ts";

// The watchdog timeout and the reclaim grace (seed: AGENT_WATCHDOG_TIMEOUT_SECONDS, AGENT_RECLAIM_GRACE_SECONDS).
// The environment gives the defaults; an admin may override them in the portal (settings rows), and the override
// wins. Both readers (the watchdog in the worker, next_run in the portal) go through agentTimings, which caches the
// rows briefly so the polling hot path costs no extra query per request.

export type AgentTimings = Pick<ServerConfig, "AGENT_WATCHDOG_TIMEOUT_SECONDS" | "AGENT_RECLAIM_GRACE_SECONDS">;

export const agentTimingKeys = {
  AGENT_WATCHDOG_TIMEOUT_SECONDS: "agent_watchdog_timeout_seconds",
  AGENT_RECLAIM_GRACE_SECONDS: "agent_reclaim_grace_seconds",
} as const;

const secondsValue = z.number().int().positive();
const cacheMs = 10_000;
const cache = new WeakMap<Database, { at: number; overrides: Partial<AgentTimings> }>();

async function readOverrides(db: Database): Promise<Partial<AgentTimings>> {
  const rows = await db.setting.findMany({ where: { key: { in: Object.values(agentTimingKeys) } } });
  const overrides: Partial<AgentTimings> = {};
  for (const [name, key] of Object.entries(agentTimingKeys) as [keyof AgentTimings, string][]) {
    const parsed = secondsValue.safeParse(rows.find((row) => row.key === key)?.value);
    if (parsed.success) overrides[name] = parsed.data;
  }
  return overrides;
}

/** Merges env defaults and portal overrides; a pair that would break grace < timeout falls back to the env pair. */
export function mergeAgentTimings(defaults: AgentTimings, overrides: Partial<AgentTimings>): AgentTimings {
  const merged = { ...defaults, ...overrides };
  return merged.AGENT_RECLAIM_GRACE_SECONDS < merged.AGENT_WATCHDOG_TIMEOUT_SECONDS ? merged : defaults;
}

export async function agentTimings(db: Database, defaults: AgentTimings, now = Date.now()): Promise<AgentTimings> {
  let entry = cache.get(db);
  if (!entry || now - entry.at > cacheMs) {
    entry = { at: now, overrides: await readOverrides(db) };
    cache.set(db, entry);
  }
  return mergeAgentTimings(defaults, entry.overrides);
}

/** Stores both values (validated by the caller) and drops this process's cache so the change applies at once here. */
export async function writeAgentTimings(db: Database, timings: AgentTimings): Promise<void> {
  await db.$transaction(
    (Object.entries(agentTimingKeys) as [keyof AgentTimings, string][]).map(([name, key]) =>
      db.setting.upsert({ where: { key }, create: { key, value: timings[name] }, update: { value: timings[name] } }),
    ),
  );
  cache.delete(db);
}
