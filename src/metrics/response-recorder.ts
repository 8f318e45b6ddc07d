import type { DoneEvent } from "../core/types.js";
import type { Metrics } from "./metrics.js";

type Labels = { model: string; deployment: string; tier: string };

/** prom-client children of the per-response metrics for one (model, deployment, tier). */
interface ResponseSeries {
  promptTokens: { inc(value: number): void };
  generationTokens: { inc(value: number): void };
  ttft: { observe(value: number): void };
  tpot: { observe(value: number): void };
  e2e: { observe(value: number): void };
  engineQueueTime: { observe(value: number): void };
  responseCost: { observe(value: number): void };
  costTotal: { inc(value: number): void };
  responseRevenue: { observe(value: number): void };
  revenueTotal: { inc(value: number): void };
  gpuSeconds: { inc(value: number): void };
}

/**
 * Records a finished response: tokens, TTFT, TPOT, end-to-end, engine queue time, cost, revenue and
 * GPU-seconds. The label children of each (model, deployment, tier) are resolved once: prom-client would hash
 * the label set on every call otherwise, and this runs for every response.
 */
export class ResponseRecorder {
  readonly #metrics: Metrics;
  readonly #series = new Map<string, ResponseSeries>();

  constructor(metrics: Metrics) {
    this.#metrics = metrics;
  }

  record(
    labels: Labels,
    response: {
      arrivalMs: number;
      firstTokenMs: number;
      done: DoneEvent;
      costUsd: number;
      revenueUsd: number;
    },
  ): void {
    const m = this.#seriesOf(labels);
    const { usage, timings } = response.done;
    const ttft = (response.firstTokenMs - response.arrivalMs) / 1000;
    const e2e = (timings.endMs - response.arrivalMs) / 1000;
    this.#metrics.generations.inc({
      model: labels.model,
      deployment: labels.deployment,
      outcome: response.done.finishReason,
    });
    m.promptTokens.inc(usage.promptTokens);
    m.generationTokens.inc(usage.completionTokens);
    if (usage.completionTokens > 0) m.ttft.observe(ttft);
    if (usage.completionTokens > 1) m.tpot.observe((e2e - ttft) / (usage.completionTokens - 1));
    m.e2e.observe(e2e);
    m.engineQueueTime.observe(Math.max(0, timings.scheduledMs - timings.arrivalMs) / 1000);
    m.responseCost.observe(response.costUsd);
    m.costTotal.inc(response.costUsd);
    m.responseRevenue.observe(response.revenueUsd);
    m.revenueTotal.inc(response.revenueUsd);
    m.gpuSeconds.inc(response.done.gpuSeconds);
  }

  /**
   * Records an answer served by the cache stage (a stored answer or a shared generation) under deployment
   * "cache": the latency the client saw, a cost of zero and its list-price revenue. Tokens, GPU-seconds and
   * generations count work done by replicas, so they are left alone (tollgate_cache_saved_* say what was not).
   */
  recordFromCache(
    model: string,
    tier: string,
    response: {
      arrivalMs: number;
      firstTokenMs: number;
      endMs: number;
      completionTokens: number;
      revenueUsd: number;
    },
  ): void {
    const m = this.#seriesOf({ model, deployment: "cache", tier });
    const ttft = (response.firstTokenMs - response.arrivalMs) / 1000;
    const e2e = (response.endMs - response.arrivalMs) / 1000;
    if (response.completionTokens > 0) m.ttft.observe(ttft);
    if (response.completionTokens > 1) m.tpot.observe((e2e - ttft) / (response.completionTokens - 1));
    m.e2e.observe(e2e);
    m.responseCost.observe(0);
    m.costTotal.inc(0);
    m.responseRevenue.observe(response.revenueUsd);
    m.revenueTotal.inc(response.revenueUsd);
  }

  #seriesOf(labels: Labels): ResponseSeries {
    const key = `${labels.model}\u0000${labels.deployment}\u0000${labels.tier}`;
    let series = this.#series.get(key);
    if (series === undefined) {
      const m = this.#metrics;
      const md = { model: labels.model, deployment: labels.deployment };
      series = {
        promptTokens: m.promptTokens.labels(md),
        generationTokens: m.generationTokens.labels(md),
        ttft: m.ttft.labels(md),
        tpot: m.tpot.labels(md),
        e2e: m.e2e.labels(md),
        engineQueueTime: m.engineQueueTime.labels(md),
        responseCost: m.responseCost.labels(labels),
        costTotal: m.costTotal.labels(labels),
        responseRevenue: m.responseRevenue.labels(labels),
        revenueTotal: m.revenueTotal.labels(labels),
        gpuSeconds: m.gpuSeconds.labels(md),
      };
      this.#series.set(key, series);
    }
    return series;
  }
}
