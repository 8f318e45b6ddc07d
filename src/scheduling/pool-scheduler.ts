import type { TimerHandle } from "../core/clock.js";
import { GatewayError } from "../core/errors.js";
import { AdmissionQueue, type QueuedItem } from "./admission-queue.js";
import { PrefillMeter } from "./prefill-meter.js";
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
 * Admission control and queueing in front of one pool. A request is dispatched at once while the pool has room:
 * a free slot and prefill backlog below its bound (PoolCapacity: slots from the replicas' KV capacity at the
 * pool's typical sequence length, backlog of two engine steps per replica). Otherwise it waits in the gateway's
 * queue, ordered by priority then deadline, and its time to first token is predicted two ways, the larger taken:
 * - slots: wait = (ahead + 1) x S / C, with S the EWMA of service time and C the slots, plus the measured time
 *   from dispatch to first token;
 * - prefill work: (prompt tokens inside the replicas not yet prefilled + queued prompt tokens ahead of it + its
 *   own) / the pool's measured prefill rate (PrefillMeter), plus one engine step (a first token comes at the
 *   end of a step): what a long prompt actually waits for.
 * If it would miss the class's TTFT target, or wait past the class's max queue time, it is refused now
 * (PredictedMiss: the caller degrades or sheds it) rather than served late. A queued request whose max queue time
 * passes is dropped before it reaches a GPU; a client that disconnects leaves the queue at once; when the queue
 * is full a higher-priority arrival displaces the lowest-priority, latest-deadline request.
 */
export class PoolScheduler {
  readonly model: string;
  readonly #options: PoolSchedulerOptions;
  readonly #queue = new AdmissionQueue<Waiter>();
  readonly #service: ServiceModel;
  readonly #prefill: PrefillMeter;
  readonly #tenants = new TenantCounts();
  #inFlight = 0;
  #queuedTokens = 0;
  #wakeTimer: { handle: TimerHandle; atMs: number } | undefined;

