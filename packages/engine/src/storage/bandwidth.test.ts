import { describe, expect, it } from "vitest";
import { Bandwidth, parseBandwidth, parseRate, rateAt } from "./bandwidth.ts";

const KiB = 1024;

describe("rates (rclone's SizeSuffix, KiB by default)", () => {
  it.each([
    ["512", 512 * KiB],
    ["512k", 512 * KiB],
    ["10M", 10 * KiB * KiB],
    ["1.5M", 1.5 * KiB * KiB],
    ["100B", 100],
    ["1G", KiB ** 3],
    ["10M:off", 10 * KiB * KiB],
    ["off", undefined],
    ["off:1M", undefined],
  ])("%s", (text, bytes) => {
    expect(parseRate(text)).toBe(bytes);
  });

  it("names what is wrong", () => {
    expect(() => parseRate("fast")).toThrow(/"fast" is not a size/);
    expect(() => parseRate("0")).toThrow(/above zero/);
  });
});

// 2024-01-01 was a Monday.
const at = (day: number, hours: number, minutes = 0) => new Date(2024, 0, day, hours, minutes);

describe("timetables", () => {
  it("rclone's daily form applies every day, wrapping past midnight", () => {
    const schedule = parseBandwidth("08:00,512k 12:00,10M 23:00,off");
    expect(rateAt(schedule, at(1, 9))).toBe(512 * KiB);
    expect(rateAt(schedule, at(1, 12))).toBe(10 * KiB * KiB);
    expect(rateAt(schedule, at(1, 23, 30))).toBeUndefined();
    expect(rateAt(schedule, at(2, 3))).toBeUndefined();
  });

  it("rclone's weekday form wraps around the week", () => {
    const schedule = parseBandwidth("Mon-00:00,512;Fri-23:59,10M;Sat-10:00,1M");
    expect(rateAt(schedule, at(3, 12))).toBe(512 * KiB);
    expect(rateAt(schedule, at(6, 10))).toBe(1 * KiB * KiB);
    expect(rateAt(schedule, at(7, 12))).toBe(1 * KiB * KiB);
  });

  it("a day range applies to the entries after it", () => {
    const schedule = parseBandwidth("Mon-Fri 08:00,512 18:00,off");
    expect(rateAt(schedule, at(1, 9))).toBe(512 * KiB);
    expect(rateAt(schedule, at(5, 17, 59))).toBe(512 * KiB);
    expect(rateAt(schedule, at(5, 18))).toBeUndefined();
    // The weekend keeps Friday evening's "off"; Monday before 08:00 too.
    expect(rateAt(schedule, at(6, 9))).toBeUndefined();
    expect(rateAt(schedule, at(1, 7))).toBeUndefined();
  });

  it("refuses what it cannot read", () => {
    expect(() => parseBandwidth("Mon-Fru 08:00,512")).toThrow(/not a day/);
    expect(() => parseBandwidth("25:00,512")).toThrow(/not a time of day/);
    expect(() => parseBandwidth("08:00,fast 09:00,1M")).toThrow(/"fast" is not a size/);
    expect(() => parseBandwidth("Mon 8h,1M")).toThrow(/not \[Day-\]HH:MM,RATE/);
  });
});

describe("Bandwidth", () => {
  it("spaces requests to the rate, across callers", async () => {
    const bandwidth = new Bandwidth(parseBandwidth("200k"));
    const started = performance.now();
    // 60 KiB in 4 KiB steps from three callers at once: 300 ms at 200 KiB/s, less the 100 ms burst.
    await Promise.all(
      [0, 1, 2].map(async () => {
        for (let i = 0; i < 5; i++) await bandwidth.take(4 * KiB);
      }),
    );
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(180);
    expect(elapsed).toBeLessThan(400);
  });

  it("does not wait when off", async () => {
    const bandwidth = new Bandwidth(parseBandwidth("off"));
    const started = performance.now();
    await bandwidth.take(1e9);
    expect(performance.now() - started).toBeLessThan(20);
    expect(bandwidth.sliceSize()).toBe(Number.POSITIVE_INFINITY);
  });
});
