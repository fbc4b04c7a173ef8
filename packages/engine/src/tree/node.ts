import type { BigIntStats } from "node:fs";
import type { NodeType, TreeNode } from "./tree-json.ts";

// Building tree nodes from what the file system says (engine-reference §1.9 field rules).

/** Go's RFC3339Nano in UTC: nanoseconds with trailing zeros trimmed (and no fraction at all when zero). */
export function formatGoTime(nanoseconds: bigint): string {
  const seconds = nanoseconds / 1_000_000_000n;
  const fraction = nanoseconds % 1_000_000_000n;
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  const digits = fraction.toString().padStart(9, "0").replace(/0+$/, "");
  return `${base}${digits ? `.${digits}` : ""}Z`;
}

// Go's fs.FileMode type bits, as restic stores them.
const goModeBits = {
  dir: 1 << 31,
  symlink: 1 << 27,
  device: 1 << 26,
  namedPipe: 1 << 25,
  socket: 1 << 24,
  charDevice: 1 << 21,
};
const goSetuid = 1 << 23;
const goSetgid = 1 << 22;
const goSticky = 1 << 20;

function nodeType(stats: BigIntStats): NodeType {
  if (stats.isFile()) return "file";
  if (stats.isDirectory()) return "dir";
  if (stats.isSymbolicLink()) return "symlink";
  if (stats.isCharacterDevice()) return "chardev";
  if (stats.isBlockDevice()) return "dev";
  if (stats.isFIFO()) return "fifo";
  if (stats.isSocket()) return "socket";
  return "irregular";
}

/** Unix st_mode → Go's FileMode (permission bits, type bits, setuid/setgid/sticky moved to Go's positions). */
export function goFileMode(stats: BigIntStats): number {
  const mode = Number(stats.mode);
  let go = mode & 0o777;
  if (mode & 0o4000) go |= goSetuid;
  if (mode & 0o2000) go |= goSetgid;
  if (mode & 0o1000) go |= goSticky;
  const type = nodeType(stats);
  if (type === "dir") go |= goModeBits.dir;
  else if (type === "symlink") go |= goModeBits.symlink;
  else if (type === "dev") go |= goModeBits.device;
  else if (type === "chardev") go |= goModeBits.device | goModeBits.charDevice;
  else if (type === "fifo") go |= goModeBits.namedPipe;
  else if (type === "socket") go |= goModeBits.socket;
  return go >>> 0;
}

/**
 * A node from lstat results. As restic does, atime is recorded as the mtime (keeps trees stable across reads);
 * `content`, `subtree` and `linktarget` are filled in by the caller.
 */
export function nodeFromStats(
  name: Buffer,
  stats: BigIntStats,
  names: { user?: string; group?: string } = {},
): TreeNode {
  const type = nodeType(stats);
  const mtime = formatGoTime(stats.mtimeNs);
  return {
    name,
    type,
    mode: goFileMode(stats),
    mtime,
    atime: mtime,
    ctime: formatGoTime(stats.ctimeNs),
    uid: Number(stats.uid),
    gid: Number(stats.gid),
    ...(names.user ? { user: names.user } : {}),
    ...(names.group ? { group: names.group } : {}),
    inode: stats.ino,
    deviceId: stats.dev,
    ...(type === "file" ? { size: stats.size } : {}),
    ...(type === "file" || type === "symlink" || type === "dev" || type === "chardev" ? { links: stats.nlink } : {}),
    ...(type === "dev" || type === "chardev" ? { device: stats.rdev } : {}),
    content: type === "file" ? [] : null,
  };
}
