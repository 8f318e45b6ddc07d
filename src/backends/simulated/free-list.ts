/**
 * The KV pool's free blocks in least-recently-freed order, as an intrusive doubly linked list over typed arrays:
 * O(1) append, remove and take-oldest with no allocation. (A Map used as an ordered set degrades when its head is
 * deleted over and over: iteration must skip the deleted slots until the table is rebuilt.)
 */
export class FreeList {
  readonly #prev: Int32Array;
  readonly #next: Int32Array;
  readonly #member: Uint8Array;
  #head = -1;
  #tail = -1;
  #size = 0;

  constructor(capacity: number) {
    this.#prev = new Int32Array(capacity).fill(-1);
    this.#next = new Int32Array(capacity).fill(-1);
    this.#member = new Uint8Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  has(block: number): boolean {
    return this.#member[block] === 1;
  }

  /** Appends `block` as the most recently freed. */
  push(block: number): void {
    if (this.#member[block] === 1) return;
    this.#member[block] = 1;
    this.#prev[block] = this.#tail;
    this.#next[block] = -1;
    if (this.#tail === -1) this.#head = block;
    else this.#next[this.#tail] = block;
    this.#tail = block;
    this.#size++;
  }

  /** Removes `block` wherever it is (a cached block being reused). */
  delete(block: number): void {
    if (this.#member[block] !== 1) return;
    const prev = this.#prev[block] as number;
    const next = this.#next[block] as number;
    if (prev === -1) this.#head = next;
    else this.#next[prev] = next;
    if (next === -1) this.#tail = prev;
    else this.#prev[next] = prev;
    this.#member[block] = 0;
    this.#size--;
  }

  /** Takes the least recently freed block, or -1 when empty. */
  shift(): number {
    const block = this.#head;
    if (block !== -1) this.delete(block);
    return block;
  }

  clear(): void {
    this.#member.fill(0);
    this.#head = -1;
    this.#tail = -1;
    this.#size = 0;
  }
}
