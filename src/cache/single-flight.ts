/**
 * One generation shared by every identical request in flight at once. The source runs on its own abort signal,
 * not any client's: a subscriber that leaves (the first one included) only stops its own reading, and the
 * source is aborted only when the last subscriber has gone before it finished. A late subscriber first gets
 * every event so far, then follows live, so a streamed follower sees the same stream from its start.
 */
export class SharedGeneration<E> {
  readonly #events: E[] = [];
  readonly #controller = new AbortController();
  #state: "running" | "done" | "failed" = "running";
  #error: unknown;
  #subscribers = 0;
  /** Resolved (and replaced) when an event arrives or the source settles; created only while someone waits. */
  #wake: { promise: Promise<void>; resolve: () => void } | undefined;

  /**
   * Starts the source at once. `onSettled` runs once: with `ok` true when the source ended normally, false when
   * it threw or was aborted.
   */
  constructor(
    source: (signal: AbortSignal) => AsyncIterable<E>,
    onSettled: (outcome: { ok: boolean; events: readonly E[] }) => void,
  ) {
    void this.#pump(source, onSettled);
  }

  get subscribers(): number {
    return this.#subscribers;
  }

  get settled(): boolean {
    return this.#state !== "running";
  }

  /** Events from the first; ends when the source ends, throws what it throws, or stops when `signal` aborts. */
  async *subscribe(signal: AbortSignal): AsyncGenerator<E> {
    this.#subscribers++;
    let next = 0;
    try {
      for (;;) {
        while (next < this.#events.length) yield this.#events[next++]!;
        if (this.#state === "done") return;
        if (this.#state === "failed") throw this.#error;
        signal.throwIfAborted();
        await this.#nextChange(signal);
      }
    } finally {
      this.#subscribers--;
      if (this.#subscribers === 0 && this.#state === "running") {
        this.#controller.abort(new Error("every client of a shared generation went away"));
      }
    }
  }

  async #pump(
    source: (signal: AbortSignal) => AsyncIterable<E>,
    onSettled: (outcome: { ok: boolean; events: readonly E[] }) => void,
  ): Promise<void> {
    try {
      for await (const event of source(this.#controller.signal)) {
        this.#events.push(event);
        this.#notify();
      }
      this.#state = "done";
    } catch (error) {
      this.#state = "failed";
      this.#error = error;
    }
    this.#notify();
    onSettled({ ok: this.#state === "done", events: this.#events });
  }

  #notify(): void {
    const wake = this.#wake;
    if (wake === undefined) return;
    this.#wake = undefined;
    wake.resolve();
  }

  #nextChange(signal: AbortSignal): Promise<void> {
    if (this.#wake === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.#wake = { promise, resolve };
    }
    const changed = this.#wake.promise;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      void changed.then(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }
}
