import { describe, expect, it } from "vitest";
import { formatMtime, md5Base64, md5FromEtag, md5FromMetadata, parseMtime } from "./rclone-meta.ts";

describe("rclone's mtime metadata", () => {
  it.each([
    [1_700_000_000_000_000_000n, "1700000000"],
    [1_700_000_000_500_000_000n, "1700000000.5"],
    [1_354_040_105_123_456_789n, "1354040105.123456789"],
    [1_354_040_105_000_000_001n, "1354040105.000000001"],
    [0n, "0"],
    [-1_500_000_000n, "-1.5"],
  ])("%s ns is written %s and read back", (nanoseconds, text) => {
    expect(formatMtime(nanoseconds)).toBe(text);
    expect(parseMtime(text)).toBe(nanoseconds);
  });

  it("cuts digits past the ninth and refuses what is not a number", () => {
    expect(parseMtime("1354040105.1234567891")).toBe(1_354_040_105_123_456_789n);
    expect(parseMtime("1700000000.")).toBe(1_700_000_000_000_000_000n);
    for (const bad of [undefined, "", "abc", "1e9", "1.2.3"]) expect(parseMtime(bad)).toBeUndefined();
  });
});

describe("MD5s of S3 objects", () => {
  it("takes a plain ETag, never a multipart one", () => {
    expect(md5FromEtag('"9E107D9D372BB6826BD81D3542A419D6"')).toBe("9e107d9d372bb6826bd81d3542a419d6");
    expect(md5FromEtag('"9e107d9d372bb6826bd81d3542a419d6-3"')).toBeUndefined();
    expect(md5FromEtag(undefined)).toBeUndefined();
  });

  it("reads md5chksum only when it is 16 bytes of base64", () => {
    const hex = "9e107d9d372bb6826bd81d3542a419d6";
    expect(md5FromMetadata(md5Base64(hex))).toBe(hex);
    expect(md5FromMetadata(Buffer.alloc(15).toString("base64"))).toBeUndefined();
    expect(md5FromMetadata(undefined)).toBeUndefined();
  });
});
