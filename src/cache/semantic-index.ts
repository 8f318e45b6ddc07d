import { LRUCache } from "lru-cache";
import { cosine, type SparseVector } from "./embedding.js";

export interface SemanticIndexOptions {
  /** Most entries held across all namespaces, a positive integer. */
  maxEntries: number;
}

export interface SemanticMatch {
  key: string;
  /** Cosine similarity in [-1, 1]. */
  similarity: number;
}

interface Entry {
  readonly namespace: string;
  readonly vector: SparseVector;
}

/**
 * Nearest-neighbour look-up of embedded prompts for the opt-in semantic cache, bounded in entries.
 *
 * Keys are unique across namespaces (a namespace is typically model + parameters that change the answer, so a
 * hit never crosses them); re-adding a key moves or replaces it. Entries live in one lru-cache, so when it is
 * full the least recently added or returned entry goes first; its `dispose` keeps the namespace -> keys map in
 * step on every removal (evict, replace, delete), and a namespace with no keys left is dropped, so the map is
 * bounded by the same `maxEntries`.
 *
 * `nearest` is a linear scan of one namespace: O(entries x nnz). That is the honest cost of an exact answer
 * and is fine for the thousands of entries a gateway keeps per model; past that, use an ANN index.
 */
export class SemanticIndex {
  readonly #entries: LRUCache<string, Entry>;
  readonly #namespaces = new Map<string, Set<string>>();

  constructor(options: SemanticIndexOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${options.maxEntries}`);
    }
    this.#entries = new LRUCache<string, Entry>({
      max: options.maxEntries,
      // Called synchronously, before set/delete return, for the entry being removed or replaced.
      dispose: (entry, key) => this.#unlink(entry.namespace, key),
    });
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Namespaces holding at least one entry; never more than `size`. */
  get namespaceCount(): number {
    return this.#namespaces.size;
  }

  add(namespace: string, key: string, vector: SparseVector): void {
    // set() disposes a replaced entry (unlinking it from its old namespace) before we link the new one.
    this.#entries.set(key, { namespace, vector });
    let keys = this.#namespaces.get(namespace);
    if (keys === undefined) {
      keys = new Set();
      this.#namespaces.set(namespace, keys);
    }
    keys.add(key);
  }

  /** The most similar entry of `namespace` (the earliest linked wins a tie), marked recently used. */
  nearest(namespace: string, vector: SparseVector): SemanticMatch | undefined {
    let best: SemanticMatch | undefined;
    for (const key of this.#namespaces.get(namespace) ?? []) {
      // peek: scanning must not reorder the LRU list; only the answer counts as a use.
      const entry = this.#entries.peek(key);
      if (entry === undefined) continue;
      const similarity = cosine(vector, entry.vector);
      if (best === undefined || similarity > best.similarity) best = { key, similarity };
    }
    if (best !== undefined) this.#entries.get(best.key);
    return best;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  #unlink(namespace: string, key: string): void {
    const keys = this.#namespaces.get(namespace);
    if (keys === undefined) return;
    keys.delete(key);
    if (keys.size === 0) this.#namespaces.delete(namespace);
  }
}
