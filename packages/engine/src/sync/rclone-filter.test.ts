import { describe, expect, it } from "vitest";
import { folderGlobsOf, globToRegExp, RcloneFilter } from "./rclone-filter.ts";

// The table checked against rclone itself lives in test/sync-rclone.test.ts; these pin the glob dialect.
describe("rclone globs", () => {
  it.each([
    ["*.jpg", "a.jpg", true],
    ["*.jpg", "dir/a.jpg", true],
    ["*.jpg", "dir/a.png", false],
    ["file.jpg", "dir/file.jpg", true],
    ["file.jpg", "dir/afile.jpg", false],
    ["/file.jpg", "dir/file.jpg", false],
    ["/file.jpg", "file.jpg", true],
    ["dir/*", "dir/a", true],
    ["dir/*", "dir/sub/a", false],
    ["dir/**", "dir/sub/a", true],
    ["/a/**/c", "a/b/x/c", true],
    ["?.txt", "a.txt", true],
    ["?.txt", "ab.txt", false],
    ["[ab].txt", "b.txt", true],
    ["[^ab].txt", "b.txt", false],
    ["[[:digit:]].txt", "7.txt", true],
    ["*.{jpg,png}", "x.png", true],
    ["*.{jpg,png}", "x.gif", false],
    ["a\\*b", "a*b", true],
    ["a\\*b", "axb", false],
    ["a+b(1).txt", "a+b(1).txt", true],
  ])("%s matches %s: %s", (glob, path, expected) => {
    expect(globToRegExp(glob).test(path)).toBe(expected);
  });

  it("ignores case only when asked", () => {
    expect(globToRegExp("*.JPG").test("a.jpg")).toBe(false);
    expect(globToRegExp("*.JPG", true).test("a.jpg")).toBe(true);
  });

  it.each([
    ["***", /more than two \*/],
    ["a]", /without its \[/],
    ["[a", /without its \]/],
    ["{a,{b}}", /cannot nest/],
    ["{a", /without its \}/],
    ["a}", /without its \{/],
  ])("refuses %s", (glob, message) => {
    expect(() => globToRegExp(glob)).toThrow(message);
  });

  it("derives the folders a file glob can live in", () => {
    expect(folderGlobsOf("/a/b/*.jpg")).toEqual(["/a/b/", "/a/", "/"]);
    expect(folderGlobsOf("*.jpg")).toEqual(["/**"]);
    expect(folderGlobsOf("a/**/x")).toEqual(["a/**/", "a/"]);
    expect(folderGlobsOf("{a/b,c}")).toEqual(["/**"]);
  });
});

describe("RcloneFilter", () => {
  it("first match wins; includes imply a final exclude", () => {
    const filter = new RcloneFilter({ include: ["*.txt", "/keep/**"] });
    expect(filter.includesFile("a.txt")).toBe(true);
    expect(filter.includesFile("keep/x.bin")).toBe(true);
    expect(filter.includesFile("x.bin")).toBe(false);
  });

  it("prunes excluded folders", () => {
    const filter = new RcloneFilter({ exclude: ["/tmp/"] });
    expect(filter.includesFolder("tmp")).toBe(false);
    expect(filter.includesFolder("other/tmp")).toBe(true);
    expect(filter.includesFile("tmp/a")).toBe(false);
  });

  it("reads filter rules and ! clears them", () => {
    const filter = new RcloneFilter({ filter: ["- *.bin", "!", "+ *.txt", "- **"] });
    expect(filter.includesFile("a.bin")).toBe(false);
    expect(filter.includesFile("a.txt")).toBe(true);
    expect(() => new RcloneFilter({ filter: ["*.txt"] })).toThrow(/starts with "\+ " or "- "/);
  });
});
