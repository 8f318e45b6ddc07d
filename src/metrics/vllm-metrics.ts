import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { E2E_BUCKETS, TPOT_BUCKETS, TTFT_BUCKETS } from "./buckets.js";

/**
 * vLLM's Prometheus metrics, under vLLM's own names (vllm/v1/metrics/loggers.py; ../shared/reference/serving.md),
 * exported by `tollgate backend` so dashboards and autoscalers built for vLLM read a simulated replica unchanged.
 * Prometheus allows `:` in metric names (the exposition format's name is [a-zA-Z_:][a-zA-Z0-9_:]*), and so does
 * prom-client. The only label is vLLM's `model_name` (plus `finished_reason` on request_success), bounded by
 * the one model a backend server serves.
 */

/** One engine's state at scrape time. */
export interface VllmEngineSample {
  modelName: string;
  running: number;
  waiting: number;
  /** Fraction of KV blocks in use, 0-1. */
  kvCacheUsage: number;
  /** Cumulative engine counters, when the engine reports them. */
  stats?: { preemptions: number; prefixCacheQueries: number; prefixCacheHits: number };
}

const FINISHED_REASONS = ["stop", "length", "abort"] as const;

/** A request the engine finished, in seconds and tokens. */
export interface VllmFinishedRequest {
  modelName: string;
  /** vLLM's finish reasons: stop, length (from a done event) or abort (the client went away). */
  finishedReason: (typeof FINISHED_REASONS)[number];
  promptTokens: number;
  generationTokens: number;
  queueSeconds: number;
  /** Undefined when no token was produced. */
  ttftSeconds: number | undefined;
  prefillSeconds: number;
  decodeSeconds: number;
  e2eSeconds: number;
}

export interface VllmMetricsOptions {
  registry: Registry;
  /** Read at every scrape for the gauges and the engine's cumulative counters. */
  engines: () => readonly VllmEngineSample[];
  /** The served context length (vLLM's max_model_len): the top of the prompt/generation length buckets. */
  maxModelLen: number;
  /** Models whose counters and histograms start at 0 on the first scrape (so rate() sees the first request). */
  modelNames?: readonly string[];
}

export type VllmMetrics = ReturnType<typeof createVllmMetrics>;

const MODEL = ["model_name"] as const;

/** vLLM's build_1_2_5_buckets: 1, 2, 5, 10, 20, 50, ... up to `max` (used for token-count histograms). */
export function buckets125(max: number): number[] {
  const out: number[] = [];
  for (let scale = 1; scale <= max; scale *= 10) {
    for (const mantissa of [1, 2, 5]) if (mantissa * scale <= max) out.push(mantissa * scale);
  }
  return out;
}

