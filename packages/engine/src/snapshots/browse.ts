import { PatternList } from "../archiver/patterns.ts";
import { EngineError } from "../errors.ts";
import type { RepositoryReader } from "../repository/reader.ts";
import type { Snapshot } from "../repository/snapshot.ts";
import type { NodeType, TreeNode } from "../tree/node.ts";

// Looking into snapshots without restoring them: pick a snapshot the way restic's CLI does (full id, unique prefix,
// or "latest"), list a folder of it (the portal's file browser), walk it (ls), and find files by pattern across
// snapshots. Paths are the snapshot's own: absolute, "/"-separated, names decoded as UTF-8 for display.

export type SnapshotWithId = Snapshot & { id: string };

/** Where tree blobs come from: a RepositoryReader, or a TreeCache (tree-cache.ts) in front of one. */
export type TreeSource = { tree(id: string): Promise<TreeNode[]> };

export type SnapshotFilter = { hostname?: string; paths?: string[]; tags?: string[] };

function matchesFilter(snapshot: SnapshotWithId, filter: SnapshotFilter): boolean {
  if (filter.hostname && snapshot.hostname !== filter.hostname) return false;
  if (filter.paths?.length && !filter.paths.every((path) => snapshot.paths.includes(path))) return false;
  if (filter.tags?.length && !filter.tags.every((tag) => snapshot.tags?.includes(tag))) return false;
  return true;
}

/** Snapshots oldest first, filtered by host, paths and tags (all given ones must match). */
export async function listSnapshots(reader: RepositoryReader, filter: SnapshotFilter = {}): Promise<SnapshotWithId[]> {
  return (await reader.snapshots()).filter((snapshot) => matchesFilter(snapshot, filter));
}

/** A snapshot by full id, unique id prefix, or "latest" (the newest matching the filter). */
export async function findSnapshot(
  reader: RepositoryReader,
  reference: string,
  filter: SnapshotFilter = {},
): Promise<SnapshotWithId> {
  const snapshots = await listSnapshots(reader, filter);
  if (reference === "latest") {
    const latest = snapshots.at(-1);
    if (!latest) throw new EngineError("SNAPSHOT_NOT_FOUND", "the repository has no snapshot (matching the filter)");
    return latest;
  }
  if (!/^[0-9a-f]{1,64}$/.test(reference)) {
    throw new EngineError(
      "SNAPSHOT_NOT_FOUND",
      `${JSON.stringify(reference)} is not a snapshot id, prefix or "latest"`,
    );
  }
  const matches = snapshots.filter((snapshot) => snapshot.id.startsWith(reference));
  if (matches.length === 1) return matches[0] as SnapshotWithId;
  throw new EngineError(
    "SNAPSHOT_NOT_FOUND",
    matches.length === 0
      ? `no snapshot ${reference}; list them with 'snapshots'`
      : `${reference} is the start of ${matches.length} snapshot ids; give more characters`,
  );
}

export type SnapshotEntry = {
  /** Absolute path inside the snapshot. */
  path: string;
  name: string;
  type: NodeType;
  size: number;
  /** Unix permission bits (with setuid/setgid/sticky). */
  mode: number;
  mtime: string;
  linkTarget?: string;
  /** Tree id of a folder, for browsing further without re-walking from the root. */
  subtree?: string;
};

/** Go FileMode's setuid/setgid/sticky bits back to Unix positions. */
export function unixMode(mode: number | undefined): number {
  const go = mode ?? 0;
  let unix = go & 0o777;
  if (go & (1 << 23)) unix |= 0o4000;
  if (go & (1 << 22)) unix |= 0o2000;
  if (go & (1 << 20)) unix |= 0o1000;
  return unix;
}

export function entryOf(parent: string, node: TreeNode): SnapshotEntry {
  const name = node.name.toString("utf8");
  const entry: SnapshotEntry = {
    path: parent === "/" ? `/${name}` : `${parent}/${name}`,
    name,
    type: node.type,
    size: Number(node.size ?? 0n),
    mode: unixMode(node.mode),
    mtime: node.mtime,
  };
  if (node.linktarget !== undefined) entry.linkTarget = node.linktarget.toString();
  if (node.subtree) entry.subtree = node.subtree;
  return entry;
}

