import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, constants, fchmodSync, fchownSync, futimesSync, openSync } from "node:fs";
import { chmod, type FileHandle, lchown, lstat, lutimes, mkdir, rm } from "node:fs/promises";
import { promisify } from "node:util";
import { EngineError } from "../errors.ts";
import { parseGoTime } from "../tree/go-time.ts";
import type { TreeNode } from "../tree/node.ts";

// The file-system side of a restore: Go's mode bits back to Unix ones, node times to what utimes takes, metadata
// applied through file descriptors opened without following symlinks, and new entries made under a temporary name
// beside their final one, so nothing half-made ever carries a final name.

const runFile = promisify(execFile);

// Go's fs.FileMode bits for the special permission bits (restic stores Go's FileMode, engine-reference §1.9).
const goSetuid = 1 << 23;
const goSetgid = 1 << 22;
const goSticky = 1 << 20;

/** Unix permission bits (with setuid/setgid/sticky) from a node's Go FileMode. */
export function unixPermissions(goMode: number | undefined): number {
  const mode = goMode ?? 0;
  let unix = mode & 0o777;
  if (mode & goSetuid) unix |= 0o4000;
  if (mode & goSetgid) unix |= 0o2000;
  if (mode & goSticky) unix |= 0o1000;
  return unix;
}

/**
 * A node time as utimes takes it. utimes takes seconds as a double (about a quarter microsecond of precision
 * today, so nanoseconds are not exact) and turns negative numbers into "now", so times before 1970 go as a Date.
 */
export function utimesValue(time: string, display: string): number | Date {
  const parsed = parseGoTime(time);
  if (!parsed) throw new EngineError("INVALID_TREE", `${display} has the time ${JSON.stringify(time)}, not RFC 3339`);
  const nanoseconds = parsed.nanoseconds;
  if (nanoseconds < 0n) return new Date(Number(nanoseconds / 1_000_000n));
  return Number(nanoseconds / 1_000_000_000n) + Number(nanoseconds % 1_000_000_000n) / 1e9;
}

/** Ownership is restored only by root, as restic does: anyone else would just fail. */
export const restoresOwnership = process.getuid?.() === 0;

/** Owner, mode and times on an open file or folder (owner first: chown clears setuid and setgid). */
export async function applyMetadata(handle: FileHandle, node: TreeNode, display: string): Promise<void> {
  if (restoresOwnership) await handle.chown(node.uid, node.gid);
  await handle.chmod(unixPermissions(node.mode));
  await handle.utimes(utimesValue(node.atime, display), utimesValue(node.mtime, display));
}

/** applyMetadata on a descriptor, synchronously (a restore's files: no thread pool round trip per call). */
export function applyMetadataSync(fd: number, node: TreeNode, display: string): void {
  if (restoresOwnership) fchownSync(fd, node.uid, node.gid);
  fchmodSync(fd, unixPermissions(node.mode));
  futimesSync(fd, utimesValue(node.atime, display), utimesValue(node.mtime, display));
}

/**
 * Metadata of an entry that cannot be opened for it: a symlink (owner and times of the link itself; Linux has no
 * symlink modes) or a fifo or device just made under a temporary name (opening a fifo would block).
 */
export async function applyEntryMetadata(path: Buffer, node: TreeNode, display: string): Promise<void> {
  if (restoresOwnership) await lchown(path, node.uid, node.gid);
  if (node.type !== "symlink") await chmod(path, unixPermissions(node.mode));
  await lutimes(path, utimesValue(node.atime, display), utimesValue(node.mtime, display));
}

/**
 * A folder's metadata, through a descriptor that refuses to follow a symlink put in the folder's place. Synchronous
 * like the files' (file-writer.ts): as asynchronous calls, 1 000 folders took 0.37 s.
 */
export function applyDirectoryMetadata(path: Buffer, node: TreeNode, display: string): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    applyMetadataSync(fd, node, display);
  } finally {
    closeSync(fd);
  }
}

// Random per process, counted per name: unique without a random draw per file (the names are created O_EXCL).
// Always `.e3-restore-` and 16 hex digits, the shape removeLeftovers recognises.
const temporaryPrefix = `.e3-restore-${randomBytes(4).toString("hex")}`;
let temporaryCount = 0;

/** A fresh name in the folder of `path`, for building an entry before it takes its final name by rename. */
export function temporaryPath(path: Buffer): Buffer {
  const folder = path.subarray(0, path.lastIndexOf(0x2f) + 1);
  const count = (temporaryCount++ % 2 ** 32).toString(16).padStart(8, "0");
  return Buffer.concat([folder, Buffer.from(`${temporaryPrefix}${count}`)]);
}

/**
 * Makes `path` a real folder (never a symlink to one). An existing non-folder in its place is removed when
 * `replace`, else an error: restoring through it could write outside the target.
 */
export async function ensureDirectory(path: Buffer, replace: boolean, display: string): Promise<void> {
  try {
    await mkdir(path, { mode: 0o700 });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  if ((await lstat(path)).isDirectory()) return;
  if (!replace) {
    throw new EngineError("INVALID_ARGUMENT", `${display} exists in the target and is not a folder; left alone`);
  }
  await rm(path, { force: true });
  await mkdir(path, { mode: 0o700 });
}

/**
 * A fifo or device node at `path` with mknod(1): Node has no mknod. Devices need root (CAP_MKNOD); the error
 * says so when that is missing.
 */
export async function makeSpecialFile(path: Buffer, node: TreeNode): Promise<void> {
  const name = path.toString();
  if (!Buffer.from(name).equals(path)) {
    throw new EngineError("INVALID_ARGUMENT", "special files are restored only under UTF-8 paths");
  }
  if (node.type === "fifo") {
    await runFile("mknod", [name, "p"]);
    return;
  }
  // Linux's dev_t: major in bits 8-19 and 32-63, minor in bits 0-7 and 20-31 (glibc's gnu_dev_major/minor).
  const device = node.device ?? 0n;
  const major = ((device >> 8n) & 0xfffn) | ((device >> 32n) & ~0xfffn);
  const minor = (device & 0xffn) | ((device >> 12n) & ~0xffn);
  await runFile("mknod", [name, node.type === "chardev" ? "c" : "b", String(major), String(minor)]);
}
