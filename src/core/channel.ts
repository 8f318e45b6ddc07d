/**
 * A single-consumer async event channel: a producer driven by callbacks (timers, sockets) pushes values; one
 * consumer reads them with `for await`. Values pushed before the consumer asks are buffered in order; `fail`
 * delivers the buffered values first and then throws the error; `end` finishes after the buffer drains.
 * When the consumer stops early (breaks out of its loop), `onReturn` runs once so the producer can release
 * what it holds (a queue slot, a batch seat).
 */
export interface ChannelOptions {
  /** Called once when the consumer stops before the producer ended or failed the channel. */
  onReturn?: () => void;
}

type Settled = { kind: "open" } | { kind: "ended" } | { kind: "failed"; error: unknown };

export class Channel<T> implements AsyncIterable<T> {
  #buffer: T[] = [];
  #head = 0;
  #settled: Settled = { kind: "open" };
  #waiter: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined;
  #iterated = false;
  #returned = false;
  readonly #onReturn: (() => void) | undefined;

  constructor(options: ChannelOptions = {}) {
    this.#onReturn = options.onReturn;
  }

  /** True once the producer ended or failed the channel, or the consumer stopped reading. */
  get closed(): boolean {
    return this.#settled.kind !== "open" || this.#returned;
  }

  /** Queues a value; returns false (and drops it) when the channel is already closed. */
  push(value: T): boolean {
    if (this.closed) return false;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.resolve({ value, done: false });
    } else {
      this.#buffer.push(value);
    }
    return true;
  }

  /** Finishes the stream once the buffered values are read. No-op when already closed. */
  end(): void {
    this.#settle({ kind: "ended" });
  }

  /** Makes the consumer's next read (after the buffered values) throw `error`. No-op when already closed. */
  fail(error: unknown): void {
    this.#settle({ kind: "failed", error });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterated) throw new Error("Channel supports a single consumer; it is already being iterated");
    this.#iterated = true;
    return {
      next: () => this.#next(),
      return: () => {
        this.#stop();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  #settle(settled: Settled): void {
    if (this.closed) return;
    this.#settled = settled;
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    // A waiting consumer means the buffer is empty: deliver the end (or the error) now.
    this.#waiter = undefined;
    if (settled.kind === "failed") waiter.reject(settled.error);
    else waiter.resolve({ value: undefined, done: true });
  }

  #next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#buffer.length) {
      const value = this.#buffer[this.#head] as T;
      this.#head++;
      // Compact occasionally so a long stream does not keep every consumed value alive.
      if (this.#head >= 1024 && this.#head * 2 >= this.#buffer.length) {
        this.#buffer = this.#buffer.slice(this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#returned) return Promise.resolve({ value: undefined, done: true });
    const settled = this.#settled;
    if (settled.kind === "ended") return Promise.resolve({ value: undefined, done: true });
    if (settled.kind === "failed") {
      // Deliver the error once; later reads see a finished iterator, as with a generator that threw.
      this.#settled = { kind: "ended" };
      return Promise.reject(settled.error);
    }
    if (this.#waiter !== undefined) return Promise.reject(new Error("Channel: concurrent next() calls"));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  #stop(): void {
    if (this.#returned) return;
    const producerOpen = this.#settled.kind === "open";
    this.#returned = true;
    this.#buffer = [];
    this.#head = 0;
    // A next() still waiting (return() called from elsewhere, e.g. a cancellation) must end, not hang.
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve({ value: undefined, done: true });
    if (producerOpen) this.#onReturn?.();
  }
}
