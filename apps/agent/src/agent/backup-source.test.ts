import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, win32 } from "node:path";
import { promisify } from "node:util";
import type { RunAssignment } from "@e3/api/agent-contract";
import { policySchema } from "@e3/api/policy";
import { afterAll, describe, expect, it } from "vitest";
import { linuxPlatform } from "../platform/linux.ts";
import { type Platform, PlatformError } from "../platform/platform.ts";
import { runBackup } from "./backup-run.ts";
import { windowsDrivePath, windowsPattern, windowsWalkPath } from "./backup-source.ts";
import { backupAssignment, recordingReporter } from "./fake-run.ts";

// Windows sources and VSS in a backup run, with the platform faked at its interface only: the "shadow copy" is a
// folder here, the engine, the repository and restic are real. What a Windows machine records: C:\Users\ann in the
// snapshot's paths, /C/Users/ann in its tree (restic's convention), read from the shadow copy, which is deleted
// however the backup ends.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-backup-source-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

const recorder = recordingReporter;

function assignment(name: string, paths: string[], policy: unknown, excludeGlob: string | null = null): RunAssignment {
  return backupAssignment({ name, paths, repository: join(dir, `${name}-repo`), policy, excludeGlob });
}

/**
 * A Windows platform whose shadow copies are folders: C:\ of the copy is `<dir>/<name>-shadow-C`. Records what was
 * asked of it; `failCreate`, `failRelease` and `onCreate` shape the run.
 */
function fakeWindows(
  name: string,
  options: { failCreate?: boolean; failRelease?: boolean; onCreate?: () => void } = {},
) {
  const calls: string[] = [];
  const root = (drive: string) => join(dir, `${name}-shadow-${drive}`);
  const platform = {
    os: "windows",
    path: win32,
    async snapshotVolumes(paths: string[], stateDir: string) {
      calls.push(`create ${paths.join(" ")} in ${stateDir}`);
      if (options.failCreate) throw new PlatformError("VSS_FAILED", "shadow copy of C:\\ failed: the volume is in use");
      options.onCreate?.();
      return {
        map(path: string) {
          calls.push(`map ${path}`);
          const match = /^([A-Z]):\\(.*)$/.exec(path);
          if (!match) return path;
          return join(root(match[1] as string), ...(match[2] as string).split("\\").filter(Boolean));
        },
        async release() {
          calls.push("release");
          if (options.failRelease) throw new PlatformError("VSS_RELEASE_FAILED", "access denied");
        },
      };
    },
  } as unknown as Platform;
  return { platform, calls, root };
}

async function restic(repo: string, ...args: string[]): Promise<string> {
  const { stdout } = await run("restic", ["--no-cache", "-r", repo, ...args], {
    env: { ...process.env, RESTIC_PASSWORD: "pw" },
  });
  return stdout;
}

const vss = policySchema.parse({ useVss: true });

describe("Windows paths", () => {
  it("maps drive paths to restic's tree names and back, and patterns as Windows users write them", () => {
    expect(windowsWalkPath("C:\\Users\\ann")).toBe("/C/Users/ann");
    expect(windowsWalkPath("d:\\Data\\\\Photos\\")).toBe("/D/Data/Photos");
    expect(windowsWalkPath("C:\\")).toBe("/C");
    expect(windowsWalkPath("E:")).toBe("/E");
    expect(windowsWalkPath("C:/Users/ann")).toBe("/C/Users/ann");
    expect(() => windowsWalkPath("\\\\server\\share\\docs")).toThrow(/network paths/);
    expect(() => windowsWalkPath("Users\\ann")).toThrow(/not a path on a drive/);
    expect(windowsDrivePath("/C/Users/ann")).toBe("C:\\Users\\ann");
    expect(windowsDrivePath("/C")).toBe("C:\\");
    expect(windowsPattern("C:\\Users\\*\\AppData")).toBe("/C/Users/*/AppData");
    expect(windowsPattern("c:\\pagefile.sys")).toBe("/C/pagefile.sys");
    expect(windowsPattern("*\\Temp\\**")).toBe("*/Temp/**");
    expect(windowsPattern("*.tmp")).toBe("*.tmp");
  });
});

