// Sync benchmark: e3-backup-agent sync against rclone sync, to the same S3 server, in the same run (issue: sync
// engine).
//
//   pnpm bench:sync [--size-mib 1024] [--rounds N] [--agent bundle|sources] [--keep]
//
// A data set of large incompressible files, compressible text and 20 000 small files in nested folders (scaled by
// --size-mib) is synced to a fresh prefix by each tool, synced again unchanged, and synced after changing 1 % of
// it. Each step runs under GNU time (wall seconds, CPU seconds, peak RSS). Both tools use their defaults (rclone:
// 4 transfers, 8 checkers; e3: 4 transfers for large files, 16 for files up to 1 MiB, 8 checkers); e3 keeps its
// state cache in the work folder. One more initial sync of e3 at rclone's concurrency (--small-file-transfers 4)
// shows what the small-file lane is worth. e3 runs as the agent's esbuild bundle (pnpm build:agent --bundle-only,
// built first) unless --agent sources. On a shared machine pass --rounds 3 or more: each round syncs to fresh
// prefixes, the tools take turns going first, and the medians are printed. Not a test: run it on demand.

import { spawnSync } from "node:child_process";
import { createCipheriv, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { removeBucket } from "../packages/engine/test/storage-s3-env.ts";

const { values } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "1024" },
    rounds: { type: "string", default: "1" },
    agent: { type: "string", default: "bundle" },
    keep: { type: "boolean", default: false },
  },
});
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds must be a whole number from 1");
if (values.agent !== "bundle" && values.agent !== "sources") throw new Error("--agent must be bundle or sources");
const totalBytes = Number(values["size-mib"]) * 1024 * 1024;
if (!(totalBytes > 0)) throw new Error("--size-mib must be a positive number");
const endpoint = process.env.E3_TEST_S3_ENDPOINT;
if (!endpoint) throw new Error('E3_TEST_S3_ENDPOINT is not set: run `eval "$(bash scripts/services.sh env)"` first');
const accessKeyId = process.env.E3_TEST_S3_ACCESS_KEY ?? "";
const secretAccessKey = process.env.E3_TEST_S3_SECRET_KEY ?? "";
const region = process.env.E3_TEST_S3_REGION ?? "us-east-1";

const agent = await (await import("../apps/agent/build/build.ts")).agentArguments(values.agent);
const work = await mkdtemp(join(tmpdir(), "e3-bench-sync-"));
const source = join(work, "data");
const bucket = `e3-bench-sync-${randomBytes(4).toString("hex")}`;

type Measured = { seconds: number; cpuSeconds: number; peakRssMiB: number };

