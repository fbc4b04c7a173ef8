import { describe, expect, it } from "vitest";
import { isEngineError } from "../errors.ts";
import { FaultyBackend } from "../storage/faulty.ts";
import { MemoryBackend } from "../storage/memory.ts";
import type { TreeNode } from "../tree/node.ts";
import { testNode } from "../tree/nodes.testing.ts";
import { encodeTree } from "../tree/tree-json.ts";
import { BlobIdTable } from "./blob-ids.ts";
import { RepositoryReader } from "./reader.ts";
import { initRepository } from "./repository.ts";
import { RepositoryWriter } from "./writer.ts";

// Tree blobs are read a segment of their pack at a time: a walk over many folders costs a read per MiB of trees,
// not one per tree, and a damaged tree still fails alone.

const file = (name: string) => testNode(name, "file", { content: [] });

/** 300 small trees (about 300 KiB sealed, in one tree pack) and their nodes. */
async function repositoryWithTrees() {
  const storage = new MemoryBackend();
  const repository = await initRepository(storage, "pw", { scrypt: { N: 1024, r: 8, p: 1 } });
  const writer = new RepositoryWriter(repository.key, storage, { compression: "off" });
  const trees = new Map<string, TreeNode[]>();
  for (let i = 0; i < 300; i++) {
    const nodes = Array.from({ length: 4 }, (_, j) => file(`folder-${i}-file-${j}-${"x".repeat(150)}`));
    const { id } = await writer.addBlob("tree", encodeTree(nodes).bytes);
    trees.set(id, nodes);
  }
  await writer.flush();
  return { storage, repository, trees };
}

describe("RepositoryReader trees", () => {
  it("reads 300 trees of one pack with a single load of that pack", async () => {
    const { storage, repository, trees } = await repositoryWithTrees();
    const counted = new FaultyBackend(storage);
    const reader = new RepositoryReader(repository.key, counted);
    const read = await Promise.all([...trees.keys()].map(async (id) => [id, await reader.tree(id)] as const));
    for (const [id, nodes] of read)
      expect(nodes.map((node) => node.name.toString())).toEqual(trees.get(id)!.map((node) => node.name.toString()));
    const packLoads = counted.calls.filter((call) => call.operation === "load" && call.handle?.type === "data");
    expect(packLoads).toHaveLength(1);
    // Read again, in another order: from the kept segment.
    await reader.tree([...trees.keys()][150]!);
    expect(counted.calls.filter((call) => call.operation === "load" && call.handle?.type === "data")).toHaveLength(1);
  });

  it("reports a damaged tree as MAC_MISMATCH and still reads the trees beside it", async () => {
    const { storage, repository, trees } = await repositoryWithTrees();
    const index = await new RepositoryReader(repository.key, storage).index();
    const [damagedId, nextId] = [...trees.keys()].slice(100, 102) as [string, string];
    const location = index.get(damagedId)!;
    const pack = { type: "data" as const, name: location.pack };
    const bytes = Buffer.from(await storage.load(pack));
    bytes[location.offset + 20]! ^= 0x01;
    await storage.remove(pack);
    await storage.save(pack, bytes);
    const reader = new RepositoryReader(repository.key, storage);
    const failure = await reader.tree(damagedId).catch((error: unknown) => error);
    expect(isEngineError(failure) && failure.code).toBe("MAC_MISMATCH");
    expect((await reader.tree(nextId)).map((node) => node.name.toString())).toEqual(
      trees.get(nextId)!.map((node) => node.name.toString()),
    );
  });

  it("keeps tree locations and hands data blob ids to a table when asked (a backup's reader)", async () => {
    const { storage, repository, trees } = await repositoryWithTrees();
    const writer = new RepositoryWriter(repository.key, storage, { compression: "off" });
    const data = await Promise.all(
      ["first file", "second file"].map(async (text) => (await writer.addBlob("data", Buffer.from(text))).id),
    );
    await writer.flush();
    const dataBlobIds = new BlobIdTable();
    const reader = new RepositoryReader(repository.key, storage, { dataBlobIds });
    const index = await reader.index();
    expect([...index.keys()].sort()).toEqual([...trees.keys()].sort());
    expect(dataBlobIds.size).toBe(2);
    for (const id of data) expect(dataBlobIds.has(id)).toBe(true);
    const tree = [...trees.keys()][7]!;
    expect((await reader.tree(tree)).map((node) => node.name.toString())).toEqual(
      trees.get(tree)!.map((node) => node.name.toString()),
    );
    await expect(reader.blob("data", data[0]!)).rejects.toThrow(/keeps the ids of data blobs/);
    // Without the table, the same index holds both.
    expect((await new RepositoryReader(repository.key, storage).index()).size).toBe(trees.size + 2);
  });
});
