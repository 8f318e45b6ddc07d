import type { Clock } from "../core/clock.js";
import { GatewayError } from "../core/errors.js";
import type { PoolCapacity } from "./pool-capacity.js";
import type { SloClass } from "./slo.js";

/** Types of the per-pool scheduler's interface. */

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
  /** What the pool's replicas can take at once: slots and prefill backlog (see PoolCapacity). */
  capacity: PoolCapacity;
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
  /** Requests released together: a micro-batch, a burst into freed slots, or 1 for a request dispatched on arrival. */
  batch(size: number): void;
  /** A request held for a micro-batch was released after waiting `waitedMs`. */
  batchWait(waitedMs: number): void;
}

export type ShedReason = "predicted_miss" | "queue_full" | "preempted" | "deadline" | "tenant_share";

export interface AdmissionRequest {
  slo: SloClass;
  arrivalMs: number;
  promptTokens: number;
  tenant: string;
  signal: AbortSignal;
}

/** A slot in the pool: mark its first token when it comes, and release it when the generation ends. */
export interface Ticket {
  readonly dispatchedMs: number;
  /** The first token came at `atMs`: the prompt is prefilled, and its room in the prefill backlog is free. */
  firstToken(atMs: number): void;
  /**
   * The generation ended; `firstTokenMs` when it had one (marks it if firstToken was not called), and the
   * completion tokens it produced when known (they teach the pool its typical sequence length).
   */
  release(firstTokenMs: number | undefined, completionTokens?: number): void;
}

/** Whole seconds to wait before retrying, at least 1 and at most 60: long enough for the backlog to clear. */
export function retryAfterSeconds(ms: number): number {
  return Math.min(60, Math.max(1, Math.ceil(ms / 1000)));
}

/** 503: the pool cannot take this request in time (queue full, displaced, dropped at its deadline). */
export function overloaded(message: string, waitMs: number): GatewayError {
  return new GatewayError("overloaded", `${message}; retry later.`, {
    retryAfterSeconds: retryAfterSeconds(waitMs),
    retryable: false,
  });
}

/** 429: a tenant holds more than its share of a saturated pool (the tenant is over, not the gateway). */
export function tenantOverShare(waitMs: number): GatewayError {
  return new GatewayError("tenant_over_share", "Too many requests in flight for this tenant; retry later.", {
    retryAfterSeconds: retryAfterSeconds(waitMs),
  });
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
