import { createHash } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { z } from "zod";
import { EngineError } from "../errors.ts";
import { sleep } from "../storage/backend.ts";
import { isStorageError } from "../storage/errors.ts";
import { formatGoTime, nowNanoseconds } from "../tree/go-time.ts";
import type { Repository } from "./repository.ts";
import { decodeUnpacked, encodeUnpacked } from "./unpacked.ts";

// restic's lock protocol (engine-reference §1.11), so e3 and restic never step on each other: backup and restore take
// a non-exclusive lock, forget and prune an exclusive one. Taking a lock: look for conflicting locks, write ours, wait
// a moment, look again (two processes racing both see each other). A lock is stale when its time is more than 30
// minutes old, or when it was written on this host by a process that no longer exists; holders refresh it every 5
// minutes by writing a new lock file and removing the old one, as restic does.

export const staleAfterMs = 30 * 60_000;
export const refreshEveryMs = 5 * 60_000;
const settleMs = 200;

const lockSchema = z.object({
  time: z.string(),
  exclusive: z.boolean(),
  hostname: z.string(),
  username: z.string().optional(),
  pid: z.number().int(),
  uid: z.number().int().optional(),
  gid: z.number().int().optional(),
});
export type LockInfo = z.infer<typeof lockSchema> & { id: string };

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function isStaleLock(lock: LockInfo, now = Date.now()): boolean {
  const time = Date.parse(lock.time);
  if (Number.isNaN(time) || now - time > staleAfterMs) return true;
  return lock.hostname === hostname() && !processExists(lock.pid);
}

/** Every lock in the repository; a lock removed while we list it was released and is left out. */
export async function listLocks({ storage, key }: Repository): Promise<LockInfo[]> {
  const locks: LockInfo[] = [];
  for await (const { name } of storage.list("lock")) {
    let sealed: Buffer;
    try {
      sealed = await storage.load({ type: "lock", name });
    } catch (error) {
      if (isStorageError(error, "NOT_FOUND")) continue;
      throw error;
    }
    const parsed = lockSchema.safeParse(decodeUnpacked(key, sealed, `lock ${name}`));
    if (!parsed.success) throw new EngineError("INVALID_CIPHERTEXT", `lock ${name} is not a restic lock`);
    locks.push({ id: name, ...parsed.data });
  }
  return locks;
}

function describeLock(lock: LockInfo): string {
  return `${lock.exclusive ? "an exclusive" : "a"} lock held by ${lock.username ?? "?"}@${lock.hostname} (pid ${lock.pid}) since ${lock.time}`;
}

function currentUser(): { username: string; uid: number; gid: number } {
  try {
    const user = userInfo();
    return { username: user.username, uid: user.uid, gid: user.gid };
  } catch {
    return { username: "", uid: -1, gid: -1 };
  }
}

async function writeLock({ storage, key }: Repository, exclusive: boolean): Promise<string> {
  const user = currentUser();
  // Go's field order (restic's restic.Lock); uid/gid only where the platform has them.
  const sealed = encodeUnpacked(key, {
    time: formatGoTime(nowNanoseconds()),
    exclusive,
    hostname: hostname(),
    username: user.username,
    pid: process.pid,
    ...(user.uid >= 0 ? { uid: user.uid, gid: user.gid } : {}),
  });
  const id = createHash("sha256").update(sealed).digest("hex");
  await storage.save({ type: "lock", name: id }, sealed);
  return id;
}

export type RepositoryLock = {
  /** The current lock file's id (it changes on every refresh). */
  readonly id: string;
  readonly exclusive: boolean;
  /** Replaces the lock file with a fresh one; done every 5 minutes by itself until release. */
  refresh(): Promise<void>;
  /** Removes the lock file and stops refreshing. */
  release(): Promise<void>;
};

export type LockOptions = {
  exclusive: boolean;
  signal?: AbortSignal;
  /** Keep trying this long while another process holds a conflicting lock (restic's --retry-lock); 0 by default. */
  waitMs?: number;
  /**
   * Reads to do while the new lock settles, instead of after it (a backup loads the index meanwhile). By then our lock
   * file is written and no conflicting lock was there, so an exclusive lock taken later either shows up in our second
   * look (and this attempt fails) or finds ours in its own (and gives way before changing anything): what is read
   * stays valid. A failure here fails the attempt and removes its lock file.
   */
  whileSettling?: () => Promise<unknown>;
};

/**
 * Takes a lock, or fails with REPO_LOCKED naming who holds the conflicting one. With `waitMs`, a conflict is retried
 * with a growing pause (1 s doubling to 30 s) until the time is up.
 */
export async function lockRepository(repository: Repository, options: LockOptions): Promise<RepositoryLock> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (let pause = 1000; ; pause = Math.min(pause * 2, 30_000)) {
    try {
      return await tryLock(repository, options);
    } catch (error) {
      const left = deadline - Date.now();
      if (!(error instanceof EngineError && error.code === "REPO_LOCKED") || left <= 0) throw error;
      await sleep(Math.min(pause, left), options.signal);
    }
  }
}

async function tryLock(repository: Repository, options: LockOptions): Promise<RepositoryLock> {
  const { storage } = repository;
  const assertNoConflict = async (own?: string) => {
    const conflict = (await listLocks(repository)).find(
      (lock) => lock.id !== own && (options.exclusive || lock.exclusive) && !isStaleLock(lock),
    );
    if (conflict) {
      throw new EngineError(
        "REPO_LOCKED",
        `${storage.location()} is locked: ${describeLock(conflict)}; wait for it to finish, or remove a stale lock with 'unlock'`,
      );
    }
  };
  await assertNoConflict();
  let id = await writeLock(repository, options.exclusive);
  const removeLockFile = (name: string) => storage.remove({ type: "lock", name }).catch(() => {});
  try {
    await Promise.all([sleep(settleMs, options.signal), options.whileSettling?.()]);
    await assertNoConflict(id);
  } catch (error) {
    await removeLockFile(id);
    throw error;
  }
  let released = false;
  const refresh = async () => {
    if (released) return;
    const previous = id;
    id = await writeLock(repository, options.exclusive);
    await removeLockFile(previous);
  };
  // A failed refresh is retried at the next tick; the lock only goes stale after 30 minutes without one.
  const timer = setInterval(() => refresh().catch(() => {}), refreshEveryMs);
  timer.unref();
  return {
    get id() {
      return id;
    },
    exclusive: options.exclusive,
    refresh,
    release: async () => {
      released = true;
      clearInterval(timer);
      await removeLockFile(id);
    },
  };
}

/** Runs `work` under a lock that is released however `work` ends. */
export async function withLock<T>(repository: Repository, options: LockOptions, work: () => Promise<T>): Promise<T> {
  const lock = await lockRepository(repository, options);
  try {
    return await work();
  } finally {
    await lock.release();
  }
}

/** Removes stale locks (restic's `unlock`); returns how many were removed. */
export async function removeStaleLocks(repository: Repository): Promise<number> {
  let removed = 0;
  for (const lock of await listLocks(repository)) {
    if (!isStaleLock(lock)) continue;
    await repository.storage.remove({ type: "lock", name: lock.id });
    removed += 1;
  }
  return removed;
}
