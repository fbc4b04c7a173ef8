import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EngineError } from "../errors.ts";
import { awkwardBytes } from "./arbitraries.testing.ts";
import { parseJsonKeepingNumbers, stringifyGoJson } from "./go-json.ts";
import { formatGoTime } from "./go-time.ts";
import { nodeTypes, type TreeNode } from "./node.ts";
import { decodeTree, encodeNode, encodeTree, sortNodes } from "./tree-json.ts";

const node = (name: string | Buffer, extra: Partial<TreeNode> = {}): TreeNode => ({
  name: typeof name === "string" ? Buffer.from(name) : name,
  type: "file",
  mode: 420,
  mtime: "2026-01-02T03:04:05.123456789Z",
  atime: "2026-01-02T03:04:05.123456789Z",
  ctime: "2026-01-02T03:04:05.123456789+01:00",
  uid: 1000,
  gid: 1000,
  content: [],
  ...extra,
});

const codeOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error instanceof EngineError ? error.code : String(error);
  }
  return "no error";
};

const id = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString("hex"));
const u64 = fc.bigInt({ min: 1n, max: 2n ** 64n - 1n });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const time = fc
  .bigInt({ min: -62_135_596_800_000_000_000n, max: 253_402_214_399_999_999_999n })
  .chain((ns) =>
    fc.integer({ min: -720, max: 840 }).map((minutes) => formatGoTime(ns, { offsetSeconds: minutes * 60 })),
  );
const text = fc.string({ unit: "binary", minLength: 1, maxLength: 12 });
/** A raw JSON value as Go would have written it (canonical, compact). */
const rawJson = fc.json({ maxDepth: 2 }).map((json) => stringifyGoJson(parseJsonKeepingNumbers(json)));

/** Nodes in the form decodeTree returns them (no zero-valued optional fields, link targets as bytes). */
const arbitraryNode: fc.Arbitrary<TreeNode> = fc
  .record(
    {
      name: awkwardBytes.filter((bytes) => bytes.length > 0),
      type: fc.constantFrom(...nodeTypes),
      mode: fc.integer({ min: 1, max: 0xffff_ffff }),
      mtime: time,
      atime: time,
      ctime: time,
      uid: u32,
      gid: u32,
      user: text,
      group: text,
      inode: u64,
      deviceId: u64,
      size: u64,
      links: u64,
      linktarget: awkwardBytes.filter((bytes) => bytes.length > 0),
      extendedAttributes: fc.array(
        fc.record({ name: text, value: fc.option(fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b))) }),
        { minLength: 1, maxLength: 3 },
      ),
      genericAttributes: fc.dictionary(text, rawJson, { minKeys: 1, maxKeys: 3 }),
      device: u64,
      content: fc.option(fc.array(id, { maxLength: 3 })),
      subtree: id,
      error: text,
    },
    { requiredKeys: ["name", "type", "mtime", "atime", "ctime", "uid", "gid", "content"] },
  )
  .map((raw) => raw as TreeNode);

const uniqueNodes = fc.uniqueArray(arbitraryNode, {
  maxLength: 8,
  selector: (n) => n.name.toString("hex"),
});

