import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { VirtualClock } from "../../src/core/clock.js";
import { TTFT_BUCKETS } from "../../src/metrics/metrics.js";
import { buckets125, createVllmMetrics } from "../../src/metrics/vllm-metrics.js";
import { composeReplicaServer } from "../../src/replica-server/compose-replica-server.js";
import { json } from "../helpers/json.js";
import { parsePrometheusText, type Sample, sampleValue } from "../helpers/prometheus.js";

/** A backend server for Llama-3.1-8B on one H100 whose completions always run to max_tokens. */
const LLAMA_H100: ConfigInput = {
  models: [{ id: "llama", profile: "Llama-3.1-8B" }],
  deployments: [
    {
      name: "llama-h100",
      model: "llama",
      backend: {
        type: "simulated",
        hardware: "H100-SXM-80GB",
        output: { lengthMedian: 1e6, lengthSigma: 0 },
      },
    },
  ],
};

function backendServer(input: ConfigInput = LLAMA_H100) {
  const clock = new VirtualClock();
  const composed = composeReplicaServer({
    config: parseConfig(input),
    clock,
    logger: pino({ level: "silent" }),
    processMetrics: false,
  });
  const send = (body: unknown, signal?: AbortSignal) =>
    Promise.resolve(
      composed.app.request("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        ...(signal && { signal }),
      }),
    );
  const post = async (body: unknown) => {
    const pending = send(body);
    await clock.runUntilIdle();
    return pending;
  };
  const scrape = async (): Promise<{ text: string; samples: Sample[] }> => {
    const res = await composed.app.request("/metrics");
    expect(res.status).toBe(200);
    const text = await res.text();
    return { text, samples: parsePrometheusText(text) };
  };
  return { clock, ...composed, send, post, scrape };
}

const MODEL = { model_name: "llama" };
const chat = (content: string, maxTokens: number) => ({
  model: "llama",
  messages: [{ role: "user", content }],
  max_tokens: maxTokens,
});

