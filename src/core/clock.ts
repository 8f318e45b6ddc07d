import { MinHeap } from "./heap.js";

/** An opaque handle for a scheduled timer. */
export interface TimerHandle {
  readonly id: number;
}

/**
 * The only source of time in the serving core. Live traffic uses {@link SystemClock}; tests and the offline
 * simulator use {@link VirtualClock}. Times are milliseconds on a monotonic timeline.
 */
export interface Clock {
  /** Monotonic milliseconds; only differences are meaningful. */
  now(): number;
  /** Milliseconds since the Unix epoch, for wire fields such as `created` and expiry times. */
  epochMs(): number;
  /** Runs `fn` once after `delayMs` (0 or less, or NaN: as soon as possible, after pending I/O). */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/**
 * The longest delay Node's timers take (2^31 - 1 ms, about 24.8 days). A longer one fires after 1 ms, with
 * only a TimeoutOverflowWarning to say so; a "practically never" timeout must not turn into "now".
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A delay as both clocks take it: 0 or less, and NaN, mean "as soon as possible". Math.max(0, NaN) is NaN: on
 * the virtual clock a NaN due time fired out of order and set now() to NaN; setTimeout made it 1 ms.
 */
function timerDelay(delayMs: number): number {
  return Number.isNaN(delayMs) ? 0 : Math.max(0, delayMs);
}

/** Real time: performance.now() for the timeline, Date.now() for the epoch. */
export class SystemClock implements Clock {
  #nextId = 1;
  readonly #timers = new Map<number, NodeJS.Timeout | NodeJS.Immediate>();

  now(): number {
    return performance.now();
  }

  epochMs(): number {
    return Date.now();
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const id = this.#nextId++;
    const run = () => {
      this.#timers.delete(id);
      fn();
    };
    const delay = timerDelay(delayMs);
    // setTimeout clamps to >= 1 ms; a zero delay should not cost a millisecond.
    this.#timers.set(id, delay === 0 ? setImmediate(run) : setTimeout(run, Math.min(delay, MAX_TIMER_MS)));
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const timer = this.#timers.get(handle.id);
    if (timer === undefined) return;
    this.#timers.delete(handle.id);
    clearTimeout(timer as NodeJS.Timeout);
    clearImmediate(timer as NodeJS.Immediate);
  }
}

/** Cleared timers tolerated in the virtual clock's queue before it is compacted. */
const COMPACT_AFTER = 1024;

interface VirtualTimer {
  readonly id: number;
  readonly at: number;
}

/**
 * Virtual time that moves only when told to. Timers fire in (time, scheduling order). Used by unit tests
 * (no sleeping on the wall clock) and by the offline simulator (as fast as the CPU allows).
 */
export class VirtualClock implements Clock {
  #now: number;
  readonly #epochBase: number;
  #nextId = 1;
  readonly #queue = new MinHeap<VirtualTimer>((a, b) => a.at < b.at || (a.at === b.at && a.id < b.id));
  /**
   * Callbacks of live timers by id. A cleared timer's entry goes at once, so its closure (and whatever it
   * holds: a request, its prompt) is not kept alive until the timer's time comes round: long timeouts that
   * are almost always cleared would otherwise pin every request for their whole length.
   */
  readonly #callbacks = new Map<number, () => void>();
  /** Cleared timers whose entries may still be in the queue. */
  #cancelled = 0;

  constructor(options: { startMs?: number; epochBaseMs?: number } = {}) {
    this.#now = options.startMs ?? 0;
    this.#epochBase = options.epochBaseMs ?? Date.UTC(2026, 0, 1);
  }

  now(): number {
    return this.#now;
  }

  epochMs(): number {
    return this.#epochBase + this.#now;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const id = this.#nextId++;
    this.#queue.push({ id, at: this.#now + timerDelay(delayMs) });
    this.#callbacks.set(id, fn);
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    if (!this.#callbacks.delete(handle.id)) return;
    // A cleared timer's queue entry stays until its time comes round; long timeouts that are nearly always
    // cleared (per-request deadlines) would pile up, so drop them once they outnumber the live timers.
    this.#cancelled++;
    if (this.#cancelled > COMPACT_AFTER && this.#cancelled > this.#callbacks.size) {
      this.#queue.retain((timer) => this.#callbacks.has(timer.id));
      this.#cancelled = 0;
    }
  }

  /** Number of timers still scheduled (cancelled ones excluded once they reach the head). */
  get pending(): number {
    return this.#callbacks.size;
  }

  /** Time of the next live timer, if any. */
  nextTimerAt(): number | undefined {
    this.#dropCancelledHead();
    return this.#queue.peek()?.at;
  }

  /**
   * Fires, synchronously and in order, every timer due up to `now + ms`, then sets the time to `now + ms`.
   * Code that reacts to timers through promises needs {@link advance} instead.
   */
  advanceSync(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      const timer = this.#takeDue(target);
      if (timer === undefined) break;
      timer.fn();
    }
    this.#now = target;
  }

  /**
   * Like {@link advanceSync}, but lets promise continuations (and so async iterators) run after each timer,
   * as they would on a real event loop.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await flushMicrotasks();
    for (;;) {
      const timer = this.#takeDue(target);
      if (timer === undefined) break;
      timer.fn();
      await flushMicrotasks();
    }
    this.#now = target;
  }

  /** Advances until no timer is left or `limitMs` of virtual time has passed; returns the time advanced. */
  async runUntilIdle(limitMs = 3_600_000): Promise<number> {
    const start = this.#now;
    await flushMicrotasks();
    for (;;) {
      const at = this.nextTimerAt();
      if (at === undefined || at - start > limitMs) break;
      await this.advance(at - this.#now);
    }
    return this.#now - start;
  }

  /** The next due timer's callback (removed from the live set), with the time moved to its due time. */
  #takeDue(target: number): { fn: () => void } | undefined {
    this.#dropCancelledHead();
    const head = this.#queue.peek();
    if (head === undefined || head.at > target) return undefined;
    this.#queue.pop();
    this.#now = head.at;
    const fn = this.#callbacks.get(head.id)!;
    this.#callbacks.delete(head.id);
    return { fn };
  }

  #dropCancelledHead(): void {
    for (;;) {
      const head = this.#queue.peek();
      if (head === undefined || this.#callbacks.has(head.id)) return;
      this.#queue.pop();
      if (this.#cancelled > 0) this.#cancelled--;
    }
  }
}

/** Resolves after every queued microtask (and the ones they queue) has run. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Resolves after `ms` on the given clock; rejects with the signal's reason if aborted first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimer(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimer(ms, () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
