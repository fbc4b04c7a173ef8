import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RotatingLog } from "./log-file.ts";

const dir = await mkdtemp(join(tmpdir(), "e3-agent-log-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("the agent's log file", () => {
  it("rotates by size, keeping the newest lines and at most N old files", async () => {
    const file = join(dir, "logs", "agent.log");
    const log = new RotatingLog(file, { maxBytes: 100, keep: 2 });
    for (let i = 0; i < 20; i++) log.write(`line ${String(i).padStart(2, "0")} ${"x".repeat(20)}`);
    expect((await readdir(join(dir, "logs"))).sort()).toEqual(["agent.log", "agent.log.1", "agent.log.2"]);
    const current = await readFile(file, "utf8");
    expect(current.endsWith(`line 19 ${"x".repeat(20)}\n`)).toBe(true);
    // Each file stays within the limit, and nothing between the oldest kept line and the newest is missing.
    const all = [await readFile(`${file}.2`, "utf8"), await readFile(`${file}.1`, "utf8"), current];
    for (const text of all) expect(Buffer.byteLength(text)).toBeLessThanOrEqual(100);
    const numbers = all
      .join("")
      .split("\n")
      .filter(Boolean)
      .map((line) => Number(line.slice(5, 7)));
    expect(numbers).toEqual(numbers.map((_, i) => (numbers[0] as number) + i));
    expect(numbers.at(-1)).toBe(19);
  });

  it("continues an existing log and counts its size", async () => {
    const file = join(dir, "existing.log");
    new RotatingLog(file, { maxBytes: 1000 }).write("first");
    const again = new RotatingLog(file, { maxBytes: 12 });
    again.write("second");
    expect(await readFile(`${file}.1`, "utf8")).toBe("first\n");
    expect(await readFile(file, "utf8")).toBe("second\n");
  });

  it("reports once and carries on when the log cannot be written", async () => {
    // A file where its folder should be: unwritable even for root.
    const blocker = join(dir, "not-a-folder");
    await writeFile(blocker, "");
    const problems: string[] = [];
    const log = new RotatingLog(join(blocker, "agent.log"), { onError: (message) => problems.push(message) });
    log.write("a");
    log.write("b");
    expect(problems).toEqual([expect.stringMatching(/cannot write the log file .*(ENOTDIR|EEXIST).*console only/)]);
  });
});