describe("vLLM metrics on a backend server's /metrics", () => {
  it("exposes vLLM's names, types and TTFT buckets, starting at 0 before any request", async () => {
    const { text, samples } = await backendServer().scrape();
    for (const [name, type] of [
      ["vllm:num_requests_running", "gauge"],
      ["vllm:num_requests_waiting", "gauge"],
      ["vllm:kv_cache_usage_perc", "gauge"],
      ["vllm:prefix_cache_queries_total", "counter"],
      ["vllm:prefix_cache_hits_total", "counter"],
      ["vllm:num_preemptions_total", "counter"],
      ["vllm:prompt_tokens_total", "counter"],
      ["vllm:generation_tokens_total", "counter"],
      ["vllm:request_success_total", "counter"],
      ["vllm:time_to_first_token_seconds", "histogram"],
      ["vllm:inter_token_latency_seconds", "histogram"],
      ["vllm:request_time_per_output_token_seconds", "histogram"],
      ["vllm:e2e_request_latency_seconds", "histogram"],
      ["vllm:request_queue_time_seconds", "histogram"],
      ["vllm:request_prefill_time_seconds", "histogram"],
      ["vllm:request_decode_time_seconds", "histogram"],
      ["vllm:request_prompt_tokens", "histogram"],
      ["vllm:request_generation_tokens", "histogram"],
    ]) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
    }
    const ttftBuckets = samples
      .filter((s) => s.name === "vllm:time_to_first_token_seconds_bucket" && s.labels["le"] !== "+Inf")
      .map((s) => Number(s.labels["le"]));
    expect(ttftBuckets).toEqual(TTFT_BUCKETS);
    expect(sampleValue(samples, "vllm:generation_tokens_total", MODEL)).toBe(0);
    expect(sampleValue(samples, "vllm:request_success_total", { ...MODEL, finished_reason: "stop" })).toBe(0);
    expect(sampleValue(samples, "vllm:num_requests_running", MODEL)).toBe(0);
    // The gateway's own metrics are still there: the backend server adds vLLM's, it does not replace them.
    expect(text).toContain("tollgate_requests_total");
  });

  it("moves the counters and histograms by exactly one request's amounts", async () => {
    const s = backendServer();
    const res = await s.post(chat("Tell me about GPUs.", 50));
    expect(res.status).toBe(200);
    const { usage } = await json(res);
    expect(usage.completion_tokens).toBe(50);
    const { samples: m } = await s.scrape();
    const value = (name: string, labels: Record<string, string> = MODEL) => sampleValue(m, name, labels);

    expect(value("vllm:prompt_tokens_total")).toBe(usage.prompt_tokens);
    expect(value("vllm:generation_tokens_total")).toBe(50);
    expect(value("vllm:request_success_total", { ...MODEL, finished_reason: "length" })).toBe(1);
    expect(value("vllm:request_success_total", { ...MODEL, finished_reason: "stop" })).toBe(0);
    for (const name of [
      "vllm:time_to_first_token_seconds",
      "vllm:request_time_per_output_token_seconds",
      "vllm:e2e_request_latency_seconds",
      "vllm:request_queue_time_seconds",
      "vllm:request_prefill_time_seconds",
      "vllm:request_decode_time_seconds",
      "vllm:request_prompt_tokens",
      "vllm:request_generation_tokens",
    ]) {
      expect(value(`${name}_count`), name).toBe(1);
    }
    // One inter-token gap per token after the first.
    expect(value("vllm:inter_token_latency_seconds_count")).toBe(49);
    expect(value("vllm:request_prompt_tokens_sum")).toBe(usage.prompt_tokens);
    expect(value("vllm:request_generation_tokens_sum")).toBe(50);
    // In one process on one clock, the engine's view and the gateway's agree.
    const gateway = { model: "llama", deployment: "llama-h100" };
    const tpot = value("vllm:request_time_per_output_token_seconds_sum");
    expect(tpot).toBeCloseTo(sampleValue(m, "tollgate_time_per_output_token_seconds_sum", gateway), 9);
    // 16.06e9 B / (3.35e12 B/s x 0.8) + 2 ms host overhead: about 8.0 ms per token on an H100.
    expect(tpot).toBeGreaterThan(0.00799);
    expect(tpot).toBeLessThan(0.0082);
    expect(value("vllm:inter_token_latency_seconds_sum")).toBeCloseTo(tpot * 49, 9);
    expect(value("vllm:time_to_first_token_seconds_sum")).toBeCloseTo(
      sampleValue(m, "tollgate_time_to_first_token_seconds_sum", gateway),
      9,
    );
    expect(value("vllm:e2e_request_latency_seconds_sum")).toBeCloseTo(s.clock.now() / 1000, 9);
    // A lone request is scheduled at once.
    expect(value("vllm:request_queue_time_seconds_sum")).toBe(0);
  });

  it("reads the gauges and engine counters from the replica at scrape time", async () => {
    const s = backendServer();
    const controller = new AbortController();
    const pending = s.send(chat("a long answer, please", 5000), controller.signal);
    await s.clock.advance(200);
    const during = (await s.scrape()).samples;
    expect(sampleValue(during, "vllm:num_requests_running", MODEL)).toBe(1);
    expect(sampleValue(during, "vllm:num_requests_waiting", MODEL)).toBe(0);
    const kv = sampleValue(during, "vllm:kv_cache_usage_perc", MODEL);
    expect(kv).toBeGreaterThan(0);
    expect(kv).toBeLessThan(1);
    controller.abort();
    await s.clock.advance(50);
    await pending.catch(() => undefined);

    const after = (await s.scrape()).samples;
    expect(sampleValue(after, "vllm:num_requests_running", MODEL)).toBe(0);
    expect(sampleValue(after, "vllm:kv_cache_usage_perc", MODEL)).toBe(0);
    expect(sampleValue(after, "vllm:request_success_total", { ...MODEL, finished_reason: "abort" })).toBe(1);
    // An aborted request is counted, but its latencies are not the engine's to report.
    expect(sampleValue(after, "vllm:e2e_request_latency_seconds_count", MODEL)).toBe(0);
    expect(sampleValue(after, "vllm:generation_tokens_total", MODEL)).toBeGreaterThan(0);
  });

  it("mirrors the prefix cache counters of the engine", async () => {
    const s = backendServer();
    const system = {
      role: "system",
      content: "You are a meticulous assistant for capacity planning. ".repeat(40),
    };
    for (const question of ["A?", "B?"]) {
      await s.post({
        model: "llama",
        messages: [system, { role: "user", content: question }],
        max_tokens: 2,
      });
    }
    const m = (await s.scrape()).samples;
    const labels = { model: "llama" };
    const hits = sampleValue(m, "vllm:prefix_cache_hits_total", MODEL);
    expect(hits).toBeGreaterThan(0);
    expect(hits).toBe(sampleValue(m, "tollgate_replica_prefix_cache_hit_tokens_total", labels));
    expect(sampleValue(m, "vllm:prefix_cache_queries_total", MODEL)).toBe(
      sampleValue(m, "tollgate_replica_prefix_cache_query_tokens_total", labels),
    );
    expect(sampleValue(m, "vllm:num_preemptions_total", MODEL)).toBe(0);
  });
});

describe("createVllmMetrics", () => {
  it("builds vLLM's 1-2-5 token buckets up to max_model_len", () => {
    expect(buckets125(1)).toEqual([1]);
    expect(buckets125(600)).toEqual([1, 2, 5, 10, 20, 50, 100, 200, 500]);
    expect(buckets125(131_072).at(-1)).toBe(100_000);
  });

  it("sums running and waiting over a model's engines and averages their KV usage", async () => {
    const registry = new Registry();
    createVllmMetrics({
      registry,
      maxModelLen: 1024,
      engines: () => [
        { modelName: "m", running: 2, waiting: 1, kvCacheUsage: 0.5 },
        { modelName: "m", running: 3, waiting: 0, kvCacheUsage: 0.25 },
        {
          modelName: "n",
          running: 1,
          waiting: 4,
          kvCacheUsage: 1,
          stats: { preemptions: 2, prefixCacheQueries: 0, prefixCacheHits: 0 },
        },
      ],
    });
    const m = parsePrometheusText(await registry.metrics());
    expect(sampleValue(m, "vllm:num_requests_running", { model_name: "m" })).toBe(5);
    expect(sampleValue(m, "vllm:num_requests_waiting", { model_name: "n" })).toBe(4);
    expect(sampleValue(m, "vllm:kv_cache_usage_perc", { model_name: "m" })).toBeCloseTo(0.375, 12);
    expect(sampleValue(m, "vllm:num_preemptions_total", { model_name: "n" })).toBe(2);
    expect(m.some((s) => s.name === "vllm:num_preemptions_total" && s.labels["model_name"] === "m")).toBe(
      false,
    );
  });
});
