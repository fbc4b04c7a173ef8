import { describe, expect, it } from "vitest";
import { nextPollDelay } from "./backoff.ts";

const policy = { intervalMs: 10_000, jitter: 0.2, failureBaseMs: 1000, failureMaxMs: 60_000 };

describe("nextPollDelay", () => {
  it("spreads idle polls by ±jitter around the interval", () => {
    expect(nextPollDelay(policy, 0, () => 0)).toBe(8000);
    expect(nextPollDelay(policy, 0, () => 0.5)).toBe(10_000);
    expect(nextPollDelay(policy, 0, () => 1)).toBe(12_000);
  });

  it.each([
    [1, 500, 1000],
    [2, 1000, 2000],
    [3, 2000, 4000],
    [6, 16_000, 32_000],
    [7, 30_000, 60_000],
    [50, 30_000, 60_000],
    [10_000, 30_000, 60_000],
  ])("after %i failures waits between %i and %i ms", (failures, low, high) => {
    expect(nextPollDelay(policy, failures, () => 0)).toBe(low);
    expect(nextPollDelay(policy, failures, () => 1)).toBe(high);
    for (let i = 0; i < 20; i++) {
      const delay = nextPollDelay(policy, failures);
      expect(delay).toBeGreaterThanOrEqual(low);
      expect(delay).toBeLessThanOrEqual(high);
    }
  });
});
