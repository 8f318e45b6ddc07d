import type { MemoryStore } from "./memory-store.js";
import {
  checkTtl,
  type Hold,
  type Store,
  type StoreStats,
  type TokenRequest,
  type TokenResult,
} from "./store.js";

/** Runs `fn` once after `delayMs`; returns a cancel. */
export type Schedule = (delayMs: number, fn: () => void) => () => void;

export interface FallbackStoreOptions {
  primary: Store;
  /** Serves while the primary is down: cache misses at first, local counters and buckets for limits. */
  local: MemoryStore;
  /** Called once per transition: false when the primary is marked down, true when a probe finds it back. */
  onStateChange?: (connected: boolean) => void;
  /** Asks the primary whether it answers (resolves) while it is marked down. Default: a get of a probe key. */
  probe?: () => Promise<unknown>;
  /** From the outage, or from a failed probe, to the next probe. */
  probeIntervalMs?: number;
  /** A probe that has not answered within this long failed. */
  probeTimeoutMs?: number;
  /**
   * Timers for the probe. Default: real timers, unref'd so a probe never keeps a process alive; tests pass
   * their virtual clock's.
   */
  schedule?: Schedule;
}

export const FALLBACK_DEFAULTS = { probeIntervalMs: 1_000, probeTimeoutMs: 500 } as const;

const PROBE_KEY = "tollgate:probe";

const realTimers: Schedule = (delayMs, fn) => {
  const timer = setTimeout(fn, delayMs);
  timer.unref();
  return () => clearTimeout(timer);
};

/**
 * Keeps the gateway serving through a shared-store outage, and keeps a hung store from adding its timeout to
 * every call. While the primary is up every call goes to it; the first call that fails (refused, dropped, or
 * timed out on a hung server whose sockets stay open) marks it down at once, and every call then goes to the
 * local store without touching the primary. Calls already waiting on the primary are answered locally at that
 * moment instead of each waiting out its own timeout. A background probe (bounded, one at a time) asks the
 * primary every probeIntervalMs; the first answer marks it up again. Limits are per replica instead of
 * fleet-wide while it is down: looser, but still bounded.
 */
export class FallbackStore implements Store {
  readonly kind: Store["kind"];
  readonly #primary: Store;
  readonly #local: MemoryStore;
  readonly #onStateChange: (connected: boolean) => void;
  readonly #probe: () => Promise<unknown>;
  readonly #probeIntervalMs: number;
  readonly #probeTimeoutMs: number;
  readonly #schedule: Schedule;
  /** Primary calls in flight; each entry answers its call locally. Removed as each settles. */
  readonly #waiting = new Set<() => void>();
  /** Cancels the probe's pending timer (its interval or its timeout), if one is set. */
  #cancelProbeTimer: (() => void) | undefined;
  #up = true;
  #closed = false;
  #errors = 0;

