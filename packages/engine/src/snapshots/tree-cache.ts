import type { TreeNode } from "../tree/node.ts";
import type { TreeSource } from "./browse.ts";

// Decoded trees kept in memory for a browser that asks for the same folders again and again (the portal's pages, a
// WebDAV client's PROPFINDs and GETs). Bounded by the number of nodes held, least recently used trees go first; a
// tree asked for twice while it loads is loaded once. Trees are immutable (their id is their hash), so nothing is
// ever stale.

export class TreeCache implements TreeSource {
  readonly #source: TreeSource;
  readonly #maxNodes: number;
  readonly #trees = new Map<string, TreeNode[]>();
  readonly #loading = new Map<string, Promise<TreeNode[]>>();
  #nodes = 0;

  /** `maxNodes` bounds memory: a node costs a few hundred bytes, so the default 200 000 is some 50-100 MiB. */
  constructor(source: TreeSource, options: { maxNodes?: number } = {}) {
    this.#source = source;
    this.#maxNodes = options.maxNodes ?? 200_000;
  }

  get size(): { trees: number; nodes: number } {
    return { trees: this.#trees.size, nodes: this.#nodes };
  }

  async tree(id: string): Promise<TreeNode[]> {
    const cached = this.#trees.get(id);
    if (cached) {
      this.#trees.delete(id);
      this.#trees.set(id, cached);
      return cached;
    }
    const pending = this.#loading.get(id);
    if (pending) return pending;
    const load = this.#source
      .tree(id)
      .then((nodes) => {
        this.#remember(id, nodes);
        return nodes;
      })
      .finally(() => this.#loading.delete(id));
    this.#loading.set(id, load);
    return load;
  }

  #remember(id: string, nodes: TreeNode[]): void {
    // A tree larger than the whole budget is served but not kept.
    if (nodes.length > this.#maxNodes) return;
    this.#trees.set(id, nodes);
    this.#nodes += nodes.length;
    for (const [oldest, old] of this.#trees) {
      if (this.#nodes <= this.#maxNodes) break;
      this.#trees.delete(oldest);
      this.#nodes -= old.length;
    }
  }
}
