// Engine benchmark: e3 against restic on the same data in the same run (issue: backup engine core).
//
//   pnpm bench:engine [--size-mib 1024] [--keep] [--only local|s3] [--agent bundle|sources]
//
// A data set of large incompressible files, compressible text and 20 000 small files in nested folders (scaled by
// --size-mib) is backed up, backed up again unchanged, backed up after changing 1 % of it, and restored, by restic
// and by e3, into a local repository and into an S3 repository on the server scripts/services.sh starts. Each step
// is timed with GNU time (wall seconds, CPU seconds and peak RSS). Prints one table per repository with the
// e3/restic ratios. e3 runs as the agent's esbuild bundle (pnpm build:agent --bundle-only, built first) unless
// --agent sources (the .ts sources under Node's type stripping). Its compiled code is kept between steps in Node's
// compile cache (filled by the init), as the Linux executable carries it from the build (useCodeCache): without it
// every step would spend ~80 ms compiling the 4 MB bundle.
// Not a test: run it on demand, on a quiet machine.

import { spawnSync } from "node:child_process";
import { createCipheriv, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { removeBucket } from "../packages/engine/test/storage-s3-env.ts";

const { values } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "1024" },
    keep: { type: "boolean", default: false },
    only: { type: "string" },
    agent: { type: "string", default: "bundle" },
  },
});
if (values.agent !== "bundle" && values.agent !== "sources") throw new Error("--agent must be bundle or sources");
const totalBytes = Number(values["size-mib"]) * 1024 * 1024;
const agent = await (await import("../apps/agent/build/build.ts")).agentArguments(values.agent);
const work = await mkdtemp(join(tmpdir(), "e3-bench-engine-"));
const source = join(work, "data");
const password = "benchmark";

type Measured = { seconds: number; cpuSeconds: number; peakRssMiB: number };

/** Runs a command under GNU time; fails loudly with its output when it fails. */
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
  return { seconds: Number(seconds), cpuSeconds: Number(user) + Number(system), peakRssMiB: Number(kib) / 1024 };
}

// Deterministic pseudo-random bytes (an AES-CTR keystream): fast, incompressible, reproducible.
function randomData(seed: number, size: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32LE(seed);
  return createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

const words =
  "backup restore snapshot repository chunk index pack tree blob archive folder file storage bucket client agent " +
  "portal schedule retention prune check key password encryption compression throughput latency the of and to in";
function textData(seed: number, size: number): Buffer {
  const list = words.split(" ");
  const bytes = randomData(seed, Math.ceil(size / 4));
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const word = list[(bytes[i % bytes.length] ?? 0) % list.length] ?? "x";
    parts.push(i % 12 === 11 ? `${word}\n` : `${word} `);
    length += word.length + 1;
  }
  return Buffer.from(parts.join("")).subarray(0, size);
}

const smallFiles = 20_000;

async function generate(): Promise<void> {
  const large = Math.floor(totalBytes * 0.5);
  const text = Math.floor(totalBytes * 0.25);
  const small = totalBytes - large - text;
  await mkdir(join(source, "large"), { recursive: true });
  for (let i = 0; i < 4; i++) await writeFile(join(source, "large", `blob-${i}.bin`), randomData(i + 1, large / 4));
  await mkdir(join(source, "text"), { recursive: true });
  for (let i = 0; i < 8; i++) await writeFile(join(source, "text", `log-${i}.txt`), textData(100 + i, text / 8));
  const perFile = Math.floor(small / smallFiles);
  for (let i = 0; i < smallFiles; i++) {
    const folder = join(source, "small", `d${i % 20}`, `e${Math.floor(i / 20) % 50}`);
    if (i < 1000) await mkdir(folder, { recursive: true });
    const data = i % 2 === 0 ? randomData(1000 + i, perFile) : textData(1000 + i, perFile);
    await writeFile(join(folder, `f${i}.dat`), data);
  }
}

