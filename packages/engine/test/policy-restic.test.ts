import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { type BackupOptions, backup } from "../src/archiver/archiver.ts";
import { hasCacheTag } from "../src/archiver/policy.ts";
import { isEngineError } from "../src/errors.ts";
import type { Progress } from "../src/progress.ts";
import { RepositoryReader } from "../src/repository/reader.ts";
import { initLocalRepository } from "../src/repository/repository.ts";
import { walkSnapshot } from "../src/snapshots/browse.ts";

// Backup policies against restic as the oracle: the same folder backed up by restic with --exclude-caches,
// --exclude-larger-than and --one-file-system and by us with the matching options lists exactly the same paths.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-policy-"));
afterAll(() => rm(dir, { recursive: true, force: true }));
const signature = "Signature: 8a477f597d28d172789f06886806bc55";

const source = join(dir, "source");
await mkdir(join(source, "cache", "deep"), { recursive: true });
await writeFile(join(source, "cache", "CACHEDIR.TAG"), `${signature}\n# a cache\n`);
await writeFile(join(source, "cache", "blob"), "cached");
await writeFile(join(source, "cache", "deep", "more"), "cached too");
await mkdir(join(source, "fake-cache"));
await writeFile(join(source, "fake-cache", "CACHEDIR.TAG"), "Signature: not the real one\n");
await writeFile(join(source, "fake-cache", "kept"), "kept");
await mkdir(join(source, "short-tag"));
await writeFile(join(source, "short-tag", "CACHEDIR.TAG"), signature.slice(0, 20));
await writeFile(join(source, "small.txt"), "x".repeat(1000));
await writeFile(join(source, "exactly.txt"), "x".repeat(2048));
await writeFile(join(source, "large.bin"), "x".repeat(2049));

const repo = join(dir, "repo");
const password = "policy";
const repository = await initLocalRepository(repo, password);
const restic = async (...args: string[]) =>
  (
    await run("restic", ["--no-cache", "-r", repo, ...args], {
      env: { ...process.env, RESTIC_PASSWORD: password },
      maxBuffer: 64 * 1024 * 1024,
    })
  ).stdout;

async function ourPaths(options: Omit<BackupOptions, "paths">, path: string): Promise<string[]> {
  const { snapshot } = await backup(repository, { paths: [path], ...options });
  // A new reader: one reads the index once, and every backup adds to it.
  const reader = new RepositoryReader(repository.key, repository.storage);
  const paths = [];
  for await (const entry of walkSnapshot(reader, snapshot, path)) paths.push(entry.path);
  return paths;
}

async function resticPaths(flags: string[], path: string): Promise<string[]> {
  const lines = (await restic("backup", "--json", ...flags, path)).trim().split("\n");
  const summary = JSON.parse(lines.at(-1) as string);
  return (await restic("ls", "--json", "--recursive", summary.snapshot_id, path))
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line))
    .filter((line) => line.struct_type === "node")
    .map((node) => node.path);
}

describe("backup policies", () => {
  it("recognises only a CACHEDIR.TAG that starts with the signature", () => {
    expect(hasCacheTag(join(source, "cache"))).toBe(true);
    expect(hasCacheTag(join(source, "fake-cache"))).toBe(false);
    expect(hasCacheTag(join(source, "short-tag"))).toBe(false);
    expect(hasCacheTag(join(source, "nowhere"))).toBe(false);
  });

  const cases: { name: string; options: Omit<BackupOptions, "paths">; flags: string[]; left: string[] }[] = [
    { name: "no policy", options: {}, flags: [], left: [] },
    {
      name: "exclude caches",
      options: { excludeCaches: true },
      flags: ["--exclude-caches"],
      left: ["cache/blob", "cache/deep", "cache/deep/more"],
    },
    {
      name: "exclude larger than 2 KiB",
      options: { excludeLargerThan: 2048 },
      flags: ["--exclude-larger-than", "2k"],
      left: ["large.bin"],
    },
    {
      name: "both",
      options: { excludeCaches: true, excludeLargerThan: 2048 },
      flags: ["--exclude-caches", "--exclude-larger-than", "2k"],
      left: ["cache/blob", "cache/deep", "cache/deep/more", "large.bin"],
    },
  ];
  it.each(cases)("$name lists what restic lists", async ({ options, flags, left }) => {
    const ours = await ourPaths(options, source);
    expect(ours).toEqual(await resticPaths(flags, source));
    const everything = await ourPaths({}, source);
    expect(everything.filter((path) => !ours.includes(path))).toEqual(left.map((path) => join(source, path)));
  });

  it("stays on one file system as restic does: mount points kept as empty folders", async () => {
    // /dev/pts and /dev/shm are separate mounts on Linux (and in every container).
    const mounts = (await import("node:fs"))
      .readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((line) => line.split(" ")[4])
      .filter((point): point is string => point !== undefined && /^\/dev\/[^/]+$/.test(point));
    expect(mounts.length).toBeGreaterThan(0);
    const ours = await ourPaths({ oneFileSystem: true }, "/dev");
    for (const mount of mounts) {
      expect(ours).toContain(mount);
      expect(ours.filter((path) => path.startsWith(`${mount}/`))).toEqual([]);
    }
    // Without the option the walk goes below them (/dev/pts always holds ptmx), so the check above is not vacuous.
    const crossing = await ourPaths({}, "/dev");
    expect(crossing.some((path) => mounts.some((mount) => path.startsWith(`${mount}/`)))).toBe(true);
    const theirs = await resticPaths(["--one-file-system"], "/dev");
    // /dev is live (other processes add and remove entries); the mount points and what is below them must agree.
    for (const mount of mounts) {
      expect(theirs).toContain(mount);
      expect(theirs.filter((path) => path.startsWith(`${mount}/`))).toEqual([]);
    }
    expect((await restic("check")).includes("no errors were found")).toBe(true);
  });

  it("counts only what the policy keeps in the progress totals", async () => {
    let last: Progress | undefined;
    await backup(repository, {
      paths: [source],
      excludeCaches: true,
      excludeLargerThan: 2048,
      onProgress: (progress) => {
        last = progress;
      },
    });
    // small, exactly, the two tags kept and the fake cache's tag and file: 6 files, none of the left-out ones.
    expect(last).toMatchObject({ phase: "done", filesTotal: 6, filesDone: 6 });
  });

  it("says which path to back up does not exist", async () => {
    const missing = join(source, "no-such-folder");
    await expect(backup(repository, { paths: [missing] })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: `cannot back up ${missing}: it does not exist`,
    });
  });

  it("refuses a limit that is not a byte count", async () => {
    for (const excludeLargerThan of [-1, 1.5, Number.NaN]) {
      const error = await backup(repository, { paths: [source], excludeLargerThan }).catch((caught) => caught);
      expect(isEngineError(error, "INVALID_ARGUMENT")).toBe(true);
    }
  });
});
