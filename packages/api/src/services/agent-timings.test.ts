import { describe, expect, it } from "vitest";
import { mergeAgentTimings } from "./agent-timings.ts";

const env = { AGENT_WATCHDOG_TIMEOUT_SECONDS: 720, AGENT_RECLAIM_GRACE_SECONDS: 180 };

describe("mergeAgentTimings", () => {
  it.each([
    ["no overrides", {}, env],
    [
      "both overridden",
      { AGENT_WATCHDOG_TIMEOUT_SECONDS: 300, AGENT_RECLAIM_GRACE_SECONDS: 60 },
      { AGENT_WATCHDOG_TIMEOUT_SECONDS: 300, AGENT_RECLAIM_GRACE_SECONDS: 60 },
    ],
    ["only the timeout", { AGENT_WATCHDOG_TIMEOUT_SECONDS: 900 }, { ...env, AGENT_WATCHDOG_TIMEOUT_SECONDS: 900 }],
    // A pair that would let the watchdog fail reclaimable runs is never used: the env pair is.
    ["timeout below the env grace", { AGENT_WATCHDOG_TIMEOUT_SECONDS: 120 }, env],
    ["grace equal to the timeout", { AGENT_WATCHDOG_TIMEOUT_SECONDS: 300, AGENT_RECLAIM_GRACE_SECONDS: 300 }, env],
  ])("%s", (_name, overrides, expected) => {
    expect(mergeAgentTimings(env, overrides)).toEqual(expected);
  });
});