/** Changes about 1 % of the data: 1 % of the small files rewritten, a slice of one large file overwritten. */
async function changeOnePercent(): Promise<void> {
  for (let i = 0; i < smallFiles; i += 100) {
    const path = join(source, "small", `d${i % 20}`, `e${Math.floor(i / 20) % 50}`, `f${i}.dat`);
    await writeFile(path, randomBytes((await stat(path)).size));
  }
  const large = join(source, "large", "blob-0.bin");
  const bytes = await readFile(large);
  const slice = Math.floor(totalBytes * 0.01);
  randomBytes(slice).copy(bytes, Math.floor(bytes.length / 3));
  await writeFile(large, bytes);
}

async function folderSize(path: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

type Target = { label: string; repository: (tool: string) => string; env: Record<string, string | undefined> };

const s3Endpoint = process.env.E3_TEST_S3_ENDPOINT;
const s3Env = {
  AWS_ACCESS_KEY_ID: process.env.E3_TEST_S3_ACCESS_KEY,
  AWS_SECRET_ACCESS_KEY: process.env.E3_TEST_S3_SECRET_KEY,
  AWS_DEFAULT_REGION: process.env.E3_TEST_S3_REGION ?? "us-east-1",
  AWS_CA_BUNDLE: undefined,
};
const bucket = `e3-bench-${randomBytes(4).toString("hex")}`;
const targets: Target[] = [{ label: "local", repository: (tool) => join(work, `repo-${tool}`), env: {} }];
if (s3Endpoint) {
  targets.push({ label: "s3", repository: (tool) => `s3:${s3Endpoint}/${bucket}/${tool}`, env: s3Env });
} else if (values.only === "s3") {
  throw new Error('E3_TEST_S3_ENDPOINT is not set: run `eval "$(bash scripts/services.sh env)"` first');
}

async function repositorySize(target: Target, tool: string): Promise<number> {
  const location = target.repository(tool);
  if (!location.startsWith("s3:")) return folderSize(location);
  const client = new S3Client({
    endpoint: s3Endpoint,
    region: s3Env.AWS_DEFAULT_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: s3Env.AWS_ACCESS_KEY_ID ?? "", secretAccessKey: s3Env.AWS_SECRET_ACCESS_KEY ?? "" },
  });
  let total = 0;
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `${tool}/`, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) total += object.Size ?? 0;
    token = page.NextContinuationToken;
  } while (token);
  client.destroy();
  return total;
}

const tools = {
  restic: (target: Target, args: string[]) =>
    timed("restic", ["-r", target.repository("restic"), "--cache-dir", join(work, "restic-cache"), ...args], {
      ...target.env,
      RESTIC_PASSWORD: password,
    }),
  e3: (target: Target, args: string[]) =>
    timed(process.execPath, [...agent, ...args], {
      ...target.env,
      E3_REPOSITORY: target.repository("e3"),
      E3_PASSWORD: password,
      NODE_COMPILE_CACHE: join(work, "node-compile-cache"),
    }),
};

const steps = ["backup", "backup unchanged", "backup 1 % changed", "restore"] as const;
type Row = Record<keyof typeof tools, Measured>;

process.stdout.write(`generating ${values["size-mib"]} MiB in ${source} … `);
await generate();
const dataBytes = await folderSize(source);
process.stdout.write(`${(dataBytes / 2 ** 20).toFixed(0)} MiB\n`);

const results = new Map<string, Map<string, Row>>();
for (const target of targets.filter((candidate) => !values.only || candidate.label === values.only)) {
  results.set(target.label, new Map());
}
const record = (target: Target, step: string, tool: keyof typeof tools, measured: Measured) => {
  const rows = results.get(target.label)!;
  rows.set(step, { ...rows.get(step), [tool]: measured } as Row);
  console.log(
    `${target.label.padEnd(5)} ${step.padEnd(20)} ${tool.padEnd(6)} ${measured.seconds.toFixed(2)} s ` +
      `(CPU ${measured.cpuSeconds.toFixed(2)} s) ${measured.peakRssMiB.toFixed(0)} MiB`,
  );
};
const active = targets.filter((target) => results.has(target.label));

