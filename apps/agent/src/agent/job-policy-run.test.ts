import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { RunAssignment } from "@e3/api/agent-contract";
import { policySchema } from "@e3/api/policy";
import { afterAll, describe, expect, it } from "vitest";
import { runBackup } from "./backup-run.ts";
import { backupAssignment, recordingReporter } from "./fake-run.ts";

// A backup run with the job's policy, as the agent runs it (runBackup into a real local repository, checked by
// restic): a pre-command's output lands in the snapshot and the post-command cleans up after it, caches and large
// files stay out, and a job with commands fails on an agent whose agent.conf does not allow them.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-policy-run-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

const recorder = recordingReporter;

function assignment(name: string, policy: unknown): RunAssignment {
  return backupAssignment({ name, paths: [join(dir, name)], repository: join(dir, `${name}-repo`), policy });
}

async function resticLs(name: string): Promise<string[]> {
  const { stdout } = await run("restic", ["--no-cache", "-r", join(dir, `${name}-repo`), "ls", "latest"], {
    env: { ...process.env, RESTIC_PASSWORD: "pw" },
  });
  return stdout
    .trim()
    .split("\n")
    .filter((line) => line.startsWith(join(dir, name)))
    .map((line) => line.slice(join(dir, name).length));
}

describe("a backup run with the job's policy", () => {
  it("backs up what the pre-command made, leaves out caches and large files, and runs the post-command", async () => {
    const source = join(dir, "app");
    await mkdir(join(source, "cache"), { recursive: true });
    await writeFile(join(source, "cache", "CACHEDIR.TAG"), "Signature: 8a477f597d28d172789f06886806bc55");
    await writeFile(join(source, "cache", "tmp.bin"), "cached");
    await writeFile(join(source, "video.mp4"), Buffer.alloc(10_000));
    await writeFile(join(source, "config.ini"), "x=1");
    const dump = join(source, "db.sql");
    const policy = policySchema.parse({
      excludeCaches: true,
      excludeLargerThanBytes: 5000,
      preCommand: { command: `echo "dump of $E3_JOB_ID" > "${dump}"`, timeoutSeconds: 30 },
      postCommand: { command: `rm "${dump}"`, timeoutSeconds: 30 },
    });
    const { reporter, events } = recorder();
    const report = await runBackup(assignment("app", policy), reporter, new AbortController().signal, {
      allowJobCommands: true,
    });
    expect(report.status).toBe("success");
    expect(events).toContain("PRE_COMMAND_COMPLETED");
    expect(events).toContain("POST_COMMAND_COMPLETED");
    expect((await resticLs("app")).sort()).toEqual(["", "/cache", "/cache/CACHEDIR.TAG", "/config.ini", "/db.sql"]);
    await expect(stat(dump)).rejects.toThrow();
    const { stdout } = await run("restic", ["--no-cache", "-r", join(dir, "app-repo"), "dump", "latest", dump], {
      env: { ...process.env, RESTIC_PASSWORD: "pw" },
    });
    expect(stdout).toBe("dump of 00000000-0000-4000-8000-00000000000b\n");
  });

  it("fails a job with commands on an agent that does not allow them, before anything is read", async () => {
    await mkdir(join(dir, "locked"));
    const policy = policySchema.parse({ preCommand: { command: "true", timeoutSeconds: 30 } });
    const { reporter } = recorder();
    const report = await runBackup(assignment("locked", policy), reporter, new AbortController().signal);
    expect(report).toMatchObject({ status: "failed", errorCode: "COMMANDS_NOT_ALLOWED" });
    await expect(stat(join(dir, "locked-repo"))).rejects.toThrow();
  });
});
