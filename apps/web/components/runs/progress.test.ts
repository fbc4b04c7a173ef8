import { describe, expect, it } from "vitest";
import { phaseText, progressFraction, readProgress } from "./progress.ts";

describe("readProgress", () => {
  it("reads the agent's fields and the first current file", () => {
    const progress = readProgress({
      phase: "uploading",
      filesDone: 3,
      filesTotal: 10,
      bytesDone: 512,
      bytesTotal: 2048,
      currentFiles: ["/data/a.bin", "/data/b.bin"],
    });
    expect(progress).toMatchObject({ phase: "uploading", filesDone: 3, bytesTotal: 2048, currentFile: "/data/a.bin" });
    expect(progressFraction(progress)).toBe(0.25);
  });

  it("tolerates missing or malformed progress", () => {
    expect(readProgress(null)).toMatchObject({ phase: null, filesDone: null, currentFile: null });
    expect(readProgress({ filesDone: "7", currentFiles: [1] })).toMatchObject({ filesDone: null, currentFile: null });
  });

  it("is indeterminate while scanning or without totals, and falls back to files", () => {
    expect(progressFraction(readProgress({ phase: "scanning", bytesDone: 1, bytesTotal: 2 }))).toBeNull();
    expect(progressFraction(readProgress({ phase: "uploading", bytesDone: 5 }))).toBeNull();
    expect(progressFraction(readProgress({ phase: "restoring", filesDone: 1, filesTotal: 4 }))).toBe(0.25);
  });
});

describe("phaseText", () => {
  it("says what a run in progress does, and how a finished one ended rather than its last phase", () => {
    expect(phaseText("queued", null)).toBe("Waiting for the agent");
    expect(phaseText("running", "uploading")).toBe("Uploading");
    expect(phaseText("running", null)).toBe("Working");
    expect(phaseText("success", "uploading")).toBe("Finished");
    expect(phaseText("warning", "syncing")).toBe("Finished with warnings");
    expect(phaseText("failed", "pruning")).toBe("Failed while pruning");
    expect(phaseText("cancelled", null)).toBe("Cancelled");
  });
});