// Phase by phase, both tools on every repository, so each sees the data in the same state.
for (const target of active) {
  for (const tool of ["restic", "e3"] as const) tools[tool](target, ["init"]);
}
for (const step of steps.slice(0, 3)) {
  if (step === "backup 1 % changed") await changeOnePercent();
  for (const target of active) {
    for (const tool of ["restic", "e3"] as const) record(target, step, tool, tools[tool](target, ["backup", source]));
  }
}
// Restored folders stay until the work folder goes: deleting 20 000 files just before the other tool's restore made that one pay
// for it (ext4 passes over recently freed inodes when it allocates, 3-4 s of system time on this data set).
for (const target of active) {
  for (const tool of ["restic", "e3"] as const) {
    const into = join(work, `restore-${target.label}-${tool}`);
    record(target, "restore", tool, tools[tool](target, ["restore", "latest", "--target", into]));
  }
}

const mbps = (seconds: number) => (dataBytes / 1e6 / seconds).toFixed(0);
for (const target of active) {
  const rows = results.get(target.label)!;
  console.log(`\n${target.label} repository, ${(dataBytes / 2 ** 20).toFixed(0)} MiB of data, e3 as ${values.agent}`);
  console.log(
    `${"step".padEnd(20)} ${"restic s".padStart(9)} ${"e3 s".padStart(8)} ${"restic MB/s".padStart(12)} ${"e3 MB/s".padStart(8)} ` +
      `${"time e3/restic".padStart(15)} ${"CPU e3/restic".padStart(14)} ${"restic RSS".padStart(11)} ${"e3 RSS".padStart(8)} ` +
      `${"RSS e3/restic".padStart(14)}`,
  );
  for (const step of steps) {
    const row = rows.get(step);
    if (!row) continue;
    console.log(
      `${step.padEnd(20)} ${row.restic.seconds.toFixed(2).padStart(9)} ${row.e3.seconds.toFixed(2).padStart(8)} ` +
        `${mbps(row.restic.seconds).padStart(12)} ${mbps(row.e3.seconds).padStart(8)} ` +
        `${(row.e3.seconds / row.restic.seconds).toFixed(2).padStart(15)} ` +
        `${(row.e3.cpuSeconds / row.restic.cpuSeconds).toFixed(2).padStart(14)} ` +
        `${`${row.restic.peakRssMiB.toFixed(0)} MiB`.padStart(11)} ${`${row.e3.peakRssMiB.toFixed(0)} MiB`.padStart(8)} ` +
        `${(row.e3.peakRssMiB / row.restic.peakRssMiB).toFixed(2).padStart(14)}`,
    );
  }
  const resticSize = await repositorySize(target, "restic");
  const e3Size = await repositorySize(target, "e3");
  console.log(
    `repository size      restic ${(resticSize / 2 ** 20).toFixed(1)} MiB, e3 ${(e3Size / 2 ** 20).toFixed(1)} MiB, ` +
      `e3/restic ${(e3Size / resticSize).toFixed(3)}`,
  );
}

if (!values.keep) {
  await rm(work, { recursive: true, force: true });
  // Both tools' S3 repositories: leave the test server's disk as it was.
  if (active.some((target) => target.label === "s3")) {
    const client = new S3Client({
      endpoint: s3Endpoint,
      region: s3Env.AWS_DEFAULT_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: s3Env.AWS_ACCESS_KEY_ID ?? "", secretAccessKey: s3Env.AWS_SECRET_ACCESS_KEY ?? "" },
    });
    await removeBucket(client, bucket);
    client.destroy();
  }
} else {
  console.log(`\nkept ${work} (bucket ${bucket})`);
}
