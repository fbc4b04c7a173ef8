import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { listAll, nodeAt, openRepository, openStorage, RepositoryReader } from "@e3/engine";
import { afterAll, describe, expect, it } from "vitest";
import { listFolder } from "../../../packages/engine/test/fs-listing.ts";
import { s3TestBuckets } from "../../../packages/engine/test/storage-s3-env.ts";
import { jsonLines, runAgent } from "./agent-cli.ts";

// Crash safety: backups killed with SIGKILL at random moments, against a folder and a real S3 server. After every
// kill restic's unlock clears the dead run's lock and restic's check passes; at the end the first snapshot still restores exactly, and the backup that finally
// completes stores only the chunks no killed run had already uploaded and indexed.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-crash-"));
await chmod(dir, 0o755);
const s3 = s3TestBuckets(afterAll);
afterAll(() => rm(dir, { recursive: true, force: true }));

const trialsPerRepository = 12;

/** A small seeded generator, so a failing kill schedule can be replayed from the seed in the test name. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const seed = Number(process.env.E3_CRASH_SEED ?? Date.now() % 100_000);

describe(`backups killed at random points (seed ${seed})`, () => {
  it.each(["local", "s3"])("leave a %s repository valid and resumable", { timeout: 300_000 }, async (kind) => {
    const random = seeded(seed + kind.length);
    let repo = join(dir, "local-repo");
    let storageEnv: Record<string, string> = {};
    if (kind === "s3") {
      repo = `s3:${s3.env.endpoint}/${s3.bucket("crash")}`;
      storageEnv = s3.storageEnv;
    }
    const env = { ...storageEnv, E3_REPOSITORY: repo, E3_PASSWORD: "crash", AWS_CA_BUNDLE: undefined };
    const restic = (...args: string[]) =>
      run("restic", ["--no-cache", "-r", repo, ...args], {
        env: { ...process.env, ...storageEnv, RESTIC_PASSWORD: "crash", AWS_CA_BUNDLE: "" },
        maxBuffer: 1 << 24,
      });

    const source = join(dir, `source-${kind}`);
    await mkdir(join(source, "base"), { recursive: true });
    for (let i = 0; i < 4; i++) await writeFile(join(source, "base", `file-${i}.bin`), randomBytes(1024 * 1024));
    expect((await runAgent(["init"], env)).status).toBe(0);
    const first = await runAgent(["backup", "--json", "--pack-size", "4", source], env);
    expect(first.status).toBe(0);
    // Kill times spread over as long as one trial's backup takes here, measured by an unkilled backup of the same
    // shape (one new 6 MiB file): a fixed window is outrun by the built executable on an idle machine, and a window
    // derived from the smaller first backup let half the trials finish.
    await writeFile(join(source, "probe.bin"), randomBytes(6 * 1024 * 1024));
    const started = Date.now();
    const probe = await runAgent(["backup", "--json", "--pack-size", "4", source], env);
    expect(probe.status, probe.stderr).toBe(0);
    const killWindowMs = Math.max(200, Date.now() - started - 100);
    const firstSnapshot = String(jsonLines(first.stdout).at(-1)?.snapshot_id);
    const firstListing = await listFolder(source);

    let killed = 0;
    for (let trial = 0; trial < trialsPerRepository; trial++) {
      await writeFile(join(source, `new-${trial}.bin`), randomBytes(6 * 1024 * 1024));
      const killAfterMs = 50 + Math.floor(random() * killWindowMs);
      const result = await runAgent(["backup", "--json", "--pack-size", "4", source], env, { killAfterMs });
      if (result.signal === "SIGKILL") killed++;
      else expect(result.status, result.stderr).toBe(0);
      // A killed run leaves its lock behind; restic's unlock removes it only because restic sees it as stale (this
      // host, dead process), and restic's exclusive check needs it gone.
      await restic("unlock");
      const check = await restic("check");
      expect(check.stdout, `trial ${trial}, killed after ${killAfterMs} ms`).toContain("no errors were found");
    }
    expect(killed).toBeGreaterThan(trialsPerRepository / 2);

    // One more run, killed right after it wrote its first index file: those packs must be reused below.
    const repository = await openRepository(openStorage(repo, storageEnv), "crash");
    const indexFiles = async () => (await listAll(repository.storage, "index")).length;
    const indexesBefore = await indexFiles();
    await writeFile(join(source, "late.bin"), randomBytes(40 * 1024 * 1024));
    let running = true;
    const firstIndexWritten = (async () => {
      while (running && (await indexFiles()) === indexesBefore) await sleep(10);
    })();
    const late = await runAgent(["backup", "--json", "--pack-size", "4", source], env, { killWhen: firstIndexWritten });
    running = false;
    expect(late.signal, late.stdout).toBe("SIGKILL");
    await restic("unlock");

    // The completing backup stores exactly the chunks of the new files that no earlier run indexed.
    const indexedBefore = new Set((await new RepositoryReader(repository.key, repository.storage).index()).keys());
    const final = await runAgent(["backup", "--json", "--pack-size", "4", source], env);
    expect(final.status, final.stderr).toBe(0);
    const summary = jsonLines(final.stdout).at(-1)!;
    const reader = new RepositoryReader(repository.key, repository.storage);
    const latest = (await reader.snapshots()).find((snapshot) => snapshot.id === summary.snapshot_id)!;
    const newChunks = new Set<string>();
    for (const name of [...Array.from({ length: trialsPerRepository }, (_, trial) => `new-${trial}.bin`), "late.bin"]) {
      const { node } = await nodeAt(reader, latest, join(source, name));
      for (const id of node?.content ?? []) newChunks.add(id);
    }
    const missing = [...newChunks].filter((id) => !indexedBefore.has(id));
    expect(summary.data_blobs).toBe(missing.length);
    expect(missing.length).toBeLessThan(newChunks.size);
    await repository.storage.close();

    expect((await restic("check", "--read-data")).stdout).toContain("no errors were found");
    const target = join(dir, `restored-${kind}`);
    await restic("restore", firstSnapshot, "--target", target);
    expect(await listFolder(join(target, source))).toEqual(
      firstListing.filter((entry) => entry.path.startsWith("base")),
    );
  });
});