  constructor(options: FallbackStoreOptions) {
    this.kind = options.primary.kind;
    this.#primary = options.primary;
    this.#local = options.local;
    this.#onStateChange = options.onStateChange ?? (() => {});
    this.#probe = options.probe ?? (() => this.#primary.get(PROBE_KEY));
    this.#probeIntervalMs = options.probeIntervalMs ?? FALLBACK_DEFAULTS.probeIntervalMs;
    this.#probeTimeoutMs = options.probeTimeoutMs ?? FALLBACK_DEFAULTS.probeTimeoutMs;
    this.#schedule = options.schedule ?? realTimers;
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

  /**
   * Held where it was counted. A primary hold is released on the primary even while it is down: the release
   * is sent without waiting for it (a paused Redis applies it when it resumes; on a dropped connection it is
   * lost and the count expires with its TTL). A hold the primary grants after the call was answered locally
   * is released at once.
   */
  async hold(key: string, options: { ttlMs: number }): Promise<Hold> {
    checkTtl(options.ttlMs);
    if (!this.#up) return this.#local.hold(key, options);
    const served = await this.#await(
      attempt(() => this.#primary.hold(key, options)),
      () => this.#local.hold(key, options),
      (late) => void late.release().catch(() => {}),
    );
    if (!served.onPrimary) return served.value;
    const held = served.value;
    let released = false;
    return {
      count: held.count,
      release: async () => {
        if (released) return;
        released = true;
        const releasing = held.release();
        if (!this.#up) {
          void releasing.catch(() => {});
          return;
        }
        await this.#await(releasing, async () => {});
      },
    };
  }

  /** The primary's view, with this wrapper's error count (calls answered locally) and health. */
  stats(): StoreStats {
    const primary = this.#primary.stats();
    return { ...primary, errors: this.#errors, connected: this.#up && primary.connected };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#cancelProbeTimer?.();
    this.#cancelProbeTimer = undefined;
    await Promise.all([this.#primary.close(), this.#local.close()]);
  }

  async #route<T>(call: (store: Store) => Promise<T>): Promise<T> {
    if (!this.#up) return call(this.#local);
    const served = await this.#await(
      attempt(() => call(this.#primary)),
      () => call(this.#local),
    );
    return served.value;
  }

  /**
   * Waits for a primary call unless the primary is marked down first: then `local` answers at once, and an
   * answer the primary gives later goes to `late`. The call's own failure marks the primary down; bad arguments
   * (RangeError) are the caller's bug, not an outage, and are rethrown.
   */
  #await<T>(
    call: Promise<T>,
    local: () => Promise<T>,
    late?: (value: T) => void,
  ): Promise<{ value: T; onPrimary: boolean }> {
    return new Promise((resolve, reject) => {
      let pending = true;
      const answerLocally = () => {
        this.#errors++;
        resolve(local().then((value) => ({ value, onPrimary: false })));
      };
      const abandon = () => {
        if (!pending) return;
        pending = false;
        this.#waiting.delete(abandon);
        answerLocally();
      };
      this.#waiting.add(abandon);
      call.then(
        (value) => {
          if (!pending) {
            late?.(value);
            return;
          }
          pending = false;
          this.#waiting.delete(abandon);
          resolve({ value, onPrimary: true });
        },
        (error: unknown) => {
          if (!pending) return;
          pending = false;
          this.#waiting.delete(abandon);
          if (error instanceof RangeError) {
            reject(error);
            return;
          }
          answerLocally();
          this.#markDown();
        },
      );
    });
  }

  #markDown(): void {
    if (!this.#up) return;
    this.#up = false;
    this.#onStateChange(false);
    for (const abandon of [...this.#waiting]) abandon();
    this.#scheduleProbe();
  }

  #scheduleProbe(): void {
    if (this.#closed || this.#cancelProbeTimer !== undefined) return;
    this.#cancelProbeTimer = this.#schedule(this.#probeIntervalMs, () => {
      this.#cancelProbeTimer = undefined;
      void this.#runProbe();
    });
  }

  async #runProbe(): Promise<void> {
    const answered = await this.#probeOnce();
    if (this.#closed || this.#up) return;
    if (!answered) {
      this.#scheduleProbe();
      return;
    }
    this.#up = true;
    this.#onStateChange(true);
  }

  /** One probe, bounded by probeTimeoutMs; never rejects. */
  #probeOnce(): Promise<boolean> {
    return new Promise((resolve) => {
      let pending = true;
      const done = (answered: boolean) => {
        if (!pending) return;
        pending = false;
        this.#cancelProbeTimer?.();
        this.#cancelProbeTimer = undefined;
        resolve(answered);
      };
      this.#cancelProbeTimer = this.#schedule(this.#probeTimeoutMs, () => done(false));
      attempt(this.#probe).then(
        () => done(true),
        () => done(false),
      );
    });
  }
}

/** A call's promise, with a synchronous throw turned into a rejection. */
function attempt<T>(run: () => Promise<T>): Promise<T> {
  try {
    return run();
  } catch (error) {
    return Promise.reject(error);
  }
}
