import type { ModelSchedulingConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { GatewayEvent, GenerationRequest } from "../core/types.js";
import type { Metrics } from "../metrics/metrics.js";
import type { PoolSample, QueueSample } from "../metrics/scheduling-metrics.js";
import { PoolCapacity, type ReplicaCapacity } from "./pool-capacity.js";
import { PoolScheduler } from "./pool-scheduler.js";
import type { SloClass, SloClasses } from "./slo.js";
import { PredictedMiss, type SchedulerObserver, type Ticket } from "./types.js";

export interface SchedulerOptions {
  enabled: boolean;
  classes: SloClasses;
  tenantMaxShare: number;
  /**
   * Per model: its scheduling settings and what each of its replicas can run (batch size, KV capacity, step
   * size, prefill rate; unknown fields absent, as for HTTP upstreams).
   */
  models: ReadonlyArray<{
    id: string;
    replicas: ReadonlyArray<ReplicaCapacity>;
    settings: ModelSchedulingConfig;
  }>;
  clock: Clock;
  metrics: Metrics;
  /** The next stage (routing). */
  downstream: (request: GenerationRequest, signal: AbortSignal) => AsyncIterable<GatewayEvent>;
  /** Re-aims a request at another model (degradation); undefined when it does not fit there. */
  retarget: (request: GenerationRequest, model: string) => GenerationRequest | undefined;
}

/**
 * The scheduling stage: one PoolScheduler (admission, priority/EDF queue, micro-batching) per model. A request
 * predicted to miss its class's TTFT target on its model is degraded to the model's `degradeTo` when that
 * pool would admit it, and shed otherwise (503 with Retry-After). Lower classes are shed first because a
 * request's predicted wait counts only the requests of its priority or higher ahead of it.
 */
/** Half-life of every pool's measured averages (service time, first token, prefill rate, typical length). */
const HALF_LIFE_MS = 5_000;

export class Scheduler {
  readonly #options: SchedulerOptions;
  readonly #pools = new Map<string, PoolScheduler>();
  readonly #degradeTo = new Map<string, string>();

  constructor(options: SchedulerOptions) {
    this.#options = options;
    const { metrics, classes } = options;
    const highest = classes.ordered[0]?.name;
    for (const model of options.models) {
      const { settings } = model;
      const batchSize = metrics.batchSize.labels({ model: model.id });
      const observer: SchedulerObserver = {
        dispatched: (slo, waitedMs) => {
          metrics.queueTime.observe({ model: model.id, class: slo.name }, waitedMs / 1000);
        },
        shed: (slo, reason) =>
          metrics.admission.inc({ model: model.id, class: slo.name, decision: "shed", reason }),
        batch: (size) => batchSize.observe(size),
        batchWait: (waitedMs) => metrics.batchWait.observe({ model: model.id }, waitedMs / 1000),
      };
      this.#pools.set(
        model.id,
        new PoolScheduler({
          model: model.id,
          capacity: new PoolCapacity({
            replicas: model.replicas,
            halfLifeMs: HALF_LIFE_MS,
            ...(settings.maxConcurrentPerReplica !== undefined && {
              maxConcurrentPerReplica: settings.maxConcurrentPerReplica,
            }),
            ...(settings.prefillBacklogTokensPerReplica !== undefined && {
              prefillBacklogTokensPerReplica: settings.prefillBacklogTokensPerReplica,
            }),
          }),
          halfLifeMs: HALF_LIFE_MS,
          maxQueue: settings.maxQueue,
          tenantMaxShare: options.tenantMaxShare,
          batching: {
            maxWaitMs: settings.batching.maxWaitMs,
            maxBatchSize: settings.batching.maxBatchSize,
            maxBatchTokens: settings.batching.maxBatchTokens,
            bypass: new Set(settings.batching.bypassClasses ?? (highest === undefined ? [] : [highest])),
          },
          clock: options.clock,
          observer,
        }),
      );
      if (settings.degradeTo !== undefined) this.#degradeTo.set(model.id, settings.degradeTo);
    }
  }

  /** The pool scheduler of a model (tests and the simulator read its state). */
  pool(model: string): PoolScheduler | undefined {
    return this.#pools.get(model);
  }

  /** Queue pressure for the guard, 0-1: the deepest queue as a share of its pool's slots. */
  pressure(): number {
    let worst = 0;
    for (const pool of this.#pools.values()) worst = Math.max(worst, pool.queued / pool.maxConcurrent);
    return Math.min(1, worst);
  }

  /** Each pool's limits and load at scrape time: slots, in flight, prefill backlog and rate. */
  poolSamples(): PoolSample[] {
    return [...this.#pools.values()].map((pool) => ({
      model: pool.model,
      concurrencyLimit: pool.maxConcurrent,
      inFlight: pool.inFlight,
      prefillBacklogTokens: pool.prefillBacklogTokens,
      prefillTokensPerSecond: pool.prefillTokensPerSecond,
    }));
  }

  queueSamples(): QueueSample[] {
    const samples: QueueSample[] = [];
    for (const pool of this.#pools.values()) {
      const byPriority = pool.queuedByPriority();
      for (const slo of this.#options.classes.ordered) {
        samples.push({ model: pool.model, class: slo.name, depth: byPriority.get(slo.priority) ?? 0 });
      }
    }
    return samples;
  }

  /**
   * Waits for admission, then yields the downstream generation's events, releasing the slot when it ends.
   * Admission failures are thrown before any event, so they reach the client as ordinary HTTP errors.
   */
  run(request: GenerationRequest, signal: AbortSignal): AsyncIterable<GatewayEvent> {
    const { downstream, classes, clock } = this.#options;
    const slo = classes.get(request.sloClass ?? "") ?? classes.defaultClass;
    const pool = this.#pools.get(request.model);
    if (!this.#options.enabled || pool === undefined) return downstream(request, signal);
    // A plain iterator rather than an async generator: every token of every response passes through here.
    let inner: AsyncIterator<GatewayEvent> | undefined;
    let admitted: Promise<void> | undefined;
    let ticket: Ticket | undefined;
    let firstTokenMs: number | undefined;
    let completionTokens: number | undefined;
    let closed = false;
    const finish = () => {
      ticket?.release(firstTokenMs, completionTokens);
      ticket = undefined;
    };
    const admit = async () => {
      const result = await this.#admit(pool, request, slo, signal);
      if (closed) {
        // The consumer left while the request waited for its slot: give the slot straight back.
        result.ticket.release(undefined);
        throw new Error("generation closed before it was admitted");
      }
      ticket = result.ticket;
      inner = downstream(result.served, signal)[Symbol.asyncIterator]();
    };
    const onResult = (result: IteratorResult<GatewayEvent>) => {
      if (result.done) finish();
      else if (result.value.type === "done") {
        // The last event by contract: the slot is given back here, as a consumer may stop reading at it and
        // never return the stream.
        completionTokens = result.value.usage.completionTokens;
        finish();
      } else if (firstTokenMs === undefined) {
        firstTokenMs = clock.now();
        ticket?.firstToken(firstTokenMs);
      }
      return result;
    };
    const onError = (error: unknown): never => {
      finish();
      throw error;
    };
    const iterator: AsyncIterableIterator<GatewayEvent> = {
      next: () => {
        if (inner !== undefined) return inner.next().then(onResult, onError);
        admitted ??= admit();
        return admitted.then(() => inner!.next()).then(onResult, onError);
      },
      return: async () => {
        closed = true;
        try {
          await inner?.return?.();
        } finally {
          finish();
        }
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  async #admit(
    pool: PoolScheduler,
    request: GenerationRequest,
    slo: SloClass,
    signal: AbortSignal,
  ): Promise<{ ticket: Ticket; served: GenerationRequest }> {
    const { metrics } = this.#options;
    const admission = {
      slo,
      arrivalMs: request.arrivalMs,
      promptTokens: request.promptTokens.length,
      tenant: request.tenant ?? "anonymous",
      signal,
    };
    try {
      const ticket = await pool.acquire(admission);
      metrics.admission.inc({ model: pool.model, class: slo.name, decision: "admitted", reason: "ok" });
      return { ticket, served: request };
    } catch (error) {
      if (!(error instanceof PredictedMiss)) throw error;
      const target = this.#degradeTo.get(pool.model);
      const degraded = target === undefined ? undefined : this.#options.retarget(request, target);
      const other = target === undefined ? undefined : this.#pools.get(target);
      if (
        degraded === undefined ||
        other === undefined ||
        !other.wouldAdmit(slo, degraded.promptTokens.length)
      ) {
        metrics.admission.inc({
          model: pool.model,
          class: slo.name,
          decision: "shed",
          reason: "predicted_miss",
        });
        throw error;
      }
      const ticket = await other.acquire(admission);
      metrics.admission.inc({
        model: pool.model,
        class: slo.name,
        decision: "degraded",
        reason: "predicted_miss",
      });
      return { ticket, served: degraded };
    }
  }
}
