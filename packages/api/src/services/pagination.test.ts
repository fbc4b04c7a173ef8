import { describe, expect, it } from "vitest";
import { pageOf, pageQuery } from "./pagination.ts";

describe("cursor pagination", () => {
  const rows = [{ id: "a" }, { id: "b" }, { id: "c" }];

  it("returns the page and the cursor of its last row when another page exists", () => {
    expect(pageOf(rows, 2)).toEqual({ items: [{ id: "a" }, { id: "b" }], nextCursor: "b" });
    expect(pageOf(rows, 3)).toEqual({ items: rows, nextCursor: null });
  });

  it("asks for one row more than the page, after the cursor", () => {
    expect(pageQuery(2, null)).toEqual({ take: 3 });
    expect(pageQuery(2, "b")).toEqual({ take: 3, cursor: { id: "b" }, skip: 1 });
  });
});
