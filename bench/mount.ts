// Mount benchmark: reading a snapshot through e3's WebDAV server against restic reading the same repository, in the
// same run (issue: engine lifecycle, browse as a drive).
//
//   pnpm bench:mount [--size-mib 256] [--files 20000] [--ranges 200]
//
// restic 0.14 backs up one large random file and a folder of small files into a local repository. Then:
// - whole file: `restic dump` to /dev/null against `curl` GETting it from `e3-backup-agent mount` (wall time; peak
//   RSS of restic and of the mount process, read from /proc's VmHWM when it ends);
// - folder listing: `restic ls` of the small-files folder against one PROPFIND Depth 1 of it;
// - random reads: --ranges ranged GETs of 64 KiB at random offsets of the large file (restic has no ranged read
//   without FUSE, so only e3's time per read is printed).
// Not a test: run it on demand, on a quiet machine.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createCipheriv } from "node:crypto";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "256" },
    files: { type: "string", default: "20000" },
    ranges: { type: "string", default: "200" },
  },
});
const size = Number(values["size-mib"]) * 1024 * 1024;
const fileCount = Number(values.files);
const rangeCount = Number(values.ranges);
const root = join(import.meta.dirname, "..");
const launcher = join(root, "apps", "agent", "bin", "e3-backup-agent.mjs");
const work = await mkdtemp(join(tmpdir(), "e3-bench-mount-"));
const source = join(work, "data");
const repo = join(work, "repo");
const env = { ...process.env, RESTIC_PASSWORD: "bench", E3_PASSWORD: "bench", E3_REPOSITORY: repo };

type Measured = { seconds: number; peakRssMiB: number };

function timed(command: string, args: string[]): Measured {
  const report = join(work, "time.txt");
  const result = spawnSync("/usr/bin/time", ["-o", report, "-f", "%e %M", command, ...args], {
    env,
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed:\n${result.stderr}`);
  const [seconds, kib] = spawnSync("tail", ["-n1", report], { encoding: "utf8" }).stdout.trim().split(" ");
  return { seconds: Number(seconds), peakRssMiB: Number(kib) / 1024 };
}

async function peakRssMiB(child: ChildProcess): Promise<number> {
  const status = await readFile(`/proc/${child.pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

try {
  await mkdir(join(source, "small"), { recursive: true });
  const key = Buffer.alloc(16, 7);
  await writeFile(
    join(source, "large.bin"),
    createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(size)),
  );
  for (let i = 0; i < fileCount; i++) await writeFile(join(source, "small", `file-${i}.txt`), `small file ${i}\n`);
  timed("restic", ["init", "-r", repo]);
  timed("restic", ["backup", "-r", repo, "--no-cache", source]);
  const resticDump = timed("sh", ["-c", `restic -r ${repo} --no-cache dump latest ${source}/large.bin > /dev/null`]);
  const resticLs = timed("sh", ["-c", `restic -r ${repo} --no-cache ls latest ${source}/small > /dev/null`]);

  const mount = spawn(process.execPath, [launcher, "mount", "--snapshot", "latest", "--json", "--idle-timeout", "0"], {
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const started = performance.now();
  const [line] = (await once(createInterface({ input: mount.stdout }), "line")) as [string];
  const startup = (performance.now() - started) / 1000;
  const { token_url: tokenUrl } = JSON.parse(line) as { token_url: string };
  const fileUrl = new URL(`${source.slice(1)}/large.bin`, tokenUrl).href;
  const whole = timed("curl", ["-sSf", "-o", "/dev/null", fileUrl]);

  const listStarted = performance.now();
  const listing = await fetch(new URL(`${source.slice(1)}/small/`, tokenUrl), {
    method: "PROPFIND",
    headers: { depth: "1" },
  });
  const listed = (await listing.text()).split("<D:response>").length - 2;
  const listSeconds = (performance.now() - listStarted) / 1000;
  if (listed !== fileCount) throw new Error(`PROPFIND listed ${listed} entries, expected ${fileCount}`);

  const rangesStarted = performance.now();
  for (let i = 0; i < rangeCount; i++) {
    const offset = Math.floor((((i * 2654435761) % 4294967296) / 4294967296) * (size - 65536));
    const response = await fetch(fileUrl, { headers: { range: `bytes=${offset}-${offset + 65535}` } });
    if ((await response.arrayBuffer()).byteLength !== 65536) throw new Error("a ranged read came back short");
  }
  const perRangeMs = (performance.now() - rangesStarted) / rangeCount;
  const mountRss = await peakRssMiB(mount);
  mount.kill("SIGINT");
  await once(mount, "close");

  const rows = [
    ["step", "restic 0.14", "e3 mount", "time e3/restic", "RSS restic", "RSS e3"],
    [
      `read ${values["size-mib"]} MiB file`,
      `${resticDump.seconds.toFixed(2)} s`,
      `${whole.seconds.toFixed(2)} s`,
      (whole.seconds / resticDump.seconds).toFixed(2),
      `${resticDump.peakRssMiB.toFixed(0)} MiB`,
      `${mountRss.toFixed(0)} MiB (whole session)`,
    ],
    [
      `list folder of ${fileCount}`,
      `${resticLs.seconds.toFixed(2)} s`,
      `${listSeconds.toFixed(2)} s`,
      (listSeconds / resticLs.seconds).toFixed(2),
      `${resticLs.peakRssMiB.toFixed(0)} MiB`,
      "",
    ],
    [`${rangeCount} random 64 KiB reads`, "(no ranged read)", `${perRangeMs.toFixed(1)} ms each`, "", "", ""],
  ];
  console.log(`mount started in ${startup.toFixed(2)} s (restic's times include its own start and index load)`);
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
} finally {
  await rm(work, { recursive: true, force: true });
}
