// Prune benchmark: e3 against restic on identical copies of one repository in the same run (issue: engine
// lifecycle).
//
//   pnpm bench:prune [--size-mib 256] [--generations 6] [--agent bundle|sources] [--keep]
//
// A data set like bench:engine's (large incompressible files, compressible text, 20 000 small files in nested
// folders, scaled by --size-mib) is backed up by e3 in several generations, each changing about 10 % of it
// (small files rewritten, a slice of a large file overwritten, a new text file). restic's forget then removes the
// older half of the snapshots; the repository is copied twice and `restic prune` and `e3-backup-agent prune` run on
// the copies, both at their defaults (max-unused 5 %, restic without a cache so both read the trees from the
// packs). Wall time, CPU seconds (user + system) and peak RSS come from GNU time; both results are checked by restic
// afterwards. On a loaded machine wall time says little: compare the CPU seconds and the RSS, which load does not
// distort. e3's RSS is also shown above its CLI's own (`--help`). e3 runs as the executables run it (the esbuild
// bundle with their Node options) unless --agent sources.
// Not a test: run it on demand, on a quiet machine.

import { spawnSync } from "node:child_process";
import { createCipheriv } from "node:crypto";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "256" },
    generations: { type: "string", default: "6" },
    agent: { type: "string", default: "bundle" },
    keep: { type: "boolean", default: false },
  },
});
const totalBytes = Number(values["size-mib"]) * 1024 * 1024;
const generations = Number(values.generations);
if (values.agent !== "bundle" && values.agent !== "sources") throw new Error("--agent must be bundle or sources");
const agent = await (await import("../apps/agent/build/build.ts")).agentArguments(values.agent);
const work = await mkdtemp(join(tmpdir(), "e3-bench-prune-"));
const source = join(work, "data");
const password = "benchmark";

type Measured = { seconds: number; cpuSeconds: number; peakRssMiB: number; stdout: string };

