import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectSameListing, listFolder } from "../../../packages/engine/test/fs-listing.ts";
import { blobFile, buildAgent, bundleFile, distDir, executableNames } from "../build/build.ts";
import { isX64Executable, parsePe } from "../build/pe.ts";
import { jsonLines, runAgent } from "./agent-cli.ts";

// The single executables `pnpm build:agent` makes: the Linux one runs here (help, init, backup with the sealing
// threads, restore, checked by restic); the Windows one cannot, so it is checked as a file: a 64-bit PE image that
// carries exactly the blob the build made, with the fuse that makes Node run it. The build is incremental (it skips
// executables of an unchanged bundle), so this suite builds whatever is missing or stale first.

const exec = promisify(execFile);
const linux = join(distDir, executableNames["linux-x64"]);
const windows = join(distDir, executableNames["win-x64"]);
const dir = await mkdtemp(join(tmpdir(), "e3-executable-"));
await chmod(dir, 0o755);
afterAll(() => rm(dir, { recursive: true, force: true }));

beforeAll(async () => {
  await buildAgent({ targets: ["linux-x64", "win-x64"], bundleOnly: false, say: () => {} });
}, 600_000);

describe("e3-backup-agent-linux-x64", () => {
  it("runs without Node or the sources beside it", async () => {
    const { stdout } = await exec(linux, ["--help"], { cwd: dir, env: { PATH: "/usr/bin:/bin" } });
    expect(stdout).toMatch(/^usage: e3-backup-agent <command>/);
    const unknown = await runAgent(["frobnicate"], {}, { executable: linux });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    // Node's own options are not the agent's: the executable does not turn into a Node REPL or script runner.
    const notNode = await runAgent(["-e", "console.log(1)"], {}, { executable: linux });
    expect(notNode.stdout).toBe("");
    expect(notNode.stderr).toMatch(/unknown command "-e"/);
  });

  it("embeds a script of ASCII only (V8 holds a script with one other character at two bytes per character)", async () => {
    const bytes = await readFile(bundleFile);
    expect(bytes.findIndex((byte) => byte > 0x7f)).toBe(-1);
  });

  it("backs up through its sealing threads and restores, and restic checks the repository", async () => {
    const source = join(dir, "source");
    await mkdir(join(source, "docs"), { recursive: true });
    // Incompressible data large enough to leave the walking thread for the sealing threads (the embedded worker).
    const random = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < random.length; i += 4) random.writeUInt32LE((Math.imul(i, 2654435761) ^ (i >>> 7)) >>> 0, i);
    await writeFile(join(source, "data.bin"), random);
    await writeFile(join(source, "docs", "notes.txt"), "minutes of the meeting\n".repeat(5_000));
    const repo = join(dir, "repo");
    const env = { E3_PASSWORD: "executable-test" };
    const options = { executable: linux };

    const init = await runAgent(["init", "--repo", repo], env, options);
    expect(init.stderr).toBe("");
    expect(init.status).toBe(0);
    const backup = await runAgent(["backup", "--repo", repo, "--json", source], env, options);
    expect(backup.stderr).toBe("");
    expect(backup.status).toBe(0);
    const summary = jsonLines(backup.stdout).find((line) => line.message_type === "summary");
    expect(summary).toMatchObject({ files_new: 2, errors: 0 });
    const target = join(dir, "restored");
    const restore = await runAgent(["restore", "--repo", repo, "latest", "--target", target], env, options);
    expect(restore.status).toBe(0);
    expectSameListing(await listFolder(join(target, source)), await listFolder(source));
    expect((await readFile(join(target, source, "data.bin"))).equals(random)).toBe(true);

    const check = await exec("restic", ["-r", repo, "check", "--read-data"], {
      env: { ...process.env, RESTIC_PASSWORD: env.E3_PASSWORD },
    });
    expect(check.stdout).toMatch(/no errors were found/);
  });
});

describe("e3-backup-agent-win-x64.exe", () => {
  it("is an x64 Windows console executable carrying the blob the build made, unsigned, with the fuse set", async () => {
    const file = await readFile(windows);
    const image = parsePe(file);
    expect(isX64Executable(image)).toBe(true);
    expect(image.subsystem).toBe(3); // IMAGE_SUBSYSTEM_WINDOWS_CUI: a console program, as the service wrapper expects
    expect(image.sections.map((section) => section.name)).toContain(".rsrc");
    // node.exe's Authenticode signature would be broken by the injected resource, so the build removes it.
    expect(image.certificates.size).toBe(0);
    const blob = image.rcdata("NODE_SEA_BLOB");
    expect(blob).toBeDefined();
    expect(blob?.equals(await readFile(blobFile("win-x64")))).toBe(true);
    expect(blob?.readUInt32LE(0)).toBe(0x0143da20); // Node's SEA blob magic
    // The blob holds our bundle and the service wrapper (WinSW, a .NET PE image of its own).
    expect(blob?.includes("e3-backup-agent <command>")).toBe(true);
    expect(blob?.includes("winsw.exe")).toBe(true);
    expect(file.includes("NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1")).toBe(true);
    expect(file.includes("NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:0")).toBe(false);
  });

  it("is listed with the Linux one in SHA256SUMS", async () => {
    const sums = await readFile(join(distDir, "SHA256SUMS"), "utf8");
    for (const file of [linux, windows]) {
      const hash = createHash("sha256")
        .update(await readFile(file))
        .digest("hex");
      expect(sums).toContain(`${hash}  ${file.slice(distDir.length + 1)}\n`);
    }
  });
});
