import type { Clock, TimerHandle } from "../core/clock.js";
import { AdmissionQueue, type QueuedItem } from "./admission-queue.js";
import type { Ahead } from "./pool-forecast.js";
import type { AdmissionRequest, Ticket } from "./types.js";

/** A queued request: how to answer it, and what to undo when it leaves the queue. */
export interface Waiter {
  request: AdmissionRequest;
  resolve(ticket: Ticket): void;
  reject(error: unknown): void;
  timer: TimerHandle | undefined;
  onAbort: () => void;
}

export type WaitingItem = QueuedItem<Waiter>;

/**
 * The requests waiting in front of one pool (an AdmissionQueue: priority, then deadline) with what each holds
 * while it waits: a timer for its deadline and a listener on its client's signal. Leaving the queue, however it
 * happens (dispatched, dropped, displaced, cancelled), releases both, so nothing of a request outlives its wait.
 */
export class WaitingRoom {
  readonly #clock: Clock;
  readonly #queue = new AdmissionQueue<Waiter>();
  #tokens = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get size(): number {
    return this.#queue.size;
  }

  /** Prompt tokens of every queued request. */
  get tokens(): number {
    return this.#tokens;
  }

  /** The next request to dispatch. */
  peek(): WaitingItem | undefined {
    return this.#queue.peek();
  }

  /** The request to displace first (lowest priority, latest deadline). */
  lowest(): WaitingItem | undefined {
    return this.#queue.lowest();
  }

  /** What a new request of this priority would find ahead of it: requests and their prompt tokens. */
  ahead(priority: number): Ahead {
    return { requests: this.#queue.aheadOf(priority), promptTokens: this.#queue.tokensAheadOf(priority) };
  }

  countsByPriority(): ReadonlyMap<number, number> {
    return this.#queue.countsByPriority();
  }

  /**
   * Queues a request until its deadline (`dueInMs` from now, then `onDue`) or its client leaves (it is taken out
   * of the queue, then `onAbort`).
   */
  enter(
    request: AdmissionRequest,
    answer: Pick<Waiter, "resolve" | "reject">,
    on: { dueInMs: number; onDue: (item: WaitingItem) => void; onAbort: (item: WaitingItem) => void },
  ): WaitingItem {
    const { slo, signal } = request;
    const waiter: Waiter = { request, ...answer, timer: undefined, onAbort: () => {} };
    const item = this.#queue.push(
      waiter,
      slo.priority,
      request.arrivalMs + slo.ttftMs,
      this.#clock.now(),
      request.promptTokens,
    );
    this.#tokens += request.promptTokens;
    waiter.timer = this.#clock.setTimer(Math.max(0, on.dueInMs), () => on.onDue(item));
    waiter.onAbort = () => {
      this.leave(item);
      on.onAbort(item);
    };
    signal.addEventListener("abort", waiter.onAbort, { once: true });
    return item;
  }

  /** Takes a request out of the queue, with its timer and its listener; false if it had already left. */
  leave(item: WaitingItem): boolean {
    if (item.removed) return false;
    const waiter = item.value;
    this.#queue.remove(item);
    this.#tokens -= waiter.request.promptTokens;
    if (waiter.timer !== undefined) this.#clock.clearTimer(waiter.timer);
    waiter.request.signal.removeEventListener("abort", waiter.onAbort);
    return true;
  }
}
