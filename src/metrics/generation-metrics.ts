import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { E2E_BUCKETS, TPOT_BUCKETS, TTFT_BUCKETS } from "./buckets.js";

const MODEL_DEPLOYMENT = ["model", "deployment"] as const;

/**
 * Metrics of generations: how many run, their tokens, how they ended, and their latencies as a client sees
 * them (vLLM's buckets). Labels: model and deployment (configured), outcome (finish reasons and error codes).
 */
export function createGenerationMetrics(registry: Registry) {
  return {
    generationsInFlight: new Gauge({
      name: "tollgate_generations_in_flight",
      help: "Generations the gateway has dispatched to a backend and not yet finished.",
      labelNames: ["model"] as const,
      registers: [registry],
    }),
    promptTokens: new Counter({
      name: "tollgate_prompt_tokens_total",
      help: "Prompt tokens of completed generations (rate() gives prompt throughput).",
      labelNames: MODEL_DEPLOYMENT,
      registers: [registry],
    }),
    generationTokens: new Counter({
      name: "tollgate_generation_tokens_total",
      help: "Completion tokens generated (rate() gives output throughput in tokens/s).",
      labelNames: MODEL_DEPLOYMENT,
      registers: [registry],
    }),
    generations: new Counter({
      name: "tollgate_generations_total",
      help: "Generations finished by a backend, by finish reason (stop, length) or error code.",
      labelNames: ["model", "deployment", "outcome"] as const,
      registers: [registry],
    }),
    ttft: new Histogram({
      name: "tollgate_time_to_first_token_seconds",
      help: "Time from the gateway receiving a request to its first token, queueing and prefill included.",
      labelNames: MODEL_DEPLOYMENT,
      buckets: TTFT_BUCKETS,
      registers: [registry],
    }),
    tpot: new Histogram({
      name: "tollgate_time_per_output_token_seconds",
      help: "Per request: (end-to-end - TTFT) / (completion tokens - 1).",
      labelNames: MODEL_DEPLOYMENT,
      buckets: TPOT_BUCKETS,
      registers: [registry],
    }),
    e2e: new Histogram({
      name: "tollgate_e2e_request_latency_seconds",
      help: "Time from the gateway receiving a request to its last token.",
      labelNames: MODEL_DEPLOYMENT,
      buckets: E2E_BUCKETS,
      registers: [registry],
    }),
    engineQueueTime: new Histogram({
      name: "tollgate_engine_queue_time_seconds",
      help: "Time a request waited inside the engine before its first scheduled step.",
      labelNames: MODEL_DEPLOYMENT,
      buckets: TTFT_BUCKETS,
      registers: [registry],
    }),
  };
}
