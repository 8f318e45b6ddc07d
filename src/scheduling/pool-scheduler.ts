import type { TimerHandle } from "../core/clock.js";
import { GatewayError } from "../core/errors.js";
import { AdmissionQueue, type QueuedItem } from "./admission-queue.js";
import { ServiceModel } from "./service-model.js";
import {
  type AdmissionRequest,
  type PoolSchedulerOptions,
  PredictedMiss,
  type ShedReason,
  type Ticket,
} from "./types.js";

export type {
  AdmissionRequest,
  BatchingSettings,
  PoolSchedulerOptions,
  SchedulerObserver,
  ShedReason,
  Ticket,
} from "./types.js";
export { PredictedMiss } from "./types.js";

import type { SloClass } from "./slo.js";
import { TenantCounts } from "./tenant-counts.js";

interface Waiter {
  request: AdmissionRequest;
  resolve(ticket: Ticket): void;
  reject(error: unknown): void;
  timer: TimerHandle | undefined;
  onAbort: () => void;
}

/**
 * Admission control and queueing in front of one pool. A request is dispatched at once while the pool has a
 * free slot; otherwise its wait is predicted from the requests ahead of it (same or higher priority) and the
 * pool's measured service rate: wait = (ahead + 1) x S / C, with S the EWMA of service time and C the slots.
 * If wait plus the measured time to first token in service would miss the class's TTFT target, or the wait
 * exceeds the class's max queue time, it is refused now (PredictedMiss: the caller degrades or sheds it) rather
 * than served late. Queued requests are ordered by priority then deadline; one whose max queue time passes is
 * dropped before it reaches a GPU; a client that disconnects leaves the queue at once; when the queue is full a
 * higher-priority arrival displaces the lowest-priority, latest-deadline request.
 */
export class PoolScheduler {
  readonly model: string;
  readonly #options: PoolSchedulerOptions;
  readonly #queue = new AdmissionQueue<Waiter>();
  readonly #service: ServiceModel;
  readonly #tenants = new TenantCounts();
  #inFlight = 0;
  #queuedTokens = 0;
  #batchTimer: TimerHandle | undefined;

  constructor(options: PoolSchedulerOptions) {
    if (!Number.isInteger(options.maxConcurrent) || options.maxConcurrent < 1) {
      throw new RangeError(
        `scheduler: maxConcurrent must be a positive integer, got ${options.maxConcurrent}`,
      );
    }
    this.model = options.model;
    this.#options = options;
    this.#service = new ServiceModel(options.halfLifeMs);
  }

  get maxConcurrent(): number {
    return this.#options.maxConcurrent;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#queue.size;
  }

  /** Queued requests by priority (for the queue-depth gauge). */
  queuedByPriority(): ReadonlyMap<number, number> {
    return this.#queue.countsByPriority();
  }

