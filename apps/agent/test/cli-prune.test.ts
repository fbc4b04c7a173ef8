import { execFile } from "node:child_process";
import { createCipheriv } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import {
  LocalBackend,
  listAll,
  listLocks,
  lockRepository,
  maintain,
  nodeAt,
  openRepository,
  pathOf,
  RepositoryReader,
} from "@e3/engine";
import { afterAll, describe, expect, it } from "vitest";
import { listFolder } from "../../../packages/engine/test/fs-listing.ts";
import { jsonLines, runAgent } from "./agent-cli.ts";

// prune, check, repair index and forget --prune as an operator runs them, and maintenance beside a running backup:
// the backup keeps its lock, full maintenance waits for it, and afterwards restic checks the repository and the
// backup's snapshot restores exactly; a backup started while maintenance holds the repository is refused at once.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-cli-prune-"));
afterAll(() => rm(dir, { recursive: true, force: true }));
const password = "cli prune";
const restic = (repo: string, ...args: string[]) =>
  run("restic", ["--no-cache", "-r", repo, ...args], {
    env: { ...process.env, RESTIC_PASSWORD: password },
    maxBuffer: 1 << 26,
  });

function noise(seed: number, size: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32LE(seed);
  return createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

async function backups(repo: string, source: string, count: number): Promise<string[]> {
  const env = { E3_REPOSITORY: repo, E3_PASSWORD: password };
  expect((await runAgent(["init"], env)).status).toBe(0);
  const ids: string[] = [];
  for (let n = 0; n < count; n++) {
    await rm(source, { recursive: true, force: true });
    await mkdir(join(source, "keep"), { recursive: true });
    await writeFile(join(source, "keep", "same.bin"), noise(1, 2_000_000));
    await writeFile(join(source, `gen-${n}.bin`), noise(10 + n, 3_000_000));
    const result = await runAgent(["backup", "--json", "--pack-size", "4", source], env);
    expect(result.status, result.stderr).toBe(0);
    ids.push(String(jsonLines(result.stdout).at(-1)?.snapshot_id));
  }
  return ids;
}

describe("e3-backup-agent prune, check, repair", () => {
  it("forget --prune, prune, check and repair index agree with restic", { timeout: 180_000 }, async () => {
    const repo = join(dir, "repo");
    const source = join(dir, "source");
    const env = { E3_REPOSITORY: repo, E3_PASSWORD: password };
    const ids = await backups(repo, source, 4);

    const forgotten = await runAgent(["forget", "--keep-last", "2", "--prune", "--json"], env);
    expect(forgotten.status, forgotten.stderr).toBe(0);
    const lines = forgotten.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as unknown);
    const pruned = lines.at(-1) as Record<string, unknown> | undefined;
    expect((lines[0] as unknown[]).length).toBe(1);
    expect(pruned?.message_type).toBe("prune_summary");
    expect((pruned?.packs as { deleted: number } | undefined)?.deleted).toBeGreaterThan(0);
    expect((await restic(repo, "check", "--read-data")).stdout).toContain("no errors were found");
    const listed = JSON.parse((await restic(repo, "snapshots", "--json")).stdout) as { id: string }[];
    expect(listed.map((snapshot) => snapshot.id).sort()).toEqual(ids.slice(2).sort());

    const text = await runAgent(["prune", "--max-unused", "0%"], env);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/deleted 0 packs/);
    expect((await runAgent(["prune", "--max-unused", "lots"], env)).stderr).toMatch(/--max-unused takes a percentage/);
    expect((await runAgent(["check", "--read-data-subset", "half"], env)).status).toBe(1);

    const checked = await runAgent(["check", "--read-data", "--json"], env);
    expect(checked.status, checked.stdout).toBe(0);
    const report = jsonLines(checked.stdout).at(-1)!;
    expect(report.message_type).toBe("check_summary");
    expect(report.ok).toBe(true);
    expect((await runAgent(["check", "--read-data-subset", "1/3"], env)).stdout).toContain("no errors were found");

    // A pack gone: check exits 1 naming the snapshot and the file.
    const repository = await openRepository(new LocalBackend(repo), password);
    const reader = new RepositoryReader(repository.key, repository.storage);
    const latest = (await reader.snapshots()).at(-1)!;
    const { node } = await nodeAt(reader, latest, join(source, "gen-3.bin"));
    const pack = (await reader.index()).get(node!.content![0]!)!.pack;
    await rm(join(repo, pathOf({ type: "data", name: pack })));
    const damaged = await runAgent(["check"], env);
    expect(damaged.status).toBe(1);
    expect(damaged.stdout).toContain(`snapshot ${latest.id.slice(0, 8)}`);
    expect(damaged.stdout).toContain(`file ${join(source, "gen-3.bin")}`);
    expect(damaged.stdout).not.toContain("same.bin");

    // repair index drops the lost pack from the index: restic's check then names only the missing blobs.
    const repaired = await runAgent(["repair", "index", "--json"], env);
    expect(repaired.status, repaired.stderr).toBe(0);
    expect(jsonLines(repaired.stdout).at(-1)?.message_type).toBe("repair_index_summary");
    const after = await runAgent(["check", "--json"], env);
    expect(after.status).toBe(1);
    const errors = ((jsonLines(after.stdout).at(-1)?.errors ?? []) as { kind: string }[]).map((error) => error.kind);
    expect(new Set(errors)).toEqual(new Set(["missing-blob"]));
    expect((await runAgent(["repair", "nothing"], env)).status).toBe(1);
  });

  it("prune's --max-repack-size and --repack-uncompressed, also through forget --prune", {
    timeout: 180_000,
  }, async () => {
    const repo = join(dir, "uncompressed");
    const source = join(dir, "uncompressed-source");
    const env = { E3_REPOSITORY: repo, E3_PASSWORD: password };
    await restic(repo, "init");
    for (let n = 0; n < 3; n++) {
      await rm(source, { recursive: true, force: true });
      await mkdir(source, { recursive: true });
      await writeFile(join(source, "text.txt"), `generation ${n} of a text that compresses\n`.repeat(50_000));
      await writeFile(join(source, "same.bin"), noise(1, 1_000_000));
      await restic(repo, "backup", "--compression", "off", source);
    }

    const usage = await runAgent(["forget", "--keep-last", "1", "--repack-uncompressed"], env);
    expect(usage.status).toBe(1);
    expect(usage.stderr).toContain("--repack-uncompressed goes with --prune");
    const badSize = await runAgent(["prune", "--max-repack-size", "lots"], env);
    expect(badSize.status).toBe(1);
    expect(badSize.stderr).toMatch(/--max-repack-size must be a size/);

    const forgotten = await runAgent(
      ["forget", "--keep-last", "1", "--prune", "--max-repack-size", "0", "--json"],
      env,
    );
    expect(forgotten.status, forgotten.stderr).toBe(0);
    const pruned = jsonLines(forgotten.stdout).at(-1) as { packs: { deleted: number; repacked: number } };
    expect(pruned.packs.repacked).toBe(0);
    expect((await restic(repo, "check")).stdout).toContain("no errors were found");

    const compressed = await runAgent(["prune", "--repack-uncompressed", "--max-repack-size", "100m"], env);
    expect(compressed.status, compressed.stderr).toBe(0);
    expect(compressed.stdout).toMatch(/compressed \d+ blobs stored uncompressed/);
    expect((await restic(repo, "check", "--read-data")).stdout).toContain("no errors were found");
    const again = await runAgent(["prune", "--repack-uncompressed", "--dry-run", "--json"], env);
    expect(jsonLines(again.stdout).at(-1)).toMatchObject({ packs: { repacked: 0 }, blobs: { compressed: 0 } });
  });
});

