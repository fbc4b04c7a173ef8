import { describe, expect, it } from "vitest";
import { isEngineError } from "../errors.ts";
import type { BlobLocation } from "../repository/reader.ts";
import { unixPermissions, utimesValue } from "./metadata.ts";
import { checkNodeName, includeComponents, planPackLoads } from "./plan.ts";

describe("checkNodeName", () => {
  it.each([
    ["a.txt", true],
    ["..a", true],
    ["...", true],
    [" ", true],
    ["f\xff", true],
    ["", false],
    [".", false],
    ["..", false],
    ["a/b", false],
    ["/", false],
    ["a\0b", false],
  ])("%j allowed: %s", (name, allowed) => {
    const check = () => checkNodeName(Buffer.from(name, "latin1"), "/home");
    if (allowed) expect(check).not.toThrow();
    else expect(check).toThrow(expect.objectContaining({ code: "INVALID_TREE" }));
  });
});

describe("includeComponents", () => {
  it.each([
    ["/home/ann/docs", ["home", "ann", "docs"]],
    ["home//ann/", ["home", "ann"]],
    ["/", []],
  ])("%j → %j", (path, components) => {
    expect(includeComponents(path).map((name) => name.toString())).toEqual(components);
  });

  it.each(["/home/../etc", "..", "/home/./ann"])("refuses %j", (path) => {
    let error: unknown;
    try {
      includeComponents(path);
    } catch (caught) {
      error = caught;
    }
    expect(isEngineError(error, "INVALID_ARGUMENT")).toBe(true);
  });
});

describe("planPackLoads", () => {
  const blob = (id: string, pack: string, offset: number, length: number, uncompressedLength?: number) =>
    [id, { id, type: "data", pack, offset, length, ...(uncompressedLength ? { uncompressedLength } : {}) }] as const;
  const index = new Map<string, BlobLocation>([
    blob("a", "p1", 0, 132), // 100 bytes plain
    blob("b", "p1", 500, 60, 1000), // compressed: 1000 bytes plain
    blob("c", "p2", 40, 42), // 10 bytes plain
    ["t", { id: "t", type: "tree", pack: "p3", offset: 0, length: 50 }],
  ]);

  it("loads each pack once over its needed blobs, with every offset that needs each blob", () => {
    const { loads, unavailable } = planPackLoads(
      [
        { file: "x", content: ["b", "a", "a", "c"] },
        { file: "y", content: ["a"] },
        { file: "empty", content: [] },
      ],
      index,
    );
    expect(unavailable).toEqual([]);
    expect(loads.map(({ pack, offset, length }) => ({ pack, offset, length }))).toEqual([
      { pack: "p1", offset: 0, length: 560 },
      { pack: "p2", offset: 40, length: 42 },
    ]);
    const p1 = loads[0]!.blobs.map((planned) => [planned.id, planned.targets]);
    expect(p1).toEqual([
      [
        "a",
        [
          { file: "x", offset: 1000 },
          { file: "x", offset: 1100 },
          { file: "y", offset: 0 },
        ],
      ],
      ["b", [{ file: "x", offset: 0 }]],
    ]);
    expect(loads[1]!.blobs[0]!.targets).toEqual([{ file: "x", offset: 1200 }]);
  });

  it("sets aside a file with a blob missing from the index (or indexed as a tree)", () => {
    const { loads, unavailable } = planPackLoads(
      [
        { file: "x", content: ["a", "missing"] },
        { file: "y", content: ["t"] },
      ],
      index,
    );
    expect(loads).toEqual([]);
    expect(unavailable).toEqual([
      { file: "x", blob: "missing" },
      { file: "y", blob: "t" },
    ]);
  });
});

describe("metadata conversions", () => {
  it.each([
    [0o644, 0o644],
    [2 ** 31 + 0o755, 0o755],
    [(1 << 23) + 0o755, 0o4755],
    [(1 << 22) + 0o750, 0o2750],
    [2 ** 31 + (1 << 20) + 0o777, 0o1777],
    [undefined, 0],
  ])("Go mode %o → Unix %o", (go, unix) => {
    expect(unixPermissions(go)).toBe(unix);
  });

  it("turns node times into utimes values, Dates before 1970", () => {
    expect(utimesValue("2020-01-02T03:04:05.5Z", "/x")).toBe(1577934245.5);
    expect(utimesValue("2020-01-02T04:04:05.25+01:00", "/x")).toBe(1577934245.25);
    expect(utimesValue("1969-12-31T23:59:58.5Z", "/x")).toEqual(new Date(-1500));
    expect(() => utimesValue("yesterday", "/x")).toThrow(expect.objectContaining({ code: "INVALID_TREE" }));
  });
});