export function createVllmMetrics(options: VllmMetricsOptions) {
  const registers = [options.registry];
  const engines = options.engines;

  /** Sums a value over the engines of each model (a backend server has one engine; sums keep it general). */
  const byModel = (value: (s: VllmEngineSample) => number | undefined): Map<string, number> => {
    const totals = new Map<string, number>();
    for (const s of engines()) {
      const v = value(s);
      if (v !== undefined) totals.set(s.modelName, (totals.get(s.modelName) ?? 0) + v);
    }
    return totals;
  };
  const gauge = (name: string, help: string, value: (s: VllmEngineSample) => number, mean = false) =>
    new Gauge({
      name,
      help,
      labelNames: MODEL,
      registers,
      collect() {
        this.reset();
        const counts = mean ? byModel(() => 1) : undefined;
        for (const [model, total] of byModel(value)) {
          this.set({ model_name: model }, counts ? total / (counts.get(model) ?? 1) : total);
        }
      },
    });
  /** A counter mirrored from the engine's own cumulative count at scrape time. */
  const engineCounter = (name: string, help: string, value: (s: VllmEngineSample) => number | undefined) =>
    new Counter({
      name,
      help,
      labelNames: MODEL,
      registers,
      collect() {
        this.reset();
        for (const [model, total] of byModel(value)) this.inc({ model_name: model }, total);
      },
    });
  const histogram = (name: string, help: string, buckets: number[]) =>
    new Histogram({ name, help, labelNames: MODEL, buckets, registers });
  const tokenBuckets = buckets125(options.maxModelLen);

  const m = {
    running: gauge(
      "vllm:num_requests_running",
      "Number of requests in model execution batches.",
      (s) => s.running,
    ),
    waiting: gauge(
      "vllm:num_requests_waiting",
      "Number of requests waiting to be processed.",
      (s) => s.waiting,
    ),
    kvUsage: gauge(
      "vllm:kv_cache_usage_perc",
      "KV-cache usage. 1 means 100 percent usage.",
      (s) => s.kvCacheUsage,
      true,
    ),
    prefixQueries: engineCounter(
      "vllm:prefix_cache_queries_total",
      "Prefix cache queries, in terms of number of queried tokens.",
      (s) => s.stats?.prefixCacheQueries,
    ),
    prefixHits: engineCounter(
      "vllm:prefix_cache_hits_total",
      "Prefix cache hits, in terms of number of cached tokens.",
      (s) => s.stats?.prefixCacheHits,
    ),
    preemptions: engineCounter(
      "vllm:num_preemptions_total",
      "Cumulative number of preemptions from the engine.",
      (s) => s.stats?.preemptions,
    ),
    promptTokens: new Counter({
      name: "vllm:prompt_tokens_total",
      help: "Number of prefill tokens processed.",
      labelNames: MODEL,
      registers,
    }),
    generationTokens: new Counter({
      name: "vllm:generation_tokens_total",
      help: "Number of generation tokens processed.",
      labelNames: MODEL,
      registers,
    }),
    requestSuccess: new Counter({
      name: "vllm:request_success_total",
      help: "Count of successfully processed requests.",
      labelNames: ["model_name", "finished_reason"] as const,
      registers,
    }),
    ttft: histogram(
      "vllm:time_to_first_token_seconds",
      "Histogram of time to first token in seconds.",
      TTFT_BUCKETS,
    ),
    itl: histogram(
      "vllm:inter_token_latency_seconds",
      "Histogram of inter-token latency in seconds.",
      TPOT_BUCKETS,
    ),
    tpot: histogram(
      "vllm:request_time_per_output_token_seconds",
      "Histogram of time_per_output_token_seconds per request.",
      TPOT_BUCKETS,
    ),
    e2e: histogram(
      "vllm:e2e_request_latency_seconds",
      "Histogram of e2e request latency in seconds.",
      E2E_BUCKETS,
    ),
    queue: histogram(
      "vllm:request_queue_time_seconds",
      "Histogram of time spent in WAITING phase for request.",
      E2E_BUCKETS,
    ),
    prefill: histogram(
      "vllm:request_prefill_time_seconds",
      "Histogram of time spent in PREFILL phase for request.",
      E2E_BUCKETS,
    ),
    decode: histogram(
      "vllm:request_decode_time_seconds",
      "Histogram of time spent in DECODE phase for request.",
      E2E_BUCKETS,
    ),
    requestPromptTokens: histogram(
      "vllm:request_prompt_tokens",
      "Number of prefill tokens processed.",
      tokenBuckets,
    ),
    requestGenerationTokens: histogram(
      "vllm:request_generation_tokens",
      "Number of generation tokens processed.",
      tokenBuckets,
    ),
  };

  for (const model of options.modelNames ?? []) {
    const labels = { model_name: model };
    m.promptTokens.inc(labels, 0);
    m.generationTokens.inc(labels, 0);
    for (const reason of FINISHED_REASONS) m.requestSuccess.inc({ ...labels, finished_reason: reason }, 0);
    for (const h of [m.ttft, m.itl, m.tpot, m.e2e, m.queue, m.prefill, m.decode]) h.zero(labels);
    m.requestPromptTokens.zero(labels);
    m.requestGenerationTokens.zero(labels);
  }

  return {
    /** A request's prefill finished (its first token): vLLM counts the prompt's tokens then. */
    prefillDone(modelName: string, promptTokens: number): void {
      m.promptTokens.inc({ model_name: modelName }, promptTokens);
    },
    /** Tokens produced for one request in one step; `interTokenSeconds` is the gap since its previous tokens. */
    tokens(modelName: string, count: number, interTokenSeconds: number | undefined): void {
      const labels = { model_name: modelName };
      m.generationTokens.inc(labels, count);
      if (interTokenSeconds !== undefined) m.itl.observe(labels, interTokenSeconds);
    },
    finished(request: VllmFinishedRequest): void {
      const labels = { model_name: request.modelName };
      m.requestSuccess.inc({ ...labels, finished_reason: request.finishedReason });
      // An aborted request counts as finished, but its latencies would describe the client, not the engine.
      if (request.finishedReason === "abort") return;
      if (request.ttftSeconds !== undefined) m.ttft.observe(labels, request.ttftSeconds);
      if (request.generationTokens > 1) {
        m.tpot.observe(labels, request.decodeSeconds / (request.generationTokens - 1));
      }
      m.e2e.observe(labels, request.e2eSeconds);
      m.queue.observe(labels, request.queueSeconds);
      m.prefill.observe(labels, request.prefillSeconds);
      m.decode.observe(labels, request.decodeSeconds);
      m.requestPromptTokens.observe(labels, request.promptTokens);
      m.requestGenerationTokens.observe(labels, request.generationTokens);
    },
  };
}
