import { describe, expect, it } from "vitest";
import { engineRetention } from "./retention.ts";

describe("the portal's retention as the engine's policy", () => {
  it("folds weeks into days and splits tag lists, as the portal's preview does", () => {
    expect(
      engineRetention({ keepDaily: 7, keepWithin: "1w", keepWithinDaily: "1y2w3d4h", keepTags: ["important", "a, b"] }),
    ).toEqual({
      keepDaily: 7,
      keepWithin: "7d",
      keepWithinDaily: "1y17d4h",
      keepTags: [["important"], ["a", "b"]],
    });
  });

  it("means keep everything when the job has none, and refuses rules that would keep nothing or cannot be read", () => {
    expect(engineRetention(null)).toBeNull();
    expect(() => engineRetention({ keepLast: 0 })).toThrow(/keep at least something/);
    expect(() => engineRetention({ keepWithin: "soon" })).toThrow(/duration/);
    expect(() => engineRetention({ keepLast: -1 })).toThrow();
  });
});