export function splitPath(path: string): string[] {
  const parts = path.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes(".."))
    throw new EngineError("INVALID_ARGUMENT", `${path}: ".." is not allowed in a snapshot path`);
  return parts;
}

/** The node at `path` in the snapshot (null for the root itself); PATH_NOT_FOUND when it is not there. */
export async function nodeAt(
  reader: TreeSource,
  snapshot: { tree: string },
  path: string,
): Promise<{ node: TreeNode | null; path: string }> {
  let node: TreeNode | null = null;
  let tree: string | undefined = snapshot.tree;
  const walked: string[] = [];
  for (const part of splitPath(path)) {
    if (!tree) throw new EngineError("PATH_NOT_FOUND", `/${walked.join("/")} is not a folder in this snapshot`);
    const nodes = await reader.tree(tree);
    node = nodes.find((candidate) => candidate.name.toString("utf8") === part) ?? null;
    walked.push(part);
    if (!node) throw new EngineError("PATH_NOT_FOUND", `/${walked.join("/")} is not in this snapshot`);
    tree = node.type === "dir" ? node.subtree : undefined;
  }
  return { node, path: `/${walked.join("/")}` };
}

/** One folder's entries (or the file itself when `path` names a file), sorted by name. */
export async function listFolder(reader: TreeSource, snapshot: { tree: string }, path = "/"): Promise<SnapshotEntry[]> {
  const { node, path: resolved } = await nodeAt(reader, snapshot, path);
  if (node && node.type !== "dir") return [entryOf(resolved.slice(0, resolved.lastIndexOf("/")) || "/", node)];
  const tree = node ? node.subtree : snapshot.tree;
  if (!tree) return [];
  return (await reader.tree(tree)).map((child) => entryOf(resolved, child));
}

/** Every entry under `path`, depth first in name order (restic's ls). */
export async function* walkSnapshot(
  reader: TreeSource,
  snapshot: { tree: string },
  path = "/",
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<SnapshotEntry> {
  const { node, path: resolved } = await nodeAt(reader, snapshot, path);
  if (node && node.type !== "dir") {
    yield entryOf(resolved.slice(0, resolved.lastIndexOf("/")) || "/", node);
    return;
  }
  if (node) yield entryOf(resolved.slice(0, resolved.lastIndexOf("/")) || "/", node);
  const visit = async function* (tree: string, parent: string): AsyncGenerator<SnapshotEntry> {
    options.signal?.throwIfAborted();
    for (const child of await reader.tree(tree)) {
      const entry = entryOf(parent, child);
      yield entry;
      if (child.type === "dir" && child.subtree) yield* visit(child.subtree, entry.path);
    }
  };
  const tree = node ? node.subtree : snapshot.tree;
  if (tree) yield* visit(tree, resolved);
}

/**
 * Entries whose name (or, for a pattern with "/", whose path) matches `pattern`, in each of the snapshots. A folder
 * shared by several snapshots (same tree id) is searched once.
 */
export async function* findInSnapshots(
  reader: TreeSource,
  snapshots: SnapshotWithId[],
  pattern: string,
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<{ snapshot: SnapshotWithId; entry: SnapshotEntry }> {
  const patterns = new PatternList([pattern]);
  const found = new Map<string, SnapshotEntry[]>();
  const search = async (tree: string, parent: string): Promise<SnapshotEntry[]> => {
    const key = `${tree}\0${parent}`;
    const cached = found.get(key);
    if (cached) return cached;
    options.signal?.throwIfAborted();
    const matches: SnapshotEntry[] = [];
    for (const child of await reader.tree(tree)) {
      const entry = entryOf(parent, child);
      if (patterns.matches(entry.path)) matches.push(entry);
      if (child.type === "dir" && child.subtree) matches.push(...(await search(child.subtree, entry.path)));
    }
    found.set(key, matches);
    return matches;
  };
  for (const snapshot of snapshots) {
    for (const entry of await search(snapshot.tree, "/")) yield { snapshot, entry };
  }
}
