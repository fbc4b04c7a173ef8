import { describe, expect, it } from "vitest";
import type { TreeNode } from "../tree/node.ts";
import { testNode } from "../tree/nodes.testing.ts";
import type { TreeSource } from "./browse.ts";
import { TreePrefetcher } from "./tree-prefetch.ts";

// The prefetcher against a tree source that answers after a delay and records what it was asked: the walk sees
// exactly what it would see loading directly, each tree is loaded once, and loads stay within both bounds.

const folder = (name: string, subtree: string) => testNode(name, "dir", { subtree });
const file = (name: string) => testNode(name, "file", { content: [] });

/** root → 12 folders → 6 folders each (one file apiece); folders a and b of the root share one tree. */
function snapshotTrees(): Map<string, TreeNode[]> {
  const trees = new Map<string, TreeNode[]>();
  const top: TreeNode[] = [folder("a", "shared"), folder("b", "shared")];
  trees.set("shared", [file("same")]);
  for (let i = 0; i < 12; i++) {
    const children: TreeNode[] = [];
    for (let j = 0; j < 6; j++) {
      trees.set(`t${i}.${j}`, [file(`f${i}.${j}`)]);
      children.push(folder(`d${j}`, `t${i}.${j}`));
    }
    trees.set(`t${i}`, children);
    top.push(folder(`c${i}`, `t${i}`));
  }
  trees.set("root", top);
  return trees;
}

class SlowSource implements TreeSource {
  readonly loads: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly #trees: Map<string, TreeNode[]>;
  constructor(trees: Map<string, TreeNode[]>) {
    this.#trees = trees;
  }
  async tree(id: string): Promise<TreeNode[]> {
    this.loads.push(id);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((resolve) => setTimeout(resolve, 2));
    this.inFlight--;
    const nodes = this.#trees.get(id);
    if (!nodes) throw new Error(`no tree ${id}`);
    return nodes;
  }
}

/** Depth-first walk through `load`, announcing subtrees to `prefetcher` when given; the visited names in order. */
async function walk(load: (id: string) => Promise<TreeNode[]>, prefetcher?: TreePrefetcher): Promise<string[]> {
  const names: string[] = [];
  const visit = async (id: string, path: string) => {
    const nodes = await load(id);
    prefetcher?.ahead(nodes.filter((node) => node.subtree).map((node) => node.subtree!));
    for (const node of nodes) {
      names.push(`${path}/${node.name}`);
      if (node.subtree) await visit(node.subtree, `${path}/${node.name}`);
    }
  };
  await visit("root", "");
  return names;
}

describe("TreePrefetcher", () => {
  it("gives the walk what direct loads give, each tree loaded once, within the concurrency and look-ahead bounds", async () => {
    const trees = snapshotTrees();
    const expected = await walk((id) => new SlowSource(trees).tree(id));
    const source = new SlowSource(trees);
    const prefetcher = new TreePrefetcher(source, { concurrency: 4, maxAhead: 8 });
    const names = await walk((id) => prefetcher.take(id), prefetcher);
    expect(names).toEqual(expected);
    expect(names).toHaveLength(2 + 2 + 12 + 12 * 6 + 12 * 6);
    // 1 root + 1 shared + 12 + 72 trees, the shared one once.
    expect(source.loads).toHaveLength(86);
    expect(new Set(source.loads).size).toBe(86);
    expect(source.maxInFlight).toBeGreaterThan(1);
    // The walk's own load of a tree not yet started goes at once, beside the four ahead.
    expect(source.maxInFlight).toBeLessThanOrEqual(5);
  });

  it("loads in the walk's depth-first order and never holds more than maxAhead trees the walk has not taken", async () => {
    const source = new SlowSource(snapshotTrees());
    const prefetcher = new TreePrefetcher(source, { concurrency: 3, maxAhead: 5 });
    let taken = 0;
    let maxUntaken = 0;
    await walk((id) => {
      taken++;
      maxUntaken = Math.max(maxUntaken, source.loads.length - taken);
      return prefetcher.take(id);
    }, prefetcher);
    expect(maxUntaken).toBeLessThanOrEqual(5);
    // Depth-first: the first folder's subtrees load before the root's later folders.
    expect(source.loads.indexOf("t0.5")).toBeLessThan(source.loads.indexOf("t3"));
  });

  it("fails the take of a tree whose load failed, and a failed load the walk never takes stays silent", async () => {
    const trees = snapshotTrees();
    trees.delete("t0");
    trees.delete("t7");
    const source = new SlowSource(trees);
    const prefetcher = new TreePrefetcher(source, { concurrency: 16 });
    await expect(walk((id) => prefetcher.take(id), prefetcher)).rejects.toThrow("no tree t0");
    // t7 was loaded ahead and failed too; nothing takes it, and no unhandled rejection fails this test file.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(source.loads).toContain("t7");
  });
});
