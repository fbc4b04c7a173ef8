import { EngineError } from "../errors.ts";
import type { SnapshotWithId, TreeSource } from "../snapshots/browse.ts";
import type { TreeNode } from "../tree/node.ts";

// The folders a mount shows: one snapshot at the root, or every snapshot as restic mount lays them out
// (`/snapshots/<time>/…`, `/snapshots/latest/…`, `/ids/<short id>/…`). Folder names for snapshot times use "-"
// where restic uses ":" (Windows refuses ":" in a name) and are UTC: `2026-12-01T07-59-41Z`, with `-2`, `-3` for
// snapshots taken within the same second. Only files and folders are shown: a WebDAV client has no symlinks,
// devices or fifos.

export type MountItem =
  | { kind: "dir"; name: string; mtime: string; tree?: string; children?: () => MountItem[]; etag: string }
  | { kind: "file"; name: string; mtime: string; node: TreeNode; etag: string };

/** The folder name of a snapshot in `/snapshots/`: its UTC time to the second, Windows-safe. */
export function snapshotFolderName(time: string): string {
  const date = new Date(Date.parse(time));
  if (Number.isNaN(date.getTime())) return time.replace(/[:/\\]/g, "-");
  return `${date.toISOString().slice(0, 19).replace(/:/g, "-")}Z`;
}

function itemOf(node: TreeNode): MountItem | null {
  const name = node.name.toString("utf8");
  if (node.type === "dir") {
    return {
      kind: "dir",
      name,
      mtime: node.mtime,
      ...(node.subtree ? { tree: node.subtree } : {}),
      etag: node.subtree ?? "",
    };
  }
  if (node.type === "file") return { kind: "file", name, mtime: node.mtime, node, etag: (node.content ?? []).join("") };
  return null;
}

export class MountNamespace {
  readonly #trees: TreeSource;
  readonly #root: MountItem;

  constructor(trees: TreeSource, snapshots: SnapshotWithId[], layout: "single" | "all") {
    this.#trees = trees;
    if (snapshots.length === 0) throw new EngineError("SNAPSHOT_NOT_FOUND", "there is no snapshot to mount");
    const ordered = [...snapshots].sort((a, b) => Date.parse(a.time) - Date.parse(b.time) || a.id.localeCompare(b.id));
    const newest = ordered.at(-1) as SnapshotWithId;
    const snapshotDir = (name: string, snapshot: SnapshotWithId): MountItem => ({
      kind: "dir",
      name,
      mtime: snapshot.time,
      tree: snapshot.tree,
      etag: snapshot.tree,
    });
    if (layout === "single") {
      this.#root = { ...snapshotDir("", newest), name: "" };
      return;
    }
    const byTime: MountItem[] = [];
    const used = new Map<string, number>();
    for (const snapshot of ordered) {
      const base = snapshotFolderName(snapshot.time);
      const count = (used.get(base) ?? 0) + 1;
      used.set(base, count);
      byTime.push(snapshotDir(count === 1 ? base : `${base}-${count}`, snapshot));
    }
    byTime.push(snapshotDir("latest", newest));
    const ids = ordered.map((snapshot) => snapshotDir(snapshot.id.slice(0, 8), snapshot));
    const virtual = (name: string, children: MountItem[]): MountItem => ({
      kind: "dir",
      name,
      mtime: newest.time,
      children: () => children,
      etag: `${name}:${newest.id}`,
    });
    const top = [virtual("ids", ids), virtual("snapshots", byTime)];
    this.#root = virtual("", top);
  }

  /** The root as a folder without children, for clients that probe it before they authenticate. */
  emptyRoot(): MountItem {
    return { kind: "dir", name: "", mtime: this.#root.mtime, children: () => [], etag: "root" };
  }

  /** The items of a folder, sorted by name as the snapshot stores them. */
  async list(folder: MountItem): Promise<MountItem[]> {
    if (folder.kind !== "dir") return [];
    if (folder.children) return folder.children();
    if (!folder.tree) return [];
    const items: MountItem[] = [];
    for (const node of await this.#trees.tree(folder.tree)) {
      const item = itemOf(node);
      if (item) items.push(item);
    }
    return items;
  }

  /** The item at a path of decoded segments; null when there is none. */
  async resolve(segments: string[]): Promise<MountItem | null> {
    let item = this.#root;
    for (const segment of segments) {
      if (item.kind !== "dir") return null;
      const next = (await this.list(item)).find((child) => child.name === segment);
      if (!next) return null;
      item = next;
    }
    return item;
  }
}
