import { EngineError } from "../errors.ts";
import type { ProgressMeter } from "../progress.ts";
import { decodeBlob } from "../repository/blob-decode.ts";
import { parseIndex } from "../repository/index-file.ts";
import type { Repository } from "../repository/repository.ts";
import { decodeUnpacked } from "../repository/unpacked.ts";
import type { FileInfo } from "../storage/backend.ts";
import type { TreeNode } from "../tree/tree-json.ts";
import { BlobTable, blobFlags } from "./blob-table.ts";

// What prune and check both need: every index file loaded into one BlobTable, every pack file listed, and the
// blobs the snapshots use marked by walking their trees (each tree once, however many snapshots share it).

export type PackEntry = {
  id: string;
  /** The pack's records in the table: [first, first + count). */
  first: number;
  count: number;
  /** Size of the pack file in storage; undefined when the file is missing. */
  size?: number;
  /** Named by an index file (false: a pack file no index names). */
  indexed: boolean;
};

export type RepositoryState = {
  table: BlobTable;
  packs: PackEntry[];
  packNumber: Map<string, number>;
  indexFiles: FileInfo[];
  /** Packs named by more than one index file (later copies are ignored; restic calls this a hint, not an error). */
  duplicatePacks: number;
};

/** One index file's packs (validated by index-file.ts's schema). */
export async function loadIndexFile(repository: Repository, name: string, signal?: AbortSignal) {
  const sealed = await repository.storage.load({ type: "index", name }, { signal });
  return parseIndex(decodeUnpacked(repository.key, sealed, `index ${name}`));
}

const hexId = /^[0-9a-f]{64}$/;

/**
 * One index file's packs, checked field by field as index-file.ts's schema does but without building a copy of
 * every entry (for repositories with millions of blobs, that copy was most of the loading's memory).
 */
async function* indexFilePacks(repository: Repository, name: string, signal?: AbortSignal) {
  const sealed = await repository.storage.load({ type: "index", name }, { signal });
  const document = decodeUnpacked(repository.key, sealed, `index ${name}`) as { packs?: unknown };
  const invalid = (why: string) => new EngineError("INVALID_CIPHERTEXT", `index ${name} is not a restic index: ${why}`);
  if (!document || !Array.isArray(document.packs)) throw invalid("no list of packs");
  for (const pack of document.packs as { id?: unknown; blobs?: unknown }[]) {
    if (typeof pack?.id !== "string" || !hexId.test(pack.id) || !Array.isArray(pack.blobs))
      throw invalid("a pack without id or blobs");
    for (const blob of pack.blobs as Record<string, unknown>[]) {
      const { id, type, offset, length, uncompressed_length: uncompressed } = blob ?? {};
      const whole = (value: unknown, min: number) =>
        typeof value === "number" && Number.isInteger(value) && value >= min;
      if (
        typeof id !== "string" ||
        !hexId.test(id) ||
        (type !== "data" && type !== "tree") ||
        !whole(offset, 0) ||
        !whole(length, 1) ||
        (uncompressed !== undefined && !whole(uncompressed, 1))
      ) {
        throw invalid(`pack ${pack.id} has a malformed blob entry`);
      }
    }
    yield pack as {
      id: string;
      blobs: { id: string; type: "data" | "tree"; offset: number; length: number; uncompressed_length?: number }[];
    };
  }
}

/** Loads the index (after the caller listed snapshots: restic's read order) and lists the pack files. */
export async function loadRepositoryState(
  repository: Repository,
  options: {
    signal?: AbortSignal;
    onIndexFile?: (done: number, total: number) => void;
    /** An index file that cannot be read is reported here and skipped; without it, the load fails. */
    onIndexError?: (name: string, error: unknown) => void;
  } = {},
): Promise<RepositoryState> {
  const { storage } = repository;
  const { signal } = options;
  const table = new BlobTable();
  const packs: PackEntry[] = [];
  const packNumber = new Map<string, number>();
  const indexFiles: FileInfo[] = [];
  for await (const file of storage.list("index", { signal })) indexFiles.push(file);
  let duplicatePacks = 0;
  for (const [done, file] of indexFiles.entries()) {
    signal?.throwIfAborted();
    // A file that turns out malformed halfway keeps the packs read before the fault (they are what it says).
    try {
      for await (const pack of indexFilePacks(repository, file.name, signal)) {
        if (packNumber.has(pack.id)) {
          duplicatePacks++;
          continue;
        }
        const number = packs.length;
        packNumber.set(pack.id, number);
        const first = table.count;
        for (const blob of pack.blobs) {
          table.add(blob.id, blob.type, number, {
            offset: blob.offset,
            length: blob.length,
            ...(blob.uncompressed_length !== undefined ? { uncompressedLength: blob.uncompressed_length } : {}),
          });
        }
        packs.push({ id: pack.id, first, count: pack.blobs.length, indexed: true });
      }
    } catch (error) {
      if (signal?.aborted || !options.onIndexError) throw error;
      options.onIndexError(file.name, error);
    }
    options.onIndexFile?.(done + 1, indexFiles.length);
  }
  for await (const { name, size } of storage.list("data", { signal })) {
    const number = packNumber.get(name);
    if (number !== undefined) packs[number]!.size = size;
    else {
      packNumber.set(name, packs.length);
      packs.push({ id: name, first: table.count, count: 0, size, indexed: false });
    }
  }
  return { table, packs, packNumber, indexFiles, duplicatePacks };
}

