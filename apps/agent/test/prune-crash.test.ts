import { execFile } from "node:child_process";
import { createCipheriv } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { backup, forget, initLocalRepository, LocalBackend, openRepository, prune } from "@e3/engine";
import { afterAll, describe, expect, it } from "vitest";
import { listFolder } from "../../../packages/engine/test/fs-listing.ts";
import { runAgent } from "./agent-cli.ts";

// Crash safety of prune: the CLI's prune SIGKILLed at points spread over its whole run (walking trees, repacking,
// writing the index, deleting old index files and packs). After every kill restic's check passes and every kept
// snapshot restores exactly; the next prune finishes the job and restic's check passes again.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-prune-crash-"));
afterAll(() => rm(dir, { recursive: true, force: true }));
const password = "prune crash";
const trials = 20;
const seed = Number(process.env.E3_CRASH_SEED ?? Date.now() % 100_000);

function seeded(start: number): () => number {
  let state = start >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function noise(n: number, size: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32LE(n);
  return createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

const restic = (repo: string, ...args: string[]) =>
  run("restic", ["--no-cache", "-r", repo, ...args], {
    env: { ...process.env, RESTIC_PASSWORD: password },
    maxBuffer: 1 << 26,
  });

async function packsOf(repo: string): Promise<string[]> {
  const entries = await readdir(join(repo, "data"), { recursive: true });
  return entries.map((entry) => entry.slice(entry.lastIndexOf("/") + 1)).filter((name) => name.length === 64);
}

async function locksOf(repo: string): Promise<number> {
  return (await readdir(join(repo, "locks"))).length;
}

describe(`prune killed at points spread over its run (seed ${seed})`, () => {
  it("leaves a local repository restic checks and restores, every time", { timeout: 900_000 }, async () => {
    const random = seeded(seed);
    // Six generations of a folder in small packs, so prune has many packs to delete and repack.
    const base = join(dir, "base");
    const source = join(dir, "source");
    const repository = await initLocalRepository(base, password, { scrypt: { N: 1024, r: 8, p: 1 } });
    const listings = new Map<string, Awaited<ReturnType<typeof listFolder>>>();
    for (let n = 0; n < 6; n++) {
      await rm(source, { recursive: true, force: true });
      await mkdir(join(source, "stable"), { recursive: true });
      await writeFile(join(source, "stable", "base.bin"), noise(1, 1_200_000));
      for (let i = 0; i < 4; i++) await writeFile(join(source, `gen-${n}-${i}.bin`), noise(10 + n * 10 + i, 500_000));
      for (let i = 0; i < 20; i++) await writeFile(join(source, `small-${(n + i) % 7}-${i}.txt`), `${n} ${i}\n`);
      const result = await backup(repository, { paths: [source], packSize: 128 * 1024, threads: 0 });
      listings.set(result.snapshotId, await listFolder(source));
    }
    await forget(repository, { policy: { keepLast: 3 } });
    const kept = [...listings.keys()].slice(3);

    const trialRepository = async (name: string) => {
      const repo = join(dir, name);
      await cp(base, repo, { recursive: true });
      return repo;
    };
    const pruneArgs = ["prune", "--max-unused", "0", "--pack-size", "4"];
    // How long prune works once it holds its lock, measured on a copy.
    const calibration = await trialRepository("calibration");
    const env = (repo: string) => ({ E3_REPOSITORY: repo, E3_PASSWORD: password });
    let lockedAt = 0;
    let releasedAt = 0;
    const watch = (async () => {
      while ((await locksOf(calibration)) === 0) await sleep(2);
      lockedAt = Date.now();
      while ((await locksOf(calibration)) > 0) await sleep(2);
      releasedAt = Date.now();
    })();
    const full = await runAgent(pruneArgs, env(calibration));
    await watch;
    // The lock is held from the first read to the last deletion; kills fall inside 90 % of that (the machine's
    // load varies between runs).
    const workMs = Math.floor((releasedAt - lockedAt) * 0.9);
    expect(full.status, full.stderr).toBe(0);
    expect(full.stdout).toMatch(/repacked [1-9]/);

    let killed = 0;
    let interrupted = 0;
    for (let trial = 0; trial < trials; trial++) {
      const repo = await trialRepository(`trial-${trial}`);
      const before = new Set(await packsOf(repo));
      const indexBefore = new Set(await readdir(join(repo, "index")));
      // Every fifth trial kills at a time stratified over the work window; the others when prune reaches a step:
      // its first new pack, its new index file, its first old index file deleted, some of the old packs deleted.
      const moment = trial % 5;
      const delay = Math.floor(workMs * ((trial / 5 + random()) / (trials / 5)));
      const reached: Record<number, () => Promise<boolean>> = {
        1: async () => (await packsOf(repo)).some((pack) => !before.has(pack)),
        2: async () => (await readdir(join(repo, "index"))).some((name) => !indexBefore.has(name)),
        3: async () => [...indexBefore].some((name) => !existsSync(join(repo, "index", name))),
        4: async () => (await packsOf(repo)).filter((pack) => before.has(pack)).length < before.size - 1 - (trial % 7),
      };
      const killAt = (async () => {
        while ((await locksOf(repo)) === 0) await sleep(2);
        if (moment === 0) await sleep(delay);
        else while (!(await reached[moment]!())) await sleep(1);
      })();
      const result = await runAgent(pruneArgs, env(repo), { killWhen: killAt });
      const label = `trial ${trial}, ${moment ? `killed at step ${moment}` : `killed ${delay} ms into ${workMs} ms of work`}`;
      if (result.signal === "SIGKILL") killed++;
      else expect(result.status, `${label}: ${result.stderr}`).toBe(0);
      const after = new Set(await packsOf(repo));
      const changed = [...after].some((pack) => !before.has(pack)) || [...before].some((pack) => !after.has(pack));
      if (result.signal === "SIGKILL" && changed) interrupted++;

      await restic(repo, "unlock");
      expect((await restic(repo, "check")).stdout, label).toContain("no errors were found");
      for (const id of kept) {
        const target = join(dir, `restore-${trial}-${id.slice(0, 8)}`);
        await restic(repo, "restore", id, "--target", target);
        expect(await listFolder(join(target, source)), `${label}: snapshot ${id}`).toEqual(listings.get(id));
        await rm(target, { recursive: true, force: true });
      }
      // The next prune completes what the killed one started.
      const reopened = await openRepository(new LocalBackend(repo), password);
      const finish = await prune(reopened, { maxUnused: 0 });
      expect(finish.bytes.unusedAfter, label).toBe(0);
      expect((await restic(repo, "check", "--read-data")).stdout, label).toContain("no errors were found");
      await rm(repo, { recursive: true, force: true });
    }
    console.log(`prune crash: ${killed} of ${trials} runs killed, ${interrupted} after changing the repository`);
    // Most kills landed while prune was working, and several after it had already changed the repository.
    expect(killed).toBeGreaterThanOrEqual(trials / 2);
    expect(interrupted).toBeGreaterThanOrEqual(trials / 4);
  });
});
