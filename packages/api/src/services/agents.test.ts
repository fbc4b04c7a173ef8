import { describe, expect, it } from "vitest";
import { connectivityOf } from "./agents.ts";

describe("connectivityOf", () => {
  const now = new Date("2026-11-24T12:00:00Z");
  const seen = (secondsAgo: number) => ({
    status: "active" as const,
    lastSeenAt: new Date(now.getTime() - secondsAgo * 1000),
    firstPolledAt: new Date("2026-11-01T00:00:00Z"),
  });

  it.each([
    [30, "online"],
    [120, "online"],
    [121, "stale"],
    [900, "stale"],
    [901, "offline"],
  ])("an agent last seen %is ago is %s", (secondsAgo, expected) => {
    expect(connectivityOf(seen(secondsAgo), now)).toBe(expected);
  });

  it("reports agents that enrolled but never polled as never connected, not online", () => {
    // Enrolling stamps last_seen_at; only the first poll stamps first_polled_at.
    expect(connectivityOf({ status: "active", lastSeenAt: now, firstPolledAt: null }, now)).toBe("never");
    expect(connectivityOf({ status: "active", lastSeenAt: null, firstPolledAt: null }, now)).toBe("never");
    expect(connectivityOf({ status: "active", lastSeenAt: now, firstPolledAt: now }, now)).toBe("online");
  });

  it("reports revoked agents as revoked", () => {
    expect(connectivityOf({ status: "revoked", lastSeenAt: now, firstPolledAt: now }, now)).toBe("revoked");
    expect(connectivityOf({ status: "revoked", lastSeenAt: now, firstPolledAt: null }, now)).toBe("revoked");
  });
});