  /** Predicted wait in the queue for a new request of this priority, in milliseconds. */
  predictWaitMs(priority: number): number {
    const ahead = this.#queue.aheadOf(priority);
    if (ahead === 0 && this.#inFlight < this.#options.maxConcurrent) return 0;
    return ((ahead + 1) * this.#service.serviceMs(this.#options.clock.now())) / this.#options.maxConcurrent;
  }

  /** Predicted time to first token for a new request of this priority: queue wait plus TTFT in service. */
  predictTtftMs(priority: number): number {
    return this.predictWaitMs(priority) + this.#service.firstTokenMs();
  }

  /** True when a request of this class would be admitted now (used to pick a degradation target). */
  wouldAdmit(slo: SloClass): boolean {
    return this.#miss(slo) === undefined;
  }

  /**
   * Waits for a slot. Rejects with PredictedMiss (would miss its target: degrade or shed), a 429 (tenant over
   * its share), a 503 (queue full, displaced by higher-priority work, or its max queue time passed), or the
   * signal's reason when the client goes away.
   */
  acquire(request: AdmissionRequest): Promise<Ticket> {
    try {
      return this.#acquire(request);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #acquire(request: AdmissionRequest): Promise<Ticket> {
    const { slo, signal } = request;
    const { clock } = this.#options;
    signal.throwIfAborted();
    const free = this.#inFlight < this.#options.maxConcurrent;
    if (free && this.#queue.size === 0 && !this.#holdsForBatch(slo)) {
      this.#options.observer?.batch(1);
      return Promise.resolve(this.#dispatch(request, 0));
    }
    const saturated = !free || this.#queue.size > 0;
    if (saturated && this.#overShare(request.tenant)) {
      this.#options.observer?.shed(slo, "tenant_share");
      throw new GatewayError(
        "tenant_over_share",
        "Too many requests in flight for this tenant; retry later.",
        {
          retryAfterSeconds: this.#retryAfter(this.#service.serviceMs(clock.now()) || 1000),
        },
      );
    }
    const miss = this.#miss(slo);
    if (miss !== undefined) {
      // Counted by the caller, which may still degrade it to another model.
      throw new PredictedMiss(this.model, this.#retryAfter(miss));
    }
    if (this.#queue.size >= this.#options.maxQueue) {
      const lowest = this.#queue.lowest();
      if (lowest === undefined || lowest.priority >= slo.priority) {
        this.#options.observer?.shed(slo, "queue_full");
        throw this.#overloaded("The queue for this model is full", this.predictWaitMs(slo.priority));
      }
      this.#drop(lowest, "preempted", "Displaced from the queue by higher-priority requests");
    }
    return new Promise<Ticket>((resolve, reject) => {
      const waiter: Waiter = { request, resolve, reject, timer: undefined, onAbort: () => {} };
      const item = this.#queue.push(waiter, slo.priority, request.arrivalMs + slo.ttftMs, clock.now());
      this.#queuedTokens += request.promptTokens;
      this.#tenants.enter(request.tenant);
      // Dropped at its max queue time, or earlier when even a slot then could not give a first token in time.
      const expectedFirstTokenMs = this.#service.firstTokenMs();
      const dueMs =
        request.arrivalMs + Math.min(slo.maxQueueMs, slo.ttftMs - expectedFirstTokenMs) - clock.now();
      waiter.timer = clock.setTimer(Math.max(0, dueMs), () =>
        this.#drop(
          item,
          "deadline",
          `Waited longer than the '${slo.name}' class allows (${slo.maxQueueMs} ms)`,
        ),
      );
      waiter.onAbort = () => {
        this.#unqueue(item);
        reject(signal.reason);
        this.#pump();
      };
      signal.addEventListener("abort", waiter.onAbort, { once: true });
      this.#pump();
    });
  }

  /** Why a request of this class would be refused now (ms it would be late), or undefined if it fits. */
  #miss(slo: SloClass): number | undefined {
    const wait = this.predictWaitMs(slo.priority);
    const late = Math.max(wait - slo.maxQueueMs, wait + this.#service.firstTokenMs() - slo.ttftMs);
    return late > 0 ? late : undefined;
  }

  /** A tenant may hold at most tenantMaxShare of the pool's slots plus queue places while it is saturated. */
  #overShare(tenant: string): boolean {
    const share = this.#options.tenantMaxShare;
    if (share >= 1) return false;
    const mine = this.#tenants.of(tenant) + 1;
    return mine > share * (this.#options.maxConcurrent + this.#options.maxQueue);
  }

  #holdsForBatch(slo: SloClass): boolean {
    const { batching } = this.#options;
    return batching.maxWaitMs > 0 && !batching.bypass.has(slo.name);
  }

  /** Moves queued requests into free slots; with micro-batching, holds them until a batch is due. */
  #pump(): void {
    const { clock, batching } = this.#options;
    const free = () => this.#options.maxConcurrent - this.#inFlight;
    let released = 0;
    while (free() > 0 && this.#queue.size > 0) {
      const head = this.#queue.peek()!;
      const slo = head.value.request.slo;
      if (this.#holdsForBatch(slo)) {
        const due =
          this.#queue.size >= batching.maxBatchSize ||
          this.#queuedTokens >= batching.maxBatchTokens ||
          clock.now() - head.enqueuedMs >= batching.maxWaitMs;
        if (!due) {
          this.#armBatchTimer(head.enqueuedMs + batching.maxWaitMs);
          break;
        }
        // Release a whole batch at once: the engine admits it in one step.
        const size = Math.min(free(), batching.maxBatchSize);
        let sent = 0;
        while (sent < size && this.#queue.size > 0) {
          const item = this.#queue.peek()!;
          if (!this.#dispatchQueued(item)) continue;
          sent++;
          this.#options.observer?.batchWait(clock.now() - item.enqueuedMs);
        }
        released += sent;
        continue;
      }
      if (this.#dispatchQueued(head)) released++;
    }
    if (released > 0) this.#options.observer?.batch(released);
  }

  #armBatchTimer(atMs: number): void {
    if (this.#batchTimer !== undefined) return;
    const { clock } = this.#options;
    this.#batchTimer = clock.setTimer(Math.max(0, atMs - clock.now()), () => {
      this.#batchTimer = undefined;
      this.#pump();
    });
  }

  /**
   * Sends a queued request to a slot, unless it can no longer get its first token in time (its wait plus the
   * measured time to first token passes its TTFT deadline): then it is dropped before it reaches a GPU.
   */
  #dispatchQueued(item: QueuedItem<Waiter>): boolean {
    const waiter = item.value;
    const { slo, arrivalMs } = waiter.request;
    const now = this.#options.clock.now();
    if (now + this.#service.firstTokenMs() > arrivalMs + slo.ttftMs) {
      this.#reject(
        item,
        "deadline",
        `Could not start in time for the '${slo.name}' class's ${slo.ttftMs} ms TTFT target`,
      );
      return false;
    }
    this.#unqueue(item);
    waiter.resolve(this.#dispatch(waiter.request, now - item.enqueuedMs));
    return true;
  }

  #dispatch(request: AdmissionRequest, waitedMs: number): Ticket {
    const { clock } = this.#options;
    this.#inFlight++;
    this.#tenants.enter(request.tenant);
    this.#options.observer?.dispatched(request.slo, waitedMs);
    const dispatchedMs = clock.now();
    const finished = this.#service.start(dispatchedMs);
    let released = false;
    return {
      dispatchedMs,
      release: (firstTokenMs) => {
        if (released) return;
        released = true;
        this.#inFlight--;
        this.#tenants.leave(request.tenant);
        finished(clock.now(), firstTokenMs);
        this.#pump();
      },
    };
  }

