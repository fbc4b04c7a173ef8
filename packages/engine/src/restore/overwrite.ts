import { createHash } from "node:crypto";
import { constants, type Stats } from "node:fs";
import { lstat, open, readlink } from "node:fs/promises";
import type { BlobLocation } from "../repository/reader.ts";
import { applyEntryMetadata, applyMetadata } from "./metadata.ts";
import { plaintextLength, type RestoreItem } from "./plan.ts";

// Whether a restore replaces what the target already holds at an entry's path.

/**
 * What to do with an entry that already exists in the target. `always` (the default, as restic 0.14 does)
 * replaces it; `if-changed` leaves a file whose contents already match the snapshot's blobs (same size, every
 * chunk's SHA-256 equal to its blob id; mtimes are not trusted) and only sets its metadata, and leaves a symlink
 * with the same target; `never` leaves anything that exists alone. Kept entries count as skipped.
 */
export type OverwritePolicy = "always" | "if-changed" | "never";

/** Whether `policy` keeps what is at the item's path (false when nothing is there). */
export async function keepsExisting(
  item: RestoreItem,
  policy: OverwritePolicy,
  index: ReadonlyMap<string, BlobLocation>,
  signal?: AbortSignal,
): Promise<boolean> {
  if (policy === "always") return false;
  const existing = await lstat(item.path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return null;
    throw error;
  });
  if (!existing) return false;
  if (policy === "never") return true;
  const { node } = item;
  if (node.type === "file" && existing.isFile()) return refreshIfSame(item, existing, index, signal);
  if (node.type === "symlink" && existing.isSymbolicLink()) {
    const target = await readlink(item.path, { encoding: "buffer" });
    if (!target.equals(Buffer.from(node.linktarget ?? ""))) return false;
    await applyEntryMetadata(item.path, node, item.display);
    return true;
  }
  return false;
}

/** `if-changed`: an existing file whose chunks hash to the node's blob ids is kept; only its metadata is set. */
async function refreshIfSame(
  item: RestoreItem,
  existing: Stats,
  index: ReadonlyMap<string, BlobLocation>,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const content = item.node.content ?? [];
  const lengths = content.map((id) => {
    const location = index.get(id);
    return location ? plaintextLength(location) : -1;
  });
  if (lengths.includes(-1) || lengths.reduce((sum, length) => sum + length, 0) !== existing.size) return false;
  const handle = await open(item.path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    let position = 0;
    for (const [i, length] of lengths.entries()) {
      signal?.throwIfAborted();
      const chunk = Buffer.alloc(length);
      const { bytesRead } = await handle.read(chunk, 0, length, position);
      if (bytesRead !== length) return false;
      if (createHash("sha256").update(chunk).digest("hex") !== content[i]) return false;
      position += length;
    }
    await applyMetadata(handle, item.node, item.display);
    return true;
  } finally {
    await handle.close();
  }
}