describe("tree JSON", () => {
  it("writes a node field for field in Go's order with Go's omitempty", () => {
    const n = node('a"b', {
      user: "me",
      inode: 18_446_744_073_709_551_615n,
      deviceId: 2049n,
      size: 3n,
      links: 1n,
      content: ["b".repeat(64)],
    });
    expect(encodeNode(n)).toBe(
      '{"name":"a\\\\\\"b","type":"file","mode":420,"mtime":"2026-01-02T03:04:05.123456789Z",' +
        '"atime":"2026-01-02T03:04:05.123456789Z","ctime":"2026-01-02T03:04:05.123456789+01:00","uid":1000,' +
        `"gid":1000,"user":"me","inode":18446744073709551615,"device_id":2049,"size":3,"links":1,"content":["${"b".repeat(64)}"]}`,
    );
    const dir = node("d", { type: "dir", mode: 2147484141, content: null, subtree: "c".repeat(64), uid: 0, gid: 0 });
    expect(encodeNode(dir)).toContain(`"uid":0,"gid":0,"content":null,"subtree":"${"c".repeat(64)}"}`);
    expect(encodeNode(node("e", { mode: 0, size: 0n }))).not.toMatch(/"mode"|"size"/);
  });

  it("writes symlink targets as Go does, with linktarget_raw (restic ≥ 0.16) only for invalid UTF-8", () => {
    const link = (target: Buffer | string) => node("l", { type: "symlink", content: null, linktarget: target });
    expect(encodeNode(link("../x<y"))).toContain('"linktarget":"../x\\u003cy","content"');
    const bad = Buffer.from([0x61, 0xff]);
    expect(encodeNode(link(bad))).toContain(`"linktarget":"a\\ufffd","linktarget_raw":"Yf8=","content"`);
    expect(encodeNode(link(bad), { linkTargetRaw: false })).toContain(`"linktarget":"a\\ufffd","content"`);
    expect(decodeTree(encodeTree([link(bad)]).bytes)[0]!.linktarget).toEqual(bad);
  });

  it("writes extended and generic attributes (sorted keys, compacted raw JSON)", () => {
    const n = node("x", {
      extendedAttributes: [
        { name: "user.a", value: Buffer.from("hi") },
        { name: "user.b", value: null },
      ],
      genericAttributes: { "windows.file_attributes": ' { "x" : 1 } ', "windows.creation_time": '"<t>"' },
    });
    expect(encodeNode(n)).toContain(
      '"extended_attributes":[{"name":"user.a","value":"aGk="},{"name":"user.b","value":null}],' +
        '"generic_attributes":{"windows.creation_time":"\\u003ct\\u003e","windows.file_attributes":{"x":1}},' +
        '"content":[]',
    );
  });

  it("sorts names by their UTF-8 bytes: astral characters after U+E000..U+FFFF, unlike JavaScript", () => {
    const names = ["\u{1F600}", "\uFFFD", "\uE000", "b", "B", "\u00e9"];
    expect([...names].sort()).not.toEqual(["B", "b", "\u00e9", "\uE000", "\uFFFD", "\u{1F600}"]);
    expect(sortNodes(names.map((name) => node(name))).map((n) => n.name.toString())).toEqual([
      "B",
      "b",
      "\u00e9",
      "\uE000",
      "\uFFFD",
      "\u{1F600}",
    ]);
    const bytes = encodeTree(names.map((name) => node(name))).bytes.toString();
    expect(bytes.indexOf("\uFFFD")).toBeLessThan(bytes.indexOf("\u{1F600}"));
    expect(bytes.startsWith('{"nodes":[{"name":"B"')).toBe(true);
    expect(bytes.endsWith("]}\n")).toBe(true);
  });

  it("writes an empty directory as nodes [], never null", () => {
    expect(encodeTree([]).bytes.toString()).toBe('{"nodes":[]}\n');
    expect(decodeTree(Buffer.from('{"nodes":null}'))).toEqual([]);
  });

  it("refuses trees restic would not accept: duplicate or empty names, bad ids, out-of-range numbers", () => {
    expect(codeOf(() => encodeTree([node("a"), node("b"), node("a")]))).toBe("INVALID_TREE");
    expect(codeOf(() => encodeTree([node("")]))).toBe("INVALID_TREE");
    expect(codeOf(() => encodeTree([node("a", { content: ["xyz"] })]))).toBe("INVALID_TREE");
    expect(codeOf(() => encodeTree([node("a", { uid: 2 ** 32 })]))).toBe("INVALID_TREE");
    expect(codeOf(() => encodeTree([node("a", { inode: 2n ** 64n })]))).toBe("INVALID_TREE");
    expect(codeOf(() => encodeTree([node("a", { type: "weird" as "file" })]))).toBe("INVALID_TREE");
  });

  it("reads trees tolerantly: unknown keys, missing optional fields, 64-bit integers", () => {
    const nodes = decodeTree(
      Buffer.from(
        '{"nodes":[{"name":"f","type":"file","inode":18446744073709551615,"size":9007199254740993,' +
          '"future_field":{"x":[1,2]},"content":["' +
          "a".repeat(64) +
          '"]}],"extra":true}\n',
      ),
    );
    expect(nodes).toEqual([
      {
        name: Buffer.from("f"),
        type: "file",
        mtime: "0001-01-01T00:00:00Z",
        atime: "0001-01-01T00:00:00Z",
        ctime: "0001-01-01T00:00:00Z",
        uid: 0,
        gid: 0,
        inode: 18_446_744_073_709_551_615n,
        size: 9_007_199_254_740_993n,
        content: ["a".repeat(64)],
      },
    ]);
  });

  it("says INVALID_TREE for blobs that are not trees", () => {
    for (const bad of [
      "not json",
      "[]",
      '{"nodes":{}}',
      '{"nodes":[1]}',
      '{"nodes":[{"name":"a","type":"file","content":{}}]}',
      '{"nodes":[{"name":"a","type":"file","uid":-1,"content":null}]}',
      '{"nodes":[{"name":"a","type":"file","size":1.5,"content":null}]}',
      '{"nodes":[{"name":"a","type":"unknown","content":null}]}',
      '{"nodes":[{"name":"a\\\\q","type":"file","content":null}]}',
      '{"nodes":[{"name":"a","type":"dir","subtree":"nope","content":null}]}',
    ]) {
      expect(
        codeOf(() => decodeTree(Buffer.from(bad))),
        bad,
      ).toBe("INVALID_TREE");
    }
  });

  it("round-trips any nodes — odd names, 64-bit numbers, every optional field — and re-encodes identically", () => {
    fc.assert(
      fc.property(uniqueNodes, (nodes) => {
        const { bytes, id } = encodeTree(nodes);
        const decoded = decodeTree(bytes);
        expect(decoded).toEqual(sortNodes(nodes));
        const again = encodeTree(decoded);
        expect(again.bytes.equals(bytes)).toBe(true);
        expect(again.id).toBe(id);
      }),
      { numRuns: 400 },
    );
  });
});
