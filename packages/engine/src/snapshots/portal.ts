import { PatternList } from "../archiver/patterns.ts";
import { EngineError, isEngineError } from "../errors.ts";
import type { TreeNode } from "../tree/node.ts";
import { entryOf, nodeAt, type SnapshotEntry, type SnapshotWithId, type TreeSource } from "./browse.ts";

// What the portal's file browser asks of a repository, shaped so a huge folder or a long history never comes back
// in one piece: one folder a page at a time (the cursor is the last name shown), a search by pattern across
// snapshots a page at a time, and the versions of one path across snapshots (the per-file timeline), where
// "changed" means other content (blob ids), not another mtime.

export const maxPageSize = 10_000;

function pageSize(limit: number | undefined, fallback: number): number {
  const size = limit ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > maxPageSize) {
    throw new EngineError("INVALID_ARGUMENT", `limit must be a whole number from 1 to ${maxPageSize}, not ${size}`);
  }
  return size;
}

/** Snapshot times carry their own UTC offsets, so they are compared as instants (then by id, for a stable order). */
function byTime(a: SnapshotWithId, b: SnapshotWithId): number {
  return Date.parse(a.time) - Date.parse(b.time) || a.time.localeCompare(b.time) || a.id.localeCompare(b.id);
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

export type FolderPage = {
  /** The folder's path as resolved ("/" for the root). */
  path: string;
  entries: SnapshotEntry[];
  /** Entries in the whole folder. */
  total: number;
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
};

/** Index of the first node after `cursor` in tree order (byte-wise names). */
function startAfter(nodes: TreeNode[], cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const exact = nodes.findIndex((node) => node.name.toString("utf8") === cursor);
  if (exact >= 0) return exact + 1;
  const bytes = Buffer.from(cursor, "utf8");
  const next = nodes.findIndex((node) => Buffer.compare(node.name, bytes) > 0);
  return next < 0 ? nodes.length : next;
}

/**
 * One page of a folder of a snapshot, in name order (restic's byte-wise order): up to `limit` (500) entries after
 * `cursor` (the name of the last entry of the previous page). A path naming a file gives a page of that file.
 */
export async function listFolderPage(
  reader: TreeSource,
  snapshot: { tree: string },
  path = "/",
  options: { cursor?: string; limit?: number } = {},
): Promise<FolderPage> {
  const limit = pageSize(options.limit, 500);
  const { node, path: resolved } = await nodeAt(reader, snapshot, path);
  if (node && node.type !== "dir") {
    return { path: resolved, entries: [entryOf(parentOf(resolved), node)], total: 1, nextCursor: null };
  }
  const tree = node ? node.subtree : snapshot.tree;
  const nodes = tree ? await reader.tree(tree) : [];
  const start = startAfter(nodes, options.cursor);
  const entries = nodes.slice(start, start + limit).map((child) => entryOf(resolved, child));
  const more = start + limit < nodes.length;
  return { path: resolved, entries, total: nodes.length, nextCursor: more ? (entries.at(-1)?.name ?? null) : null };
}

export type SearchHit = { snapshotId: string; snapshotTime: string; entry: SnapshotEntry };

export type SearchOptions = {
  /** Hits per page (200). */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** Match names regardless of case (what a user typing into a search box expects). */
  caseInsensitive?: boolean;
  /** Each path once, from the newest snapshot that holds it, instead of once per snapshot. */
  distinctPaths?: boolean;
  signal?: AbortSignal;
};

export type SearchPage = { hits: SearchHit[]; nextCursor: string | null; snapshotsSearched: number };

type SearchCursor = { s: string; p: string };

function encodeCursor(cursor: SearchCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString("base64url");
}

function decodeCursor(text: string): SearchCursor {
  try {
    const parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as Partial<SearchCursor>;
    if (typeof parsed.s === "string" && typeof parsed.p === "string") return { s: parsed.s, p: parsed.p };
  } catch {}
  throw new EngineError("INVALID_ARGUMENT", "the search cursor is not one this search returned; start the search over");
}

/**
 * Entries whose name (or, for a pattern with "/", whose path) matches the restic-style glob `pattern`, newest
 * snapshot first and in walk order within each, a page of `limit` hits at a time. A folder that held no match in
 * one snapshot is not searched again in another (same tree id at the same path), so a search across many similar
 * snapshots costs little more than one.
 */
export async function searchSnapshots(
  reader: TreeSource,
  snapshots: SnapshotWithId[],
  pattern: string,
  options: SearchOptions = {},
): Promise<SearchPage> {
  const limit = pageSize(options.limit, 200);
  const fold = options.caseInsensitive ? (text: string) => text.toLowerCase() : (text: string) => text;
  const patterns = new PatternList([fold(pattern)]);
  const cursor = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
  const newestFirst = [...snapshots].sort((a, b) => byTime(b, a));
  if (cursor && !newestFirst.some((snapshot) => snapshot.id === cursor.s)) {
    throw new EngineError("INVALID_ARGUMENT", "the search cursor names a snapshot that is gone; start the search over");
  }
  const empty = new Set<string>();
  const seen = new Set<string>();
  const hits: SearchHit[] = [];
  let skipping = cursor !== undefined;
  let snapshotsSearched = 0;

  // Returns whether the folder held a match, so a folder without any is skipped next time.
  const visit = async (snapshot: SnapshotWithId, tree: string, parent: string): Promise<"full" | boolean> => {
    const key = `${tree}\0${parent}`;
    if (empty.has(key)) return false;
    options.signal?.throwIfAborted();
    let matched = false;
    for (const child of await reader.tree(tree)) {
      const entry = entryOf(parent, child);
      if (patterns.matches(fold(entry.path))) {
        matched = true;
        if (skipping) {
          if (snapshot.id === cursor?.s && entry.path === cursor.p) skipping = false;
          if (options.distinctPaths) seen.add(entry.path);
        } else if (!options.distinctPaths || !seen.has(entry.path)) {
          seen.add(entry.path);
          if (hits.length === limit) return "full";
          hits.push({ snapshotId: snapshot.id, snapshotTime: snapshot.time, entry });
        }
      }
      if (child.type === "dir" && child.subtree) {
        const below = await visit(snapshot, child.subtree, entry.path);
        if (below === "full") return "full";
        matched ||= below;
      }
    }
    if (!matched) empty.add(key);
    return matched;
  };

  for (const snapshot of newestFirst) {
    const result = await visit(snapshot, snapshot.tree, "/");
    if (result === "full") {
      const last = hits.at(-1) as SearchHit;
      return { hits, nextCursor: encodeCursor({ s: last.snapshotId, p: last.entry.path }), snapshotsSearched };
    }
    snapshotsSearched++;
  }
  return { hits, nextCursor: null, snapshotsSearched };
}

export type VersionStatus = "added" | "changed" | "unchanged" | "deleted";

export type PathVersion = {
  snapshotId: string;
  snapshotTime: string;
  hostname: string;
  /**
   * Against the previous snapshot that held the path: `added` (first seen, or back after a deletion), `changed`
   * (other content, type or link target), `unchanged` (the same blobs; the mtime may still differ), `deleted` (the
   * first snapshot without it after one with it; no entry then).
   */
  status: VersionStatus;
  changed: boolean;
  entry?: SnapshotEntry;
  /** For files: the content's data blob ids, which identify a version across snapshots. */
  content?: string[];
};

/** What makes two versions the same: content for files, the tree for folders, the target for links. */
function identity(node: TreeNode): string {
  switch (node.type) {
    case "file":
      return `file:${(node.content ?? []).join(",")}`;
    case "dir":
      return `dir:${node.subtree ?? ""}`;
    case "symlink":
      return `symlink:${Buffer.from(node.linktarget ?? "").toString("hex")}`;
    default:
      return `${node.type}:${node.device ?? 0n}`;
  }
}

/**
 * The versions of one path across `snapshots` (oldest first, as given by listSnapshots with a filter for one job or
 * host): one entry per snapshot that holds it, and one `deleted` entry where it disappears.
 */
export async function pathVersions(
  reader: TreeSource,
  snapshots: SnapshotWithId[],
  path: string,
  options: { signal?: AbortSignal } = {},
): Promise<PathVersion[]> {
  const oldestFirst = [...snapshots].sort(byTime);
  const versions: PathVersion[] = [];
  let previous: string | null = null;
  // Snapshots of unchanged data share their root tree: resolve each root once.
  const resolved = new Map<string, { node: TreeNode | null; path: string } | null>();
  for (const snapshot of oldestFirst) {
    options.signal?.throwIfAborted();
    let found = resolved.get(snapshot.tree);
    if (found === undefined) {
      found = await nodeAt(reader, snapshot, path).catch((error: unknown) => {
        if (isEngineError(error, "PATH_NOT_FOUND")) return null;
        throw error;
      });
      resolved.set(snapshot.tree, found);
    }
    const base = { snapshotId: snapshot.id, snapshotTime: snapshot.time, hostname: snapshot.hostname ?? "" };
    if (!found) {
      if (previous !== null) versions.push({ ...base, status: "deleted", changed: true });
      previous = null;
      continue;
    }
    const { node } = found;
    const current = node ? identity(node) : `dir:${snapshot.tree}`;
    const status: VersionStatus = previous === null ? "added" : previous === current ? "unchanged" : "changed";
    const version: PathVersion = { ...base, status, changed: status !== "unchanged" };
    if (node) version.entry = entryOf(parentOf(found.path), node);
    if (node?.type === "file") version.content = node.content ?? [];
    versions.push(version);
    previous = current;
  }
  return versions;
}
