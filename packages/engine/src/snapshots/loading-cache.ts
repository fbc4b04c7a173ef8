// Values by key, loaded on first ask (one load however many ask at once), the least recently used dropped once
// their total weight passes a budget. Backs the tree and blob caches of browsing; ids are hashes, so a kept value
// is never stale.

export class LoadingCache<V> {
  readonly #load: (key: string) => Promise<V>;
  readonly #weigh: (value: V) => number;
  readonly #maxWeight: number;
  readonly #values = new Map<string, V>();
  readonly #loading = new Map<string, Promise<V>>();
  #weight = 0;
  /** Loads started (asks not served from memory). */
  loads = 0;

  constructor(load: (key: string) => Promise<V>, weigh: (value: V) => number, maxWeight: number) {
    this.#load = load;
    this.#weigh = weigh;
    this.#maxWeight = maxWeight;
  }

  get weight(): number {
    return this.#weight;
  }

  get size(): number {
    return this.#values.size;
  }

  get(key: string): Promise<V> {
    const cached = this.#values.get(key);
    if (cached !== undefined) {
      this.#values.delete(key);
      this.#values.set(key, cached);
      return Promise.resolve(cached);
    }
    const pending = this.#loading.get(key);
    if (pending) return pending;
    this.loads++;
    const load = this.#load(key)
      .then((value) => {
        this.#remember(key, value);
        return value;
      })
      .finally(() => this.#loading.delete(key));
    this.#loading.set(key, load);
    return load;
  }

  #remember(key: string, value: V): void {
    const weight = this.#weigh(value);
    // A value heavier than the whole budget is served but not kept.
    if (weight > this.#maxWeight) return;
    this.#values.set(key, value);
    this.#weight += weight;
    for (const [oldest, old] of this.#values) {
      if (this.#weight <= this.#maxWeight) break;
      this.#values.delete(oldest);
      this.#weight -= this.#weigh(old);
    }
  }
}
