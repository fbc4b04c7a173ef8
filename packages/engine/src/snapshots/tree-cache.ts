import type { TreeNode } from "../tree/node.ts";
import type { TreeSource } from "./browse.ts";
import { LoadingCache } from "./loading-cache.ts";

// Decoded trees kept in memory for a browser that asks for the same folders again and again (the portal's pages, a
// WebDAV client's PROPFINDs and GETs), bounded by the number of nodes held.

export class TreeCache implements TreeSource {
  readonly #cache: LoadingCache<TreeNode[]>;

  /** `maxNodes` bounds memory: a node costs a few hundred bytes, so the default 200 000 is some 50-100 MiB. */
  constructor(source: TreeSource, options: { maxNodes?: number } = {}) {
    this.#cache = new LoadingCache(
      (id) => source.tree(id),
      (nodes) => nodes.length,
      options.maxNodes ?? 200_000,
    );
  }

  get size(): { trees: number; nodes: number } {
    return { trees: this.#cache.size, nodes: this.#cache.weight };
  }

  tree(id: string): Promise<TreeNode[]> {
    return this.#cache.get(id);
  }
}
