import type { BigIntStats } from "node:fs";
import { goNodeTime, type TimeZone } from "./go-time.ts";

// restic's tree node (internal/data/node.go; engine-reference §1.9), field for field in Go's struct order. The JSON
// encoding lives in tree-json.ts; here are the types and how a node is built from lstat.

export type NodeType = "file" | "dir" | "symlink" | "dev" | "chardev" | "fifo" | "socket" | "irregular";

export const nodeTypes: readonly NodeType[] = [
  "file",
  "dir",
  "symlink",
  "dev",
  "chardev",
  "fifo",
  "socket",
  "irregular",
];

/** An extended attribute (xattr). Go writes the value as base64; a nil value as null. */
export type ExtendedAttribute = { name: string; value: Buffer | null };

export type TreeNode = {
  /** The name's bytes exactly as the file system gave them (not necessarily UTF-8). */
  name: Buffer;
  type: NodeType;
  /** Go's fs.FileMode bits (goFileMode); 0 is left out of the JSON (omitempty). */
  mode?: number;
  /** RFC3339Nano as Go writes it (go-time.ts), always present. */
  mtime: string;
  atime: string;
  ctime: string;
  /** uint32, always present. */
  uid: number;
  gid: number;
  user?: string;
  group?: string;
  /** uint64 values: inodes and device numbers exceed 2^53, so bigint. 0 is left out (omitempty). */
  inode?: bigint;
  deviceId?: bigint;
  size?: bigint;
  links?: bigint;
  /**
   * Symlink target bytes. A string is taken as its UTF-8 bytes. When they are not valid UTF-8, `linktarget` holds
   * them with U+FFFD replacements (Go's JSON) and restic ≥ 0.16 adds `linktarget_raw` with the exact bytes.
   */
  linktarget?: Buffer | string;
  extendedAttributes?: ExtendedAttribute[];
  /** restic ≥ 0.17 (Windows): attribute name → its value as raw JSON text. Written with sorted keys. */
  genericAttributes?: Record<string, string>;
  /** st_rdev of devices. */
  device?: bigint;
  /** Data blob ids of a file, in order: [] for an empty file, null for everything else. Always written. */
  content: string[] | null;
  /** Tree blob id of a directory's contents. */
  subtree?: string;
  error?: string;
};

// Go's fs.FileMode type bits, as restic stores them (mode & (ModePerm|ModeType|ModeSetuid|ModeSetgid|ModeSticky)).
const goModeBits = {
  dir: 2 ** 31,
  symlink: 1 << 27,
  device: 1 << 26,
  namedPipe: 1 << 25,
  socket: 1 << 24,
  setuid: 1 << 23,
  setgid: 1 << 22,
  charDevice: 1 << 21,
  sticky: 1 << 20,
  irregular: 1 << 19,
};

export function nodeTypeOf(stats: BigIntStats): NodeType {
  if (stats.isFile()) return "file";
  if (stats.isDirectory()) return "dir";
  if (stats.isSymbolicLink()) return "symlink";
  if (stats.isCharacterDevice()) return "chardev";
  if (stats.isBlockDevice()) return "dev";
  if (stats.isFIFO()) return "fifo";
  if (stats.isSocket()) return "socket";
  return "irregular";
}

/** Unix st_mode → Go's FileMode: permission bits, type bits, and setuid/setgid/sticky moved to Go's positions. */
export function goFileMode(stats: BigIntStats): number {
  const mode = Number(stats.mode);
  let go = mode & 0o777;
  if (mode & 0o4000) go += goModeBits.setuid;
  if (mode & 0o2000) go += goModeBits.setgid;
  if (mode & 0o1000) go += goModeBits.sticky;
  switch (nodeTypeOf(stats)) {
    case "dir":
      return go + goModeBits.dir;
    case "symlink":
      return go + goModeBits.symlink;
    case "dev":
      return go + goModeBits.device;
    case "chardev":
      return go + goModeBits.device + goModeBits.charDevice;
    case "fifo":
      return go + goModeBits.namedPipe;
    case "socket":
      return go + goModeBits.socket;
    case "irregular":
      return go + goModeBits.irregular;
    default:
      return go;
  }
}

export type NodeFromStatsOptions = {
  user?: string;
  group?: string;
  /** Zone the times are written in; restic uses the local zone. */
  zone?: TimeZone;
};

/**
 * A node from lstat results ({ bigint: true }), as restic's NodeFromFileInfo fills it on Unix. As restic does by
 * default, atime is recorded as the mtime (keeps trees stable across reads). `content`, `subtree` and `linktarget`
 * are the caller's to fill in.
 */
export function nodeFromStats(name: Buffer, stats: BigIntStats, options: NodeFromStatsOptions = {}): TreeNode {
  const type = nodeTypeOf(stats);
  const zone = options.zone ?? "local";
  const mtime = goNodeTime(stats.mtimeNs, zone);
  const node: TreeNode = {
    name,
    type,
    mode: goFileMode(stats),
    mtime,
    atime: mtime,
    ctime: goNodeTime(stats.ctimeNs, zone),
    uid: Number(stats.uid),
    gid: Number(stats.gid),
    content: type === "file" ? [] : null,
  };
  if (options.user) node.user = options.user;
  if (options.group) node.group = options.group;
  node.inode = stats.ino;
  node.deviceId = stats.dev;
  if (type === "file") node.size = stats.size;
  // restic's fillExtra records the link count for files, symlinks and devices only.
  if (type === "file" || type === "symlink" || type === "dev" || type === "chardev") node.links = stats.nlink;
  if (type === "dev" || type === "chardev") node.device = stats.rdev;
  return node;
}
