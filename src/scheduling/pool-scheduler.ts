import { Alarm } from "../core/alarm.js";
import { PoolForecast } from "./pool-forecast.js";
import type { SloClass } from "./slo.js";
import { TenantCounts } from "./tenant-counts.js";
import {
  type AdmissionRequest,
  overloaded,
  type PoolSchedulerOptions,
  PredictedMiss,
  retryAfterSeconds,
  type ShedReason,
  type Ticket,
  tenantOverShare,
} from "./types.js";
import { type WaitingItem, WaitingRoom } from "./waiting-room.js";

/**
 * Admission control and queueing in front of one pool. A request is dispatched at once while the pool has room
 * (PoolCapacity: a free slot, and prefill backlog in the replicas below its bound); otherwise its time to first
 * token is predicted (PoolForecast) from what is queued ahead of it at its priority or higher. If it would miss
 * the class's TTFT target, or wait past the class's max queue time, it is refused now (PredictedMiss: the caller
 * degrades or sheds it) rather than served late. Queued requests are ordered by priority then deadline; one whose
 * max queue time passes, or whose first token could no longer come in time, is dropped before it reaches a GPU; a
 * client that disconnects leaves the queue at once; when the queue is full a higher-priority arrival displaces
 * the lowest-priority, latest-deadline request.
 */
export class PoolScheduler {
  readonly model: string;
  readonly #options: PoolSchedulerOptions;
  readonly #queue: WaitingRoom;
  readonly #forecast: PoolForecast;
  readonly #tenants = new TenantCounts();
  #inFlight = 0;
  /** Pumps again by a time (a batch falls due, a stuck backlog goes stale): one timer, the earliest wins. */
  readonly #wake: Alarm;

