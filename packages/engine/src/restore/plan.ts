import { sealOverhead } from "../crypto/seal.ts";
import { EngineError } from "../errors.ts";
import type { BlobLocation, RepositoryReader } from "../repository/reader.ts";
import { TreePrefetcher } from "../snapshots/tree-prefetch.ts";
import type { TreeNode } from "../tree/node.ts";

// What a restore will do, decided before anything is written: the snapshot's tree walked from its root, every name
// checked so none can leave the target folder, the paths to include resolved, hard links grouped, and the blobs the
// files need grouped by pack so each pack is fetched once.

export type RestoreItem = {
  node: TreeNode;
  /** Where it lands: the target folder's bytes, then the names down from the snapshot root. */
  path: Buffer;
  /** Its path in the snapshot ("/home/ann/a.txt"), for messages and progress. */
  display: string;
  depth: number;
  /** False for the directories above an included path: created, but their metadata is not restored (as restic). */
  selected: boolean;
  /** For the second and later names of a hard-linked file: the name restored first, which the others link to. */
  linkTo?: RestoreItem;
};

/** The components of an include path; INVALID_ARGUMENT for ".." or "." (they could point outside the snapshot). */
export function includeComponents(path: string): Buffer[] {
  const components = path.split("/").filter((component) => component !== "");
  if (components.some((component) => component === ".." || component === "." || component.includes("\0"))) {
    throw new EngineError(
      "INVALID_ARGUMENT",
      `include path ${JSON.stringify(path)} has "." or ".." in it; give the path as the snapshot lists it`,
    );
  }
  return components.map((component) => Buffer.from(component));
}

/**
 * A node name becomes one path element under the target, so it must be exactly one: not empty, ".", "..", and
 * without "/" or NUL. restic never writes such names; a tree holding one is damaged or built to attack.
 */
export function checkNodeName(name: Buffer, parent: string): void {
  const dots = name.length <= 2 && name.every((byte) => byte === 0x2e);
  if (name.length === 0 || dots || name.includes(0x2f) || name.includes(0)) {
    throw new EngineError(
      "INVALID_TREE",
      `the snapshot's folder ${parent} holds an entry named ${JSON.stringify(name.toString("latin1"))}, which would ` +
        "leave the restore target; the snapshot is damaged or malicious, nothing was restored",
    );
  }
}

function isPrefix(prefix: Buffer[], components: Buffer[]): boolean {
  return prefix.length <= components.length && prefix.every((name, i) => name.equals(components[i]!));
}

/**
 * Walks the snapshot's tree from `rootTree` and lists what lands under `target`, parents before children.
 * Throws INVALID_TREE before anything is written when a name could escape the target or a folder names two
 * entries alike, PATH_NOT_FOUND when an include path is not in the snapshot.
 */
