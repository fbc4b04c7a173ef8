import { describe, expect, it } from "vitest";
import { parseRange } from "./http.ts";

// RFC 9110 section 14: byte ranges against a 1000-byte file; end is exclusive in what parseRange returns.
describe("parseRange", () => {
  it.each([
    ["bytes=0-99", { start: 0, end: 100 }],
    ["bytes=900-", { start: 900, end: 1000 }],
    ["bytes=-100", { start: 900, end: 1000 }],
    ["bytes=990-5000", { start: 990, end: 1000 }],
    ["bytes=-5000", { start: 0, end: 1000 }],
    [" bytes=5-5 ", { start: 5, end: 6 }],
  ])("serves %j as %j", (header, span) => {
    expect(parseRange(header, 1000)).toEqual(span);
  });

  it.each([
    ["bytes=1000-", "unsatisfiable"],
    ["bytes=-0", "unsatisfiable"],
    ["bytes=-", "unsatisfiable"],
    ["bytes=50-10", "unsatisfiable"],
    ["items=0-10", "unsatisfiable"],
    ["bytes=0-10,20-30", "ignore"],
  ])("answers %j with %s", (header, verdict) => {
    expect(parseRange(header, 1000)).toBe(verdict);
  });

  it("is 'none' without a header", () => {
    expect(parseRange(undefined, 1000)).toBe("none");
  });
});
