import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseByteSize } from "../src/cli/commands/backup.ts";
import { nobody, runAgent, unreadableFixture } from "./agent-cli.ts";

// The backup command's policy flags end to end: caches and large files left out, a read failure that fails the
// backup with no snapshot instead of exit 3, and flag mistakes caught before the repository is opened.

const dir = await mkdtemp(join(tmpdir(), "e3-cli-policy-"));
await chmod(dir, 0o755);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("e3-backup-agent backup policy flags", () => {
  it.each([
    ["100", 100],
    ["2k", 2048],
    ["1.5M", 1.5 * 1024 * 1024],
    ["3g", 3 * 1024 ** 3],
    ["1t", 1024 ** 4],
    ["10KiB", 10 * 1024],
  ])("reads the size %s as restic does", (text, bytes) => {
    expect(parseByteSize(text, "--exclude-larger-than")).toBe(bytes);
  });

  it("leaves out cache folders and large files", async () => {
    const source = join(dir, "source");
    await mkdir(join(source, "cache"), { recursive: true });
    await writeFile(join(source, "cache", "CACHEDIR.TAG"), "Signature: 8a477f597d28d172789f06886806bc55\n");
    await writeFile(join(source, "cache", "cached.bin"), "cached");
    await writeFile(join(source, "small.txt"), "small");
    await writeFile(join(source, "large.bin"), Buffer.alloc(4096));
    const env = { E3_REPOSITORY: join(dir, "repo"), E3_PASSWORD: "pw" };
    expect((await runAgent(["init"], env)).status).toBe(0);
    const args = ["--exclude-caches", "--exclude-larger-than", "1k", "--one-file-system", "--read-concurrency", "3"];
    const result = await runAgent(["backup", "--json", ...args, source], env);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const listed = (await runAgent(["ls", "latest", source], env)).stdout.trim().split("\n");
    expect(listed).toEqual([`${source}/`, `${source}/cache/`, `${source}/cache/CACHEDIR.TAG`, `${source}/small.txt`]);
  });

  it("fails on an unreadable file with --fail-on-unreadable, saving no snapshot", async () => {
    const { source, env } = await unreadableFixture(dir, "unreadable");
    const failed = await runAgent(["backup", "--fail-on-unreadable", source], env, { uid: nobody });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain(`${join(source, "secret.txt")}: permission denied`);
    expect(failed.stderr).toContain("[SOURCE_UNREADABLE]");
    const snapshots = await runAgent(["snapshots", "--json"], env, { uid: nobody });
    expect(JSON.parse(snapshots.stdout)).toEqual([]);
    // Without the flag the same backup saves a snapshot and exits 3 (restic's behaviour).
    expect((await runAgent(["backup", source], env, { uid: nobody })).status).toBe(3);
  });

  it.each([
    [["--exclude-larger-than", "12x"], /--exclude-larger-than must be a size like 500k/],
    [["--read-concurrency", "0"], /--read-concurrency must be at least 1/],
    [["--read-concurrency", "many"], /--read-concurrency must be a number/],
  ])("refuses %j before opening the repository", async (flags, message) => {
    const result = await runAgent(["backup", ...flags, dir], { E3_REPOSITORY: join(dir, "none"), E3_PASSWORD: "x" });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(message);
  });
});
