import type { Clock, TimerHandle } from "./clock.js";

/**
 * One timer that calls `fn` at the earliest time asked for: asking for a later time while an earlier one is set
 * changes nothing; asking for an earlier one moves it. For work that must happen again "by then at the latest"
 * (a batch falling due, a backlog going stale) without a timer per reason.
 */
export class Alarm {
  readonly #clock: Clock;
  readonly #fn: () => void;
  #set: { handle: TimerHandle; atMs: number } | undefined;

  constructor(clock: Clock, fn: () => void) {
    this.#clock = clock;
    this.#fn = fn;
  }

  /** Rings at `atMs` (clock time), unless it is already set to ring earlier. */
  at(atMs: number): void {
    const clock = this.#clock;
    if (this.#set !== undefined) {
      if (this.#set.atMs <= atMs) return;
      clock.clearTimer(this.#set.handle);
    }
    const handle = clock.setTimer(Math.max(0, atMs - clock.now()), () => {
      this.#set = undefined;
      this.#fn();
    });
    this.#set = { handle, atMs };
  }
}
