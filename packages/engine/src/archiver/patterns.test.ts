import { describe, expect, it } from "vitest";
import { isEngineError } from "../errors.ts";
import { PatternList } from "./patterns.ts";

describe("PatternList", () => {
  const cases: [string, string, boolean][] = [
    ["*.tmp", "/a/b/c.tmp", true],
    ["*.tmp", "/a/b/c.tmp.txt", false],
    ["node_modules", "/src/app/node_modules", true],
    ["node_modules", "/src/app/node_modules_old", false],
    ["cache/*", "/home/ann/cache/x", true],
    ["cache/*", "/home/ann/cache", false],
    ["/home/*/tmp", "/home/ann/tmp", true],
    ["/home/*/tmp", "/srv/home/ann/tmp", false],
    ["/home/**/secret", "/home/secret", true],
    ["/home/**/secret", "/home/a/b/c/secret", true],
    ["**/*.log", "/var/log/x.log", true],
    ["file?.txt", "/d/file1.txt", true],
    ["file?.txt", "/d/file10.txt", false],
    ["[ab]*.bin", "/d/apple.bin", true],
    ["[!ab]*.bin", "/d/apple.bin", false],
    ["[!ab]*.bin", "/d/cherry.bin", true],
    ["with\\*star", "/d/with*star", true],
    ["with\\*star", "/d/withXstar", false],
    ["a.b", "/d/aXb", false],
  ];
  it.each(cases)("%s against %s → %s", (pattern, path, expected) => {
    expect(new PatternList([pattern]).matches(path)).toBe(expected);
  });

  it("matches when any pattern does, and never when there are none", () => {
    const list = new PatternList(["*.iso", "/tmp"]);
    expect(list.matches("/tmp")).toBe(true);
    expect(list.matches("/x/y.iso")).toBe(true);
    expect(list.matches("/x/y.txt")).toBe(false);
    expect(new PatternList([]).matches("/anything")).toBe(false);
  });

  it("rejects malformed patterns with a message naming them", () => {
    for (const bad of ["", "  ", "[abc", "trailing\\"]) {
      let error: unknown;
      try {
        new PatternList([bad]);
      } catch (caught) {
        error = caught;
      }
      expect(isEngineError(error, "INVALID_ARGUMENT")).toBe(true);
    }
  });
});