export async function planRestore(
  reader: RepositoryReader,
  rootTree: string,
  target: Buffer,
  include: string[] | undefined,
  signal?: AbortSignal,
): Promise<RestoreItem[]> {
  const includes = include?.map((path) => ({ path, components: includeComponents(path), found: false }));
  const items: RestoreItem[] = [];
  const firstLinks = new Map<string, RestoreItem>();
  const trees = new TreePrefetcher(reader);
  /** Include paths at or below the entry, whether it is restored, and whether an included path lies below it. */
  const selection = (components: Buffer[]) => {
    const matches = includes?.filter((entry) => isPrefix(entry.components, components)) ?? [];
    const selected = !includes || matches.length > 0;
    const leadsToInclude = includes?.some((entry) => isPrefix(components, entry.components)) ?? false;
    return { matches, selected, leadsToInclude };
  };

  const walk = async (treeId: string, parentPath: Buffer, components: Buffer[], display: string) => {
    signal?.throwIfAborted();
    const children = (await trees.take(treeId)).map((node) => {
      const childComponents = [...components, node.name];
      return { node, childComponents, ...selection(childComponents) };
    });
    // The folders the loop below walks into, in its order.
    trees.ahead(
      children
        .filter(
          ({ node, selected, leadsToInclude }) => node.type === "dir" && node.subtree && (selected || leadsToInclude),
        )
        .map(({ node }) => node.subtree!),
    );
    const seen = new Set<string>();
    for (const { node, childComponents, matches, selected, leadsToInclude } of children) {
      checkNodeName(node.name, display || "/");
      const key = node.name.toString("latin1");
      if (seen.has(key)) {
        throw new EngineError(
          "INVALID_TREE",
          `the snapshot's folder ${display || "/"} names two entries ${JSON.stringify(node.name.toString())}; ` +
            "the snapshot is damaged or malicious, nothing was restored",
        );
      }
      seen.add(key);
      const path = Buffer.concat([parentPath, Buffer.from("/"), node.name]);
      const childDisplay = `${display}/${node.name.toString()}`;
      for (const entry of matches) entry.found = true;
      if (!selected && !(leadsToInclude && node.type === "dir")) continue;
      const item: RestoreItem = { node, path, display: childDisplay, depth: childComponents.length, selected };
      if (node.type === "file" && (node.links ?? 0n) > 1n && node.inode) {
        // restic restores the first name of a hard-linked file and links the others to it (same inode and device).
        const key = `${node.deviceId ?? 0n}:${node.inode}`;
        const first = firstLinks.get(key);
        if (first) item.linkTo = first;
        else firstLinks.set(key, item);
      }
      items.push(item);
      if (node.type === "dir") {
        if (!node.subtree) {
          throw new EngineError("INVALID_TREE", `folder ${childDisplay} in the snapshot has no subtree`);
        }
        await walk(node.subtree, path, childComponents, childDisplay);
      }
    }
  };
  await walk(rootTree, target, [], "");

  const missing = includes?.filter((entry) => !entry.found && entry.components.length > 0) ?? [];
  if (missing.length > 0) {
    throw new EngineError(
      "PATH_NOT_FOUND",
      `not in the snapshot: ${missing.map((entry) => entry.path).join(", ")}; list it to see its paths`,
    );
  }
  return items;
}

/** The plaintext length of a blob: stored for compressed blobs, else the sealed length minus the overhead. */
export function plaintextLength(location: BlobLocation): number {
  return location.uncompressedLength ?? location.length - sealOverhead;
}

/** A place a blob's plaintext goes: `offset` in `file` (a file can repeat a blob, files can share one). */
export type BlobTarget<File> = { file: File; offset: number };
export type PlannedBlob<File> = { id: string; location: BlobLocation; targets: BlobTarget<File>[] };
/** One ranged load of a pack, from the first needed blob's start to the last one's end. */
export type PackLoad<File> = { pack: string; offset: number; length: number; blobs: PlannedBlob<File>[] };

/**
 * Groups the blobs `files` need by the pack holding them, each pack once, its blobs in pack order. A file with a
 * blob the index does not know is returned in `unavailable` (with the first missing id) and left out.
 */
export function planPackLoads<File>(
  files: { file: File; content: string[] }[],
  index: ReadonlyMap<string, BlobLocation>,
): { loads: PackLoad<File>[]; unavailable: { file: File; blob: string }[] } {
  const packs = new Map<string, Map<string, PlannedBlob<File>>>();
  const unavailable: { file: File; blob: string }[] = [];
  for (const { file, content } of files) {
    const missing = content.find((id) => index.get(id)?.type !== "data");
    if (missing !== undefined) {
      unavailable.push({ file, blob: missing });
      continue;
    }
    let offset = 0;
    for (const id of content) {
      const location = index.get(id)!;
      let blobs = packs.get(location.pack);
      if (!blobs) {
        blobs = new Map();
        packs.set(location.pack, blobs);
      }
      let blob = blobs.get(id);
      if (!blob) {
        blob = { id, location, targets: [] };
        blobs.set(id, blob);
      }
      blob.targets.push({ file, offset });
      offset += plaintextLength(location);
    }
  }
  const loads = [...packs].map(([pack, blobs]): PackLoad<File> => {
    const sorted = [...blobs.values()].sort((a, b) => a.location.offset - b.location.offset);
    const start = sorted[0]!.location.offset;
    const end = sorted.reduce((last, blob) => Math.max(last, blob.location.offset + blob.location.length), 0);
    return { pack, offset: start, length: end - start, blobs: sorted };
  });
  return { loads, unavailable };
}
