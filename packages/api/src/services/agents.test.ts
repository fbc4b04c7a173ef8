import { describe, expect, it } from "vitest";
import { connectivityOf } from "./agents.ts";

describe("connectivityOf", () => {
  const now = new Date("2026-11-24T12:00:00Z");
  const seen = (secondsAgo: number) => ({
    status: "active" as const,
    lastSeenAt: new Date(now.getTime() - secondsAgo * 1000),
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

  it("reports never-seen agents as offline and revoked ones as revoked", () => {
    expect(connectivityOf({ status: "active", lastSeenAt: null }, now)).toBe("offline");
    expect(connectivityOf({ status: "revoked", lastSeenAt: now }, now)).toBe("revoked");
  });
});