describe("a backup run with VSS on Windows", () => {
  it("reads the shadow copy, records C:\\Users\\ann as restic would, and deletes the copy afterwards", async () => {
    const { platform, calls, root } = fakeWindows("vss");
    await mkdir(join(root("C"), "Users", "ann", "Documents"), { recursive: true });
    await mkdir(join(root("C"), "Users", "ann", "AppData"), { recursive: true });
    await writeFile(join(root("C"), "Users", "ann", "Documents", "letter.txt"), "dear bank\n");
    await writeFile(join(root("C"), "Users", "ann", "AppData", "cache.bin"), "cache");
    const { reporter, logs } = recorder();
    const state = join(dir, "vss-state");
    const report = await runBackup(
      assignment("vss", ["C:\\Users\\ann"], vss, "C:\\Users\\*\\AppData"),
      reporter,
      new AbortController().signal,
      { platform, stateDir: state },
    );
    expect(report, logs.join("\n")).toMatchObject({ status: "success", snapshot: { paths: ["C:\\Users\\ann"] } });
    expect(calls[0]).toBe(`create C:\\Users\\ann in ${state}`);
    expect(calls).toContain("map C:\\Users\\ann\\Documents\\letter.txt");
    expect(calls.at(-1)).toBe("release");
    expect(calls.filter((call) => call === "release")).toHaveLength(1);
    expect(logs).toContain("info VSS shadow copies deleted");

    const repo = join(dir, "vss-repo");
    expect(JSON.parse(await restic(repo, "snapshots", "--json"))[0]).toMatchObject({ paths: ["C:\\Users\\ann"] });
    const listed = (await restic(repo, "ls", "latest")).split("\n").filter((line) => line.startsWith("/"));
    expect(listed).toEqual([
      "/C",
      "/C/Users",
      "/C/Users/ann",
      "/C/Users/ann/Documents",
      "/C/Users/ann/Documents/letter.txt",
    ]);
    expect(await restic(repo, "dump", "latest", "/C/Users/ann/Documents/letter.txt")).toBe("dear bank\n");
  });

  it("deletes the shadow copy when the backup is cancelled or fails, and keeps the result when deleting fails", async () => {
    const controller = new AbortController();
    const cancelled = fakeWindows("cancelled", { onCreate: () => controller.abort(new Error("cancelled")) });
    await mkdir(join(cancelled.root("C"), "data"), { recursive: true });
    await expect(
      runBackup(assignment("cancelled", ["C:\\data"], vss), recorder().reporter, controller.signal, {
        platform: cancelled.platform,
        stateDir: dir,
      }),
    ).rejects.toThrow("cancelled");
    expect(cancelled.calls.at(-1)).toBe("release");

    // The shadow copy holds no such folder: the engine refuses the path, and the copy is still deleted.
    const missing = fakeWindows("missing");
    await expect(
      runBackup(assignment("missing", ["C:\\nowhere"], vss), recorder().reporter, new AbortController().signal, {
        platform: missing.platform,
        stateDir: dir,
      }),
    ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(missing.calls.at(-1)).toBe("release");

    const stuck = fakeWindows("stuck", { failRelease: true });
    await mkdir(join(stuck.root("C"), "data"), { recursive: true });
    await writeFile(join(stuck.root("C"), "data", "a.txt"), "a");
    const { reporter, logs } = recorder();
    const report = await runBackup(assignment("stuck", ["C:\\data"], vss), reporter, new AbortController().signal, {
      platform: stuck.platform,
      stateDir: dir,
    });
    expect(report.status).toBe("success");
    expect(logs.some((line) => line.startsWith("warn the VSS shadow copies could not be deleted"))).toBe(true);
  });

  it("fails with the platform's reason when no shadow copy can be made, reading nothing", async () => {
    const failing = fakeWindows("refused", { failCreate: true });
    await expect(
      runBackup(assignment("refused", ["C:\\data"], vss), recorder().reporter, new AbortController().signal, {
        platform: failing.platform,
        stateDir: dir,
      }),
    ).rejects.toMatchObject({ code: "VSS_FAILED", message: expect.stringContaining("the volume is in use") });
    expect(failing.calls).toEqual([`create C:\\data in ${dir}`]);
  });

  it("reads the live files on Linux, which has no VSS, and says so", async () => {
    const source = join(dir, "linux-source");
    await mkdir(source);
    await writeFile(join(source, "a.txt"), "a");
    const { reporter, logs } = recorder();
    const platform = linuxPlatform({} as never);
    const report = await runBackup(assignment("linux", [source], vss), reporter, new AbortController().signal, {
      platform,
      stateDir: dir,
    });
    expect(report).toMatchObject({ status: "success", snapshot: { paths: [source] } });
    expect(logs).toContain("warn the job asks for VSS, which only Windows has; the files are read where they are");
  });
});