  constructor(options: PoolSchedulerOptions) {
    this.model = options.model;
    this.#options = options;
    const halfLifeMs = options.halfLifeMs ?? 5_000;
    this.#service = new ServiceModel(halfLifeMs);
    const prior = options.capacity.prefillPrior();
    this.#prefill = new PrefillMeter({
      halfLifeMs,
      ...(prior !== undefined && { priorTokensPerSecond: prior }),
    });
  }

  /** Requests the pool runs at once now (from its replicas' KV capacity, or as configured). */
  get maxConcurrent(): number {
    return this.#options.capacity.concurrencyLimit();
  }

  /** Prompt tokens dispatched to the replicas and not yet prefilled. */
  get prefillBacklogTokens(): number {
    return this.#prefill.pendingTokens(this.#options.clock.now(), this.#staleMs());
  }

  /** The pool's prefill throughput in prompt tokens per second (measured, else the replicas' estimate). */
  get prefillTokensPerSecond(): number | undefined {
    return this.#prefill.tokensPerSecond();
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
    const now = this.#options.clock.now();
    const ahead = this.#queue.aheadOf(priority);
    const slots = this.maxConcurrent;
    const slotWait =
      ahead === 0 && this.#inFlight < slots ? 0 : ((ahead + 1) * this.#service.serviceMs(now)) / slots;
    const rate = this.#prefill.tokensPerSecond();
    if (rate === undefined || rate <= 0)
      return { waitMs: slotWait, ttftMs: slotWait + this.#service.firstTokenMs() };
    // Prefill work ahead of this request, in the replicas and in the queue, drained at the pool's rate.
    const work = this.prefillBacklogTokens + this.#queue.tokensAheadOf(priority) + promptTokens;
    const room = this.#options.capacity.prefillBacklogLimit();
    const gateWait = (Math.max(0, work - room) * 1000) / rate;
    const waitMs = Math.max(slotWait, gateWait);
    // Its first token comes at the end of the step that finishes its prompt: up to one step after the work.
    const prefilledMs = (work * 1000) / rate + this.#options.capacity.stepMs(rate);
    return { waitMs, ttftMs: Math.max(waitMs + this.#service.firstTokenMs(), prefilledMs) };
  }

  /**
   * How long a request may wait for its first token before it stops counting as prefill backlog (it is stuck
   * on a hung replica): four times what the whole backlog takes to drain, at least a second.
   */
  #staleMs(): number {
    const rate = this.#prefill.tokensPerSecond();
    const room = this.#options.capacity.prefillBacklogLimit();
    if (rate === undefined || rate <= 0 || !Number.isFinite(room)) return 10_000;
    return Math.max(1_000, (4 * room * 1000) / rate);
  }

  /**
   * A slot is free and the replicas' prefill backlog has room for this prompt: it stays within the bound, or
   * the backlog is empty (a prompt longer than the bound still goes, alone).
   */
  #hasRoom(promptTokens: number): boolean {
    if (this.#inFlight >= this.maxConcurrent) return false;
    const backlog = this.prefillBacklogTokens;
    return backlog === 0 || backlog + promptTokens <= this.#options.capacity.prefillBacklogLimit();
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
    this.#options.capacity.observePrompt(request.promptTokens, clock.now());
    const free = this.#hasRoom(request.promptTokens);
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
    const miss = this.#miss(slo, request.promptTokens);
    if (miss !== undefined) {
      // Counted by the caller, which may still degrade it to another model.
      throw new PredictedMiss(this.model, this.#retryAfter(miss));
    }
    if (this.#queue.size >= this.#options.maxQueue) {
      const lowest = this.#queue.lowest();
      if (lowest === undefined || lowest.priority >= slo.priority) {
        this.#options.observer?.shed(slo, "queue_full");
        throw this.#overloaded(
          "The queue for this model is full",
          this.predictWaitMs(slo.priority, request.promptTokens),
        );
      }
      this.#drop(lowest, "preempted", "Displaced from the queue by higher-priority requests");
    }
    return new Promise<Ticket>((resolve, reject) => {
      const waiter: Waiter = { request, resolve, reject, timer: undefined, onAbort: () => {} };
      const item = this.#queue.push(
        waiter,
        slo.priority,
        request.arrivalMs + slo.ttftMs,
        clock.now(),
        request.promptTokens,
      );
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
  #miss(slo: SloClass, promptTokens: number): number | undefined {
    const { waitMs, ttftMs } = this.#predict(slo.priority, promptTokens);
    const late = Math.max(waitMs - slo.maxQueueMs, ttftMs - slo.ttftMs);
    return late > 0 ? late : undefined;
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
          this.#queuedTokens >= batching.maxBatchTokens ||
          clock.now() - head.enqueuedMs >= batching.maxWaitMs;
        if (!due) {
          this.#wakeAt(head.enqueuedMs + batching.maxWaitMs);
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
      this.#wakeAt(clock.now() + this.#staleMs());
  }

  /** Pumps again at `atMs` (a batch falls due, a stuck backlog goes stale); one timer, the earliest wins. */
  #wakeAt(atMs: number): void {
    const { clock } = this.#options;
    if (this.#wakeTimer !== undefined) {
      if (this.#wakeTimer.atMs <= atMs) return;
      clock.clearTimer(this.#wakeTimer.handle);
    }
    const handle = clock.setTimer(Math.max(0, atMs - clock.now()), () => {
      this.#wakeTimer = undefined;
      this.#pump();
    });
    this.#wakeTimer = { handle, atMs };
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
    const { clock, capacity } = this.#options;
    this.#inFlight++;
    this.#tenants.enter(request.tenant);
    this.#options.observer?.dispatched(request.slo, waitedMs);
    const dispatchedMs = clock.now();
    const service = this.#service.start(dispatchedMs);
    const prefill = this.#prefill.dispatched(request.promptTokens, dispatchedMs);
    let prefilled = false;
    let released = false;
    const firstToken = (atMs: number) => {
      if (prefilled || released) return;
      prefilled = true;
      service.firstToken(atMs);
      prefill.prefilled(atMs, this.#queue.size > 0);
    };
    return {
      dispatchedMs,
      firstToken: (atMs) => {
        if (prefilled || released) return;
        firstToken(atMs);
        // Its room in the prefill backlog is free: the next queued request can go.
        this.#pump();
      },
      release: (firstTokenMs, completionTokens) => {
        if (released) return;
        if (firstTokenMs !== undefined) firstToken(firstTokenMs);
        released = true;
        if (!prefilled) prefill.abandoned();
        this.#inFlight--;
        this.#tenants.leave(request.tenant);
        const now = clock.now();
        service.end(now);
        if (completionTokens !== undefined) capacity.observeCompletion(completionTokens, now);
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
    item.value.reject(
      this.#overloaded(message, this.predictWaitMs(slo.priority, item.value.request.promptTokens)),
    );
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
