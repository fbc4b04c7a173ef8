import { describe, expect, it } from "vitest";
import { isEngineError } from "../errors.ts";
import {
  formatRetentionDuration,
  parseRetentionDuration,
  planRetention,
  type RetainableSnapshot,
  type RetentionPolicy,
  snapshotTimeIn,
} from "./retention.ts";

// The rules one at a time, on timelines small enough to check by hand; test/forget-restic.test.ts compares whole
// random timelines with restic itself.

const now = new Date("2030-01-01T00:00:00Z");
let serial = 0;
const snap = (time: string, extra: Partial<RetainableSnapshot> = {}): RetainableSnapshot => ({
  id: (serial++).toString(16).padStart(64, "0"),
  time,
  hostname: "host",
  paths: ["/data"],
  ...extra,
});

function plan(snapshots: RetainableSnapshot[], policy: RetentionPolicy) {
  const result = planRetention(snapshots, policy, { now });
  expect(result.groups).toHaveLength(1);
  const [group] = result.groups;
  return {
    keep: group!.keep.map((kept) => [kept.snapshot.time, ...kept.reasons]),
    remove: group!.remove.map((snapshot) => snapshot.time),
    group: group!,
  };
}

describe("planRetention", () => {
  it.each<[string, string[], RetentionPolicy, string[][], string[]]>([
    [
      "keep-last counts snapshots, newest first",
      ["2020-01-01T10:00:00Z", "2020-01-03T10:00:00Z", "2020-01-02T10:00:00Z"],
      { keepLast: 2 },
      [
        ["2020-01-03T10:00:00Z", "last snapshot"],
        ["2020-01-02T10:00:00Z", "last snapshot"],
      ],
      ["2020-01-01T10:00:00Z"],
    ],
    [
      "keep-daily keeps the newest of each day, on the wall clock the snapshot was written in",
      // 23:30 at -05:00 is 04:30 UTC the next day, but restic reads it as 1 January.
      ["2020-01-01T23:30:00-05:00", "2020-01-01T20:00:00-05:00", "2020-01-02T01:00:00Z", "2019-12-31T12:00:00Z"],
      { keepDaily: 5 },
      [
        ["2020-01-01T23:30:00-05:00", "daily snapshot"],
        ["2020-01-02T01:00:00Z", "daily snapshot"],
        ["2019-12-31T12:00:00Z", "daily snapshot"],
      ],
      ["2020-01-01T20:00:00-05:00"],
    ],
    [
      "keep-N counts periods that hold snapshots, not calendar periods",
      ["2020-05-01T00:00:00Z", "2019-01-01T00:00:00Z", "2010-06-01T00:00:00Z"],
      { keepMonthly: 2 },
      [
        ["2020-05-01T00:00:00Z", "monthly snapshot"],
        ["2019-01-01T00:00:00Z", "monthly snapshot"],
      ],
      ["2010-06-01T00:00:00Z"],
    ],
    [
      "keep-weekly uses ISO weeks: 31 Dec 2020 and 3 Jan 2021 are both in 2020-W53",
      ["2021-01-04T09:00:00Z", "2021-01-03T09:00:00Z", "2020-12-31T09:00:00Z", "2020-12-27T09:00:00Z"],
      { keepWeekly: 3 },
      [
        ["2021-01-04T09:00:00Z", "weekly snapshot"],
        ["2021-01-03T09:00:00Z", "weekly snapshot"],
        ["2020-12-27T09:00:00Z", "weekly snapshot"],
      ],
      ["2020-12-31T09:00:00Z"],
    ],
    [
      "keep-within steps back on the calendar as Go's AddDate: 31 March minus a month is 2 March",
      ["2020-03-31T12:00:00Z", "2020-03-02T12:00:00.000000001Z", "2020-03-02T12:00:00Z"],
      { keepWithin: "1m" },
      [
        ["2020-03-31T12:00:00Z", "within 1m"],
        ["2020-03-02T12:00:00.000000001Z", "within 1m"],
      ],
      ["2020-03-02T12:00:00Z"],
    ],
    [
      "a snapshot in the future is kept by keep-within but does not anchor its window",
      ["2099-01-01T00:00:00Z", "2020-01-10T00:00:00Z", "2020-01-05T00:00:00Z", "2020-01-01T00:00:00Z"],
      { keepWithin: "7d" },
      [
        ["2099-01-01T00:00:00Z", "within 7d"],
        ["2020-01-10T00:00:00Z", "within 7d"],
        ["2020-01-05T00:00:00Z", "within 7d"],
      ],
      ["2020-01-01T00:00:00Z"],
    ],
    [
      "keep-within-daily keeps one per day inside the window; reasons list every rule that matched",
      ["2020-01-10T20:00:00Z", "2020-01-10T08:00:00Z", "2020-01-09T08:00:00Z", "2020-01-01T08:00:00Z"],
      { keepWithinDaily: "2d", keepLast: 1 },
      [
        ["2020-01-10T20:00:00Z", "last snapshot", "daily within 2d"],
        ["2020-01-09T08:00:00Z", "daily within 2d"],
      ],
      ["2020-01-10T08:00:00Z", "2020-01-01T08:00:00Z"],
    ],
  ])("%s", (_, times, policy, keep, remove) => {
    const result = plan(
      times.map((time) => snap(time)),
      policy,
    );
    expect(result.keep).toEqual(keep);
    expect(result.remove).toEqual(remove);
  });

  it("keeps tagged snapshots by tag list; an empty tag matches untagged snapshots, as restic's HasTags", () => {
    const result = plan(
      [
        snap("2020-01-04T00:00:00Z", { tags: ["monthly", "db"] }),
        snap("2020-01-03T00:00:00Z", { tags: ["monthly"] }),
        snap("2020-01-02T00:00:00Z"),
        snap("2020-01-01T00:00:00Z", { tags: ["other"] }),
      ],
      { keepTags: [["monthly", "db"], [""]] },
    );
    expect(result.keep).toEqual([
      ["2020-01-04T00:00:00Z", "has tags [monthly, db]"],
      ["2020-01-02T00:00:00Z", "has tags []"],
    ]);
    expect(result.remove).toEqual(["2020-01-03T00:00:00Z", "2020-01-01T00:00:00Z"]);
    expect(result.group.removesAll).toBe(false);
  });

  it("reports the counters left after each kept snapshot and marks a group the policy would empty", () => {
    const snapshots = [snap("2020-01-03T00:00:00Z"), snap("2020-01-02T00:00:00Z"), snap("2019-01-01T00:00:00Z")];
    const daily = plan(snapshots, { keepDaily: 2, keepYearly: 3 }).group;
    expect(daily.keep.map((kept) => kept.counters)).toEqual([
      { last: 0, hourly: 0, daily: 1, weekly: 0, monthly: 0, yearly: 2 },
      { last: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0, yearly: 2 },
      { last: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0, yearly: 1 },
    ]);
    const untagged = plan(snapshots, { keepTags: [["release"]] }).group;
    expect(untagged.keep).toEqual([]);
    expect(untagged.removesAll).toBe(true);
  });

  it("buckets days on the agent's wall clock: snapshotTimeIn writes bare instants in the agent's zone", () => {
    const instants = ["2026-11-24T10:00:00Z", "2026-11-23T23:30:00Z", "2026-11-23T22:30:00Z"].map(
      (text) => new Date(text),
    );
    const berlin = instants.map((instant) => snapshotTimeIn(instant, "Europe/Berlin"));
    expect(berlin).toEqual(["2026-11-24T11:00:00+01:00", "2026-11-24T00:30:00+01:00", "2026-11-23T23:30:00+01:00"]);
    // 23:30 UTC is 00:30 the next day in Berlin: in UTC the two late snapshots share the 23rd, in Berlin they do not.
    expect(
      plan(
        berlin.map((time) => snap(time)),
        { keepDaily: 2 },
      ),
    ).toMatchObject({
      keep: [
        ["2026-11-24T11:00:00+01:00", "daily snapshot"],
        ["2026-11-23T23:30:00+01:00", "daily snapshot"],
      ],
      remove: ["2026-11-24T00:30:00+01:00"],
    });
    const utc = instants.map((instant) => snapshotTimeIn(instant, "UTC"));
    expect(utc[0]).toBe("2026-11-24T10:00:00Z");
    expect(
      plan(
        utc.map((time) => snap(time)),
        { keepDaily: 2 },
      ).remove,
    ).toEqual(["2026-11-23T22:30:00Z"]);
    // Summer time and zones west of UTC and with half hours.
    expect(snapshotTimeIn(new Date("2026-07-01T12:00:00.250Z"), "Europe/Berlin")).toBe("2026-07-01T14:00:00.25+02:00");
    expect(snapshotTimeIn(new Date("2026-07-01T03:00:00Z"), "America/New_York")).toBe("2026-06-30T23:00:00-04:00");
    expect(snapshotTimeIn(new Date("2026-07-01T00:00:00Z"), "Asia/Kolkata")).toBe("2026-07-01T05:30:00+05:30");
  });

  it("groups by host and sorted paths, groups in host order", () => {
    const result = planRetention(
      [
        snap("2020-01-01T00:00:00Z", { hostname: "b", paths: ["/x", "/a"] }),
        snap("2020-01-02T00:00:00Z", { hostname: "b", paths: ["/a", "/x"] }),
        snap("2020-01-03T00:00:00Z", { hostname: "a", paths: ["/a", "/x"] }),
        snap("2020-01-04T00:00:00Z", { hostname: "b", paths: ["/a"] }),
      ],
      { keepLast: 1 },
      { now },
    );
    expect(result.groups.map((group) => [group.hostname, group.paths, group.keep.length, group.remove.length])).toEqual(
      [
        ["a", ["/a", "/x"], 1, 0],
        ["b", ["/a"], 1, 0],
        ["b", ["/a", "/x"], 1, 1],
      ],
    );
    expect(result.remove.map((snapshot) => snapshot.time)).toEqual(["2020-01-01T00:00:00Z"]);
  });

  it("describes the policy in restic's words", () => {
    const { description } = planRetention([], {
      keepLast: 3,
      keepDaily: 7,
      keepWithinWeekly: "2m",
      keepTags: [["a", "b"], ["c"]],
      keepWithin: "1y2d",
    });
    expect(description).toBe(
      "keep 3 latest, 7 daily snapshots, weekly snapshots within 2m and all snapshots with tags [[a, b] [c]] and all snapshots within 1y2d of the newest",
    );
  });

  it.each<[string, RetentionPolicy, RegExp]>([
    ["no rule", {}, /no keep rule/],
    ["only zeros", { keepLast: 0, keepWithin: "0d" }, /no keep rule/],
    ["a negative count", { keepLast: -1 }, /keepLast/],
    ["a fraction", { keepDaily: 1.5 }, /keepDaily/],
    ["a bad duration", { keepWithin: "7 days" }, /keepWithin: "7 days" is not a duration/],
    ["a unit twice", { keepWithinDaily: "1d2d" }, /days twice/],
    ["an empty tag list", { keepTags: [[]] }, /at least one tag/],
    ["an unknown rule", { keepForever: 1 } as RetentionPolicy, /keepForever/],
  ])("refuses %s", (_, policy, message) => {
    const error = (() => {
      try {
        planRetention([snap("2020-01-01T00:00:00Z")], policy);
      } catch (caught) {
        return caught;
      }
    })();
    expect(isEngineError(error, "INVALID_ARGUMENT")).toBe(true);
    expect((error as Error).message).toMatch(message);
  });

  it("parses and prints durations as restic does", () => {
    expect(parseRetentionDuration(" 4h1y ")).toEqual({ years: 1, months: 0, days: 0, hours: 4 });
    expect(formatRetentionDuration(parseRetentionDuration("2d24h3m"))).toBe("3m2d24h");
    expect(() => parseRetentionDuration("")).toThrow(/not a duration/);
    expect(() => parseRetentionDuration("-1d")).toThrow(/not a duration/);
  });

  it("refuses a snapshot whose time is not RFC 3339, naming it", () => {
    expect(() => planRetention([snap("yesterday")], { keepLast: 1 })).toThrow(/has the time "yesterday"/);
  });
});
