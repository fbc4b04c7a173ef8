import { execFile, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { isEngineError } from "../src/errors.ts";
import { listLocks, lockRepository, removeStaleLocks } from "../src/repository/lock.ts";
import { initLocalRepository } from "../src/repository/repository.ts";
import { encodeUnpacked } from "../src/repository/unpacked.ts";
import { formatGoTime, nowNanoseconds } from "../src/tree/go-time.ts";

// Our locks and restic's exclude each other: restic will not prune under our backup lock, we will not take an
// exclusive lock beside another holder, and a lock left by a dead process is stale for both tools.

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), "e3-lock-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("repository locks", () => {
  it("follow restic's protocol in both directions", async () => {
    const repo = join(dir, "repo");
    const password = "lock interop";
    const repository = await initLocalRepository(repo, password);
    const restic = (...args: string[]) =>
      run("restic", ["--no-cache", "-r", repo, ...args], { env: { ...process.env, RESTIC_PASSWORD: password } });

    // restic names every file by the SHA-256 of its bytes and verifies that on load.
    const saveLock = async (sealed: Buffer) => {
      const name = createHash("sha256").update(sealed).digest("hex");
      await repository.storage.save({ type: "lock", name }, sealed);
      return name;
    };

    const shared = await lockRepository(repository, { exclusive: false });
    // restic reads our lock: its exclusive prune refuses, its non-exclusive list goes ahead beside us.
    const prune = await restic("prune").catch((error: { stderr: string }) => error);
    expect((prune as { stderr: string }).stderr).toMatch(/locked/);
    await restic("list", "snapshots");
    // A second shared lock is fine; an exclusive one is refused with the holder named.
    const second = await lockRepository(repository, { exclusive: false });
    const refused = await lockRepository(repository, { exclusive: true }).catch((error: unknown) => error);
    expect(isEngineError(refused, "REPO_LOCKED")).toBe(true);
    expect((refused as Error).message).toContain(`pid ${process.pid}`);

    // Refreshing replaces the file; releasing removes it.
    const before = shared.id;
    await shared.refresh();
    expect(shared.id).not.toBe(before);
    expect((await listLocks(repository)).map((lock) => lock.id).sort()).toEqual([shared.id, second.id].sort());
    await shared.release();
    await second.release();
    expect(await listLocks(repository)).toEqual([]);
    await restic("prune");

    // A lock of a process that has exited, on this host, is stale: we lock past it and restic's unlock removes it.
    const deadPid = spawnSync("true").pid;
    const staleLock = encodeUnpacked(repository.key, {
      time: formatGoTime(nowNanoseconds()),
      exclusive: true,
      hostname: hostname(),
      username: "gone",
      pid: deadPid,
    });
    await saveLock(staleLock);
    const exclusive = await lockRepository(repository, { exclusive: true });
    await exclusive.release();
    await restic("unlock");
    expect(await listLocks(repository)).toEqual([]);

    // An old lock from another host is stale too; a fresh one from another host is not.
    const otherHost = (time: string) =>
      encodeUnpacked(repository.key, { time, exclusive: false, hostname: "elsewhere", pid: 1 });
    await saveLock(otherHost("2020-01-01T00:00:00Z"));
    const fresh = await saveLock(otherHost(formatGoTime(nowNanoseconds())));
    expect(await removeStaleLocks(repository)).toBe(1);
    expect((await listLocks(repository)).map((lock) => lock.id)).toEqual([fresh]);
    const blocked = await lockRepository(repository, { exclusive: true }).catch((error: unknown) => error);
    expect((blocked as Error).message).toContain("@elsewhere");
  });

  it("do the reads given for the settling wait once the lock file is written, and fail with them", async () => {
    const repository = await initLocalRepository(join(dir, "settling"), "settling");
    const lockCount = async () => (await listLocks(repository)).length;
    let seen = -1;
    const shared = await lockRepository(repository, {
      exclusive: false,
      whileSettling: async () => {
        seen = await lockCount();
      },
    });
    expect(seen).toBe(1);
    await shared.release();

    // Another host's exclusive lock that appears while ours settles: the attempt fails and takes its file away.
    const otherExclusive = encodeUnpacked(repository.key, {
      time: formatGoTime(nowNanoseconds()),
      exclusive: true,
      hostname: "elsewhere",
      pid: 1,
    });
    const raced = await lockRepository(repository, {
      exclusive: false,
      whileSettling: () =>
        repository.storage.save(
          { type: "lock", name: createHash("sha256").update(otherExclusive).digest("hex") },
          otherExclusive,
        ),
    }).catch((error: unknown) => error);
    expect(isEngineError(raced, "REPO_LOCKED")).toBe(true);
    expect(await lockCount()).toBe(1);
    await repository.storage.remove({ type: "lock", name: (await listLocks(repository))[0]?.id ?? "" });

    const unreadable = await lockRepository(repository, {
      exclusive: false,
      whileSettling: () => Promise.reject(new Error("index unreadable")),
    }).catch((error: unknown) => error);
    expect((unreadable as Error).message).toBe("index unreadable");
    expect(await lockCount()).toBe(0);
  });
});
