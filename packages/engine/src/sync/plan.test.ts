import { describe, expect, it } from "vitest";
import { type CompareMode, compareFile, deletionRefusal, filesToDelete, type Hashes } from "./plan.ts";

const source = { path: "a", size: 10, mtimeNs: 1_000n };
const options = (mode: CompareMode) => ({ mode, modifyWindowNs: 1n });
const same: Hashes = { source: "aa", destination: "aa" };
const different: Hashes = { source: "aa", destination: "bb" };
const noDestinationHash: Hashes = { source: "aa", destination: undefined };

describe("compareFile (rclone's equal)", () => {
  it.each([
    ["missing at the destination", "default", undefined, undefined, "upload"],
    ["size differs", "default", { path: "a", size: 11, mtimeNs: 1_000n }, undefined, "upload"],
    ["mtime unknown", "default", { path: "a", size: 10 }, undefined, "needMtime"],
    ["mtime equal", "default", { path: "a", size: 10, mtimeNs: 1_000n }, undefined, "same"],
    ["mtime within the window", "default", { path: "a", size: 10, mtimeNs: 1_001n }, undefined, "same"],
    ["mtime differs, hashes unknown", "default", { path: "a", size: 10, mtimeNs: 5_000n }, undefined, "needHash"],
    ["mtime differs, hashes equal", "default", { path: "a", size: 10, mtimeNs: 5_000n }, same, "setMtime"],
    ["mtime differs, hashes differ", "default", { path: "a", size: 10, mtimeNs: 5_000n }, different, "upload"],
    ["mtime differs, no hash", "default", { path: "a", size: 10, mtimeNs: 5_000n }, noDestinationHash, "upload"],
    ["size only, mtime differs", "sizeOnly", { path: "a", size: 10, mtimeNs: 5_000n }, undefined, "same"],
    ["size only, size differs", "sizeOnly", { path: "a", size: 9 }, undefined, "upload"],
    ["checksum, hashes unknown", "checksum", { path: "a", size: 10 }, undefined, "needHash"],
    ["checksum, hashes equal", "checksum", { path: "a", size: 10, mtimeNs: 5_000n }, same, "same"],
    ["checksum, hashes differ", "checksum", { path: "a", size: 10, mtimeNs: 1_000n }, different, "upload"],
    ["checksum, no destination hash", "checksum", { path: "a", size: 10 }, noDestinationHash, "same"],
  ] as const)("%s → %s", (_, mode, destination, hashes, verdict) => {
    expect(compareFile(source, destination, options(mode), hashes)).toBe(verdict);
  });
});

describe("deletions", () => {
  it("deletes what the source lacks, in order", () => {
    expect(filesToDelete(new Set(["b"]), ["c", "b", "a"])).toEqual(["a", "c"]);
  });

  const guard = { sourceFiles: 3, destinationFiles: 5, listingErrors: 0, transferErrors: 0, allowEmptySource: false };
  it.each([
    ["a healthy run", guard, undefined],
    ["listing errors", { ...guard, listingErrors: 1 }, /could not be listed/],
    ["failed transfers", { ...guard, transferErrors: 2 }, /failed to transfer/],
    ["an empty source", { ...guard, sourceFiles: 0 }, /source is empty.*--allow-empty-source/],
    ["an empty source, allowed", { ...guard, sourceFiles: 0, allowEmptySource: true }, undefined],
    ["both empty", { ...guard, sourceFiles: 0, destinationFiles: 0 }, undefined],
  ] as const)("%s", (_, input, expected) => {
    const refusal = deletionRefusal(input);
    if (expected === undefined) expect(refusal).toBeUndefined();
    else expect(refusal).toMatch(expected);
  });
});
