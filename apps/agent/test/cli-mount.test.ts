import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { parseIdleTimeout } from "../src/cli/commands/mount.ts";
import { repositoryRoot, runAgent } from "./agent-cli.ts";

// e3-backup-agent mount as a user runs it: it prints where to connect, serves the snapshot until Ctrl-C (exit 0)
// or until idle, and refuses bad flags before opening anything.

const dir = await mkdtemp(join(tmpdir(), "e3-cli-mount-"));
afterAll(() => rm(dir, { recursive: true, force: true }));
const launcher = join(repositoryRoot, "apps", "agent", "bin", "e3-backup-agent.mjs");
const source = join(dir, "source");
const env = { E3_REPOSITORY: join(dir, "repo"), E3_PASSWORD: "pw" };

function startMount(args: string[]) {
  const { MALLOC_MMAP_THRESHOLD_: _left, ...inherited } = process.env; // as a user's shell has it: not set
  const child = spawn(process.execPath, [launcher, "mount", ...args], { env: { ...inherited, ...env } });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  const exited = once(child, "close").then(([status]) => ({ status: status as number | null, stderr }));
  const firstLine = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("close", () => reject(new Error(`mount exited before printing: ${stderr}`)));
  });
  return { child, exited, firstLine };
}

describe("e3-backup-agent mount", () => {
  it("serves the latest snapshot until Ctrl-C", async () => {
    await mkdir(source, { recursive: true });
    await writeFile(join(source, "hello.txt"), "hello over WebDAV\n");
    expect((await runAgent(["init"], env)).status).toBe(0);
    expect((await runAgent(["backup", source], env)).status).toBe(0);
    const mount = startMount(["--snapshot", "latest", "--json", "--idle-timeout", "0"]);
    const printed = JSON.parse(await mount.firstLine) as Record<string, string>;
    expect(printed).toMatchObject({ message_type: "mounted", username: "e3" });
    expect(printed.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const auth = { authorization: `Basic ${Buffer.from(`e3:${printed.password}`).toString("base64")}` };
    const file = new URL(`${source.slice(1)}/hello.txt`, printed.url);
    expect(await (await fetch(file, { headers: auth })).text()).toBe("hello over WebDAV\n");
    const listing = await fetch(new URL(`${source.slice(1)}/`, printed.token_url), {
      method: "PROPFIND",
      headers: { depth: "1" },
    });
    expect(listing.status).toBe(207);
    expect(await listing.text()).toContain("<D:displayname>hello.txt</D:displayname>");
    mount.child.kill("SIGINT");
    const { status } = await mount.exited;
    expect(status).toBe(0);
  });

  it.runIf(process.platform === "linux")(
    "runs with glibc's mmap threshold fixed, having executed itself again as the same process",
    async () => {
      const mount = startMount(["--idle-timeout", "0"]);
      await mount.firstLine;
      // The process the test started (its pid) is the one serving, now with the variable in its environment.
      const environment = (await readFile(`/proc/${mount.child.pid}/environ`, "latin1")).split("\0");
      expect(environment).toContain(`MALLOC_MMAP_THRESHOLD_=${32 * 1024 * 1024}`);
      mount.child.kill("SIGINT");
      expect((await mount.exited).status).toBe(0);
    },
  );

  it("stops by itself after the idle timeout", async () => {
    const mount = startMount(["--idle-timeout", "1s"]);
    expect(await mount.firstLine).toMatch(/^Serving 1 snapshot \(\/snapshots\/<time>\//);
    const { status, stderr } = await mount.exited;
    expect(status).toBe(0);
    expect(stderr).toContain("stopped after the idle timeout");
  });

  it.each([
    ["30m", 30 * 60_000],
    ["1h30m", 90 * 60_000],
    ["90s", 90_000],
    ["0", 0],
  ])("reads --idle-timeout %s", (text, ms) => {
    expect(parseIdleTimeout(text)).toBe(ms);
  });

  it.each([
    [["--idle-timeout", "soon"], /--idle-timeout must be a duration/],
    [["--port", "70000"], /--port must be 0/],
    [["--snapshot", "ffffffff"], /no snapshot ffffffff/],
  ])("refuses %j", async (flags, message) => {
    const result = await runAgent(["mount", ...flags], env);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(message);
  });
});
