import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentCommand, RunAssignment } from "@e3/api/agent-contract";
import { backup, initRepository, prepareStorage } from "@e3/engine";
import { afterAll, describe, expect, it } from "vitest";
import { listFolder } from "../../../../packages/engine/test/fs-listing.ts";
import { resumedOverwrite, runRestore } from "./commands.ts";
import { backupAssignment } from "./fake-run.ts";

// Restore commands: where a Windows restore to the original location puts each drive's files (the engine and the
// repository real, the drives folders), and how a resumed restore treats what the killed attempt already wrote (the
// resume itself runs end to end in test/agent-e2e).

const dir = await mkdtemp(join(tmpdir(), "e3-commands-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

const restore = (payload: Record<string, unknown>, job: RunAssignment | null = null): AgentCommand =>
  ({
    commandId: "00000000-0000-4000-8000-000000000001",
    type: "restore",
    runId: null,
    payload: { snapshotId: "ab".repeat(32), ...payload },
    job,
  }) as AgentCommand;

describe("restore commands", () => {
  it("puts a Windows snapshot's /C/… back under C:\\ when restoring to the original location", async () => {
    // The tree a Windows agent writes for C:\Users\ann (restic's /C/Users/ann), read here from a folder.
    const source = join(dir, "machine");
    await mkdir(join(source, "C", "Users", "ann", "Documents"), { recursive: true });
    await writeFile(join(source, "C", "Users", "ann", "Documents", "letter.txt"), "dear bank\n");
    await writeFile(join(source, "C", "Users", "ann", "notes.txt"), "milk\n");
    const repo = join(dir, "repo");
    const repository = await initRepository(await prepareStorage(repo), "pw");
    const { snapshotId } = await backup(repository, {
      paths: ["/C/Users/ann"],
      readFrom: (path) => join(source, path),
    });
    await repository.storage.close();
    const job = backupAssignment({ name: "windows", paths: ["C:\\Users\\ann"], repository: repo, policy: {} });
    const drives = (name: string) => (drive: string) => join(dir, name, drive);
    const options = (name: string) => ({ stateDir: dir, os: "windows" as const, driveRoot: drives(name) });

    const one = await runRestore(
      restore({ snapshotId, paths: ["/C/Users/ann/Documents/letter.txt"] }, job),
      null,
      new AbortController().signal,
      options("one"),
    );
    expect(one.report).toMatchObject({
      status: "success",
      stats: { filesRestored: 1, target: "the original location" },
    });
    expect((await listFolder(join(dir, "one"))).map((entry) => entry.path)).toEqual([
      "C",
      "C/Users",
      "C/Users/ann",
      "C/Users/ann/Documents",
      "C/Users/ann/Documents/letter.txt",
    ]);
    expect(await readFile(join(dir, "one", "C", "Users", "ann", "Documents", "letter.txt"), "utf8")).toBe(
      "dear bank\n",
    );

    const whole = await runRestore(restore({ snapshotId }, job), null, new AbortController().signal, options("all"));
    expect(whole.report).toMatchObject({ status: "success", stats: { filesRestored: 2 } });
    expect(await readFile(join(dir, "all", "C", "Users", "ann", "notes.txt"), "utf8")).toBe("milk\n");

    // A path on no drive of the snapshot has no original location: refused, naming it, before anything is written.
    await expect(
      runRestore(restore({ snapshotId, paths: ["/D/Data"] }, job), null, new AbortController().signal, options("d")),
    ).rejects.toMatchObject({ code: "RESTORE_TARGET_REQUIRED", message: expect.stringContaining("/D/Data") });
  });

  it("verifies and keeps what the killed attempt finished when it resumes", () => {
    expect(resumedOverwrite("always")).toBe("if-changed");
    expect(resumedOverwrite("if-changed")).toBe("if-changed");
    expect(resumedOverwrite("never")).toBe("never");
  });
});
