import { describe, expect, it } from "vitest";
import {
  durationBetween,
  formatAbsolute,
  formatBytes,
  formatCount,
  formatDuration,
  formatPercent,
  formatRatio,
  formatRelative,
  formatSpeed,
  truncateMiddle,
} from "./format.ts";

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [1, "1 B"],
    [1023, "1,023 B"],
    [1024, "1 KiB"],
    [1536, "1.5 KiB"],
    [10 * 1024 * 1024 + 512 * 1024, "10.5 MiB"],
    [123.4 * 1024 ** 3, "123 GiB"],
    [1.234 * 1024 ** 4, "1.23 TiB"],
    [-2048, "-2 KiB"],
  ])("%d bytes in binary units is %s", (bytes, expected) => {
    expect(formatBytes(bytes, { locale: "en-US" })).toBe(expected);
  });

  it("offers decimal units and accepts bigint", () => {
    expect(formatBytes(1_500_000, { units: "decimal", locale: "en-US" })).toBe("1.5 MB");
    expect(formatBytes(5n * 1024n ** 3n, { locale: "en-US" })).toBe("5 GiB");
  });

  it("shows a dash for missing or non-finite values", () => {
    expect(formatBytes(null)).toBe("—");
    expect(formatBytes(undefined)).toBe("—");
    expect(formatBytes(Number.NaN)).toBe("—");
  });

  it("follows the locale's decimal separator", () => {
    expect(formatBytes(1536, { locale: "de-DE" })).toBe("1,5 KiB");
  });
});

describe("formatSpeed", () => {
  it("appends /s", () => {
    expect(formatSpeed(2 * 1024 * 1024)).toBe("2 MiB/s");
    expect(formatSpeed(undefined)).toBe("—");
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0 s"],
    [59.4, "59 s"],
    [60, "1 min"],
    [61, "1 min 1 s"],
    [3600, "1 h"],
    [3725, "1 h 2 min"],
    [86_400 * 2 + 3600 * 5, "2 d 5 h"],
    [86_400, "1 d"],
  ])("%d s is %s", (seconds, expected) => {
    expect(formatDuration(seconds)).toBe(expected);
  });

  it("refuses negative and missing durations", () => {
    expect(formatDuration(-1)).toBe("—");
    expect(formatDuration(null)).toBe("—");
  });
});

describe("durationBetween", () => {
  it("measures to the end, or to now while running", () => {
    expect(durationBetween("2026-01-01T00:00:00Z", "2026-01-01T00:01:30Z")).toBe(90);
    expect(durationBetween("2026-01-01T00:00:00Z", null, new Date("2026-01-01T00:00:10Z"))).toBe(10);
    expect(durationBetween(null, null)).toBeNull();
  });
});

describe("formatRelative", () => {
  const now = new Date("2026-06-01T12:00:00Z");
  it.each([
    ["2026-06-01T11:59:55Z", "just now"],
    ["2026-06-01T11:59:00Z", "1 minute ago"],
    ["2026-06-01T09:00:00Z", "3 hours ago"],
    ["2026-05-31T12:00:00Z", "yesterday"],
    ["2026-06-01T12:05:00Z", "in 5 minutes"],
    ["2026-05-11T12:00:00Z", "3 weeks ago"],
    ["2025-06-01T12:00:00Z", "last year"],
  ])("%s is %s", (date, expected) => {
    expect(formatRelative(date, now, "en-US")).toBe(expected);
  });
});

describe("formatAbsolute", () => {
  it("names the time zone", () => {
    const text = formatAbsolute("2026-06-01T12:00:00Z", { locale: "en-GB", timeZone: "UTC" });
    expect(text).toContain("1 Jun 2026");
    expect(text).toContain("12:00:00");
    expect(text).toMatch(/UTC/);
  });

  it("converts to the given zone", () => {
    expect(formatAbsolute("2026-06-01T12:00:00Z", { locale: "en-GB", timeZone: "Europe/Berlin" })).toContain(
      "14:00:00",
    );
  });
});

describe("counts, percents and ratios", () => {
  it("groups digits, clamps percents and writes ratios with one decimal", () => {
    expect(formatCount(1234567, "en-US")).toBe("1,234,567");
    expect(formatPercent(0.456, "en-US")).toBe("46%");
    expect(formatPercent(1.7, "en-US")).toBe("100%");
    expect(formatRatio(2.96, "en-US")).toBe("3.0×");
    expect(formatRatio(0)).toBe("—");
  });
});

describe("truncateMiddle", () => {
  it("keeps short text and both ends of long text", () => {
    expect(truncateMiddle("/a/b", 10)).toBe("/a/b");
    const path = "/home/alice/projects/very/deep/folder/structure/file.txt";
    const short = truncateMiddle(path, 24);
    expect(short).toHaveLength(24);
    expect(short.startsWith("/home")).toBe(true);
    expect(short.endsWith("file.txt")).toBe(true);
    expect(short).toContain("…");
  });
});
