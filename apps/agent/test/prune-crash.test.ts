import { execFile } from "node:child_process";
import { createCipheriv } from "node:crypto";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import {
  backup,
  forget,
  initLocalRepository,
  LocalBackend,
  listAll,
  openRepository,
  prepareStorage,
  prune,
  type StorageBackend,
} from "@e3/engine";
import { afterAll, describe, expect, it } from "vitest";
import { listFolder } from "../../../packages/engine/test/fs-listing.ts";
import { s3TestBuckets } from "../../../packages/engine/test/storage-s3-env.ts";
import { runAgent } from "./agent-cli.ts";

// Crash safety of prune: the CLI's prune SIGKILLed at points spread over its whole run, on a folder and on S3 (walking trees, repacking,
// writing the index, deleting old index files and packs). After every kill restic's check passes and every kept
// snapshot restores exactly; the next prune finishes the job and restic's check passes again.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-prune-crash-"));
afterAll(() => rm(dir, { recursive: true, force: true }));
const s3 = s3TestBuckets(afterAll);
const password = "prune crash";
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

async function names(storage: StorageBackend, type: "data" | "index" | "lock"): Promise<string[]> {
  return (await listAll(storage, type)).map((file) => file.name);
}

type Trial = { location: string; env: Record<string, string | undefined>; storage: StorageBackend };

describe(`prune killed at points spread over its run (seed ${seed})`, () => {
  it.each([
    ["local", 20],
    ["s3", 8],
  ] as const)(
    "leaves a %s repository restic checks and restores, every time (%i kills)",
    { timeout: 900_000 },
    async (kind, trials) => {
      const random = seeded(seed + kind.length);
      // Six generations of a folder in small packs, so prune has many packs to delete and repack.
      const base = join(dir, `base-${kind}`);
      const source = join(dir, `source-${kind}`);
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

      /** A copy of the base repository: a folder, or a fresh bucket every file is uploaded to. */
      const trialRepository = async (name: string): Promise<Trial> => {
        if (kind === "local") {
          const location = join(dir, name);
          await cp(base, location, { recursive: true });
          return {
            location,
            env: { E3_REPOSITORY: location, E3_PASSWORD: password },
            storage: new LocalBackend(location),
          };
        }
        const location = `s3:${s3.env.endpoint}/${s3.bucket(name)}`;
        const storage = await prepareStorage(location, s3.storageEnv);
        const config = { type: "config", name: "config" } as const;
        await storage.save(config, await repository.storage.load(config));
        for (const type of ["key", "index", "snapshot", "data"] as const) {
          for (const file of await listAll(repository.storage, type)) {
            await storage.save({ type, name: file.name }, await repository.storage.load({ type, name: file.name }));
          }
        }
        return {
          location,
          env: { ...s3.storageEnv, E3_REPOSITORY: location, E3_PASSWORD: password, AWS_CA_BUNDLE: undefined },
          storage,
        };
      };
      const restic = (trial: Trial, ...args: string[]) =>
        run("restic", ["--no-cache", "-r", trial.location, ...args], {
          env: {
            ...process.env,
            ...(kind === "s3" ? s3.storageEnv : {}),
            RESTIC_PASSWORD: password,
            AWS_CA_BUNDLE: "",
          },
          maxBuffer: 1 << 26,
        });
      const pruneArgs = ["prune", "--max-unused", "0", "--pack-size", "4"];
      // How long prune works once it holds its lock, measured on a copy.
      const calibration = await trialRepository(`calibration-${kind}`);
      let lockedAt = 0;
      let releasedAt = 0;
      const watch = (async () => {
        while ((await names(calibration.storage, "lock")).length === 0) await sleep(2);
        lockedAt = Date.now();
        while ((await names(calibration.storage, "lock")).length > 0) await sleep(2);
        releasedAt = Date.now();
      })();
      const full = await runAgent(pruneArgs, calibration.env);
      await watch;
      expect(full.status, full.stderr).toBe(0);
      expect(full.stdout).toMatch(/repacked [1-9]/);
      // The lock is held from the first read to the last deletion; kills fall inside 90 % of that (the machine's
      // load varies between runs).
      const workMs = Math.floor((releasedAt - lockedAt) * 0.9);

      let killed = 0;
      let interrupted = 0;
      for (let trial = 0; trial < trials; trial++) {
        const repo = await trialRepository(`trial-${kind}-${trial}`);
        const before = new Set(await names(repo.storage, "data"));
        const indexBefore = new Set(await names(repo.storage, "index"));
        // Every fifth trial kills at a time stratified over the work window; the others when prune reaches a step:
        // its first new pack, its new index file, its first old index file deleted, some of the old packs deleted.
        const moment = trial % 5;
        const delay = Math.floor(workMs * ((trial / 5 + random()) / (trials / 5)));
        const reached: Record<number, () => Promise<boolean>> = {
          1: async () => (await names(repo.storage, "data")).some((pack) => !before.has(pack)),
          2: async () => (await names(repo.storage, "index")).some((name) => !indexBefore.has(name)),
          3: async () =>
            (await names(repo.storage, "index")).filter((name) => indexBefore.has(name)).length < indexBefore.size,
          4: async () =>
            (await names(repo.storage, "data")).filter((pack) => before.has(pack)).length <
            before.size - 1 - (trial % 7),
        };
        const killAt = (async () => {
          while ((await names(repo.storage, "lock")).length === 0) await sleep(2);
          if (moment === 0) await sleep(delay);
          else while (!(await reached[moment]!())) await sleep(1);
        })();
        const result = await runAgent(pruneArgs, repo.env, { killWhen: killAt });
        const label = `trial ${trial}, ${moment ? `killed at step ${moment}` : `killed ${delay} ms into ${workMs} ms of work`}`;
        if (result.signal === "SIGKILL") killed++;
        else expect(result.status, `${label}: ${result.stderr}`).toBe(0);
        const after = new Set(await names(repo.storage, "data"));
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
        const reopened = await openRepository(repo.storage, password);
        const finish = await prune(reopened, { maxUnused: 0 });
        expect(finish.bytes.unusedAfter, label).toBe(0);
        expect((await restic(repo, "check", "--read-data")).stdout, label).toContain("no errors were found");
        if (kind === "local") await rm(repo.location, { recursive: true, force: true });
        await repo.storage.close();
      }
      console.log(
        `prune crash (${kind}): ${killed} of ${trials} runs killed, ${interrupted} after changing the repository`,
      );
      // Most kills landed while prune was working, and several after it had already changed the repository.
      expect(killed).toBeGreaterThanOrEqual(trials / 2);
      expect(interrupted).toBeGreaterThanOrEqual(trials / 4);
    },
  );
});
