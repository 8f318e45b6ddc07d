import type { MemoryStore } from "./memory-store.js";
import type { Store, StoreStats, TokenRequest, TokenResult } from "./store.js";

export interface FallbackStoreOptions {
  primary: Store;
  /** Serves while the primary is down: cache misses at first, local counters and buckets for limits. */
  local: MemoryStore;
  /** Called once per transition: false when the primary starts failing, true when it answers again. */
  onStateChange?: (connected: boolean) => void;
}

/**
 * Keeps the gateway serving through a shared-store outage. Every call goes to the primary; when it fails the
 * same call is served by the local store. While down, calls skip the primary until it reports itself
 * connected again, so an outage costs no timeouts; the first call that succeeds on it switches back.
 * Limits are then per replica instead of fleet-wide until the primary returns: looser, but still bounded.
 */
export class FallbackStore implements Store {
  readonly kind: Store["kind"];
  readonly #primary: Store;
  readonly #local: MemoryStore;
  readonly #onStateChange: (connected: boolean) => void;
  #up = true;
  #errors = 0;

  constructor(options: FallbackStoreOptions) {
    this.kind = options.primary.kind;
    this.#primary = options.primary;
    this.#local = options.local;
    this.#onStateChange = options.onStateChange ?? (() => {});
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.#route((store) => store.get(key));
  }

  set(key: string, value: Buffer, options: { ttlMs: number }): Promise<void> {
    return this.#route((store) => store.set(key, value, options));
  }

  setIfAbsent(key: string, value: Buffer, options: { ttlMs: number }): Promise<boolean> {
    return this.#route((store) => store.setIfAbsent(key, value, options));
  }

  delete(key: string): Promise<void> {
    return this.#route((store) => store.delete(key));
  }

  increment(key: string, by: number, options: { ttlMs: number }): Promise<number> {
    return this.#route((store) => store.increment(key, by, options));
  }

  takeTokens(key: string, request: TokenRequest): Promise<TokenResult> {
    return this.#route((store) => store.takeTokens(key, request));
  }

  /** The primary's view, with this wrapper's error count (calls that fell back) and health. */
  stats(): StoreStats {
    const primary = this.#primary.stats();
    return { ...primary, errors: this.#errors, connected: this.#up && primary.connected };
  }

  async close(): Promise<void> {
    await Promise.all([this.#primary.close(), this.#local.close()]);
  }

  async #route<T>(call: (store: Store) => Promise<T>): Promise<T> {
    if (!this.#up && !this.#primary.stats().connected) return call(this.#local);
    let result: T;
    try {
      result = await call(this.#primary);
    } catch (error) {
      // Bad arguments are the caller's bug, not an outage.
      if (error instanceof RangeError) throw error;
      this.#errors++;
      this.#transition(false);
      return call(this.#local);
    }
    this.#transition(true);
    return result;
  }

  #transition(up: boolean): void {
    if (this.#up === up) return;
    this.#up = up;
    this.#onStateChange(up);
  }
}