function timed(command: string, args: string[], env: Record<string, string | undefined> = {}): Measured {
  const report = join(work, "time.txt");
  const result = spawnSync("/usr/bin/time", ["-o", report, "-f", "%e %U %S %M", command, ...args], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (${result.status}):\n${result.stderr}\n${result.stdout}`);
  }
  const [seconds, user, system, kib] = spawnSync("tail", ["-n1", report], { encoding: "utf8" })
    .stdout.trim()
    .split(" ");
  return {
    seconds: Number(seconds),
    cpuSeconds: Number(user) + Number(system),
    peakRssMiB: Number(kib) / 1024,
    stdout: result.stdout,
  };
}

/** An AES-CTR keystream: incompressible, reproducible bytes. */
function keystream(seed: number, size: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32LE(seed);
  return createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

const vocabulary = "prune pack index blob tree snapshot unused repack lock check data keep forget the a of".split(" ");
function prose(seed: number, size: number): Buffer {
  const choices = keystream(seed, size);
  let text = "";
  for (let i = 0; text.length < size; i++)
    text += `${vocabulary[choices[i]! % vocabulary.length]}${i % 14 === 13 ? "\n" : " "}`;
  return Buffer.from(text.slice(0, size));
}

const smallFiles = 20_000;
const smallPath = (i: number) => join(source, "small", `d${i % 20}`, `e${Math.floor(i / 20) % 50}`, `f${i}.dat`);

async function generate(): Promise<void> {
  const large = Math.floor(totalBytes * 0.5);
  const text = Math.floor(totalBytes * 0.25);
  const perSmall = Math.floor((totalBytes - large - text) / smallFiles);
  await mkdir(join(source, "large"), { recursive: true });
  for (let i = 0; i < 4; i++) await writeFile(join(source, "large", `blob-${i}.bin`), keystream(i + 1, large / 4));
  await mkdir(join(source, "text"), { recursive: true });
  for (let i = 0; i < 8; i++) await writeFile(join(source, "text", `log-${i}.txt`), prose(100 + i, text / 8));
  for (let i = 0; i < smallFiles; i++) {
    if (i < 1000) await mkdir(join(smallPath(i), ".."), { recursive: true });
    await writeFile(smallPath(i), i % 2 ? prose(1000 + i, perSmall) : keystream(1000 + i, perSmall));
  }
}

/** About 10 % of the data changes between generations. */
async function change(generation: number): Promise<void> {
  for (let i = generation % 10; i < smallFiles; i += 10) {
    const path = smallPath(i);
    await writeFile(path, keystream(50_000 + generation * smallFiles + i, (await stat(path)).size));
  }
  const large = join(source, "large", `blob-${generation % 4}.bin`);
  const bytes = await readFile(large);
  const slice = Math.floor(totalBytes * 0.04);
  keystream(90_000 + generation, slice).copy(bytes, (generation * slice) % Math.max(1, bytes.length - slice));
  await writeFile(large, bytes);
  await writeFile(
    join(source, "text", `new-${generation}.txt`),
    prose(70_000 + generation, Math.floor(totalBytes * 0.02)),
  );
}

async function folderSize(path: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

const repository = join(work, "repo");
const e3 = (repo: string, args: string[]) =>
  timed(process.execPath, [...agent, ...args], {
    E3_REPOSITORY: repo,
    E3_PASSWORD: password,
    // As in bench:engine: the bundle's compiled code kept between runs, as the Linux executable has it built in.
    NODE_COMPILE_CACHE: join(work, "node-compile-cache"),
  });
const restic = (repo: string, args: string[]) =>
  timed("restic", ["--no-cache", "-r", repo, ...args], { RESTIC_PASSWORD: password });

process.stdout.write(`generating ${values["size-mib"]} MiB in ${source} … `);
await generate();
process.stdout.write(`${((await folderSize(source)) / 2 ** 20).toFixed(0)} MiB\n`);
e3(repository, ["init"]);
for (let generation = 0; generation < generations; generation++) {
  if (generation > 0) await change(generation);
  const measured = e3(repository, ["backup", source]);
  console.log(`backup ${generation + 1}/${generations}: ${measured.seconds.toFixed(1)} s`);
}
restic(repository, ["forget", "--keep-last", String(Math.ceil(generations / 2))]);
const before = await folderSize(repository);

const copies = { restic: join(work, "repo-restic"), e3: join(work, "repo-e3") };
await cp(repository, copies.restic, { recursive: true });
await cp(repository, copies.e3, { recursive: true });
if (!values.keep) await rm(repository, { recursive: true, force: true });

const resticRun = restic(copies.restic, ["prune"]);
console.log(`restic prune: ${resticRun.seconds.toFixed(2)} s`);
const e3Run = e3(copies.e3, ["prune", "--json"]);
console.log(`e3 prune:     ${e3Run.seconds.toFixed(2)} s`);
const baseline = e3(copies.e3, ["--help"]);
const summary = JSON.parse(e3Run.stdout.trim().split("\n").at(-1) ?? "{}") as {
  blobs: { total: number };
  packs: { deleted: number; repacked: number; written: number };
  memory: { bytesPerBlob: number };
};
for (const [tool, repo] of Object.entries(copies)) {
  const checked = restic(repo, ["check"]);
  if (!checked.stdout.includes("no errors were found")) throw new Error(`restic check failed after ${tool} prune`);
}
const after = { restic: await folderSize(copies.restic), e3: await folderSize(copies.e3) };

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
console.log(
  `\nprune after forgetting ${Math.floor(generations / 2)} of ${generations} snapshots, repository ${mib(before)}`,
);
console.log(
  `${"tool".padEnd(8)} ${"seconds".padStart(8)} ${"CPU s".padStart(7)} ${"peak RSS".padStart(10)} ${"repo after".padStart(11)}`,
);
for (const [tool, measured, size] of [
  ["restic", resticRun, after.restic],
  ["e3", e3Run, after.e3],
] as const) {
  console.log(
    `${tool.padEnd(8)} ${measured.seconds.toFixed(2).padStart(8)} ${measured.cpuSeconds.toFixed(2).padStart(7)} ` +
      `${mib(measured.peakRssMiB * 2 ** 20).padStart(10)} ${mib(size).padStart(11)}`,
  );
}
console.log(
  `time e3/restic ${(e3Run.seconds / resticRun.seconds).toFixed(2)}, CPU e3/restic ${(e3Run.cpuSeconds / resticRun.cpuSeconds).toFixed(2)}, ` +
    `peak RSS e3/restic ${(e3Run.peakRssMiB / resticRun.peakRssMiB).toFixed(2)}, size after e3/restic ${(after.e3 / after.restic).toFixed(3)}`,
);
console.log(
  `e3: ${summary.blobs.total} blobs (${summary.memory.bytesPerBlob} bytes each in its table), ${summary.packs.deleted} packs deleted, ` +
    `${summary.packs.repacked} repacked into ${summary.packs.written}; the CLI alone (--help) peaks at ${baseline.peakRssMiB.toFixed(0)} MiB ` +
    `and ${baseline.cpuSeconds.toFixed(2)} CPU s, so prune's own cost is ${(e3Run.peakRssMiB - baseline.peakRssMiB).toFixed(0)} MiB ` +
    `and ${(e3Run.cpuSeconds - baseline.cpuSeconds).toFixed(2)} CPU s`,
);

if (!values.keep) await rm(work, { recursive: true, force: true });
else console.log(`\nkept ${work}`);
