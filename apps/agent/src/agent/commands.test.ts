import type { AgentCommand } from "@e3/api/agent-contract";
import { describe, expect, it } from "vitest";
import { resumedOverwrite, runRestore } from "./commands.ts";

// Restore commands' decisions made before anything is read: where a Windows restore may go, and how a resumed
// restore treats what the killed attempt already wrote (the resume itself runs end to end in test/agent-e2e).

const restore = (payload: Record<string, unknown>): AgentCommand =>
  ({
    commandId: "00000000-0000-4000-8000-000000000001",
    type: "restore",
    runId: null,
    payload: { snapshotId: "ab".repeat(32), ...payload },
    job: null,
  }) as AgentCommand;

describe("restore commands", () => {
  it("refuses the original location on Windows before reading anything, and says where to restore instead", async () => {
    await expect(
      runRestore(restore({ targetPath: null }), null, new AbortController().signal, {
        stateDir: "/nowhere",
        os: "windows",
      }),
    ).rejects.toMatchObject({
      code: "RESTORE_TARGET_REQUIRED",
      message: expect.stringContaining("restore to a folder"),
    });
    // Elsewhere it goes on (and here stops at the missing job, long before any file is touched).
    await expect(
      runRestore(restore({ targetPath: null }), null, new AbortController().signal, {
        stateDir: "/nowhere",
        os: "linux",
      }),
    ).rejects.toThrow("carries no job");
  });

  it("verifies and keeps what the killed attempt finished when it resumes", () => {
    expect(resumedOverwrite("always")).toBe("if-changed");
    expect(resumedOverwrite("if-changed")).toBe("if-changed");
    expect(resumedOverwrite("never")).toBe("never");
  });
});
