import type { Clock } from "../core/clock.js";
import type { PoolCapacity } from "./pool-capacity.js";
import { PrefillMeter } from "./prefill-meter.js";
import { ServiceModel } from "./service-model.js";
import type { SloClass } from "./slo.js";

/** What is ahead of a new request in the gateway's queue (requests of its priority or higher). */
export interface Ahead {
  requests: number;
  promptTokens: number;
}

/** A dispatched request as the forecast follows it: its first token, then its end. */
export interface Dispatched {
  /** Its first token came at `atMs`; `saturated`: requests were waiting in the gateway's queue then. */
  firstToken(atMs: number, saturated: boolean): void;
  /** It ended, with the completion tokens it produced when known. */
  end(completionTokens: number | undefined): void;
}

/**
 * What admission knows about one pool and predicts from: its capacity (slots, prefill backlog bound), the
 * measured service and first-token times (ServiceModel) and the prefill work inside its replicas and its rate
 * (PrefillMeter). A new request's time to first token is predicted two ways, the larger taken:
 * - slots: wait = (ahead + 1) x S / C, with S the EWMA of service time and C the slots, plus the measured time
 *   from dispatch to first token;
 * - prefill work: (prompt tokens inside the replicas not yet prefilled + queued prompt tokens ahead of it + its
 *   own) / the pool's measured prefill rate, plus one engine step (a first token comes at the end of a step):
 *   what a long prompt actually waits for.
 */
export class PoolForecast {
  readonly #capacity: PoolCapacity;
  readonly #clock: Clock;
  readonly #service: ServiceModel;
  readonly #prefill: PrefillMeter;

  constructor(options: { capacity: PoolCapacity; clock: Clock; halfLifeMs: number }) {
    this.#capacity = options.capacity;
    this.#clock = options.clock;
    this.#service = new ServiceModel(options.halfLifeMs);
    const prior = options.capacity.prefillPrior();
    this.#prefill = new PrefillMeter({
      halfLifeMs: options.halfLifeMs,
      ...(prior !== undefined && { priorTokensPerSecond: prior }),
    });
  }

  /** Requests the pool runs at once now (from its replicas' KV capacity, or as configured). */
  get slots(): number {
    return this.#capacity.concurrencyLimit();
  }

  /** Prompt tokens dispatched to the replicas and not yet prefilled. */
  get prefillBacklogTokens(): number {
    return this.#prefill.pendingTokens(this.#clock.now(), this.staleMs());
  }

  /** The pool's prefill throughput in prompt tokens per second (measured, else the replicas' estimate). */
  get prefillTokensPerSecond(): number | undefined {
    return this.#prefill.tokensPerSecond();
  }

  /** Mean service time now, in milliseconds (for Retry-After of a tenant over its share). */
  serviceMs(): number {
    return this.#service.serviceMs(this.#clock.now());
  }

  /** Mean dispatch-to-first-token time in milliseconds (0 until measured). */
  firstTokenMs(): number {
    return this.#service.firstTokenMs();
  }

  /** Predicted queue wait and time to first token of a new request, in milliseconds. */
  predict(ahead: Ahead, inFlight: number, promptTokens: number): { waitMs: number; ttftMs: number } {
    const slots = this.slots;
    const slotWait =
      ahead.requests === 0 && inFlight < slots ? 0 : ((ahead.requests + 1) * this.serviceMs()) / slots;
    const rate = this.#prefill.tokensPerSecond();
    if (rate === undefined || rate <= 0) return { waitMs: slotWait, ttftMs: slotWait + this.firstTokenMs() };
    // Prefill work ahead of this request, in the replicas and in the queue, drained at the pool's rate.
    const work = this.prefillBacklogTokens + ahead.promptTokens + promptTokens;
    const gateWait = (Math.max(0, work - this.#capacity.prefillBacklogLimit()) * 1000) / rate;
    const waitMs = Math.max(slotWait, gateWait);
    // Its first token comes at the end of the step that finishes its prompt: up to one step after the work.
    const prefilledMs = (work * 1000) / rate + this.#capacity.stepMs(rate);
    return { waitMs, ttftMs: Math.max(waitMs + this.firstTokenMs(), prefilledMs) };
  }

  /** How late a new request of this class would be (ms past its max queue time or TTFT target), if at all. */
  lateMs(slo: SloClass, ahead: Ahead, inFlight: number, promptTokens: number): number | undefined {
    const { waitMs, ttftMs } = this.predict(ahead, inFlight, promptTokens);
    const late = Math.max(waitMs - slo.maxQueueMs, ttftMs - slo.ttftMs);
    return late > 0 ? late : undefined;
  }

  /**
   * A slot is free and the replicas' prefill backlog has room for this prompt: it stays within the bound, or
   * the backlog is empty (a prompt longer than the bound still goes, alone).
   */
  hasRoom(inFlight: number, promptTokens: number): boolean {
    if (inFlight >= this.slots) return false;
    const backlog = this.prefillBacklogTokens;
    return backlog === 0 || backlog + promptTokens <= this.#capacity.prefillBacklogLimit();
  }

  /**
   * How long a request may wait for its first token before it stops counting as prefill backlog (it is stuck
   * on a hung replica): four times what the whole backlog takes to drain, at least a second.
   */
  staleMs(): number {
    const rate = this.#prefill.tokensPerSecond();
    const room = this.#capacity.prefillBacklogLimit();
    if (rate === undefined || rate <= 0 || !Number.isFinite(room)) return 10_000;
    return Math.max(1_000, (4 * room * 1000) / rate);
  }

  /** A request with this prompt arrived (it teaches the pool its typical sequence length). */
  arrived(promptTokens: number): void {
    this.#capacity.observePrompt(promptTokens, this.#clock.now());
  }

  /** A request was dispatched now: follow it to its first token and its end. */
  dispatched(promptTokens: number): Dispatched {
    const now = this.#clock.now();
    const service = this.#service.start(now);
    const prefill = this.#prefill.dispatched(promptTokens, now);
    let prefilled = false;
    return {
      firstToken: (atMs, saturated) => {
        if (prefilled) return;
        prefilled = true;
        service.firstToken(atMs);
        prefill.prefilled(atMs, saturated);
      },
      end: (completionTokens) => {
        if (!prefilled) prefill.abandoned();
        const end = this.#clock.now();
        service.end(end);
        if (completionTokens !== undefined) this.#capacity.observeCompletion(completionTokens, end);
      },
    };
  }
}