  /** Takes a waiter out of the queue (dispatch, drop or cancel): its timer, listener and counts. */
  #unqueue(item: QueuedItem<Waiter>): void {
    if (item.removed) return;
    const waiter = item.value;
    this.#queue.remove(item);
    this.#queuedTokens -= waiter.request.promptTokens;
    this.#tenants.leave(waiter.request.tenant);
    if (waiter.timer !== undefined) this.#options.clock.clearTimer(waiter.timer);
    waiter.request.signal.removeEventListener("abort", waiter.onAbort);
  }

  #drop(item: QueuedItem<Waiter>, reason: ShedReason, message: string): void {
    if (item.removed) return;
    this.#reject(item, reason, message);
    this.#pump();
  }

  /** Takes a waiter out of the queue and fails it with a 503 (no pump: callers inside the pump use it). */
  #reject(item: QueuedItem<Waiter>, reason: ShedReason, message: string): void {
    this.#unqueue(item);
    const { slo } = item.value.request;
    this.#options.observer?.shed(slo, reason);
    item.value.reject(this.#overloaded(message, this.predictWaitMs(slo.priority)));
  }

  #overloaded(message: string, waitMs: number): GatewayError {
    return new GatewayError("overloaded", `${message}; retry later.`, {
      retryAfterSeconds: this.#retryAfter(waitMs),
      retryable: false,
    });
  }

  /** Whole seconds, at least 1 and at most 60: long enough for the predicted backlog to clear. */
  #retryAfter(ms: number): number {
    return Math.min(60, Math.max(1, Math.ceil(ms / 1000)));
  }
}