describe("maintenance beside a running backup", () => {
  it("waits for the backup, deletes none of its data, and a backup during maintenance is refused", {
    timeout: 180_000,
  }, async () => {
    const repo = join(dir, "busy");
    const source = join(dir, "busy-source");
    const env = { E3_REPOSITORY: repo, E3_PASSWORD: password };
    await backups(repo, source, 3);
    const repository = await openRepository(new LocalBackend(repo), password);

    // A long backup: 120 MB of new data.
    for (let i = 0; i < 6; i++) await writeFile(join(source, `large-${i}.bin`), noise(500 + i, 20_000_000));
    const expected = await listFolder(source);
    let backupEnded = 0;
    const running = runAgent(["backup", "--json", "--pack-size", "4", source], env).then((result) => {
      backupEnded = Date.now();
      return result;
    });
    while ((await listLocks(repository)).length === 0) await sleep(20);
    // Its packs are on the way before maintenance asks for the lock.
    while ((await listAll(repository.storage, "data")).length < 8) await sleep(50);
    const phases: string[] = [];
    const summary = await maintain(repository, {
      kind: "full",
      retention: { keepLast: 1 },
      lockWaitMs: 120_000,
      onProgress: (progress) => phases.push(progress.phase),
    });
    const maintained = Date.now();
    const finished = await running;
    expect(finished.status, finished.stderr).toBe(0);
    expect(backupEnded).toBeLessThan(maintained);
    expect(phases).toContain("waiting for the exclusive lock");
    const snapshotId = String(jsonLines(finished.stdout).at(-1)?.snapshot_id);
    // keep-last 1 keeps exactly the backup that was running; the other three are gone with their data.
    expect(summary.snapshotsRemoved).toBe(3);
    expect(summary.check?.ok).toBe(true);
    expect(summary.packsDeleted + summary.packsRepacked).toBeGreaterThan(0);

    expect((await restic(repo, "check", "--read-data")).stdout).toContain("no errors were found");
    const target = join(dir, "busy-restore");
    await restic(repo, "restore", snapshotId, "--target", target);
    expect(await listFolder(join(target, source))).toEqual(expected);

    // Maintenance holding the repository: a backup declines at once, naming the lock.
    const exclusive = await lockRepository(repository, { exclusive: true });
    const refused = await runAgent(["backup", source], env);
    await exclusive.release();
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/locked.*exclusive lock/);
  });
});
