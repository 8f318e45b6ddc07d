/** Distinct requests kept for exact repeats, as bench/lib/workload.ts's REPEAT_POOL_SIZE. */
export const REPEAT_POOL_SIZE = 1000;

/**
 * Prompt tokens the pool holds at most (4 bytes each: 32 MiB). Prompts averaging over 8,388 tokens make the
 * pool hold fewer than REPEAT_POOL_SIZE requests; a single longer prompt is still kept, alone.
 */
export const REPEAT_POOL_TOKENS = 2 ** 23;

export interface RecentPrompt<T> {
  /** The request's 0-based arrival index. */
  index: number;
  /** Its prompt's token ids (the text is rebuilt from them: see idsPrompt in sampling.ts). */
  ids: Uint32Array;
  data: T;
}

/**
 * The prompts of the last distinct requests, oldest evicted first: at most REPEAT_POOL_SIZE of them and
 * REPEAT_POOL_TOKENS tokens. The synthetic workload draws exact repeats from it, and a trace replay resolves
 * `#N` prefixes against it; both add the same requests in the same order, so a repeat the workload drew is
 * still held when its trace line is replayed.
 */
export class RecentPrompts<T> {
  readonly #entries: RecentPrompt<T>[] = [];
  readonly #byIndex = new Map<number, RecentPrompt<T>>();
  #tokens = 0;

  get size(): number {
    return this.#entries.length;
  }

  add(index: number, ids: readonly number[], data: T): void {
    const entry: RecentPrompt<T> = { index, ids: Uint32Array.from(ids), data };
    this.#entries.push(entry);
    this.#byIndex.set(index, entry);
    this.#tokens += ids.length;
    while (
      this.#entries.length > REPEAT_POOL_SIZE ||
      (this.#tokens > REPEAT_POOL_TOKENS && this.#entries.length > 1)
    ) {
      const oldest = this.#entries.shift()!;
      this.#byIndex.delete(oldest.index);
      this.#tokens -= oldest.ids.length;
    }
  }

  get(index: number): RecentPrompt<T> | undefined {
    return this.#byIndex.get(index);
  }

  /** A held request, uniform over them for `u` uniform in [0, 1); undefined when none is held. */
  pick(u: number): RecentPrompt<T> | undefined {
    return this.#entries[Math.floor(u * this.#entries.length)];
  }
}
