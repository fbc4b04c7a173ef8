import { describe, expect, it } from "vitest";
import { expectedGapSeconds, isOverdue, nextRunAt, nextSlots, type Schedule, scheduleSchema } from "./schedule.ts";

const parse = (value: unknown) => scheduleSchema.parse(value);
const iso = (dates: Date[]) => dates.map((date) => date.toISOString());

describe("scheduleSchema", () => {
  it("accepts cron in a time zone, intervals and manual, with defaults", () => {
    expect(parse({ kind: "cron", cron: "0 2 * * *" })).toEqual({
      kind: "cron",
      cron: "0 2 * * *",
      timezone: "UTC",
      randomDelaySeconds: 0,
    });
    expect(parse({ kind: "interval", everySeconds: 3600, randomDelaySeconds: 60 }).kind).toBe("interval");
    expect(parse({ kind: "manual" })).toEqual({ kind: "manual" });
  });

  it.each([
    [{ kind: "cron", cron: "61 2 * * *" }, /cron: is not a valid cron expression: Invalid value for minute: 61/],
    [{ kind: "cron", cron: "0 2 * * *", timezone: "Mars/Base" }, /timezone: must be an IANA time zone/],
    [{ kind: "interval", everySeconds: 10 }, /everySeconds: must be at least 300 seconds/],
    [{ kind: "hourly" }, /kind/],
    [{ kind: "manual", extra: true }, /extra/],
  ])("refuses %j naming the field", (value, message) => {
    const result = scheduleSchema.safeParse(value);
    expect(result.success).toBe(false);
    const text = result.error!.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    expect(text).toMatch(message);
  });
});

describe("nextSlots and nextRunAt", () => {
  it("follows the time zone across a daylight-saving change", () => {
    const schedule = parse({ kind: "cron", cron: "30 2 * * *", timezone: "Europe/Berlin" });
    // 29 March 2026: Berlin skips 02:00-03:00; the missing 02:30 slot runs when the gap ends, at 03:00 local
    // (01:00Z), and the next day's 02:30 is 00:30Z in summer time. The slot is moved, never lost.
    expect(iso(nextSlots(schedule, new Date("2026-03-27T12:00:00Z"), 3))).toEqual([
      "2026-03-28T01:30:00.000Z",
      "2026-03-29T01:00:00.000Z",
      "2026-03-30T00:30:00.000Z",
    ]);
  });

  it("spaces intervals from the reference time and returns nothing for manual jobs", () => {
    const schedule = parse({ kind: "interval", everySeconds: 3600 });
    expect(iso(nextSlots(schedule, new Date("2026-01-01T00:00:00Z"), 2))).toEqual([
      "2026-01-01T01:00:00.000Z",
      "2026-01-01T02:00:00.000Z",
    ]);
    expect(nextSlots(parse({ kind: "manual" }), new Date(), 5)).toEqual([]);
    expect(nextRunAt(parse({ kind: "manual" }), new Date())).toBeNull();
  });

  it("adds at most the random delay", () => {
    const schedule = parse({ kind: "cron", cron: "0 2 * * *", randomDelaySeconds: 600 });
    const after = new Date("2026-01-01T00:00:00Z");
    expect(nextRunAt(schedule, after, 0)?.toISOString()).toBe("2026-01-01T02:00:00.000Z");
    expect(nextRunAt(schedule, after, 0.5)?.toISOString()).toBe("2026-01-01T02:05:00.000Z");
    expect(nextRunAt(schedule, after, 0.999_999)!.getTime()).toBeLessThan(Date.parse("2026-01-01T02:10:00Z"));
  });
});

describe("overdue detection", () => {
  const daily: Schedule = parse({ kind: "cron", cron: "0 2 * * *" });
  const weekdays: Schedule = parse({ kind: "cron", cron: "0 2 * * 1-5" });

  it("uses the longest gap of the schedule, so weekends do not raise false alarms", () => {
    expect(expectedGapSeconds(daily, new Date("2026-01-05T00:00:00Z"))).toBe(86_400);
    expect(expectedGapSeconds(weekdays, new Date("2026-01-05T00:00:00Z"))).toBe(3 * 86_400);
    expect(expectedGapSeconds(parse({ kind: "manual" }), new Date())).toBeNull();
  });

  it("flags a job once its last success is older than 1.5 gaps", () => {
    const lastSuccess = new Date("2026-01-05T02:00:00Z");
    expect(isOverdue(daily, lastSuccess, new Date("2026-01-06T13:59:00Z"))).toBe(false);
    expect(isOverdue(daily, lastSuccess, new Date("2026-01-06T14:01:00Z"))).toBe(true);
    expect(isOverdue(parse({ kind: "manual" }), lastSuccess, new Date("2030-01-01T00:00:00Z"))).toBe(false);
  });
});
