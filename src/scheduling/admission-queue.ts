import { MinHeap } from "../core/heap.js";

/** A request waiting for a slot in front of its pool. */
export interface QueuedItem<T> {
  readonly value: T;
  readonly priority: number;
  /** Clock time by which it should have its first token (EDF order within a priority). */
  readonly deadlineMs: number;
  readonly enqueuedMs: number;
  readonly seq: number;
  /** Prompt tokens it brings (for the prefill work ahead of a new request). */
  readonly tokens: number;
  /** Removed (dispatched, dropped, shed or cancelled): the heaps skip it lazily. */
  removed: boolean;
}

/**
 * The gateway's queue for one pool: highest priority first, then earliest deadline first, then arrival order.
 * Removal of any item (a client that disconnects, a deadline that passes) is O(1) and lazy; a second heap in the
 * opposite order finds the item to shed when the queue is full (lowest priority, latest deadline). Counts by
 * priority let admission ask "how many are ahead of a request of this priority" without a scan.
 */
export class AdmissionQueue<T> {
  readonly #next = new MinHeap<QueuedItem<T>>((a, b) =>
    a.priority !== b.priority
      ? a.priority > b.priority
      : a.deadlineMs !== b.deadlineMs
        ? a.deadlineMs < b.deadlineMs
        : a.seq < b.seq,
  );
  readonly #shed = new MinHeap<QueuedItem<T>>((a, b) =>
    a.priority !== b.priority
      ? a.priority < b.priority
      : a.deadlineMs !== b.deadlineMs
        ? a.deadlineMs > b.deadlineMs
        : a.seq > b.seq,
  );
  readonly #byPriority = new Map<number, number>();
  readonly #tokensByPriority = new Map<number, number>();
  #size = 0;
  #seq = 0;

  get size(): number {
    return this.#size;
  }

  push(value: T, priority: number, deadlineMs: number, nowMs: number, tokens = 0): QueuedItem<T> {
    const item: QueuedItem<T> = {
      value,
      priority,
      deadlineMs,
      enqueuedMs: nowMs,
      seq: this.#seq++,
      tokens,
      removed: false,
    };
    this.#next.push(item);
    this.#shed.push(item);
    this.#byPriority.set(priority, (this.#byPriority.get(priority) ?? 0) + 1);
    this.#tokensByPriority.set(priority, (this.#tokensByPriority.get(priority) ?? 0) + tokens);
    this.#size++;
    return item;
  }

  /** The next item to dispatch, without removing it. */
  peek(): QueuedItem<T> | undefined {
    return this.#top(this.#next);
  }

  /** Removes and returns the next item to dispatch. */
  shift(): QueuedItem<T> | undefined {
    const item = this.#top(this.#next);
    if (item !== undefined) this.remove(item);
    return item;
  }

  /** The item that would be shed first (lowest priority, latest deadline), without removing it. */
  lowest(): QueuedItem<T> | undefined {
    return this.#top(this.#shed);
  }

  remove(item: QueuedItem<T>): void {
    if (item.removed) return;
    item.removed = true;
    this.#size--;
    const left = (this.#byPriority.get(item.priority) ?? 1) - 1;
    if (left === 0) {
      this.#byPriority.delete(item.priority);
      this.#tokensByPriority.delete(item.priority);
    } else {
      this.#byPriority.set(item.priority, left);
      this.#tokensByPriority.set(
        item.priority,
        (this.#tokensByPriority.get(item.priority) ?? 0) - item.tokens,
      );
    }
    // Keep the heaps from filling with removed items when removals come from the middle.
    if (this.#next.size > 2 * this.#size + 64) this.#compact();
  }

  /** Queued items that would be dispatched before a new item of this priority (same priority counted ahead). */
  aheadOf(priority: number): number {
    let ahead = 0;
    for (const [p, count] of this.#byPriority) if (p >= priority) ahead += count;
    return ahead;
  }

  /** Prompt tokens of the items that would be dispatched before a new item of this priority. */
  tokensAheadOf(priority: number): number {
    let tokens = 0;
    for (const [p, sum] of this.#tokensByPriority) if (p >= priority) tokens += sum;
    return tokens;
  }

  /** Items in the queue of each priority. */
  countsByPriority(): ReadonlyMap<number, number> {
    return this.#byPriority;
  }

  #top(heap: MinHeap<QueuedItem<T>>): QueuedItem<T> | undefined {
    let item = heap.peek();
    while (item?.removed) {
      heap.pop();
      item = heap.peek();
    }
    return item;
  }

  #compact(): void {
    const live: QueuedItem<T>[] = [];
    for (let item = this.#next.pop(); item !== undefined; item = this.#next.pop())
      if (!item.removed) live.push(item);
    while (this.#shed.pop() !== undefined) {}
    for (const item of live) {
      this.#next.push(item);
      this.#shed.push(item);
    }
  }
}
