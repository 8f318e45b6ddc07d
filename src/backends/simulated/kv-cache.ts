import { BlockIndex } from "./block-index.js";
import { FreeList } from "./free-list.js";

/**
 * The paged KV cache: a pool of fixed-size blocks (vLLM's PagedAttention) plus automatic prefix caching as
 * vLLM V1 does it. A full block is identified by a chained hash of (parent block's hash, the block's token
 * ids), so equal hashes mean equal whole prefixes. Blocks whose reference count drops to zero go to the tail
 * of an LRU free queue but keep their hash: a later request with the same prefix takes them back for free,
 * and allocation evicts from the head (least recently freed) only when it needs the memory.
 */
export interface BlockTable {
  /** Block ids holding the sequence's KV, in token order. */
  blocks: number[];
  /** How many leading blocks have been offered to the prefix cache (their hash registered or found taken). */
  committed: number;
}

export function emptyBlockTable(): BlockTable {
  return { blocks: [], committed: 0 };
}

/**
 * A full block's chained hash as a safe integer (53 bits), a Map key that costs no string per block. Two
 * independent 32-bit mixes (FNV-1a and a Murmur-style multiply) are kept to 32 + 21 bits: with a million
 * blocks cached, the chance that a given lookup finds a false match is about 1e-10, negligible at simulator
 * scale (vLLM uses SHA-256 or Python's 64-bit hash).
 */
export type BlockHash = number;

const NO_HASH = -1;
const TWO_POW_32 = 4294967296;

export function chainBlockHash(
  parent: BlockHash | undefined,
  tokens: readonly number[],
  from: number,
  to: number,
): BlockHash {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  if (parent !== undefined) {
    for (const part of [parent % TWO_POW_32, Math.floor(parent / TWO_POW_32)]) {
      a = Math.imul(a ^ part, 0x01000193);
      b = Math.imul(b ^ part, 0x5bd1e995);
      b ^= b >>> 15;
    }
  }
  for (let i = from; i < to; i++) {
    const t = (tokens[i] ?? 0) | 0;
    a = Math.imul(a ^ t, 0x01000193);
    b = Math.imul(b ^ t, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return (a >>> 0) * 2097152 + (b >>> 11);
}

export class KvCache {
  readonly totalBlocks: number;
  readonly blockSize: number;
  readonly prefixCaching: boolean;
  readonly #refCount: Int32Array;
  /** Each block's registered hash, or NO_HASH. */
  readonly #hashOf: Float64Array;
  /** Blocks with no reference, least recently freed first. */
  readonly #free: FreeList;
  readonly #cached: BlockIndex;

  constructor(options: { totalBlocks: number; blockSize: number; prefixCaching: boolean }) {
    this.totalBlocks = options.totalBlocks;
    this.blockSize = options.blockSize;
    this.prefixCaching = options.prefixCaching;
    this.#refCount = new Int32Array(options.totalBlocks);
    this.#hashOf = new Float64Array(options.totalBlocks);
    this.#free = new FreeList(options.totalBlocks);
    // At most one hash per block is registered; without prefix caching, none.
    this.#cached = new BlockIndex(options.prefixCaching ? options.totalBlocks : 0);
    this.reset();
  }

  /** Blocks referenced by some sequence. */
  get usedBlocks(): number {
    return this.totalBlocks - this.#free.size;
  }

  /** Blocks allocatable now, cached-but-unreferenced ones included (they are evicted on demand). */
  get freeBlocks(): number {
    return this.#free.size;
  }

  blocksFor(tokens: number): number {
    return Math.ceil(tokens / this.blockSize);
  }

  /**
   * Longest run of the first `limit` block hashes present in the cache, as block ids. The caller sets `limit`
   * so the last prompt token is always recomputed (its logits are needed to sample).
   */
  lookup(hashes: readonly BlockHash[], limit = hashes.length): number[] {
    if (!this.prefixCaching) return [];
    const hits: number[] = [];
    for (let i = 0; i < Math.min(limit, hashes.length); i++) {
      const block = this.#cached.get(hashes[i] as BlockHash);
      if (block === undefined) break;
      hits.push(block);
    }
    return hits;
  }

  /**
   * Makes `table` (empty) hold `hits` and enough fresh blocks for `tokens` tokens, or changes nothing and
   * returns false when the pool is short. Hit blocks sitting in the free queue do not count as free here.
   */
  admit(table: BlockTable, hits: readonly number[], tokens: number): boolean {
    const fresh = this.blocksFor(tokens) - hits.length;
    const hitsInFreeQueue = hits.filter((block) => this.#refCount[block] === 0).length;
    if (fresh > this.#free.size - hitsInFreeQueue) return false;
    for (const block of hits) this.#ref(block);
    table.blocks.push(...hits);
    table.committed = hits.length;
    this.#allocate(table, fresh);
    return true;
  }

  /** Grows `table` to hold `tokens` tokens; false (nothing allocated) when the pool is short. */
  grow(table: BlockTable, tokens: number): boolean {
    const fresh = this.blocksFor(tokens) - table.blocks.length;
    if (fresh <= 0) return true;
    if (fresh > this.#free.size) return false;
    this.#allocate(table, fresh);
    return true;
  }

  /**
   * Offers the table's blocks that are now full of computed tokens to the prefix cache. `hashOfBlock(i)` is the
   * chained hash of block i. A hash already held by another block is left there (the duplicate stays private).
   */
  commit(table: BlockTable, computedTokens: number, hashOfBlock: (index: number) => BlockHash): void {
    if (!this.prefixCaching) return;
    const full = Math.min(Math.floor(computedTokens / this.blockSize), table.blocks.length);
    for (let i = table.committed; i < full; i++) {
      const hash = hashOfBlock(i);
      const block = table.blocks[i] as number;
      if (!this.#cached.has(hash)) {
        this.#cached.set(hash, block);
        this.#hashOf[block] = hash;
      }
    }
    table.committed = Math.max(table.committed, full);
  }

  /**
   * Drops the table's references. Blocks are freed tail first, so a sequence's later blocks are evicted before
   * its prefix (vLLM frees in reverse order for the same reason).
   */
  release(table: BlockTable): void {
    for (let i = table.blocks.length - 1; i >= 0; i--) {
      const block = table.blocks[i] as number;
      const count = (this.#refCount[block] ?? 0) - 1;
      this.#refCount[block] = count;
      if (count === 0) this.#free.push(block);
    }
    table.blocks = [];
    table.committed = 0;
  }

  /** Forgets everything: all blocks free, no cached prefix (a crashed replica restarts empty). */
  reset(): void {
    this.#refCount.fill(0);
    this.#hashOf.fill(NO_HASH);
    this.#cached.clear();
    this.#free.clear();
    for (let block = 0; block < this.totalBlocks; block++) this.#free.push(block);
  }

  #ref(block: number): void {
    const count = this.#refCount[block] ?? 0;
    if (count === 0) this.#free.delete(block);
    this.#refCount[block] = count + 1;
  }

  #allocate(table: BlockTable, count: number): void {
    for (let n = 0; n < count; n++) {
      const block = this.#free.shift();
      if (block === -1) throw new Error("KvCache: allocation past a checked capacity");
      const hash = this.#hashOf[block] as number;
      if (hash !== NO_HASH) {
        // Evicting a cached block: its prefix is no longer reusable.
        this.#cached.delete(hash);
        this.#hashOf[block] = NO_HASH;
      }
      this.#refCount[block] = 1;
      table.blocks.push(block);
    }
  }
}
