/**
 * The prefix cache's index, block hash -> block id, as an open-addressing table over typed arrays (linear
 * probing, backward-shift deletion, so no tombstones pile up). A KV pool registers at most one hash per block,
 * so the table is sized once, for the pool, at under half load; it never grows or rehashes. It holds no
 * JavaScript objects, so the garbage collector never walks it: a JS Map of a million number keys is both
 * slower to fill and a large object graph for every major collection.
 *
 * Keys are BlockHash values: non-negative safe integers (kv-cache.ts).
 */
const EMPTY = -1;
const TWO_POW_32 = 4294967296;

export class BlockIndex {
  readonly #keys: Float64Array;
  readonly #values: Int32Array;
  readonly #mask: number;
  readonly #capacity: number;
  #size = 0;

  constructor(capacity: number) {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.#capacity = capacity;
    this.#keys = new Float64Array(slots).fill(EMPTY);
    this.#values = new Int32Array(slots);
    this.#mask = slots - 1;
  }

  get size(): number {
    return this.#size;
  }

  get(hash: number): number | undefined {
    const slot = this.#find(hash);
    return slot === -1 ? undefined : this.#values[slot];
  }

  has(hash: number): boolean {
    return this.#find(hash) !== -1;
  }

  /** Adds or replaces `hash`; throws past the capacity it was built for (a caller bug, never a full table). */
  set(hash: number, block: number): void {
    const keys = this.#keys;
    let slot = this.#home(hash);
    for (;;) {
      const key = keys[slot] as number;
      if (key === hash) {
        this.#values[slot] = block;
        return;
      }
      if (key === EMPTY) break;
      slot = (slot + 1) & this.#mask;
    }
    if (this.#size >= this.#capacity) throw new Error(`BlockIndex: more than ${this.#capacity} entries`);
    keys[slot] = hash;
    this.#values[slot] = block;
    this.#size++;
  }

  delete(hash: number): boolean {
    let hole = this.#find(hash);
    if (hole === -1) return false;
    const keys = this.#keys;
    const mask = this.#mask;
    // Backward shift: pull later entries of the probe run into the hole unless that would put one before
    // its home slot.
    for (let next = (hole + 1) & mask; keys[next] !== EMPTY; next = (next + 1) & mask) {
      const home = this.#home(keys[next] as number);
      const stays = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (stays) continue;
      keys[hole] = keys[next] as number;
      this.#values[hole] = this.#values[next] as number;
      hole = next;
    }
    keys[hole] = EMPTY;
    this.#size--;
    return true;
  }

  clear(): void {
    this.#keys.fill(EMPTY);
    this.#size = 0;
  }

  #find(hash: number): number {
    const keys = this.#keys;
    for (let slot = this.#home(hash); ; slot = (slot + 1) & this.#mask) {
      const key = keys[slot] as number;
      if (key === hash) return slot;
      if (key === EMPTY) return -1;
    }
  }

  #home(hash: number): number {
    // hash >>> 0 is hash mod 2^32 (ToUint32); the high 21 bits are mixed in too.
    let h = Math.imul((hash >>> 0) ^ Math.imul(Math.floor(hash / TWO_POW_32), 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 16;
    return h & this.#mask;
  }
}
