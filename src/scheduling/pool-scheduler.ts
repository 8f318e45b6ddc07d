import type { Clock, TimerHandle } from "../core/clock.js";
import { GatewayError } from "../core/errors.js";
import { Ewma } from "../routing/ewma.js";
import { AdmissionQueue, type QueuedItem } from "./admission-queue.js";
import type { SloClass } from "./slo.js";

export interface BatchingSettings {
  /** 0: no micro-batching. */
  maxWaitMs: number;
  maxBatchSize: number;
  maxBatchTokens: number;
  /** Classes never held for a batch. */
  bypass: ReadonlySet<string>;
}

export interface PoolSchedulerOptions {
  model: string;
  /** Requests in service at once (the concurrency limit in front of the replicas). */
  maxConcurrent: number;
  maxQueue: number;
  /** While saturated, a tenant holding more than this share of the pool's slots plus queue places gets 429 (1: off). */
  tenantMaxShare: number;
  batching: BatchingSettings;
  clock: Clock;
  /** Called for every decision and batch, for metrics. */
  observer?: SchedulerObserver;
  /** Half-life of the service-time averages behind the wait prediction. */
  halfLifeMs?: number;
}

export interface SchedulerObserver {
  /** A request left the queue for a replica (queued for `waitedMs`, 0 when it never queued). */
  dispatched(slo: SloClass, waitedMs: number): void;
  /** A request was refused at admission or dropped from the queue. */
  shed(slo: SloClass, reason: ShedReason): void;
  /** Requests released together (micro-batching or a freed burst of slots). */
  batch(size: number): void;
}

export type ShedReason = "predicted_miss" | "queue_full" | "preempted" | "deadline" | "tenant_share";

export interface AdmissionRequest {
  slo: SloClass;
  arrivalMs: number;
  promptTokens: number;
  tenant: string;
  signal: AbortSignal;
}

/** A slot in the pool: release it when the generation ends, with when its first token came (if it did). */
export interface Ticket {
  readonly dispatchedMs: number;
  release(firstTokenMs: number | undefined): void;
}

interface Waiter {
  request: AdmissionRequest;
  resolve(ticket: Ticket): void;
  reject(error: unknown): void;
  timer: TimerHandle | undefined;
  onAbort: () => void;
}

/** Refused at admission because the request would miss its target here: a candidate for degradation. */
export class PredictedMiss extends GatewayError {
  constructor(
    readonly model: string,
    retryAfterSeconds: number,
  ) {
    super("overloaded", `Model '${model}' is over capacity for this request's latency target; retry later.`, {
      retryAfterSeconds,
      // Another replica of the same pool would not do better; the scheduler degrades or sheds instead.
      retryable: false,
    });
  }
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
  readonly #serviceMs: Ewma;
  readonly #firstTokenMs: Ewma;
  readonly #tenants = new Map<string, number>();
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
    const halfLifeMs = options.halfLifeMs ?? 5_000;
    this.#serviceMs = new Ewma({ halfLifeMs });
    this.#firstTokenMs = new Ewma({ halfLifeMs });
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
    const serviceMs = this.#serviceMs.value() ?? 0;
    return ((ahead + 1) * serviceMs) / this.#options.maxConcurrent;
  }

  /** Predicted time to first token for a new request of this priority: queue wait plus TTFT in service. */
  predictTtftMs(priority: number): number {
    return this.predictWaitMs(priority) + (this.#firstTokenMs.value() ?? 0);
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
      return Promise.resolve(this.#dispatch(request, 0));
    }
    const saturated = !free || this.#queue.size > 0;
    if (saturated && this.#overShare(request.tenant)) {
      this.#options.observer?.shed(slo, "tenant_share");
      throw new GatewayError(
        "tenant_over_share",
        "Too many requests in flight for this tenant; retry later.",
        {
          retryAfterSeconds: this.#retryAfter(this.#serviceMs.value() ?? 1000),
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
      this.#tenants.set(request.tenant, (this.#tenants.get(request.tenant) ?? 0) + 1);
      const dueMs = request.arrivalMs + slo.maxQueueMs - clock.now();
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
    const late = Math.max(wait - slo.maxQueueMs, wait + (this.#firstTokenMs.value() ?? 0) - slo.ttftMs);
    return late > 0 ? late : undefined;
  }

  /** A tenant may hold at most tenantMaxShare of the pool's slots plus queue places while it is saturated. */
  #overShare(tenant: string): boolean {
    const share = this.#options.tenantMaxShare;
    if (share >= 1) return false;
    const mine = (this.#tenants.get(tenant) ?? 0) + 1;
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
        const size = Math.min(free(), batching.maxBatchSize, this.#queue.size);
        for (let i = 0; i < size; i++) this.#dispatchQueued(this.#queue.peek()!);
        released += size;
        continue;
      }
      this.#dispatchQueued(head);
      released++;
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

  #dispatchQueued(item: QueuedItem<Waiter>): void {
    const waiter = item.value;
    this.#unqueue(item);
    waiter.resolve(this.#dispatch(waiter.request, this.#options.clock.now() - item.enqueuedMs));
  }

  #dispatch(request: AdmissionRequest, waitedMs: number): Ticket {
    const { clock } = this.#options;
    this.#inFlight++;
    this.#tenants.set(request.tenant, (this.#tenants.get(request.tenant) ?? 0) + 1);
    this.#options.observer?.dispatched(request.slo, waitedMs);
    const dispatchedMs = clock.now();
    let released = false;
    return {
      dispatchedMs,
      release: (firstTokenMs) => {
        if (released) return;
        released = true;
        this.#inFlight--;
        this.#leave(request.tenant);
        const now = clock.now();
        if (firstTokenMs !== undefined) {
          this.#serviceMs.observe(now - dispatchedMs, now);
          this.#firstTokenMs.observe(firstTokenMs - dispatchedMs, now);
        }
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
    this.#leave(waiter.request.tenant);
    if (waiter.timer !== undefined) this.#options.clock.clearTimer(waiter.timer);
    waiter.request.signal.removeEventListener("abort", waiter.onAbort);
  }

  #drop(item: QueuedItem<Waiter>, reason: ShedReason, message: string): void {
    if (item.removed) return;
    this.#unqueue(item);
    const { slo } = item.value.request;
    this.#options.observer?.shed(slo, reason);
    item.value.reject(this.#overloaded(message, this.predictWaitMs(slo.priority)));
    this.#pump();
  }

  #leave(tenant: string): void {
    const left = (this.#tenants.get(tenant) ?? 1) - 1;
    if (left === 0) this.#tenants.delete(tenant);
    else this.#tenants.set(tenant, left);
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