  constructor(options: PoolSchedulerOptions) {
    this.model = options.model;
    this.#options = options;
    this.#queue = new WaitingRoom(options.clock);
    this.#wake = new Alarm(options.clock, () => this.#pump());
    this.#forecast = new PoolForecast({
      capacity: options.capacity,
      clock: options.clock,
      halfLifeMs: options.halfLifeMs ?? 5_000,
    });
  }

  /** Requests the pool runs at once now (from its replicas' KV capacity, or as configured). */
  get maxConcurrent(): number {
    return this.#forecast.slots;
  }

  /** Prompt tokens dispatched to the replicas and not yet prefilled. */
  get prefillBacklogTokens(): number {
    return this.#forecast.prefillBacklogTokens;
  }

  /** The pool's prefill throughput in prompt tokens per second (measured, else the replicas' estimate). */
  get prefillTokensPerSecond(): number | undefined {
    return this.#forecast.prefillTokensPerSecond;
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

  /** Predicted wait in the gateway's queue for a new request of this priority and prompt, in milliseconds. */
  predictWaitMs(priority: number, promptTokens = 0): number {
    return this.#predict(priority, promptTokens).waitMs;
  }

  /** Predicted time to first token for a new request of this priority and prompt, in milliseconds. */
  predictTtftMs(priority: number, promptTokens = 0): number {
    return this.#predict(priority, promptTokens).ttftMs;
  }

  /** True when a request of this class would be admitted now (used to pick a degradation target). */
  wouldAdmit(slo: SloClass, promptTokens = 0): boolean {
    return this.#miss(slo, promptTokens) === undefined;
  }

  #predict(priority: number, promptTokens: number): { waitMs: number; ttftMs: number } {
    return this.#forecast.predict(this.#queue.ahead(priority), this.#inFlight, promptTokens);
  }

  #hasRoom(promptTokens: number): boolean {
    return this.#forecast.hasRoom(this.#inFlight, promptTokens);
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
    this.#forecast.arrived(request.promptTokens);
    const free = this.#hasRoom(request.promptTokens);
    if (free && this.#queue.size === 0 && !this.#holdsForBatch(slo)) {
      this.#options.observer?.batch(1);
      return Promise.resolve(this.#dispatch(request, 0));
    }
    const saturated = !free || this.#queue.size > 0;
    if (saturated && this.#overShare(request.tenant)) {
      this.#options.observer?.shed(slo, "tenant_share");
      throw tenantOverShare(this.#forecast.serviceMs() || 1000);
    }
    const miss = this.#miss(slo, request.promptTokens);
    if (miss !== undefined) {
      // Counted by the caller, which may still degrade it to another model.
      throw new PredictedMiss(this.model, retryAfterSeconds(miss));
    }
    if (this.#queue.size >= this.#options.maxQueue) {
      const lowest = this.#queue.lowest();
      if (lowest === undefined || lowest.priority >= slo.priority) {
        this.#options.observer?.shed(slo, "queue_full");
        throw overloaded(
          "The queue for this model is full",
          this.predictWaitMs(slo.priority, request.promptTokens),
        );
      }
      this.#drop(lowest, "preempted", "Displaced from the queue by higher-priority requests");
    }
    return new Promise<Ticket>((resolve, reject) => {
      // Dropped at its max queue time, or earlier when even a slot then could not give a first token in time.
      const late = Math.min(slo.maxQueueMs, slo.ttftMs - this.#forecast.firstTokenMs());
      this.#queue.enter(
        request,
        { resolve, reject },
        {
          dueInMs: request.arrivalMs + late - clock.now(),
          onDue: (item) =>
            this.#drop(
              item,
              "deadline",
              `Waited longer than the '${slo.name}' class allows (${slo.maxQueueMs} ms)`,
            ),
          onAbort: () => {
            this.#tenants.leave(request.tenant);
            reject(signal.reason);
            this.#pump();
          },
        },
      );
      this.#tenants.enter(request.tenant);
      this.#pump();
    });
  }

  /** Why a request of this class would be refused now (ms it would be late), or undefined if it fits. */
  #miss(slo: SloClass, promptTokens: number): number | undefined {
    return this.#forecast.lateMs(slo, this.#queue.ahead(slo.priority), this.#inFlight, promptTokens);
  }

  /** A tenant may hold at most tenantMaxShare of the pool's slots plus queue places while it is saturated. */
  #overShare(tenant: string): boolean {
    const share = this.#options.tenantMaxShare;
    if (share >= 1) return false;
    const mine = this.#tenants.of(tenant) + 1;
    return mine > share * (this.maxConcurrent + this.#options.maxQueue);
  }

  #holdsForBatch(slo: SloClass): boolean {
    const { batching } = this.#options;
    return batching.maxWaitMs > 0 && !batching.bypass.has(slo.name);
  }

  /** Moves queued requests into free room; with micro-batching, holds them until a batch is due. */
  #pump(): void {
    const { clock, batching } = this.#options;
    const headFits = () => {
      const head = this.#queue.peek();
      return head !== undefined && this.#hasRoom(head.tokens);
    };
    let released = 0;
    while (headFits()) {
      const head = this.#queue.peek()!;
      const slo = head.value.request.slo;
      if (this.#holdsForBatch(slo)) {
        const due =
          this.#queue.size >= batching.maxBatchSize ||
          this.#queue.tokens >= batching.maxBatchTokens ||
          clock.now() - head.enqueuedMs >= batching.maxWaitMs;
        if (!due) {
          this.#wake.at(head.enqueuedMs + batching.maxWaitMs);
          break;
        }
        // Release a whole batch at once: the engine admits it in one step.
        const size = Math.min(this.maxConcurrent - this.#inFlight, batching.maxBatchSize);
        let sent = 0;
        while (sent < size && headFits()) {
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
    // Held by a backlog of prompts that may be stuck on a hung replica: look again once they count as stale.
    if (this.#queue.size > 0 && this.#inFlight < this.maxConcurrent && !headFits())
      this.#wake.at(clock.now() + this.#forecast.staleMs());
  }

  /**
   * Sends a queued request to a slot, unless it can no longer get its first token in time (its wait plus the
   * measured time to first token passes its TTFT deadline): then it is dropped before it reaches a GPU.
   */
  #dispatchQueued(item: WaitingItem): boolean {
    const waiter = item.value;
    const { slo, arrivalMs } = waiter.request;
    const now = this.#options.clock.now();
    if (now + this.#forecast.firstTokenMs() > arrivalMs + slo.ttftMs) {
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
    const followed = this.#forecast.dispatched(request.promptTokens);
    let prefilled = false;
    let released = false;
    const firstToken = (atMs: number) => {
      prefilled = true;
      followed.firstToken(atMs, this.#queue.size > 0);
    };
    return {
      dispatchedMs: clock.now(),
      firstToken: (atMs) => {
        if (prefilled || released) return;
        firstToken(atMs);
        // Its room in the prefill backlog is free: the next queued request can go.
        this.#pump();
      },
      release: (firstTokenMs, completionTokens) => {
        if (released) return;
        if (firstTokenMs !== undefined && !prefilled) firstToken(firstTokenMs);
        released = true;
        this.#inFlight--;
        this.#tenants.leave(request.tenant);
        followed.end(completionTokens);
        this.#pump();
      },
    };
  }

  /** Takes a waiter out of the queue (dispatch, drop or cancel): its timer, listener and tenant count. */
  #unqueue(item: WaitingItem): void {
    if (this.#queue.leave(item)) this.#tenants.leave(item.value.request.tenant);
  }

  #drop(item: WaitingItem, reason: ShedReason, message: string): void {
    if (item.removed) return;
    this.#reject(item, reason, message);
    this.#pump();
  }

  /** Takes a waiter out of the queue and fails it with a 503 (no pump: callers inside the pump use it). */
  #reject(item: WaitingItem, reason: ShedReason, message: string): void {
    this.#unqueue(item);
    const { slo, promptTokens } = item.value.request;
    this.#options.observer?.shed(slo, reason);
    item.value.reject(overloaded(message, this.predictWaitMs(slo.priority, promptTokens)));
  }
}
