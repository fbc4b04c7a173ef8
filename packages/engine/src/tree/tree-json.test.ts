import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { quoteName, unquoteName } from "./go-quote.ts";
import { decodeTree, encodeTree, goJsonString, sortNodes, type TreeNode } from "./tree-json.ts";

const node = (name: string | Buffer, extra: Partial<TreeNode> = {}): TreeNode => ({
  name: typeof name === "string" ? Buffer.from(name) : name,
  type: "file",
  mode: 420,
  mtime: "2026-01-02T03:04:05.123456789Z",
  atime: "2026-01-02T03:04:05.123456789Z",
  ctime: "2026-01-02T03:04:05.123456789Z",
  uid: 1000,
  gid: 1000,
  content: [],
  ...extra,
});

describe("Go-quoted names", () => {
  it("quote like strconv.Quote and come back to the same bytes, whatever the bytes", () => {
    expect(quoteName(Buffer.from('a"b\\c\td\u0001\uE000\u{1F600}ü'))).toBe('a\\"b\\\\c\\td\\x01\\ue000\u{1F600}ü');
    expect(quoteName(Buffer.from([0x66, 0xff, 0x6f]))).toBe("f\\xffo");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        expect(unquoteName(quoteName(bytes))).toEqual(Buffer.from(bytes));
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (text) => {
        expect(unquoteName(quoteName(Buffer.from(text))).toString()).toBe(text);
      }),
    );
  });
});

describe("tree JSON", () => {
  it("escapes strings as Go's encoding/json does", () => {
    expect(goJsonString(`a<b>&"c"\n\t\b\f\u0001\u2028`)).toBe(
      '"a\\u003cb\\u003e\\u0026\\"c\\"\\n\\t\\u0008\\u000c\\u0001\\u2028"',
    );
  });

  it("sorts names by their UTF-8 bytes, where astral characters come after U+E000..U+FFFF", () => {
    const sorted = sortNodes([node("\u{1F600}"), node("\uE000"), node("b"), node("B")]).map((n) => n.name.toString());
    expect(sorted).toEqual(["B", "b", "\uE000", "\u{1F600}"]);
  });

  it("round-trips nodes, keeping 64-bit inodes exact and content null for non-files", () => {
    const nodes = [
      node("dir", {
        type: "dir",
        mode: 2147484141,
        content: null,
        subtree: "a".repeat(64),
        inode: 18_446_744_073_709_551_000n,
      }),
      node("file", { size: 3n, links: 1n, content: ["b".repeat(64)] }),
    ];
    const { bytes } = encodeTree(nodes);
    expect(bytes.toString().endsWith("]}\n")).toBe(true);
    expect(decodeTree(bytes)).toEqual(nodes);
    expect(bytes.toString()).toContain('"inode":18446744073709551000');
    expect(bytes.toString()).toContain('"content":null');
  });
});