/** Encrypted header size restic computes for a pack of these records (engine-reference §1.7). */
export function expectedPackSize(table: BlobTable, pack: PackEntry): number {
  let size = 32 + 4;
  for (let record = pack.first; record < pack.first + pack.count; record++) {
    size += table.length(record) + (table.uncompressedLength(record) ? 41 : 37);
  }
  return size;
}

/** A blob's plaintext from its pack, verified (MAC, then SHA-256 against its id). */
export async function loadRecord(
  repository: Repository,
  state: RepositoryState,
  record: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  const location = state.table.location(record);
  const pack = state.packs[state.table.pack(record)]!.id;
  const sealed = await repository.storage.load(
    { type: "data", name: pack },
    { offset: location.offset, length: location.length, signal },
  );
  return decodeBlob(repository.key, location.id, { ...location, pack }, sealed);
}

/**
 * Only what a walk for used blobs needs from a tree blob: each node's type, subtree and content. A plain JSON.parse
 * (64-bit numbers may round; they are not looked at), several times cheaper than decoding full nodes.
 */
export function treeReferences(bytes: Uint8Array): Pick<TreeNode, "type" | "subtree" | "content">[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  } catch (error) {
    throw new EngineError("INVALID_TREE", "the tree blob is not JSON", { cause: error });
  }
  const nodes = (parsed as { nodes?: unknown } | null)?.nodes;
  if (nodes === null || nodes === undefined) return [];
  if (!Array.isArray(nodes)) throw new EngineError("INVALID_TREE", "the tree blob's nodes are not a list");
  return nodes.map((node: { type?: unknown; subtree?: unknown; content?: unknown }, index) => {
    const content = node?.content;
    if (
      content !== null &&
      content !== undefined &&
      !(Array.isArray(content) && content.every((id) => typeof id === "string"))
    ) {
      throw new EngineError("INVALID_TREE", `tree node ${index}: content is not a list of blob ids`);
    }
    return {
      type: node?.type as TreeNode["type"],
      ...(typeof node?.subtree === "string" ? { subtree: node.subtree } : {}),
      content: (content as string[] | undefined) ?? null,
    };
  });
}

export type TreeVisit = {
  /** A tree or data blob id a snapshot references that no index names. */
  onMissing?: (id: string, type: "tree" | "data") => void;
  /** A tree that cannot be loaded or decoded (damaged); its contents are unknown. */
  onUnreadableTree?: (id: string, error: unknown) => void;
  onTree?: (walked: number) => void;
  signal?: AbortSignal;
  /** Trees loaded at once. */
  concurrency?: number;
};

/**
 * Marks the record of every blob the given root trees reach as used: the first indexed copy of each. Trees
 * already marked are not walked again, so shared subtrees cost one load. Returns the number of trees walked.
 */
export async function markUsedBlobs(
  repository: Repository,
  state: RepositoryState,
  roots: string[],
  visit: TreeVisit = {},
): Promise<number> {
  const { table } = state;
  const queue: number[] = [];
  const mark = (id: string, type: "tree" | "data") => {
    const record = table.first(id);
    if (record < 0 || table.type(record) !== type) {
      // A blob indexed only with the other type is as missing as one not indexed at all.
      visit.onMissing?.(id, type);
      return;
    }
    if (table.has(record, blobFlags.used)) return;
    table.set(record, blobFlags.used);
    if (type === "tree") queue.push(record);
  };
  for (const root of roots) mark(root, "tree");
  let walked = 0;
  const concurrency = visit.concurrency ?? 8;
  while (queue.length > 0) {
    visit.signal?.throwIfAborted();
    const batch = queue.splice(Math.max(0, queue.length - concurrency));
    const trees = await Promise.all(
      batch.map(async (record) => {
        try {
          const plaintext = await loadRecord(repository, state, record, visit.signal);
          return treeReferences(plaintext);
        } catch (error) {
          if (visit.signal?.aborted) throw error;
          if (!visit.onUnreadableTree) throw error;
          visit.onUnreadableTree(table.id(record), error);
          return [];
        }
      }),
    );
    for (const nodes of trees) {
      for (const node of nodes) {
        if (node.type === "dir" && node.subtree) mark(node.subtree, "tree");
        for (const id of node.content ?? []) mark(id, "data");
      }
      walked++;
    }
    visit.onTree?.(walked);
  }
  return walked;
}

/** Moves long work to its next phase and tells the listener at once (the meter's timer only ticks each second). */
export function enterPhase(meter: ProgressMeter, phase: string): void {
  meter.state.phase = phase;
  meter.report();
}

export function damaged(message: string): EngineError {
  return new EngineError("REPOSITORY_DAMAGED", message);
}
