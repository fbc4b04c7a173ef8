import { describe, expect, it } from "vitest";
import { engineRetention, withoutWeeks } from "./retention.ts";

describe("the portal's retention as the engine's policy", () => {
  it("folds weeks into days, splits tag lists and leaves out zero rules", () => {
    expect(withoutWeeks("2w")).toBe("14d");
    expect(withoutWeeks("1y2w3d4h")).toBe("1y17d4h");
    expect(withoutWeeks("6m")).toBe("6m");
    expect(engineRetention({ keepDaily: 7, keepWeekly: 0, keepWithin: "1w", keepTags: ["important", "a, b"] })).toEqual(
      {
        keepDaily: 7,
        keepWithin: "7d",
        keepTags: [["important"], ["a", "b"]],
      },
    );
  });

  it("means keep everything when the job has no rules, and refuses what the engine cannot read", () => {
    expect(engineRetention(null)).toBeNull();
    expect(engineRetention({ keepLast: 0 })).toBeNull();
    expect(() => engineRetention({ keepWithin: "soon" })).toThrow(/not a duration/);
    expect(() => engineRetention({ keepLast: -1 })).toThrow();
  });
});
