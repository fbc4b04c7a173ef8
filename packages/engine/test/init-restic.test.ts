import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { decodeConfig } from "../src/repository/config.ts";
import { openMasterKey } from "../src/repository/keys.ts";
import { initLocalRepository } from "../src/repository/repository.ts";

// A repository we initialise is one the real restic opens, checks, backs up into and restores from.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-init-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("initLocalRepository", () => {
  it("creates a repository restic 0.14 accepts, with our key file and config", async () => {
    const repo = join(dir, "repo");
    const password = "e3 init interop";
    const { key: master, config } = await initLocalRepository(repo, password);

    const keyName = (await readdir(join(repo, "keys")))[0]!;
    const reopened = await openMasterKey(await readFile(join(repo, "keys", keyName)), password);
    expect(reopened).toEqual(master);
    expect(decodeConfig(reopened, await readFile(join(repo, "config")))).toEqual(config);

    const env = { ...process.env, RESTIC_PASSWORD: password };
    const restic = (...args: string[]) => run("restic", ["--no-cache", "-r", repo, ...args], { env });
    const source = join(dir, "source");
    await run("mkdir", ["-p", source]);
    await run("sh", ["-c", `head -c 3000000 /dev/urandom > ${source}/a.bin && echo hello > ${source}/b.txt`]);
    await restic("backup", source);
    expect((await restic("check", "--read-data")).stdout).toContain("no errors were found");
    await restic("restore", "latest", "--target", join(dir, "restored"));
    expect(await readFile(join(dir, "restored", source, "b.txt"), "utf8")).toBe("hello\n");
    expect(await readFile(join(dir, "restored", source, "a.bin"))).toEqual(await readFile(join(source, "a.bin")));
    await expect(
      run("restic", ["--no-cache", "-r", repo, "snapshots"], { env: { ...env, RESTIC_PASSWORD: "wrong" } }),
    ).rejects.toThrow();
  });
});