function timed(command: string, args: string[], env: Record<string, string | undefined>): Measured {
  const report = join(work, "time.txt");
  const environment = { ...process.env, ...env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete environment[name];
  const result = spawnSync("/usr/bin/time", ["-o", report, "-f", "%e %U %S %M", command, ...args], {
    env: environment,
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  // rclone and e3 exit 0 on success; anything else is a broken benchmark, not a slow tool.
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

function textData(seed: number, size: number): Buffer {
  const words = "sync mirror bucket object prefix folder file upload checksum mtime metadata the of and to in".split(
    " ",
  );
  const noise = randomData(seed, size);
  const out = Buffer.alloc(size);
  let at = 0;
  for (let i = 0; at < size; i++) {
    at += out.write(`${words[noise[i % size]! % words.length]}${i % 12 === 11 ? "\n" : " "}`, at);
  }
  return out;
}

const smallFiles = 20_000;
const smallPath = (i: number) => join(source, "small", `d${i % 20}`, `e${Math.floor(i / 20) % 50}`, `f${i}.dat`);

async function generate(): Promise<void> {
  const large = Math.floor(totalBytes * 0.5);
  const text = Math.floor(totalBytes * 0.25);
  const perSmall = Math.max(1, Math.floor((totalBytes - large - text) / smallFiles));
  await mkdir(join(source, "large"), { recursive: true });
  for (let i = 0; i < 4; i++) await writeFile(join(source, "large", `blob-${i}.bin`), randomData(i + 1, large / 4));
  await mkdir(join(source, "text"), { recursive: true });
  for (let i = 0; i < 8; i++) await writeFile(join(source, "text", `log-${i}.txt`), textData(100 + i, text / 8));
  for (let i = 0; i < smallFiles; i++) {
    if (i < 1000) await mkdir(join(source, "small", `d${i % 20}`, `e${Math.floor(i / 20) % 50}`), { recursive: true });
    await writeFile(smallPath(i), i % 2 === 0 ? randomData(1000 + i, perSmall) : textData(1000 + i, perSmall));
  }
}

/** About 1 % of the data: 1 % of the small files rewritten, one text file rewritten, one large file touched. */
async function changeOnePercent(): Promise<void> {
  for (let i = 0; i < smallFiles; i += 100) {
    const path = smallPath(i);
    await writeFile(path, randomBytes((await stat(path)).size));
  }
  const text = join(source, "text", "log-0.txt");
  const bytes = await readFile(text);
  randomBytes(Math.min(bytes.length, 4096)).copy(bytes, Math.floor(bytes.length / 2));
  await writeFile(text, bytes);
  // mtime only: both tools should notice the equal MD5 and fix the metadata without sending the data again.
  const now = Date.now() / 1000;
  await utimes(join(source, "large", "blob-1.bin"), now, now);
}

const s3Env = { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_DEFAULT_REGION: region };
const rcloneEnv = {
  AWS_CA_BUNDLE: undefined,
  RCLONE_CONFIG: "/dev/null",
  RCLONE_CONFIG_BENCH_TYPE: "s3",
  RCLONE_CONFIG_BENCH_PROVIDER: "Other",
  RCLONE_CONFIG_BENCH_ENDPOINT: endpoint,
  RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: accessKeyId,
  RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: secretAccessKey,
  RCLONE_CONFIG_BENCH_REGION: region,
};
const e3Sync = (prefix: string, extra: string[] = []) =>
  timed(
    process.execPath,
    [
      ...agent,
      "sync",
      "--mode",
      "sync",
      ...extra,
      "--state-dir",
      join(work, `${prefix}-state`),
      source,
      `s3:${endpoint}/${bucket}/${prefix}`,
    ],
    s3Env,
  );
const tools = {
  rclone: (round: number) => timed("rclone", ["sync", source, `bench:${bucket}/rclone-${round}`], rcloneEnv),
  e3: (round: number) => e3Sync(`e3-${round}`),
};
type Tool = keyof typeof tools | "e3 at 4";

process.stdout.write(`generating ${values["size-mib"]} MiB in ${source} … `);
await generate();
process.stdout.write("done\n");
const client = new S3Client({
  endpoint,
  region,
  forcePathStyle: true,
  credentials: { accessKeyId, secretAccessKey },
});
await client.send(new CreateBucketCommand({ Bucket: bucket }));

const steps = ["initial sync", "unchanged re-sync", "1 % changed"] as const;
const measured = new Map<string, Measured[]>();
const record = (step: string, tool: Tool, result: Measured) => {
  const key = `${step}|${tool}`;
  measured.set(key, [...(measured.get(key) ?? []), result]);
  console.log(
    `${step.padEnd(18)} ${tool.padEnd(7)} ${result.seconds.toFixed(2)} s (CPU ${result.cpuSeconds.toFixed(2)} s) ` +
      `${result.peakRssMiB.toFixed(0)} MiB`,
  );
};
console.log(`e3: node ${agent.join(" ")}`);
for (let round = 1; round <= rounds; round++) {
  if (rounds > 1) console.log(`round ${round} of ${rounds}`);
  // Taking turns: whoever goes second may find the page cache warmer or the machine quieter.
  const order = round % 2 === 1 ? (["rclone", "e3"] as const) : (["e3", "rclone"] as const);
  for (const step of steps) {
    if (step === "1 % changed") await changeOnePercent();
    for (const tool of order) record(step, tool, tools[tool](round));
    if (step === "initial sync") record(step, "e3 at 4", e3Sync(`e3-t4-${round}`, ["--small-file-transfers", "4"]));
  }
}

const median = (list: Measured[], pick: (entry: Measured) => number) => {
  const sorted = list.map(pick).sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const summary = (step: string, tool: Tool): Measured => {
  const list = measured.get(`${step}|${tool}`) ?? [];
  return {
    seconds: median(list, (entry) => entry.seconds),
    cpuSeconds: median(list, (entry) => entry.cpuSeconds),
    peakRssMiB: median(list, (entry) => entry.peakRssMiB),
  };
};
const rows = new Map<string, { rclone: Measured; e3: Measured }>();
for (const step of steps) rows.set(step, { rclone: summary(step, "rclone"), e3: summary(step, "e3") });
rows.set("initial, e3 at 4", { rclone: summary("initial sync", "rclone"), e3: summary("initial sync", "e3 at 4") });

console.log(
  `\n${values["size-mib"]} MiB, ${smallFiles} small files, S3 at ${endpoint}, e3 as ${values.agent}` +
    `${rounds > 1 ? `, medians of ${rounds} rounds` : ""}`,
);
const columns = ["rclone s", "e3 s", "time e3/rclone", "CPU rclone", "CPU e3", "CPU e3/rclone"];
console.log(
  `${"step".padEnd(18)} ${columns.map((name) => name.padStart(14)).join(" ")} ` +
    `${"rclone RSS".padStart(11)} ${"e3 RSS".padStart(8)} ${"RSS e3/rclone".padStart(14)}`,
);
for (const [step, row] of rows) {
  const cells = [
    row.rclone.seconds.toFixed(2),
    row.e3.seconds.toFixed(2),
    (row.e3.seconds / row.rclone.seconds).toFixed(2),
    row.rclone.cpuSeconds.toFixed(2),
    row.e3.cpuSeconds.toFixed(2),
    (row.e3.cpuSeconds / row.rclone.cpuSeconds).toFixed(2),
  ];
  console.log(
    `${step.padEnd(18)} ${cells.map((cell) => cell.padStart(14)).join(" ")} ` +
      `${`${row.rclone.peakRssMiB.toFixed(0)} MiB`.padStart(11)} ${`${row.e3.peakRssMiB.toFixed(0)} MiB`.padStart(8)} ` +
      `${(row.e3.peakRssMiB / row.rclone.peakRssMiB).toFixed(2).padStart(14)}`,
  );
}

if (values.keep) {
  console.log(`\nkept ${work} (bucket ${bucket})`);
} else {
  await rm(work, { recursive: true, force: true });
  // Tens of thousands of objects per run: leave the test server's disk as it was.
  await removeBucket(client, bucket);
}
client.destroy();
